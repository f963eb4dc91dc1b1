"""The peers: KerasTuner (random, Hyperband, Bayesian) and plain Optuna (random, TPE).

All of them search ONE space per family, written once below in KerasTuner's `hp` style
(what a KerasTuner tutorial would use) and driven by Optuna through a small adapter, on
inputs standardised the same simple way (per-feature z-score from the training rows).
Every peer is held to the wall-clock budget the same way: a Keras callback ends the
running trial when the budget is spent, and the tuner or study starts no further trial.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._tasks import Split, scores, val_score_from_standardised_mse

EPOCHS = 20  # per trial; KerasTuner's Hyperband takes it as max_epochs
PATIENCE = 3
BATCH_SIZE = 32
HYPERBAND_FACTOR = 3
PEER_METHODS = ("kt_random", "kt_hyperband", "kt_bayes", "optuna_random", "optuna_tpe")


# ---------------------------------------------------------------------- the space
def build_peer_model(hp: Any, split: Split) -> Any:
    """The common peer space: MLP for tables, a small Conv2D model for 8x8x1 images."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=split.x_train.shape[1:])
    activation = hp.Choice("activation", ["relu", "tanh"])
    x = inputs
    if split.input_kind == "image":
        for i in range(hp.Int("conv_layers", 1, 2)):
            filters = hp.Int(f"filters_{i}", 16, 64, step=16)
            x = layers.Conv2D(filters, 3, padding="same", activation=activation)(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        x = layers.Dense(hp.Int("units", 32, 256, step=32), activation=activation)(x)
    else:
        for i in range(hp.Int("layers", 1, 3)):
            x = layers.Dense(hp.Int(f"units_{i}", 32, 512, step=32), activation=activation)(x)
    if hp.Boolean("dropout"):
        x = layers.Dropout(0.25)(x)
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    if split.classify:
        outputs = layers.Dense(split.n_classes, activation="softmax")(x)
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        outputs = layers.Dense(1)(x)
        loss, metrics = "mse", []  # no penalties in this space: val_loss is the val MSE
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
    return model


class OptunaHP:
    """KerasTuner's `hp` calls answered by an Optuna trial, so the space is written once."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def Int(self, name: str, min_value: int, max_value: int, step: int = 1) -> int:  # noqa: N802
        return int(self.trial.suggest_int(name, min_value, max_value, step=step))

    def Float(  # noqa: N802
        self, name: str, min_value: float, max_value: float, sampling: str = "linear"
    ) -> float:
        return float(self.trial.suggest_float(name, min_value, max_value, log=sampling == "log"))

    def Choice(self, name: str, values: list[Any]) -> Any:  # noqa: N802
        return self.trial.suggest_categorical(name, values)

    def Boolean(self, name: str) -> bool:  # noqa: N802
        return bool(self.trial.suggest_categorical(name, [False, True]))


# ---------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class PeerData:
    """The split as every peer feeds it: z-scored inputs, standardised regression targets."""

    split: Split
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray

    @classmethod
    def from_split(cls, split: Split) -> PeerData:
        mean = split.x_train.mean(axis=0)
        std = split.x_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # digits has pixels that are always 0

        def standardise(x: np.ndarray) -> np.ndarray:
            return ((x - mean) / std).astype("float32")

        def target(y: np.ndarray) -> np.ndarray:
            if split.classify:
                return np.asarray(y).astype("int64")
            centre, scale = split.target_scale()
            return ((np.asarray(y, dtype="float64") - centre) / scale).astype("float32")

        return cls(
            split=split,
            x_train=standardise(split.x_train),
            y_train=target(split.y_train),
            x_val=standardise(split.x_val),
            y_val=target(split.y_val),
            x_test=standardise(split.x_test),
        )

    @property
    def monitor(self) -> str:
        return "val_accuracy" if self.split.classify else "val_loss"

    @property
    def mode(self) -> str:
        return "max" if self.split.classify else "min"

    def val_score(self, value: float) -> float:
        """The monitored value as the common validation score: accuracy, or R^2."""
        if self.split.classify:
            return float(value)
        return val_score_from_standardised_mse(self.split, float(value))

    def test_scores(self, model: Any) -> dict[str, float]:
        outputs = np.asarray(model.predict(self.x_test, batch_size=256, verbose=0), dtype="float64")
        if not self.split.classify:
            centre, scale = self.split.target_scale()
            outputs = outputs * scale + centre
        return scores(self.split, self.split.y_test, outputs)


# ---------------------------------------------------------------------- the budget
@dataclass
class RunLog:
    """What a run measured: the budget clock, epochs trained, best validation over time."""

    budget: float
    start: float = field(default_factory=time.perf_counter)
    epochs: int = 0
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (seconds, best so far)
    budget_stops: int = 0  # trials ended by the budget callback

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def spent(self) -> bool:
        return self.elapsed() >= self.budget

    def remaining(self) -> float:
        return max(0.0, self.budget - self.elapsed())

    def record(self, score: float) -> None:
        """A finished trial's validation score (higher is better), at the current time."""
        if not math.isfinite(score):
            return
        best = max(score, self.timeline[-1][1]) if self.timeline else score
        self.timeline.append((round(self.elapsed(), 3), round(best, 6)))

    def keras_callbacks(self) -> list[Any]:
        import keras

        log = self

        class BudgetStop(keras.callbacks.Callback):
            """Ends the running trial within a batch of the budget running out, as autodl's
            timeout does (before a batch: Keras still dispatches batch ends asynchronously)."""

            def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
                if log.spent() and not self.model.stop_training:
                    self.model.stop_training = True
                    log.budget_stops += 1

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                log.epochs += 1

        return [BudgetStop()]


def early_stopping(data: PeerData) -> Any:
    import keras

    return keras.callbacks.EarlyStopping(
        monitor=data.monitor, mode=data.mode, patience=PATIENCE, restore_best_weights=True
    )


# ---------------------------------------------------------------------- KerasTuner
def run_keras_tuner(method: str, split: Split, seed: int, budget: float, workdir: Path) -> dict[str, Any]:
    import keras
    import keras_tuner as kt

    data = PeerData.from_split(split)
    keras.utils.set_random_seed(seed)
    log = RunLog(budget)
    tuner = _budgeted_tuner(kt, method, data, seed, workdir, log)
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        callbacks=[early_stopping(data)],
        verbose=0,
    )
    search_seconds = log.elapsed()
    states = [t.status for t in tuner.oracle.trials.values()]
    finished = sum(s == "COMPLETED" for s in states)
    best_models = tuner.get_best_models(1) if finished else []
    result = {
        "search_seconds": round(search_seconds, 3),
        "trials_finished": finished,
        "trials_pruned": 0,  # KerasTuner does not stop trials early (Hyperband runs short ones)
        "trials_failed": len(states) - finished,
        "epochs": log.epochs,
        "budget_stops": log.budget_stops,
        "timeline": log.timeline,
        "best_val": log.timeline[-1][1] if log.timeline else None,
        "test": data.test_scores(best_models[0]) if best_models else None,
    }
    failures = [t.message for t in tuner.oracle.trials.values() if t.status != "COMPLETED"]
    if failures and failures[0]:
        result["first_failure"] = str(failures[0]).strip().splitlines()[-1][:300]
    return result


