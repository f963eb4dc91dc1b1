"""Refit: retrain the best configuration on train + validation for its best epoch count.

The search needed the validation split to choose; once chosen, those rows are better
spent on training. The epoch count is where the best trial peaked (`best_epoch + 1`),
since without a validation split nothing else can tell when to stop.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

_logger = logging.getLogger(__name__)


def _concat(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {name: np.concatenate([a[name], b[name]]) for name in a}
    return np.concatenate([np.asarray(a), np.asarray(b)])


def combined_dataset(data: Any) -> Any:
    """`data` with the validation rows added to the training rows (the test split untouched)."""
    return dataclasses.replace(
        data,
        x_train=_concat(data.x_train, data.x_val),
        y_train=np.concatenate([data.y_train, data.y_val]),
        notes=(*data.notes, "refit on train + validation"),
    )


def refit_model(
    config: dict[str, Any],
    data: Any,
    epochs: int,
    *,
    seed: int | None = None,
    custom_objects: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """Train `config` on train + validation for `epochs`; return (export model, data used).

    The export model takes raw input and predicts in user units, like a trial's.
    """
    from autodl.train import PreparedData
    from autodl.train._fit import refit_config

    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, but got {epochs=}.")
    combined = combined_dataset(data)
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)
    prepared = PreparedData.from_dataset(combined)
    _logger.info("refitting on %d rows for %d epochs", combined.n_train, epochs)
    built = refit_config(config, prepared, epochs, custom_objects=custom_objects)
    return built.export_model, combined
