"""Train one configuration: build, compile, fit with the per-epoch reporter, record."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodl.train._compile import compile_model
from autodl.train._objective import Objective

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedData:
    """A Dataset turned into what `model.fit` takes, computed once per search."""

    data: Any  # autodl.data.Dataset
    x_train: Any
    y_train: np.ndarray
    x_val: Any
    y_val: np.ndarray
    target_scale: tuple[float, float] | None  # (mean, std) of a standardised regression target
    # tf.data's tensors of the rows, made by the first trial and reused by the next (`fit_data`).
    row_datasets: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dataset(cls, data: Any) -> PreparedData:
        from autodl.builders import model_input

        if data.task == "generation":
            # Each generative family makes its own arrays from the raw splits (windows of
            # text, images scaled inside the model): the raw data is what it needs.
            return cls(data, data.x_train, data.y_train, data.x_val, data.y_val, None)
        scale = None
        if data.task == "regression":
            y = np.asarray(data.y_train, dtype="float64")
            mean, std = float(y.mean()), float(y.std()) or 1.0
            scale = (mean, std)
        return cls(
            data=data,
            x_train=model_input(data, data.x_train),
            y_train=encode_targets(data.y_train, data.task, data.n_classes, scale),
            x_val=model_input(data, data.x_val),
            y_val=encode_targets(data.y_val, data.task, data.n_classes, scale),
            target_scale=scale,
        )


def encode_targets(y: Any, task: str, n_classes: int, scale: tuple[float, float] | None) -> np.ndarray:
    """One-hot for multiclass, a float column for binary, standardised floats for regression."""
    y = np.asarray(y)
    if task == "multiclass":
        return np.eye(n_classes, dtype="float32")[y.astype("int64")]
    if task == "binary":
        return y.astype("float32").reshape(-1, 1)
    mean, std = scale or (0.0, 1.0)
    return ((y.astype("float64") - mean) / std).astype("float32").reshape(-1, 1)


@dataclass
class TrainedModel:
    """The outcome of training one configuration."""

    model: Any
    export_model: Any
    value: float
    best_epoch: int  # 0-based epoch whose weights the model holds
    epochs_run: int
    seconds: float
    n_params: int
    curve: list[float] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    pruned: bool = False
    timed_out: bool = False  # stopped at the search's deadline, before its last epoch
    # Cross-entropy of the kept weights' validation predictions (classification): ranks
    # trials of equal value (results/_leaderboard.py `tie_loss`).
    val_crossentropy: float | None = None
    # The values trained, when the space samples while it builds (KerasTuner's hp.values).
    config: dict[str, Any] | None = None


def train_config(
    config: dict[str, Any],
    prepared: PreparedData,
    objective: Objective,
    *,
    trial: Any = None,
    custom_objects: dict[str, Callable[..., Any]] | None = None,
    extra_callbacks: list[Any] | None = None,
) -> TrainedModel:
    """Build and fit `config`; raise `TrialFailure` with a reason if it cannot train."""
    import keras

    from autodl.builders import GENERATIVE_FAMILIES, build_model
    from autodl.train._callbacks import (
        BuildTrainingState,
        EpochLearningRate,
        EpochReporter,
        TrialFailure,
    )

    if config.get("family") in GENERATIVE_FAMILIES:
        from autodl.train._generative import train_generative

        return train_generative(
            config, prepared, objective, trial=trial, extra_callbacks=extra_callbacks
        )
    start = time.perf_counter()
    data = prepared.data
    try:
        built = build_model(config, data, target_scale=prepared.target_scale)
    except (ValueError, TypeError) as exc:
        # e.g. a kernel larger than the input, or shapes that do not fit together
        raise TrialFailure(f"invalid for input shape {_shape(data)}: {_first_line(exc)}") from exc
    model = built.model
    compile_model(model, config, data.task, custom_objects or {}, objective.metric)
    x_train, y_train = _drop_outlier_rows(config, prepared)
    reporter = EpochReporter(
        trial, objective, patience=int(config.get("patience", 0)), restore_best=not config.get("ema")
    )
    callbacks = [
        BuildTrainingState(x_train, y_train), reporter, EpochLearningRate(config), *(extra_callbacks or [])
    ]
    if config.get("schedule") == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=objective.metric,
                mode="max" if objective.direction == "maximize" else "min",
                factor=float(config["decay_rate"]),
                patience=max(1, int(config.get("patience", 4)) // 2),
            )
        )
    model.fit(
        **fit_data(
            x_train, y_train, int(config["batch_size"]), (prepared.x_val, prepared.y_val), cache=prepared.row_datasets
        ),
        epochs=int(config["epochs"]),
        callbacks=callbacks,
        verbose=0,
    )
    outcome = trained_outcome(
        reporter, config, objective, model, built.export_model, (prepared.x_val, prepared.y_val), start
    )
    if data.task in ("binary", "multiclass") and not outcome.pruned:
        logged = logged_crossentropy(model, reporter)
        outcome.val_crossentropy = (
            logged if logged is not None else validation_crossentropy(model, prepared.x_val, data.y_val, data.task)
        )
    return outcome


def logged_crossentropy(model: Any, reporter: Any) -> float | None:
    """The validation cross-entropy of the weights the trial keeps, from its kept epoch's
    `val_loss`: with a plain cross-entropy loss (no focal term, label smoothing or logits)
    that is the cross-entropy plus the L1/L2 penalties Keras adds, which are taken off
    again. None where it is something else (another loss, EMA's averaged weights, a loss
    a layer adds).

    Spares `validation_crossentropy`'s forward pass: about 20 ms of a 1 s digits CNN trial.
    Keras computes it in float32; it agrees with the pass to 1e-5
    (tests/train_tests/test_validation_crossentropy.py).
    """
    import keras

    loss = getattr(model, "loss", None)
    plain = type(loss) in (keras.losses.CategoricalCrossentropy, keras.losses.BinaryCrossentropy)
    if not plain or loss.from_logits or loss.label_smoothing or not reporter.restore_best:
        return None
    regularized = [v for v in model.trainable_weights if getattr(v, "regularizer", None) is not None]
    penalties = model.losses  # of the kept weights, as in that epoch's `val_loss`
    if not math.isfinite(reporter.best_loss) or len(penalties) != len(regularized):
        return None
    return max(0.0, reporter.best_loss - sum(float(keras.ops.convert_to_numpy(p)) for p in penalties))


def validation_crossentropy(model: Any, x_val: Any, labels: Any, task: str) -> float | None:
    """The cross-entropy of `model`'s predictions on the validation rows (class `labels`
    0..K-1), or None if the model cannot predict them.

    Trials of equal value rank by it, not by `val_loss`: a focal loss is smaller than
    cross-entropy by design, and Keras adds each model's L1/L2 penalty to its loss, so
    `val_loss` favoured focal-loss trials and weak penalties. Computed once, on the weights
    the trial keeps, with the same formula as the ensemble's validation loss: a compiled
    metric would cost every epoch (about 5% of a small table's trial).
    """
    from autodl.export._ensemble import validation_loss
    from autodl.export._evaluate import predict_outputs

    try:
        outputs = predict_outputs(model, x_val)
    except Exception as exc:  # a model that cannot predict them: its ties keep val_loss
        _logger.debug("no validation cross-entropy: %s", exc)
        return None
    loss = validation_loss(task, labels, outputs)
    return loss if math.isfinite(loss) else None


# Above this many bytes of inputs, `fit_data` leaves batching to Keras (a tf.data shuffle
# buffer holds a second copy of the rows).
TF_DATA_MAX_BYTES = 256 * 2**20


def fit_data(
    x: Any,
    y: np.ndarray,
    batch_size: int,
    validation: tuple[Any, Any] | None = None,
    cache: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`model.fit`'s data arguments: tf.data pipelines on the TensorFlow backend.

    Keras feeds NumPy arrays through an index-gathering pipeline that, for the small
    models and data of most trials, takes 20-50% longer per epoch than a plain
    `from_tensor_slices -> shuffle -> batch -> prefetch` one (benchmarks/RESULTS.md,
    section 1). Shuffled anew every epoch from TensorFlow's seed (set per trial), as Keras
    shuffles. Other backends, inputs above TF_DATA_MAX_BYTES and inputs tf.data cannot
    hold (mixed-type columns) keep the arrays, batched by Keras. With `cache` (a
    `PreparedData`'s), the rows' tensors are made once and reused by the next trials.
    """
    import keras

    arrays = {"x": x, "y": y, "batch_size": batch_size}
    if validation is not None:
        arrays["validation_data"] = validation
    if keras.backend.backend() != "tensorflow" or _nbytes(x) > TF_DATA_MAX_BYTES:
        return arrays
    import tensorflow as tf

    try:
        train = _row_dataset("train", (x, y), cache).shuffle(len(y), reshuffle_each_iteration=True)
        datasets = {"x": train.batch(batch_size).prefetch(tf.data.AUTOTUNE), "shuffle": False}
        if validation is not None:
            datasets["validation_data"] = _row_dataset("validation", validation, cache).batch(batch_size)
    except (TypeError, ValueError):
        return arrays
    return datasets


def _row_dataset(role: str, arrays: tuple[Any, Any], cache: dict[str, Any] | None) -> Any:
    """`tf.data.Dataset.from_tensor_slices(arrays)`, kept in `cache` under `role` while
    the same arrays come back: making it copies the rows into tensors (about 1.5 ms of a
    digits trial, in each of the two). One per role, so rows a trial subsets (outlier
    rows dropped) replace it rather than pile up."""
    import tensorflow as tf

    kept = cache.get(role) if cache is not None else None
    if kept is not None and all(a is b for a, b in zip(kept[0], arrays, strict=True)):
        return kept[1]
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if cache is not None:
        cache[role] = (arrays, dataset)
    return dataset


def _nbytes(x: Any) -> int:
    values = x.values() if isinstance(x, dict) else [x]
    return sum(int(getattr(v, "nbytes", 0)) for v in values)


def trained_outcome(
    reporter: Any,
    config: dict[str, Any],
    objective: Objective,
    model: Any,
    export_model: Any,
    validation: tuple[Any, Any],
    start: float,
) -> TrainedModel:
    """What a finished `fit` produced, judged as the exported model will be; raises
    `TrialFailure` when training broke (NaN, a missing metric)."""
    from autodl.train._callbacks import TrialFailure

    if reporter.failure:
        raise TrialFailure(reporter.failure)
    value = reporter.best_value
    if config.get("ema") and not reporter.pruned:
        # With EMA the model now holds the averaged weights: judge those.
        logs = model.evaluate(*validation, verbose=0, return_dict=True)
        value = float(logs[objective.metric.removeprefix("val_")])
        reporter.best_epoch = reporter.epochs_run - 1
    if value is None or not math.isfinite(value):
        raise TrialFailure(f"{objective.metric} was never finite")
    return TrainedModel(
        model=model,
        export_model=export_model,
        value=float(value),
        best_epoch=reporter.best_epoch,
        epochs_run=reporter.epochs_run,
        seconds=time.perf_counter() - start,
        n_params=int(export_model.count_params()),
        curve=reporter.curve,
        history=reporter.history,
        pruned=reporter.pruned,
        timed_out=reporter.timed_out,
    )


def refit_config(
    config: dict[str, Any],
    prepared: PreparedData,
    epochs: int,
    *,
    custom_objects: dict[str, Callable[..., Any]] | None = None,
) -> Any:
    """Build `config` afresh and fit it on all of `prepared`'s training rows for `epochs`.

    No validation, pruning or early stopping: the epoch count comes from the trial being
    reproduced. The learning-rate schedule keeps `config["epochs"]` as its horizon so that
    each epoch gets the rate it had in that trial. Returns the `BuiltModel`.
    """
    import keras

    from autodl.builders import build_model
    from autodl.train._callbacks import BuildTrainingState, EpochLearningRate, TrialFailure

    data = prepared.data
    built = build_model(config, data, target_scale=prepared.target_scale)
    compile_model(built.model, config, data.task, custom_objects or {})
    x_train, y_train = _drop_outlier_rows(config, prepared)
    callbacks: list[Any] = [BuildTrainingState(x_train, y_train), EpochLearningRate(config)]
    if config.get("schedule") == "plateau":
        # Without a validation split the plateau can only be seen on the training loss.
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="loss",
                mode="min",
                factor=float(config["decay_rate"]),
                patience=max(1, int(config.get("patience", 4)) // 2),
            )
        )
    history = built.model.fit(
        **fit_data(x_train, y_train, int(config["batch_size"])),
        epochs=int(epochs),
        callbacks=callbacks,
        verbose=0,
    )
    losses = history.history.get("loss") or [math.nan]
    if not math.isfinite(float(losses[-1])):
        raise TrialFailure(f"loss became {losses[-1]} while retraining")
    return built