def _budgeted_tuner(kt: Any, method: str, data: PeerData, seed: int, workdir: Path, log: RunLog) -> Any:
    base = {
        "kt_random": kt.RandomSearch,
        "kt_hyperband": kt.Hyperband,
        "kt_bayes": kt.BayesianOptimization,
    }[method]

    class BudgetedTuner(base):  # type: ignore[misc, valid-type]
        """`base` that starts no trial once the budget is spent and ends the running one."""

        def pre_create_trial(self) -> None:
            super().pre_create_trial()
            if log.spent():
                # The oracle answers STOPPED once it holds max_trials trials: search() returns.
                self.oracle.max_trials = max(1, len(self.oracle.trials))

        def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            # Added here, after KerasTuner deep-copies the user's callbacks, so that the
            # counters stay shared with this run's log.
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), *log.keras_callbacks()]
            return super()._build_and_fit_model(trial, *args, **kwargs)

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            ended = self.oracle.get_trial(trial.trial_id)
            if ended.status == "COMPLETED" and ended.score is not None:
                log.record(data.val_score(ended.score))

    objective = kt.Objective(data.monitor, direction=data.mode)
    options: dict[str, Any] = {
        "objective": objective,
        "seed": seed,
        "directory": str(workdir / "kt"),
        "project_name": method,
        "overwrite": True,
    }
    if method == "kt_hyperband":
        options.update(max_epochs=EPOCHS, factor=HYPERBAND_FACTOR, hyperband_iterations=1000)
    else:
        options.update(max_trials=1_000_000)

    def build(hp: Any) -> Any:
        return build_peer_model(hp, data.split)

    return BudgetedTuner(build, **options)


