"""Task "generation": the data is modelled itself, so no target is needed.

Labels, where a source has them (a class folder, `--target`, an npz `y`), are kept as
class indices only to colour plots; without labels every `y` is -1. Splits are
stratified by the labels when there are some, and plainly shuffled otherwise.
"""

from __future__ import annotations

import numpy as np

from autodl.data._dataset import Dataset, Features, RawData
from autodl.data._split import MIN_ROWS, hold_out_splits
from autodl.data._target import detect_task, encode_target
from autodl.exceptions import DataError

NO_LABEL = -1


def rows(x: Features) -> int:
    if isinstance(x, dict):
        return len(next(iter(x.values()))) if x else 0
    return len(x)


def _labels(
    raw: RawData, source: str, notes: list[str]
) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """One label array per split present (x, x_val, x_test), and the class names."""
    splits = [(raw.x, raw.y), (raw.x_val, raw.y_val), (raw.x_test, raw.y_test)]
    present = [(x, y) for x, y in splits if x is not None]
    unlabelled = [np.full(rows(x), NO_LABEL, dtype=np.int64) for x, _ in present]
    if raw.y is None:
        return unlabelled, ()
    if any(y is None for _, y in present):
        notes.append(f"ignored {raw.target_label}: not every split has labels")
        return unlabelled, ()
    ys = [np.asarray(y) for _, y in present]
    joined = np.concatenate(ys) if len(ys) > 1 else ys[0]
    if joined.dtype.kind == "f" and not np.isfinite(joined).all():
        notes.append(f"ignored {raw.target_label}: it has missing or infinite values")
        return unlabelled, ()
    if detect_task(joined) != "classification" or len(np.unique(joined.astype(str))) < 2:
        notes.append(f"ignored {raw.target_label}: its values are not classes to colour by")
        return unlabelled, ()
    encoded, _, names = encode_target(
        ys, task="classification", where=source, what=raw.target_label
    )
    if raw.label_names:
        names = tuple(raw.label_names[int(name)] for name in names)
    return encoded, names


def _check_content(raw: RawData, source: str) -> None:
    if raw.input_kind == "text":
        texts = [raw.x] + [v for v in (raw.x_val, raw.x_test) if v is not None]
        if not any(str(t).strip() for part in texts for t in part):
            raise DataError(f"{source}: every text is empty; there is nothing to generate from")


def assemble_generation(
    raw: RawData,
    source: str,
    *,
    val_size: float | int,
    test_size: float | int | None,
    seed: int,
) -> Dataset:
    """Split `raw` into train / val (/ test) for a generative model."""
    sizes = {"x": rows(raw.x), "x_val": None, "x_test": None}
    sizes.update(
        {k: rows(v) for k, v in (("x_val", raw.x_val), ("x_test", raw.x_test)) if v is not None}
    )
    total = sum(n for n in sizes.values() if n is not None)
    if total < MIN_ROWS:
        raise DataError(f"{source}: too few rows: {total} (need at least {MIN_ROWS})")
    for key, n in sizes.items():
        if n == 0:
            raise DataError(f"{source}: too few rows: '{key}' is empty")
    _check_content(raw, source)
    notes = list(raw.notes)
    labels, class_names = _labels(raw, source, notes)
    labelled = bool(class_names)
    rest = iter(labels[1:])
    x, y = raw.x, labels[0]
    x_val, y_val = raw.x_val, next(rest) if raw.x_val is not None else None
    x_test, y_test = raw.x_test, next(rest) if raw.x_test is not None else None

    x, y, x_val, y_val, x_test, y_test = hold_out_splits(
        x, y, x_val, y_val, x_test, y_test, val_size=val_size, test_size=test_size,
        classify=labelled, seed=seed, source=source, notes=notes,
    )

    return Dataset(
        name=raw.name,
        source=source,
        task="generation",
        input_kind=raw.input_kind,
        x_train=x,
        y_train=y,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        class_names=class_names,
        feature_names=raw.feature_names,
        categorical=raw.categorical,
        text_column=raw.text_column,
        notes=tuple(notes),
    )
