""".npz archives with arrays x, y and optional x_val/y_val, x_test/y_test."""

from __future__ import annotations

import logging
import zipfile
import zlib
from pathlib import Path

import numpy as np

from autodl.data._dataset import RawData
from autodl.exceptions import DataError, closest

_logger = logging.getLogger(__name__)

_KINDS_BY_NDIM = {2: "tabular", 3: "sequence", 4: "image"}
_PAIRS = (("x_val", "y_val"), ("x_test", "y_test"))
_KNOWN = ("x", "y", "x_val", "y_val", "x_test", "y_test")
# Everything numpy and zipfile raise for a truncated, corrupt or foreign file.
_READ_ERRORS = (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error, KeyError)


def _first_line(exc: BaseException, limit: int = 120) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    # Errors from corrupt data can quote the garbage bytes; keep the message one short line.
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _read_arrays(
    path: Path, source: str, required: tuple[str, ...] = ("x", "y")
) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise DataError(f"{source}: not a valid .npz archive ({_first_line(exc)})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(
            f"{source}: not a valid .npz archive (it holds a single array; "
            "save with numpy.savez(path, x=..., y=...))"
        )
    with archive:
        keys = list(archive.files)
        for name in required:
            if name not in keys:
                found = ", ".join(keys) if keys else "none"
                raise DataError(
                    f"{source}: missing array '{name}'; arrays found: {found}"
                    f"{closest(name, keys)}"
                )
        ignored = [k for k in keys if k not in _KNOWN]
        if ignored:
            _logger.debug("%s: ignoring arrays %s", source, ignored)
        arrays: dict[str, np.ndarray] = {}
        for key in _KNOWN:
            if key not in keys:
                continue
            try:
                arrays[key] = np.asarray(archive[key])
            # numpy parses a corrupt member's header with ast/tokenize, which raise their own
            # errors (SyntaxError, tokenize.TokenError); any failure here means corrupt data.
            except Exception as exc:
                raise DataError(
                    f"{source}: array '{key}' cannot be read ({_first_line(exc)})"
                ) from exc
    return arrays


def _check_x(source: str, key: str, x: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source}: array '{key}' must be numeric; got dtype {x.dtype}")
    if x.ndim not in _KINDS_BY_NDIM:
        hint = "; reshape it to (n, 1) for a single feature" if x.ndim == 1 else ""
        raise DataError(
            f"{source}: array '{key}' must have 2 (tabular), 3 (sequence) or 4 (image) "
            f"dimensions; got {x.ndim} (shape {x.shape}){hint}"
        )
    if reference is not None and x.shape[1:] != reference.shape[1:]:
        raise DataError(
            f"{source}: array '{key}' has per-sample shape {x.shape[1:]} "
            f"but 'x' has {reference.shape[1:]}"
        )
    if 0 in x.shape[1:]:
        raise DataError(f"{source}: array '{key}' has no features (shape {x.shape})")
    x = x.astype(np.float32, copy=False)
    if np.isinf(x).any():
        raise DataError(f"{source}: array '{key}' contains infinite values")
    # Tabular models impute missing values; sequence and image layers cannot.
    if x.ndim > 2 and np.isnan(x).any():
        raise DataError(
            f"{source}: array '{key}' contains NaN values; NaN is only allowed in 2-D (tabular) x"
        )
    return x


def _check_y(
    source: str, key: str, y: np.ndarray, x_key: str, n_x: int, notes: list[str]
) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    elif y.ndim == 2 and y.dtype.kind in "biuf" and _is_one_hot(y):
        y = np.argmax(y, axis=1)
        notes.append(f"converted one-hot '{key}' to class indices")
    if y.ndim != 1:
        raise DataError(
            f"{source}: array '{key}' must be 1-D (one label per row); got shape {y.shape}"
        )
    if y.dtype.kind not in "biufUS":
        raise DataError(
            f"{source}: array '{key}' must hold numbers or strings; got dtype {y.dtype}"
        )
    if len(y) != n_x:
        raise DataError(
            f"{source}: '{x_key}' has {n_x} rows but '{key}' has {len(y)}; they must match"
        )
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise DataError(f"{source}: array '{key}' contains NaN values")
        if np.isinf(y).any():
            raise DataError(f"{source}: array '{key}' contains infinite values")
    return y


