"""Task detection and target encoding, shared by every loader."""

from __future__ import annotations

import numpy as np

from autodl.exceptions import DataError, one_of

TASK_CHOICES: tuple[str, ...] = (
    "binary", "multiclass", "regression", "classification", "generation"
)

# An integer target with many distinct values is a count or a score, not a label.
_MAX_CLASSES_FOR_INTEGERS = 20
_MIN_DISTINCT_FRACTION_FOR_REGRESSION = 0.05


def check_task(task: str | None) -> None:
    if task is not None and task not in TASK_CHOICES:
        raise DataError(one_of("task", task, TASK_CHOICES))


def _is_text(y: np.ndarray) -> bool:
    return y.dtype.kind in "OUS"


def detect_task(y: np.ndarray) -> str:
    """Return "classification" or "regression" for a 1-D target with no missing values."""
    if _is_text(y) or y.dtype.kind == "b":
        return "classification"
    is_integer_valued = y.dtype.kind in "iu" or bool(np.all(np.mod(y, 1) == 0))
    if not is_integer_valued:
        return "regression"
    n_distinct = len(np.unique(y))
    if (
        n_distinct > _MAX_CLASSES_FOR_INTEGERS
        and n_distinct > _MIN_DISTINCT_FRACTION_FOR_REGRESSION * len(y)
    ):
        return "regression"
    return "classification"


def _label_str(value: object) -> str:
    # Integer-valued float labels read back from CSV (1.0) should display as the user wrote them.
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _as_labels(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind == "S":
        return np.array([v.decode("utf-8", "replace") for v in y], dtype=object)
    if y.dtype.kind == "O":
        # Mixed Python types cannot be sorted together; their text can.
        return np.array([_label_str(v) for v in y], dtype=object)
    return y


def encode_target(
    ys: list[np.ndarray], *, task: str | None, where: str, what: str
) -> tuple[list[np.ndarray], str, tuple[str, ...]]:
    """Detect (or apply the forced) task and encode every split's target the same way.

    Returns the encoded targets (same order as ``ys``), the task ("binary", "multiclass"
    or "regression") and the class names (empty for regression).
    """
    y_all = np.concatenate(ys) if len(ys) > 1 else ys[0]
    if y_all.dtype.kind == "f":
        if np.isnan(y_all).any():
            raise DataError(f"{where}: {what} contains missing (NaN) values")
        if np.isinf(y_all).any():
            raise DataError(f"{where}: {what} contains infinite values")
    kind = detect_task(y_all) if task is None else task

    if kind == "regression":
        if _is_text(y_all):
            examples = ", ".join(f"'{_label_str(v)}'" for v in y_all[:3])
            raise DataError(
                f"{where}: cannot use task 'regression': {what} is not numeric "
                f"(values like {examples})"
            )
        return [y.astype(np.float32) for y in ys], "regression", ()

    uniques, inverse = np.unique(_as_labels(y_all), return_inverse=True)
    names = tuple(_label_str(u) for u in uniques)
    if len(names) < 2:
        raise DataError(
            f"{where}: {what} has a single class '{names[0]}'; classification needs at least 2"
        )
    if kind == "binary" and len(names) != 2:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise DataError(
            f"{where}: task 'binary' needs exactly 2 classes but {what} has {len(names)} ({shown})"
        )
    if kind == "classification":
        kind = "binary" if len(names) == 2 else "multiclass"

    inverse = inverse.reshape(-1).astype(np.int64)
    encoded: list[np.ndarray] = []
    start = 0
    for y in ys:
        encoded.append(inverse[start : start + len(y)])
        start += len(y)
    return encoded, kind, names
