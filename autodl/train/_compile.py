"""Optimizer, loss and metrics for a configuration; the objective metric it is judged on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autodl.exceptions import ConfigError


def make_metrics(task: str, objective: str | None = None) -> list[Any]:
    """The metrics a model logs every epoch: MSE and MAE, or accuracy, and AUC only when
    `objective` (e.g. `val_auc`) is AUC.

    Keras' AUC updates a confusion matrix at 200 thresholds on every batch: on a 2-epoch
    digits CNN it made the trial about 25% longer (0.6 s more tracing, 10-20% a later
    epoch). The test AUC in summary.json comes from the predictions (export/_evaluate.py).
    """
    import keras

    if task == "regression":
        return [keras.metrics.MeanSquaredError(name="mse"), keras.metrics.MeanAbsoluteError(name="mae")]
    accuracy = keras.metrics.BinaryAccuracy if task == "binary" else keras.metrics.CategoricalAccuracy
    metrics = [accuracy(name="accuracy")]
    if objective is not None and objective.removeprefix("val_") == "auc":
        metrics.append(keras.metrics.AUC(name="auc"))
    return metrics


def make_loss(config: dict[str, Any], task: str, custom: dict[str, Callable[..., Any]]) -> Any:
    import keras

    name = config.get("loss")
    if name in custom:
        return custom[name]
    if task == "regression":
        if name in (None, "mse"):
            return keras.losses.MeanSquaredError()
        if name == "mae":
            return keras.losses.MeanAbsoluteError()
        if name == "huber":
            return keras.losses.Huber(delta=float(config["huber_delta"]))
        raise ConfigError(f"loss '{name}' is for classification; a regression space needs mse, mae or huber")
    if name == "focal":
        gamma = float(config["focal_gamma"])
        if task == "binary":
            return keras.losses.BinaryFocalCrossentropy(gamma=gamma)
        return keras.losses.CategoricalFocalCrossentropy(gamma=gamma)
    if name in (None, "crossentropy", "binary_crossentropy", "categorical_crossentropy"):
        return keras.losses.BinaryCrossentropy() if task == "binary" else keras.losses.CategoricalCrossentropy()
    raise ConfigError(f"loss '{name}' is for regression; a {task} space needs crossentropy or focal")


def make_optimizer(config: dict[str, Any]) -> Any:
    """The configuration's Keras optimizer; on TensorFlow its update takes fewer graph ops
    (autodl/train/_fused.py)."""
    import keras

    from autodl.train._fused import fuse_updates

    lr = float(config["learning_rate"])
    ema = {"use_ema": bool(config.get("ema")), "ema_momentum": float(config.get("ema_momentum", 0.99))}
    name = config["optimizer"]
    if name == "sgd":
        optimizer = keras.optimizers.SGD(
            lr, momentum=float(config["momentum"]), nesterov=bool(config["nesterov"]), **ema
        )
    elif name == "adamw":
        optimizer = keras.optimizers.AdamW(lr, weight_decay=float(config["weight_decay"]), **ema)
    else:
        classes = {
            "adam": keras.optimizers.Adam,
            "adagrad": keras.optimizers.Adagrad,
            "adadelta": keras.optimizers.Adadelta,
            "rmsprop": keras.optimizers.RMSprop,
            "nadam": keras.optimizers.Nadam,
        }
        optimizer = classes[name](lr, **ema)
    return fuse_updates(optimizer)


# XLA compilation for every model this process compiles: `--jit` turns it on once per
# worker (a process-wide setting, like Keras' dtype policy); "auto" is Keras' default.
_JIT_COMPILE: bool | str = "auto"


def set_jit_compile(enabled: bool | str) -> bool | str:
    """Set `jit_compile` for later `compile_model` calls; returns the previous setting."""
    global _JIT_COMPILE
    previous, _JIT_COMPILE = _JIT_COMPILE, enabled
    return previous


def compile_model(
    model: Any,
    config: dict[str, Any],
    task: str,
    custom: dict[str, Callable[..., Any]],
    objective: str | None = None,
) -> None:
    """Compile for `config`; `objective`: the metric the search judges on (`make_metrics`)."""
    model.compile(
        optimizer=make_optimizer(config),
        loss=make_loss(config, task, custom),
        metrics=make_metrics(task, objective),
        jit_compile=_JIT_COMPILE,
    )