# ---------------------------------------------------------------------- plain Optuna
def run_optuna(method: str, split: Split, seed: int, budget: float, workdir: Path) -> dict[str, Any]:
    """A plain Optuna user's search: default pruner (median), one report per epoch."""
    import keras
    import optuna

    data = PeerData.from_split(split)
    keras.utils.set_random_seed(seed)
    log = RunLog(budget)
    sampler = (
        optuna.samplers.RandomSampler(seed=seed)
        if method == "optuna_random"
        else optuna.samplers.TPESampler(seed=seed)
    )
    maximize = data.mode == "max"
    study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler)
    best: dict[str, Any] = {"value": None, "model": None}

    def objective(trial: Any) -> float:
        model = build_peer_model(OptunaHP(trial), split)
        history = model.fit(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=EPOCHS,
            batch_size=BATCH_SIZE,
            # The log's epoch counter runs first: a pruning raise skips the later callbacks.
            callbacks=[*log.keras_callbacks(), early_stopping(data), _pruning_callback(trial, data)],
            verbose=0,
        )
        values = history.history[data.monitor]
        value = float(max(values) if maximize else min(values))  # the restored best epoch
        if best["value"] is None or (value > best["value"] if maximize else value < best["value"]):
            best["value"], best["model"] = value, model
        return value

    def after_trial(study: Any, trial: Any) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            log.record(data.val_score(trial.value))
        if log.spent():
            study.stop()

    study.optimize(objective, timeout=budget, callbacks=[after_trial], gc_after_trial=False)
    search_seconds = log.elapsed()
    states = [t.state for t in study.get_trials(deepcopy=False)]
    complete = sum(s == optuna.trial.TrialState.COMPLETE for s in states)
    pruned = sum(s == optuna.trial.TrialState.PRUNED for s in states)
    return {
        "search_seconds": round(search_seconds, 3),
        "trials_finished": complete + pruned,
        "trials_pruned": pruned,
        "trials_failed": len(states) - complete - pruned,
        "epochs": log.epochs,
        "budget_stops": log.budget_stops,
        "timeline": log.timeline,
        "best_val": log.timeline[-1][1] if log.timeline else None,
        "test": data.test_scores(best["model"]) if best["model"] is not None else None,
    }


def _pruning_callback(trial: Any, data: PeerData) -> Any:
    """What optuna-integration's Keras pruning callback does: report each epoch, maybe prune."""
    import keras
    import optuna

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            value = (logs or {}).get(data.monitor)
            if value is None:
                return
            trial.report(float(value), step=epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}")

    return Pruning()


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "kt_random": run_keras_tuner,
    "kt_hyperband": run_keras_tuner,
    "kt_bayes": run_keras_tuner,
    "optuna_random": run_optuna,
    "optuna_tpe": run_optuna,
}
