"""The Optuna objective: sample a configuration, train it, record it, keep the best model."""

from __future__ import annotations

import logging
import math
from typing import Any

from autodl.study._interrupts import ResultKept, signals_held
from autodl.study._memory import rss_mb
from autodl.study._storage import params_in_one_write, set_user_attrs
from autodl.train import TrialFailure
from autodl.train._hypermodel_fit import SearchStopped

_logger = logging.getLogger(__name__)


class TrialRunner:
    """The objective `run_trials` calls (autodl/study/_workers.py); one per process."""

    failure_type = TrialFailure

    def __init__(self, context: Any) -> None:
        from autodl.export import BestModelWriter, TopKModels
        from autodl.train import PreparedData

        self.context = context
        self.prepared = PreparedData.from_dataset(context.data)
        self.writer = BestModelWriter(context.out, context.objective.direction, context.study.study_name)
        from autodl.study._settings import ensemble_size

        # The K best trials' models stay on disk for the ensemble (--ensemble K).
        k = ensemble_size(
            context.settings, context.data.task, getattr(context.space, "builds_own_model", False)
        )
        self.top_models = TopKModels(context.out, k, context.objective.direction) if k >= 2 else None

    def __call__(self, trial: Any) -> float:
        import optuna

        from autodl.train import release_memory, seed_trial

        context = self.context
        space = context.space
        if context.settings.seed is not None:
            seed_trial(context.settings.seed + trial.number)
        config = sample_config(space, trial)
        try:
            trained = self._train(config, trial)
        except TrialFailure as exc:
            self._fail(trial, str(exc))
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: Optuna marks the trial FAIL and re-raises
            trial.set_user_attr("fail_reason", "interrupted")
            raise
        except SearchStopped as exc:  # e.g. KerasTuner's FatalError: the whole search stops
            trial.set_user_attr("fail_reason", str(exc))
            raise
        except Exception as exc:  # a failing trial never kills the search
            self._fail(trial, failure_reason(exc), exc)
        # From here the trial's model and record are written (best_model.keras may become
        # its model): an interrupt waits until they are whole and the trial still completes.
        value = None
        try:
            with signals_held():
                try:
                    value = self._keep(trial, config, trained)
                finally:
                    del trained
                    release_memory()
                    rss = rss_mb()
                    if rss is not None:  # after the trial's memory was released: growth shows here
                        trial.set_user_attr("rss_mb", round(rss, 1))
        except KeyboardInterrupt:
            if value is None:
                raise
            raise ResultKept(value) from None
        return value

    def _keep(self, trial: Any, config: dict[str, Any], trained: Any) -> float:
        """Record a trained trial and offer its model to the top K and the best model."""
        import optuna

        if trained.config is not None:  # a KerasTuner space samples while it builds
            config = trained.config
        set_user_attrs(trial, result_attrs(trained))
        if trained.pruned:
            raise optuna.TrialPruned(f"pruned at epoch {trained.epochs_run}")
        try:
            record = self._record(trial, config, trained)
            kept = None  # the top-K file, which the best-model writer copies
            if self.top_models is not None and self.top_models.offer(
                trial.number, trained.value, trained.export_model, loss=record["val_loss"]
            ):
                kept = self.top_models.path(trial.number)
            self.writer.offer(trained.value, trained.export_model, record, saved=kept)
        except Exception as exc:  # a model that cannot be saved cannot be exported: FAIL
            # The caller releases the trial's memory, as after every trial.
            raise self._failure(trial, f"saving its model failed: {failure_reason(exc)}") from exc
        return trained.value

    def _train(self, config: dict[str, Any], trial: Any) -> Any:
        from autodl.train import train_config

        context = self.context
        if getattr(context.space, "builds_own_model", False):
            # A KerasTuner build function or HyperModel builds, compiles and fits itself.
            from autodl.train._hypermodel_fit import train_hypermodel

            return train_hypermodel(context.space, self.prepared, context.objective, trial=trial)
        return train_config(
            config, self.prepared, context.objective, trial=trial, custom_objects=context.space.custom_objects
        )

    def _record(self, trial: Any, config: dict[str, Any], trained: Any) -> dict[str, Any]:
        """best_config.json: all that rebuilds and retrains the model, and where it came from."""
        from autodl.results import tie_loss

        context = self.context
        data = context.data
        loss = tie_loss(trial)  # orders the trials of equal value
        return {
            "trial": trial.number,
            "study_name": context.study.study_name,
            "metric": context.objective.metric,
            "direction": context.objective.direction,
            "config": config,
            "params": trial.params,
            "best_epoch": trained.best_epoch,
            "val_loss": loss if math.isfinite(loss) else None,
            "epochs_run": trained.epochs_run,
            "n_params": trained.n_params,
            "space": str(context.loaded_space.path),
            "data": data.to_dict(),
            "target_scale": list(self.prepared.target_scale)
            if self.prepared.target_scale and trained.config is None  # KerasTuner models: user units
            else None,
        }

    @staticmethod
    def _failure(trial: Any, reason: str) -> TrialFailure:
        """Record why `trial` failed; the error to raise."""
        trial.set_user_attr("fail_reason", reason)
        _logger.info("trial %d failed: %s", trial.number, reason)
        return TrialFailure(reason)

    def _fail(self, trial: Any, reason: str, cause: BaseException | None = None) -> None:
        """Fail a trial that did not train: free what it built, and raise."""
        from autodl.train import release_memory

        error = self._failure(trial, reason)
        release_memory()
        raise error from cause


def sample_config(space: Any, trial: Any) -> dict[str, Any]:
    """Sample `trial`'s configuration from `space` (its params in one journal append) and
    record it as the trial's `config` user attribute."""
    with params_in_one_write(trial):
        config = space.sample(trial)
    trial.set_user_attr("config", config)
    return config


def result_attrs(trained: Any) -> dict[str, Any]:
    """What a trained trial records as user attributes (read by the leaderboard and reports)."""
    attrs = {
        "epochs": trained.epochs_run,
        "best_epoch": trained.best_epoch,
        "seconds": round(trained.seconds, 3),
        "n_params": trained.n_params,
        "history": {k: [round(v, 6) for v in vs] for k, vs in trained.history.items()},
    }
    if trained.val_crossentropy is not None:
        attrs["val_crossentropy"] = round(trained.val_crossentropy, 6)
    if trained.timed_out:  # the search's timeout came mid-training: its best epoch so far
        attrs["stopped"] = "timeout"
    return attrs


def failure_reason(exc: BaseException) -> str:
    """A one-line reason for a trial's failure; out-of-memory errors are named as such."""
    name = type(exc).__name__
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    message = lines[0][:300] if lines else ""
    text = f"{name} {str(exc)[:2000]}".lower()
    if "resourceexhausted" in text or "out of memory" in text or "resource_exhausted" in text or "oom" in name.lower():
        return f"out of memory: {message or name}"
    return f"{name}: {message}" if message else name
