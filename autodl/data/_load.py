"""`load_data`: turn a data source string into a split, encoded `Dataset`."""

from __future__ import annotations

import logging
import numbers
import os
from pathlib import Path

from autodl.data._builtin import builtin_names, load_builtin
from autodl.data._dataset import Dataset, RawData
from autodl.data._generation import assemble_generation
from autodl.data._images import check_image_size, load_image_folder
from autodl.data._npz import load_npz
from autodl.data._split import MIN_ROWS, check_size, hold_out_splits
from autodl.data._tables import PARQUET_SUFFIXES, load_table
from autodl.data._target import check_task, encode_target
from autodl.exceptions import DataError

_logger = logging.getLogger(__name__)

BUILTIN_PREFIX = "builtin:"
_SOURCE_HELP = (
    "use builtin:NAME, a .npz, .csv or .parquet file, "
    "or a folder of images with one subfolder per class"
)


def load_data(
    source: str | os.PathLike[str],
    *,
    target: str | None = None,
    task: str | None = None,
    val_size: float | int = 0.2,
    test_size: float | int | None = None,
    seed: int = 0,
    family_hint: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> Dataset:
    """Load ``builtin:NAME``, a ``.npz``, a ``.csv``/``.parquet`` (with ``target``) or an
    image folder, detect the task and split it into train / val (/ test).

    Args:
        task: force "binary", "multiclass", "regression" or "classification"; None detects.
        val_size, test_size: fraction in (0, 1) or row count, used only where the source
            has no such split; the test split is held out first.
        family_hint: the model family the data is for; informational only.
        image_size: (height, width) to resize folder images to; default the most common size.

    Raises:
        DataError: the source or its contents are unusable; the message names the file,
            column or array at fault.
    """
    source_text = os.fspath(source) if isinstance(source, os.PathLike) else str(source)
    check_task(task)
    check_size("val_size", val_size)
    if test_size is not None:
        check_size("test_size", test_size)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise DataError(f"seed must be an integer; got {seed!r}")
    size = check_image_size(image_size)
    _logger.debug("loading %s (family hint %s)", source_text, family_hint)

    raw = _read_source(source_text, target, size, task)
    if target is not None and not _is_table_file(source_text):
        raw.notes.append(f"ignored target '{target}': only CSV/Parquet data have named columns")
    dataset = _assemble(
        raw, source_text, task=task, val_size=val_size, test_size=test_size, seed=int(seed)
    )
    _logger.debug("loaded %s", dataset.describe())
    return dataset


def _is_table_file(source: str) -> bool:
    suffix = Path(source).suffix.lower()
    return not source.startswith(BUILTIN_PREFIX) and (
        suffix == ".csv" or suffix in PARQUET_SUFFIXES
    )


def _read_source(
    source: str, target: str | None, image_size: tuple[int, int] | None, task: str | None = None
) -> RawData:
    if source.startswith(BUILTIN_PREFIX):
        return load_builtin(source[len(BUILTIN_PREFIX) :], source)
    path = Path(source).expanduser()
    if path.is_dir():
        return load_image_folder(path, source, image_size, task=task)
    if not path.exists():
        hint = f" (did you mean '{BUILTIN_PREFIX}{source}'?)" if source in builtin_names() else ""
        raise DataError(f"{source}: file not found{hint}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path, source, task=task)
    if suffix == ".csv" or suffix in PARQUET_SUFFIXES:
        return load_table(path, source, target, task=task)
    raise DataError(f"{source}: unsupported data source '{suffix or path.name}'; {_SOURCE_HELP}")


def _assemble(
    raw: RawData,
    source: str,
    *,
    task: str | None,
    val_size: float | int,
    test_size: float | int | None,
    seed: int,
) -> Dataset:
    if (task or raw.default_task) == "generation":
        return assemble_generation(
            raw, source, val_size=val_size, test_size=test_size, seed=seed
        )
    if raw.y is None:
        raise DataError(f"{source}: has no labels; only task 'generation' works without them")
    ys = [raw.y] + [y for y in (raw.y_val, raw.y_test) if y is not None]
    n_total = sum(len(y) for y in ys)
    if n_total < MIN_ROWS:
        raise DataError(f"{source}: too few rows: {n_total} (need at least {MIN_ROWS})")
    for key, y in (("x", raw.y), ("x_val", raw.y_val), ("x_test", raw.y_test)):
        if y is not None and len(y) == 0:
            raise DataError(f"{source}: too few rows: '{key}' is empty")

    encoded, kind, class_names = encode_target(
        ys, task=task or raw.default_task, where=source, what=raw.target_label
    )
    if raw.label_names and kind != "regression":
        class_names = tuple(raw.label_names[int(name)] for name in class_names)
    rest = iter(encoded[1:])
    x, y = raw.x, encoded[0]
    y_val = next(rest) if raw.y_val is not None else None
    y_test = next(rest) if raw.y_test is not None else None
    x_val, x_test = raw.x_val, raw.x_test
    classify = kind != "regression"
    notes = list(raw.notes)

    x, y, x_val, y_val, x_test, y_test = hold_out_splits(
        x, y, x_val, y_val, x_test, y_test, val_size=val_size, test_size=test_size,
        classify=classify, seed=seed, source=source, notes=notes,
    )

    return Dataset(
        name=raw.name,
        source=source,
        task=kind,
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