def _is_one_hot(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def load_npz(path: Path, source: str, *, task: str | None = None) -> RawData:
    if task == "generation":
        return _load_for_generation(path, source)
    arrays = _read_arrays(path, source)
    for x_key, y_key in _PAIRS:
        if (x_key in arrays) != (y_key in arrays):
            have, lack = (x_key, y_key) if x_key in arrays else (y_key, x_key)
            raise DataError(f"{source}: has array '{have}' but no '{lack}'; give both or neither")

    notes: list[str] = []
    x = _check_x(source, "x", arrays["x"], None)
    y = _check_y(source, "y", arrays["y"], "x", len(x), notes)
    splits: dict[str, np.ndarray] = {}
    for x_key, y_key in _PAIRS:
        if x_key in arrays:
            splits[x_key] = _check_x(source, x_key, arrays[x_key], x)
            splits[y_key] = _check_y(
                source, y_key, arrays[y_key], x_key, len(splits[x_key]), notes
            )
    return RawData(
        name=path.stem,
        input_kind=_KINDS_BY_NDIM[x.ndim],
        x=x,
        y=y,
        target_label="array 'y'",
        x_val=splits.get("x_val"),
        y_val=splits.get("y_val"),
        x_test=splits.get("x_test"),
        y_test=splits.get("y_test"),
        feature_names=tuple(f"x{i}" for i in range(x.shape[1])) if x.ndim == 2 else (),
        notes=notes,
    )


def _load_for_generation(path: Path, source: str) -> RawData:
    """Labels optional; 2-D integer x are token sequences (n, steps) for next-token models."""
    arrays = _read_arrays(path, source, required=("x",))
    notes: list[str] = []
    raw_x = arrays["x"]
    tokens = raw_x.ndim == 2 and raw_x.dtype.kind in "biu"
    splits: dict[str, np.ndarray] = {}
    for x_key, y_key in (("x", "y"), *_PAIRS):
        if x_key not in arrays:
            if y_key in arrays:
                raise DataError(f"{source}: has array '{y_key}' but no '{x_key}'")
            continue
        if tokens:
            splits[x_key] = _check_tokens(source, x_key, arrays[x_key], arrays["x"])
        else:
            splits[x_key] = _check_x(source, x_key, arrays[x_key], splits.get("x"))
        if y_key in arrays:
            splits[y_key] = _check_y(
                source, y_key, arrays[y_key], x_key, len(splits[x_key]), notes
            )
    x = splits["x"]
    kind = "tokens" if tokens else _KINDS_BY_NDIM[x.ndim]
    return RawData(
        name=path.stem,
        input_kind=kind,
        x=x,
        y=splits.get("y"),
        target_label="array 'y'",
        x_val=splits.get("x_val"),
        y_val=splits.get("y_val"),
        x_test=splits.get("x_test"),
        y_test=splits.get("y_test"),
        feature_names=tuple(f"x{i}" for i in range(x.shape[1])) if kind == "tabular" else (),
        notes=notes,
    )


def _check_tokens(source: str, key: str, x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    if x.ndim != 2 or x.dtype.kind not in "biu":
        raise DataError(
            f"{source}: array '{key}' must be 2-D integer token ids like 'x'; "
            f"got dtype {x.dtype}, shape {x.shape}"
        )
    if x.shape[1] != reference.shape[1]:
        raise DataError(f"{source}: array '{key}' has {x.shape[1]} steps but 'x' has {reference.shape[1]}")
    if x.shape[1] < 2:
        raise DataError(f"{source}: array '{key}' needs at least 2 steps per row; got {x.shape[1]}")
    return x.astype(np.int64, copy=False)
