"""The per-epoch callback that connects Keras training to the Optuna trial."""

from __future__ import annotations

import logging
import math
from typing import Any

import keras

from autodl import _process
from autodl.train._objective import Objective

_logger = logging.getLogger(__name__)


class TrialFailure(Exception):
    """A trial that cannot produce a model (NaN loss, out of memory, invalid config)."""


class EpochReporter(keras.callbacks.Callback):
    """Report the objective to Optuna every epoch, prune, stop early, keep the best weights.

    The best epoch is the best on the objective; among equals, with `ties_to_lower_loss`,
    the one with the lower validation loss. Accuracy on a small validation split stays equal
    for many epochs, and the first of them is the least trained: for the textbook MLP on
    breast_cancer (91 validation rows, 30 epochs) the first scored 0.94 on test, the
    tie-broken one 0.97. Patience counts from the last such improvement.

    At the search's deadline (its timeout) training stops at the next batch, and the trial
    keeps its best epoch so far (`timed_out`). Pruning and NaN stop training cleanly and
    are raised by the caller after `fit` returns, so Keras finishes its own clean-up first.
    """

    def __init__(
        self,
        trial: Any,
        objective: Objective,
        patience: int,
        restore_best: bool,
        ties_to_lower_loss: bool = True,
    ) -> None:
        super().__init__()
        self.trial = trial
        self.objective = objective
        self.patience = patience
        self.restore_best = restore_best
        self.ties_to_lower_loss = ties_to_lower_loss
        self.best_value: float | None = None
        self.best_epoch = -1
        self.best_loss = math.inf  # validation loss at best_epoch, for ties of the objective
        self.best_weights: list[Any] | None = None
        self.epochs_run = 0
        self.curve: list[float] = []
        self.history: dict[str, list[float]] = {}
        self.pruned = False
        self.timed_out = False
        self.failure: str | None = None

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if _process.past_deadline() and not self.model.stop_training:
            self.timed_out = self.model.stop_training = True  # Keras still validates this epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if _process.interrupt_requested():  # Ctrl-C's KeyboardInterrupt was lost in a finalizer
            raise KeyboardInterrupt
        logs = logs or {}
        self.epochs_run = epoch + 1
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        loss = float(logs.get("loss", math.nan))
        if not math.isfinite(loss):
            self.failure = f"loss became {loss} at epoch {epoch + 1}"
            self.model.stop_training = True
            return
        if self.objective.metric not in logs:
            self.failure = f"metric '{self.objective.metric}' not in the training logs {sorted(logs)}"
            self.model.stop_training = True
            return
        value = float(logs[self.objective.metric])
        if not math.isfinite(value):
            self.failure = f"{self.objective.metric} became {value} at epoch {epoch + 1}"
            self.model.stop_training = True
            return
        self.curve.append(value)
        val_loss = float(logs.get("val_loss", math.inf)) if self.ties_to_lower_loss else math.inf
        tie_broken = value == self.best_value and val_loss < self.best_loss
        if self.objective.better(value, self.best_value) or tie_broken:
            self.best_value, self.best_epoch, self.best_loss = value, epoch, val_loss
            if self.restore_best:
                self.best_weights = self.model.get_weights()
        if self.trial is not None:
            self.trial.report(value, epoch)
            if self.trial.should_prune():
                self.pruned = True
                self.model.stop_training = True
                return
        if self.patience and epoch - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.restore_best and self.best_weights is not None and not self.pruned:
            self.model.set_weights(self.best_weights)


class BuildTrainingState(keras.callbacks.Callback):
    """Create the optimizer's, loss' and metrics' variables before the first step is traced.

    Without a distribution strategy, Keras on TensorFlow creates them while it traces the
    first train step, and TensorFlow traces a function that creates variables twice: that
    second trace took a quarter of a small digits CNN's 2-epoch `fit`. Built here at the
    start of `fit` from two training rows' shapes, as Keras builds them under a strategy
    and on JAX. What this cannot build is left to the first step, as before.
    """

    def __init__(self, x: Any, y: Any) -> None:
        super().__init__()
        # Arrays or, for string columns, TensorFlow tensors (autodl.builders.model_input).
        self.batch = ({k: v[:2] for k, v in x.items()} if isinstance(x, dict) else x[:2], y[:2])

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if keras.backend.backend() != "tensorflow" or not hasattr(self.model, "_symbolic_build"):
            return
        try:
            self.model._symbolic_build(data_batch=self.batch)
        except Exception as exc:  # e.g. rows a symbolic tensor cannot stand for
            _logger.debug("variables left for the first train step to create: %s", exc)


class EpochLearningRate(keras.callbacks.Callback):
    """Warm-up and per-epoch decay (cosine, exponential, step) of the learning rate.

    Done as a callback rather than a `LearningRateSchedule` object so that saved models
    carry no custom schedule class.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = config

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        lr = learning_rate_at(self.config, epoch)
        if lr is not None:
            self.model.optimizer.learning_rate.assign(lr)


def learning_rate_at(config: dict[str, Any], epoch: int) -> float | None:
    """The learning rate for `epoch` (0-based), or None to leave it alone (plateau)."""
    base = float(config["learning_rate"])
    warmup = int(config.get("warmup_epochs", 0))
    schedule = config.get("schedule", "constant")
    if epoch < warmup:
        return base * (epoch + 1) / (warmup + 1)
    if schedule in ("constant", "plateau"):
        return base if warmup and epoch == warmup else None
    t = epoch - warmup
    if schedule == "cosine":
        total = max(1, int(config["epochs"]) - warmup)
        return base * 0.5 * (1 + math.cos(math.pi * min(t, total) / total))
    rate, every = float(config["decay_rate"]), max(1, int(config["decay_epochs"]))
    if schedule == "exponential":
        return base * rate ** (t / every)
    return base * rate ** (t // every)  # step