def _drop_outlier_rows(config: dict[str, Any], prepared: PreparedData) -> tuple[Any, np.ndarray]:
    """`outliers="zscore"`: leave out training rows with a numeric feature beyond the z-score.

    Decided on the raw numeric columns (tables and arrays of rows only), then fed anew.
    """
    data = prepared.data
    if config.get("outliers") != "zscore" or data.input_kind not in ("tabular", "table"):
        return prepared.x_train, prepared.y_train
    raw = data.x_train
    if data.input_kind == "table":
        numeric = [c for c in data.feature_names if c not in data.categorical]
        if not numeric:
            return prepared.x_train, prepared.y_train
        values = np.stack([np.asarray(raw[c], dtype="float64") for c in numeric], axis=1)
    else:
        values = np.asarray(raw, dtype="float64")
    with np.errstate(all="ignore"):
        z = np.abs((values - np.nanmean(values, axis=0)) / np.nanstd(values, axis=0))
    keep = ~(np.nan_to_num(z) > float(config["outlier_zscore"])).any(axis=1)
    if keep.all() or keep.sum() < max(8, len(keep) // 2):  # never drop most of the data
        return prepared.x_train, prepared.y_train
    from autodl.builders import model_input

    subset = {c: np.asarray(v)[keep] for c, v in raw.items()} if isinstance(raw, dict) else raw[keep]
    return model_input(data, subset), prepared.y_train[keep]


def _forget_custom_gradients() -> None:
    """Drop the gradient functions TensorFlow registered while the last models trained.

    Every `tf.custom_gradient` traced in graph mode registers its gradient function under
    a new name (`CustomGradient-<n>`) in TensorFlow's process-wide gradient registry, and
    nothing ever removes it. Keras' optimizer traces one per model (the all-reduce of the
    gradients in each training step), and the function's closure holds that step's whole
    graph: about 7 MB a trial for an MLP, the memory that used to grow with every trial
    (measured: a plain Keras loop grows 7.05 MB a model, 0.08 MB with this). The models
    those graphs belong to are gone when this runs, and nothing differentiates through
    them again. A TensorFlow without this private registry is left as it is.
    """
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if isinstance(registry, dict):
        for name in [n for n in registry if str(n).startswith("CustomGradient-")]:
            registry.pop(name, None)


@contextmanager
def _eager_kernels_kept() -> Iterator[None]:
    """Within, TensorFlow keeps its cache of eager kernels: Keras' `clear_session` and
    `tf.random.set_seed` empty it, and then every eager op of the next trial (creating and
    initialising each variable, building the optimizer, starting each epoch) instantiates
    its kernel again. Building and compiling a small digits CNN took 0.085 s instead of
    0.05 s, and a 1-epoch digits trial 1.72 s instead of 1.62 s (80 trials each).

    The cache holds kernels, not tensors: over those 80 trials the process held 24 MB
    more, flat from trial 40 on. Its emptying also restarts stateful random kernels;
    Keras draws initial weights, dropout and augmentation from stateless ops seeded by
    its own seed generators, so a seeded trial trains the same either way
    (tests/train_tests/test_seeded_trials.py). Other backends have no such cache.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    from tensorflow.python import pywrap_tfe

    empty = pywrap_tfe.TFE_ContextClearCaches
    pywrap_tfe.TFE_ContextClearCaches = lambda context_handle: None
    try:
        yield
    finally:
        pywrap_tfe.TFE_ContextClearCaches = empty


def seed_trial(seed: int) -> None:
    """`keras.utils.set_random_seed(seed)` between trials, eager kernels kept."""
    import keras

    with _eager_kernels_kept():
        keras.utils.set_random_seed(seed)


def release_memory() -> None:
    """Free the Keras graph and Python garbage between trials.

    In a loop of trials (the `autodl` command, or `autodl._process.trial_loop`), what was
    alive as the loop started, or else what survived the first trial's full collection
    (TensorFlow, the data, the study), outlives the trials: `gc.freeze()` takes it out of
    the collector's sight, and the trials collect only the young generations (their own
    objects; Python's automatic full collections, now cheap, catch the rest). That costs
    about 0.001 s a trial instead of 0.2-0.8 s for a full `gc.collect()`. TensorFlow's
    gradient registry would keep every trained model's graph: see _forget_custom_gradients.
    Whatever still grows is returned by restarting the process (study/_memory.py). With a GPU every collection is full, so
    the last trial's device buffers are freed before the next trial allocates. Outside a
    loop of trials (a caller's own `train_config`), every collection is full.
    """
    import gc

    import keras

    from autodl import _process
    from autodl.train._device import ACCELERATORS

    frozen = _process.may_freeze() and _process.frozen() and not ACCELERATORS
    if keras.backend.backend() == "tensorflow":
        _forget_custom_gradients()
    with _eager_kernels_kept():
        keras.backend.clear_session(free_memory=not frozen)  # free_memory: a full gc.collect()
    if frozen:
        gc.collect(1)
    elif _process.may_freeze():
        _process.freeze()


def _shape(data: Any) -> str:
    shape = getattr(data, "input_shape", None)
    return "x".join(map(str, shape)) if shape else data.input_kind


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
