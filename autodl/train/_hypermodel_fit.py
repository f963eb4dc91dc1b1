"""Train one trial of a space that builds its own model (KerasTuner `build_model(hp)` or
`HyperModel`): build with an Optuna-backed `hp`, keep the user's compile, fit, record.

Module-level imports stay light (no Keras, no numpy): the CLI imports `SearchStopped` from
here to map it to exit 1 without slowing `autodl --help`.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from typing import Any

from autodl.exceptions import SpaceError
from autodl.train._objective import Objective

_logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32  # what Keras uses when fit() gets none; stated so records show it


class SearchStopped(Exception):
    """The whole search must stop now (user code raised KerasTuner's `FatalError`).

    The runner lets it through so Optuna marks the trial FAIL and stops; the CLI prints
    its message as one line and exits 1.
    """


class InvalidHyperModel(SpaceError, SearchStopped):
    """A build function or HyperModel broke its contract (e.g. returned no keras.Model).

    It is a `SpaceError`, so the CLI exits 2, and a `SearchStopped`, so a trial that hits
    it stops the search instead of failing the same way every trial.
    """


def keras_tuner_error(exc: BaseException, name: str) -> bool:
    """True if `exc` is KerasTuner's error class `name` (or a subclass of it).

    Matched by class name so that keras_tuner is never imported for it.
    """
    return any(
        cls.__name__ == name and cls.__module__.startswith("keras_tuner")
        for cls in type(exc).__mro__
    )


def translate_user_error(exc: BaseException, where: str) -> BaseException | None:
    """KerasTuner's failure classes as autodl handles them; None for any other error."""
    from autodl.train._callbacks import TrialFailure

    message = _first_line(exc)
    if keras_tuner_error(exc, "FatalError"):
        return SearchStopped(f"{where} raised {type(exc).__name__}: {message}")
    if keras_tuner_error(exc, "FailedTrialError"):
        return TrialFailure(f"{type(exc).__name__}: {message}")
    return None


def train_hypermodel(space: Any, prepared: Any, objective: Objective, *, trial: Any) -> Any:
    """Build, compile if needed, fit and judge one trial of `space` (a `KerasTunerSpace`).

    Records `config` (hp.values, fit-time hps included) on the trial as soon as it is known,
    so failed trials show what they tried.
    """
    from autodl.space.keras_tuner import OptunaHyperParameters
    from autodl.train._callbacks import EpochReporter, TrialFailure
    from autodl.train._fit import TrainedModel

    start = time.perf_counter()
    data = prepared.data
    where = f"trial {trial.number}: {space.kind}"
    hp = OptunaHyperParameters(trial)
    try:
        model = space.build(hp)
    except SearchStopped:
        raise
    except Exception as exc:
        translated = translate_user_error(exc, where)
        if translated is None:
            raise
        raise translated from exc
    finally:
        trial.set_user_attr("config", hp.values)
    if not getattr(model, "compiled", False):
        default_compile(model, data)
    y_train = fit_labels(model, data, data.y_train)
    y_val = fit_labels(model, data, data.y_val)
    # Keep the best epoch's weights, as KerasTuner's checkpoint of the best epoch does (the
    # first of equals, as its History is read below).
    reporter = EpochReporter(
        trial, objective, patience=0, restore_best=True, ties_to_lower_loss=False
    )
    fit_where = f"trial {trial.number}: {space.fit_kind}"
    try:
        results = space.fit(
            hp,
            model,
            prepared.x_train,
            y_train,
            validation_data=(prepared.x_val, y_val),
            **space.fit_arguments(reporter),
        )
    except SearchStopped:
        raise
    except Exception as exc:
        translated = translate_user_error(exc, fit_where)
        if translated is None:
            raise
        raise translated from exc
    finally:
        trial.set_user_attr("config", hp.values)
    if reporter.failure:
        raise TrialFailure(reporter.failure)
    if not reporter.epochs_run and space.overrides_fit:
        _logger.warning(
            "%s did not pass `callbacks` on to model.fit: no pruning and no per-epoch values",
            space.fit_kind,
        )
    history = reporter.history or _history_dict(results)
    epochs_run = reporter.epochs_run or max((len(v) for v in history.values()), default=0)
    if reporter.pruned:
        value, best_epoch = reporter.best_value, reporter.best_epoch
    else:
        value, best_epoch = trial_value(results, objective, reporter, space.fit_kind)
        if value is None or not math.isfinite(value):
            raise TrialFailure(f"{objective.metric} was never finite")
    return TrainedModel(
        model=model,
        # The user's model is exported as it is: it takes what their build takes.
        export_model=model,
        value=float(value) if value is not None else math.nan,
        best_epoch=int(best_epoch),
        epochs_run=int(epochs_run),
        seconds=time.perf_counter() - start,
        n_params=int(model.count_params()),
        curve=list(reporter.curve),
        history=history,
        pruned=reporter.pruned,
        timed_out=reporter.timed_out,
        config=hp.values,
    )


def check_model(model: Any, what: str) -> Any:
    """`model` if it is a keras.Model, else `InvalidHyperModel` saying what it was."""
    import keras

    if isinstance(model, keras.Model):
        return model
    shown = "None" if model is None else f"a {type(model).__module__}.{type(model).__qualname__}"
    if model is not None and type(model).__module__ == "builtins":
        shown = f"a {type(model).__name__} ({_short_repr(model)})"
    raise InvalidHyperModel(f"{what} returned {shown}, not a keras.Model")


def default_compile(model: Any, data: Any) -> None:
    """Compile a model the user left uncompiled: Adam and the task's usual loss and metrics."""
    import keras

    if data.task == "regression":
        model.compile(
            optimizer="adam",
            loss="mse",
            metrics=[
                keras.metrics.MeanSquaredError(name="mse"),
                keras.metrics.MeanAbsoluteError(name="mae"),
            ],
        )
        return
    if output_width(model) == 1:
        loss: Any = keras.losses.BinaryCrossentropy()
        accuracy: Any = keras.metrics.BinaryAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer="adam", loss=loss, metrics=[accuracy])


