"""Seeded, stratified-when-possible hold-out splits that work on arrays and column dicts."""

from __future__ import annotations

import logging
import math
import numbers

import numpy as np

from autodl.data._dataset import Features
from autodl.exceptions import DataError

_logger = logging.getLogger(__name__)

MIN_ROWS = 10


def check_size(name: str, value: object) -> None:
    """A split size is a fraction in (0, 1) or a row count >= 1, as in scikit-learn."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DataError(f"{name} must be a fraction in (0, 1) or a row count; got {value!r}")
    if isinstance(value, numbers.Integral):
        if value < 1:
            raise DataError(f"{name} must be a fraction in (0, 1) or a row count; got {value!r}")
    elif not 0.0 < float(value) < 1.0:
        raise DataError(f"{name} must be a fraction in (0, 1) or a row count; got {value!r}")


def held_count(size: float | int, n: int) -> int:
    if isinstance(size, numbers.Integral):
        return int(size)
    return math.ceil(float(size) * n)


def split_indices(
    y: np.ndarray,
    size: float | int,
    *,
    classify: bool,
    seed: int,
    where: str,
    split_name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (kept, held-out) row indices; raise DataError when either side would be empty."""
    from sklearn.model_selection import train_test_split

    n = len(y)
    n_held = held_count(size, n)
    if n_held < 1 or n - n_held < 1:
        raise DataError(
            f"{where}: too few rows for a {split_name} split of {size} "
            f"({n} rows would leave {n - n_held} to train on and {n_held} for {split_name})"
        )
    stratify = None
    if classify:
        counts = np.bincount(y)
        counts = counts[counts > 0]
        n_classes = len(counts)
        # sklearn refuses to stratify with a singleton class or fewer rows than classes on
        # either side; a plain shuffled split is the next best thing.
        if counts.min() >= 2 and n_held >= n_classes and n - n_held >= n_classes:
            stratify = y
        else:
            _logger.debug(
                "%s: %s split is not stratified (class counts %s)", where, split_name, counts
            )
    kept, held = train_test_split(
        np.arange(n), test_size=n_held, random_state=seed, stratify=stratify
    )
    return np.asarray(kept), np.asarray(held)


def take(x: Features, idx: np.ndarray) -> Features:
    if isinstance(x, dict):
        return {name: column[idx] for name, column in x.items()}
    return x[idx]


def hold_out_splits(
    x: Features,
    y: np.ndarray,
    x_val: Features | None,
    y_val: np.ndarray | None,
    x_test: Features | None,
    y_test: np.ndarray | None,
    *,
    val_size: float | int,
    test_size: float | int | None,
    classify: bool,
    seed: int,
    source: str,
    notes: list[str],
) -> tuple[Features, np.ndarray, Features, np.ndarray, Features | None, np.ndarray | None]:
    """Split off the test rows first (if asked and absent), then the validation rows."""
    if test_size is not None and x_test is None:
        kept, held = split_indices(
            y, test_size, classify=classify, seed=seed, where=source, split_name="test"
        )
        x_test, y_test = take(x, held), y[held]
        x, y = take(x, kept), y[kept]
    elif test_size is not None:
        notes.append("ignored test_size: the source has its own test split")
    if x_val is None:
        kept, held = split_indices(
            y, val_size, classify=classify, seed=seed, where=source, split_name="validation"
        )
        x_val, y_val = take(x, held), y[held]
        x, y = take(x, kept), y[kept]
    assert y_val is not None  # for type checkers: a provided x_val always has its y_val
    return x, y, x_val, y_val, x_test, y_test
