"""Scores of an exported model (raw input in, user units out) on a split of the data."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

_logger = logging.getLogger(__name__)

PREDICT_BATCH = 256
# Up to this many rows are predicted by calling the model eagerly, PREDICT_BATCH rows at a
# time; more go through Keras' `predict`, whose compiled function pays off on them.
EAGER_ROWS = 2048


def raw_model_input(data: Any, x: Any) -> Any:
    """A split of `data` in the form the exported model's inputs take."""
    from autodl.builders import model_input

    return model_input(data, x)


def predict_outputs(model: Any, x: Any) -> np.ndarray:
    """The model's outputs as a 2-D float array (probabilities or values in user units).

    `predict` traces a function for each model it is first called on: 0.1-0.2 s for a
    small CNN, where calling it on a few hundred validation rows takes a few ms. An export
    predicts with up to K+1 models (the ensemble's candidates), and every classification
    trial with a focal loss or EMA predicts once for the tie-break
    (train/_fit.py `validation_crossentropy`).
    """
    rows, outputs = _row_count(x), None
    if rows <= EAGER_ROWS:
        import keras

        try:
            outputs = np.concatenate(
                [
                    keras.ops.convert_to_numpy(model(_tensors(_batch(x, start)), training=False))
                    for start in range(0, max(rows, 1), PREDICT_BATCH)
                ]
            )
        except Exception as exc:  # e.g. a model only its compiled function can call
            _logger.debug("predicting through Keras' predict: %s", exc)
    if outputs is None:
        outputs = model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
    outputs = np.asarray(outputs, dtype="float64")
    return outputs.reshape(len(outputs), -1)


def _row_count(x: Any) -> int:
    first = next(iter(x.values())) if isinstance(x, dict) else x
    return int(first.shape[0])


def _batch(x: Any, start: int) -> Any:
    """Rows start..start+PREDICT_BATCH of an array, a tensor or a dict of them."""
    if isinstance(x, dict):
        return {k: v[start : start + PREDICT_BATCH] for k, v in x.items()}
    return x[start : start + PREDICT_BATCH]


def _tensors(x: Any) -> Any:
    """NumPy columns of a table as tensors (its string columns are tensors already): a
    model called eagerly takes a dict of one kind."""
    if isinstance(x, dict):
        import keras

        return {k: keras.ops.convert_to_tensor(v) if isinstance(v, np.ndarray) else v for k, v in x.items()}
    return x


def class_probabilities(outputs: np.ndarray, task: str) -> np.ndarray:
    """One column per class: a sigmoid output becomes (1 - p, p)."""
    if task == "binary":
        p = np.clip(outputs[:, 0], 0.0, 1.0)
        return np.stack([1.0 - p, p], axis=1)
    return outputs


def task_metrics(task: str, y: Any, outputs: np.ndarray) -> dict[str, float]:
    """accuracy and AUC for classification; MSE, MAE and RMSE (user units) for regression."""
    y = np.asarray(y)
    if task == "regression":
        error = outputs[:, 0] - y.astype("float64")
        mse = float(np.mean(error**2))
        return {"mse": mse, "mae": float(np.mean(np.abs(error))), "rmse": math.sqrt(mse)}
    probabilities = class_probabilities(outputs, task)
    labels = y.astype("int64")
    metrics = {"accuracy": float(np.mean(np.argmax(probabilities, axis=1) == labels))}
    auc = _auc(task, labels, probabilities)
    if auc is not None:
        metrics["auc"] = auc
    return metrics


def _auc(task: str, labels: np.ndarray, probabilities: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    present = np.unique(labels)
    if len(present) < 2:  # AUC is undefined with one class in the split
        return None
    if task == "binary":
        return float(roc_auc_score(labels, probabilities[:, 1]))
    if len(present) < probabilities.shape[1]:
        # One-vs-rest over the classes the split has, as sklearn needs every column present.
        onehot = np.eye(probabilities.shape[1])[labels][:, present]
        return float(roc_auc_score(onehot, probabilities[:, present], average="macro"))
    return float(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"))


def objective_value(
    metric: str,
    task: str,
    y: Any,
    outputs: np.ndarray,
    *,
    target_scale: tuple[float, float] | None,
    config: dict[str, Any] | None = None,
    custom_objects: dict[str, Any] | None = None,
) -> float:
    """`metric` (e.g. `val_accuracy`) computed as the search computed it, so values compare.

    Regression metrics are on the standardised target, as in training. A loss excludes the
    L1/L2 penalties that Keras adds to `val_loss` (they belong to one model, not to the
    predictions).
    """
    from autodl.train._compile import make_loss, make_metrics
    from autodl.train._fit import encode_targets

    n_classes = outputs.shape[1] if task == "multiclass" else 0
    encoded = encode_targets(y, task, n_classes, target_scale)
    if target_scale is not None:
        mean, std = target_scale
        outputs = (outputs - mean) / std
    outputs = outputs.astype("float32")
    name = metric.removeprefix("val_")
    if name == "loss":
        loss = make_loss(config or {}, task, custom_objects or {})
        return float(np.asarray(loss(encoded, outputs)))
    for candidate in make_metrics(task, name):
        if candidate.name == name:
            candidate.update_state(encoded, outputs)
            return float(np.asarray(candidate.result()))
    raise ValueError(f"metric must be one of the compiled metrics or a loss, but got {metric=}.")