def default_metrics(task: str) -> list[str]:
    """The metric names `default_compile` gives a model of `task` (besides loss)."""
    return ["mse", "mae"] if task == "regression" else ["accuracy"]


def fit_labels(model: Any, data: Any, y: Any) -> Any:
    """`y` (class indices or floats, as a `Dataset` holds them) in the form the model's
    loss expects: integers for sparse losses, one-hot for categorical ones, a float column
    for a one-unit output; regression targets stay in the user's units."""
    import numpy as np

    width = output_width(model)
    if data.task == "regression":
        y = np.asarray(y, dtype="float32")
        return y.reshape(-1, 1) if width == 1 else y
    y = np.asarray(y).astype("int64")
    name = loss_name(model)
    if "sparse" in name:
        return y
    if width == 1 or ("binary" in name and width is None):
        return y.astype("float32").reshape(-1, 1)
    if "categorical" in name or "binary" in name or (width is not None and width > 1):
        return np.eye(max(data.n_classes, 2), dtype="float32")[y]
    return y


def loss_name(model: Any) -> str:
    """The model's compiled loss as lower-case text (name and class), '' if unknown."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        loss = next(iter(loss.values()), None)
    elif isinstance(loss, (list, tuple)):
        loss = loss[0] if loss else None
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss.lower()
    parts = [
        str(getattr(loss, "name", "") or ""),
        type(loss).__name__,
        getattr(loss, "__name__", ""),
        getattr(getattr(loss, "fn", None), "__name__", ""),
    ]
    return " ".join(p for p in parts if p).lower()


def output_width(model: Any) -> int | None:
    """Size of the last axis of the model's (first) output, None if not known yet."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    if not outputs:
        return None
    shape = outputs[0].shape
    return int(shape[-1]) if shape and shape[-1] is not None else None


def compiled_metric_names(model: Any) -> list[str]:
    """Names under which fit() will log the metrics the user compiled the model with."""
    try:
        config = model.get_compile_config() or {}
    except Exception:  # an unserialisable custom metric: fall back to the loss alone
        _logger.debug("cannot read the compile config of %s", model.name, exc_info=True)
        return []
    names: list[str] = []
    for key in ("metrics", "weighted_metrics"):
        for name in _metric_names(config.get(key)):
            if name not in names:
                names.append(name)
    return names


def _metric_names(spec: Any, prefix: str = "") -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, str):
        return [prefix + spec]
    if isinstance(spec, dict):
        if "class_name" in spec:  # one serialised metric object or function
            config = spec.get("config")
            if isinstance(config, dict) and config.get("name"):
                return [prefix + str(config["name"])]
            return [prefix + config] if isinstance(config, str) else []
        # One entry per named output: Keras logs them as OUTPUT_METRIC.
        return [n for out, sub in spec.items() for n in _metric_names(sub, f"{prefix}{out}_")]
    if isinstance(spec, (list, tuple)):
        return [n for sub in spec for n in _metric_names(sub, prefix)]
    return []


def trial_value(
    results: Any, objective: Objective, reporter: Any, where: str
) -> tuple[float, int]:
    """The trial's value from what fit() returned, as KerasTuner reads it.

    History: the objective at its best epoch; dict: its objective key; a number: itself; a
    list (one entry per execution): the mean of its entries. None falls back to what the
    per-epoch callback saw, when the user's fit passed it on.
    """
    import keras
    import numpy as np

    fallback_epoch = max(reporter.best_epoch, 0)
    if results is None:
        if reporter.best_value is not None:
            return float(reporter.best_value), fallback_epoch
        raise InvalidHyperModel(
            f"{where} returned None: return the History of model.fit(...) (or a dict or "
            "number holding the objective)"
        )
    if isinstance(results, list):
        if not results:
            raise InvalidHyperModel(f"{where} returned an empty list")
        pairs = [trial_value(r, objective, reporter, where) for r in results]
        # Like KerasTuner: entries are executions of the same trial, averaged.
        return statistics.fmean(v for v, _ in pairs), int(statistics.fmean(e for _, e in pairs))
    if isinstance(results, (int, float, np.integer, np.floating)) and not isinstance(
        results, bool
    ):
        return float(results), fallback_epoch
    if isinstance(results, dict):
        if objective.metric not in results:
            raise InvalidHyperModel(
                f"{where} returned a dict without the objective '{objective.metric}' "
                f"(keys: {', '.join(map(str, results)) or 'none'}); pass --objective NAME"
            )
        return float(results[objective.metric]), fallback_epoch
    if isinstance(results, keras.callbacks.History):
        from autodl.train._callbacks import TrialFailure

        values = [float(v) for v in results.history.get(objective.metric, [])]
        finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
        if not finite:
            raise TrialFailure(
                f"metric '{objective.metric}' not in the History of {where} "
                f"({', '.join(sorted(results.history)) or 'empty'})"
            )
        pick = max if objective.direction == "maximize" else min
        value, epoch = pick(finite, key=lambda pair: pair[0])
        return value, epoch
    raise InvalidHyperModel(
        f"{where} returned {type(results).__name__}; expected a History, dict, number or a "
        "list of them"
    )


def _history_dict(results: Any) -> dict[str, list[float]]:
    history = getattr(results, "history", None)
    if not isinstance(history, dict):
        return {}
    return {str(k): [float(v) for v in vs] for k, vs in history.items()}


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else "(no message)"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
