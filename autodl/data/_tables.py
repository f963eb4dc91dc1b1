"""CSV and Parquet files with a named target column."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autodl.data._dataset import RawData
from autodl.exceptions import DataError, closest

if TYPE_CHECKING:
    import pandas as pd

_logger = logging.getLogger(__name__)

PARQUET_SUFFIXES = (".parquet", ".pq")
# A single string column whose values average this many words is prose, not categories.
_MIN_MEAN_TOKENS_FOR_TEXT = 3.0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _closest_column(name: str, columns: list[str]) -> str:
    # difflib sees no likeness between one-letter names that differ only in case ("Y", "y").
    same_but_case = [c for c in columns if c.lower() == name.lower()]
    if same_but_case:
        return f" (did you mean '{same_but_case[0]}'?)"
    return closest(name, columns)


def _read_frame(path: Path, source: str) -> pd.DataFrame:
    import pandas as pd

    if path.stat().st_size == 0:
        raise DataError(f"{source}: empty")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow

        try:
            return pd.read_parquet(path)
        except (pyarrow.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"{source}: not a Parquet file") from exc
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{source}: empty") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{source}: malformed CSV: {_first_line(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source}: not UTF-8 text (cannot decode byte {exc.start}: {exc.reason})"
        ) from exc


def _strings(column: pd.Series) -> np.ndarray:
    """Column as an object array of Python str, missing values as ""."""
    missing = column.isna().to_numpy()
    values = column.astype(object).to_numpy()
    return np.array(
        ["" if gone else str(value) for value, gone in zip(values, missing, strict=True)],
        dtype=object,
    )


def _is_numeric(column: pd.Series) -> bool:
    from pandas.api import types

    return types.is_numeric_dtype(column.dtype) and not types.is_bool_dtype(column.dtype)


def _missing_target(column: pd.Series) -> np.ndarray:
    # pandas may hand out a read-only view; this mask is updated in place below.
    missing = column.isna().to_numpy().copy()
    if not _is_numeric(column):
        missing |= np.array([s.strip() == "" for s in _strings(column)], dtype=bool)
    return missing


def _target_values(column: pd.Series) -> np.ndarray:
    from pandas.api import types

    if types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=bool)
    if types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.int64)
    if _is_numeric(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return _strings(column)


def _looks_like_text(values: np.ndarray) -> bool:
    present = [v for v in values if v.strip()]
    if not present:
        return False
    return float(np.mean([len(v.split()) for v in present])) >= _MIN_MEAN_TOKENS_FOR_TEXT


def load_table(
    path: Path, source: str, target: str | None, *, task: str | None = None
) -> RawData:
    frame = _read_frame(path, source)
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)
    listed = ", ".join(columns)
    if task == "generation":
        return _table_for_generation(frame, path, source, target)
    if target is None:
        raise DataError(
            f"{source}: --target is required for CSV/Parquet data; columns are: {listed}"
        )
    if target not in columns:
        raise DataError(
            f"{source}: target column '{target}' not found; columns are: {listed}"
            f"{_closest_column(target, columns)}"
        )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataError(f"{source}: duplicate column names: {', '.join(duplicated)}")
    features = [c for c in columns if c != target]
    if not features:
        raise DataError(f"{source}: no feature columns besides the target '{target}'")

    notes: list[str] = []
    missing = _missing_target(frame[target])
    if missing.any():
        frame = frame.loc[~missing]
        notes.append(f"dropped {int(missing.sum())} rows with a missing target '{target}'")
        _logger.info("%s: %s", source, notes[-1])
    y = _target_values(frame[target])

    numeric: dict[str, np.ndarray] = {}
    categorical: dict[str, np.ndarray] = {}
    for name in features:
        column = frame[name]
        if _is_numeric(column):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
            if np.isinf(values).any():
                raise DataError(
                    f"{source}: column '{name}' contains infinite (or too large) values"
                )
            if len(values) and np.isnan(values).all():
                raise DataError(f"{source}: feature column '{name}' is entirely empty")
            numeric[name] = values
        else:
            strings = _strings(column)
            if len(strings) and all(not s.strip() for s in strings):
                raise DataError(f"{source}: feature column '{name}' is entirely empty")
            categorical[name] = strings

    target_label = f"target '{target}'"
    if len(features) == 1 and categorical and _looks_like_text(categorical[features[0]]):
        return RawData(
            name=path.stem,
            input_kind="text",
            x=categorical[features[0]],
            y=y,
            target_label=target_label,
            text_column=features[0],
            notes=notes,
        )
    if not categorical:
        # All-numeric tables become plain arrays, so every array-based family can use them.
        return RawData(
            name=path.stem,
            input_kind="tabular",
            x=np.column_stack([numeric[name] for name in features]).astype(np.float32),
            y=y,
            target_label=target_label,
            feature_names=tuple(features),
            notes=notes,
        )
    return RawData(
        name=path.stem,
        input_kind="table",
        x={name: numeric[name] if name in numeric else categorical[name] for name in features},
        y=y,
        target_label=target_label,
        feature_names=tuple(features),
        categorical=tuple(name for name in features if name in categorical),
        notes=notes,
    )


def _table_for_generation(
    frame: pd.DataFrame, path: Path, source: str, target: str | None
) -> RawData:
    """Generation needs no target: a text column to model, or numeric rows to encode.

    A `--target` column, if given, is kept only to colour plots.
    """
    columns = list(frame.columns)
    listed = ", ".join(columns)
    if target is not None and target not in columns:
        raise DataError(
            f"{source}: target column '{target}' not found; columns are: {listed}"
            f"{_closest_column(target, columns)}"
        )
    features = [c for c in columns if c != target]
    if not features:
        raise DataError(f"{source}: no columns to generate besides the target '{target}'")
    y = None if target is None else _target_values(frame[target])
    target_label = f"target '{target}'" if target else "labels"
    notes: list[str] = []
    strings = [c for c in features if not _is_numeric(frame[c])]
    texts = [c for c in strings if _looks_like_text(_strings(frame[c]))]
    if not texts and strings == features and len(strings) == 1:
        texts = strings  # one column of words (names, say): character-level text all the same
    if texts:
        if len(features) > 1:
            notes.append(f"generating text column '{texts[0]}'; other columns are not used")
        return RawData(
            name=path.stem,
            input_kind="text",
            x=_strings(frame[texts[0]]),
            y=y,
            target_label=target_label,
            text_column=texts[0],
            notes=notes,
        )
    if strings:
        raise DataError(
            f"{source}: generation needs a text column (a few words per row) or numeric "
            f"columns; '{strings[0]}' holds short strings (pass it as --target to colour by it)"
        )
    values = np.column_stack(
        [frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in features]
    ).astype(np.float32)
    if not np.isfinite(values).all():
        raise DataError(f"{source}: numeric columns for generation must have no missing values")
    return RawData(
        name=path.stem,
        input_kind="tabular",
        x=values,
        y=y,
        target_label=target_label,
        feature_names=tuple(features),
        notes=notes,
    )
