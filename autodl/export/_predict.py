"""`autodl predict`: run an exported model on new raw data, checked against its model card.

A prediction file has no target column (one that is there is ignored). Everything the
card says the model takes must be there with the right dtype or shape, and nothing else:
a mismatch is a `DataError` naming the column, array or size at fault.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autodl._files import write_text
from autodl.exceptions import DataError, closest

_logger = logging.getLogger(__name__)

DEFAULT_OUT = "predictions.csv"


@dataclass
class PredictionInput:
    """New data in the form the model's inputs take."""

    x: Any
    rows: int
    ids: dict[str, list[str]] = field(default_factory=dict)  # e.g. {"file": [...]} for images
    notes: list[str] = field(default_factory=list)


@dataclass
class PredictionResult:
    out: Path
    rows: int
    notes: list[str]


def resolve_model(path: str | Path) -> tuple[Path, Path]:
    """(model file, model card) for an output folder or a `.keras` file."""
    from autodl.export._best import BEST_MODEL
    from autodl.export._card import CARD_JSON

    path = Path(path)
    if path.is_dir():
        model = path / BEST_MODEL
        if not model.exists():
            raise DataError(f"--model {path}: no {BEST_MODEL} in this folder")
        return model, path / CARD_JSON
    if not path.exists():
        raise DataError(f"--model {path}: not found")
    if path.suffix != ".keras":
        raise DataError(f"--model {path}: give an output folder or a .keras file")
    return path, path.parent / CARD_JSON


def predict_file(
    model_path: str | Path, data: str | Path, out: str | Path = DEFAULT_OUT
) -> PredictionResult:
    """Predict on `data` (CSV, Parquet, NPZ or an image folder) and write `out` (CSV)."""
    from autodl.export._card import read_model_card

    model_file, card_file = resolve_model(model_path)
    card = read_model_card(card_file)
    if card.get("task") == "generation":
        raise DataError(
            f"--model {model_path}: a generative model predicts no target; "
            "sample from it with autodl generate"
        )
    prepared = read_prediction_input(str(data), card)
    import keras

    from autodl.export._evaluate import predict_outputs

    model = keras.saving.load_model(model_file, compile=False, safe_mode=True)
    outputs = predict_outputs(model, prepared.x)
    frame = predictions_frame(outputs, card, prepared.ids)
    out = Path(out)
    write_text(out, frame.to_csv(index=False))
    return PredictionResult(out, prepared.rows, prepared.notes)


def predictions_frame(
    outputs: np.ndarray, card: dict[str, Any], ids: dict[str, list[str]] | None = None
) -> Any:
    """Class labels by their names with one probability column per class, or values."""
    import pandas as pd

    from autodl.export._evaluate import class_probabilities

    columns: dict[str, Any] = dict(ids or {})
    task = card["task"]
    if task == "regression":
        columns["prediction"] = outputs[:, 0]
        return pd.DataFrame(columns)
    names = list(card["class_names"])
    probabilities = class_probabilities(outputs, task)
    columns["prediction"] = [names[i] for i in np.argmax(probabilities, axis=1)]
    for i, name in enumerate(names):
        columns[f"prob_{name}"] = probabilities[:, i]
    return pd.DataFrame(columns)


def read_prediction_input(source: str, card: dict[str, Any]) -> PredictionInput:
    from autodl.data._tables import PARQUET_SUFFIXES

    kind = card["input"]["kind"]
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{source}: file not found")
    suffix = path.suffix.lower()
    if path.is_dir():
        if kind != "image":
            raise DataError(f"{source}: a folder of images, but the model takes {_takes(kind)}")
        return _image_folder_input(path, source, card)
    if suffix == ".npz":
        if kind in ("table", "text"):
            raise DataError(f"{source}: an .npz archive, but the model takes {_takes(kind)}")
        return _npz_input(path, source, card)
    if suffix == ".csv" or suffix in PARQUET_SUFFIXES:
        if kind in ("image", "sequence"):
            raise DataError(f"{source}: a table, but the model takes {_takes(kind)}")
        return _frame_input(path, source, card)
    raise DataError(
        f"{source}: unsupported input '{suffix or path.name}'; the model takes {_takes(kind)}"
    )


def _takes(kind: str) -> str:
    return {
        "table": "a CSV or Parquet table",
        "tabular": "a CSV or Parquet table or an .npz archive with array 'x'",
        "text": "a CSV or Parquet table with a text column",
        "image": "an .npz archive with array 'x' or a folder of images",
        "sequence": "an .npz archive with array 'x'",
    }[kind]


# ---------------------------------------------------------------- tables
def _expected_columns(spec: dict[str, Any]) -> list[str]:
    if spec["kind"] == "table":
        return [c["name"] for c in spec["columns"]]
    if spec["kind"] == "text":
        return [spec["text_column"]]
    return list(spec["features"])


def _check_columns(columns: list[str], expected: list[str], source: str) -> None:
    listed = ", ".join(expected)
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing:
        raise DataError(
            f"{source}: missing column '{missing[0]}'{_typo_hint(missing[0], extra)}; "
            f"the model takes: {listed}"
        )
    if extra:
        raise DataError(
            f"{source}: extra column '{extra[0]}' that the model does not take; it takes: {listed}"
        )


def _typo_hint(name: str, extra: list[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, extra, n=1, cutoff=0.5)
    return f" (the file has '{match[0]}': a typo?)" if match else ""


def _numeric(frame: Any, column: str, source: str) -> np.ndarray:
    import pandas as pd

    from autodl.data._tables import _is_numeric

    values = frame[column]
    if not _is_numeric(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = values[converted.isna() & values.notna() & (values.astype(str).str.strip() != "")]
        if len(bad):
            raise DataError(
                f"{source}: column '{column}' must be numeric (float32, as in training); "
                f"got text such as '{bad.iloc[0]}'"
            )
        values = converted
    array = values.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
    if np.isinf(array).any():
        raise DataError(f"{source}: column '{column}' contains infinite (or too large) values")
    return array


def _categories(frame: Any, column: str) -> np.ndarray:
    from autodl.data._tables import _is_numeric, _strings
    from autodl.data._target import _label_str

    values = frame[column]
    if _is_numeric(values):
        # A category column that happens to hold only numbers here ("3", not "3.0").
        return np.array(["" if v != v else _label_str(v) for v in values.to_numpy()], dtype=object)
    return _strings(values)


def _frame_input(path: Path, source: str, card: dict[str, Any]) -> PredictionInput:
    from autodl.builders._inputs import input_name
    from autodl.data._tables import _read_frame

    frame = _read_frame(path, source)
    frame.columns = [str(c) for c in frame.columns]
    spec, notes = card["input"], []
    target = card.get("target")
    columns = list(frame.columns)
    if target and target in columns:
        columns.remove(target)
        notes.append(f"ignored the target column '{target}'")
    _check_columns(columns, _expected_columns(spec), source)
    rows = len(frame)
    if rows == 0:
        raise DataError(f"{source}: no rows to predict")
    if spec["kind"] == "text":
        strings = _categories(frame, spec["text_column"])
        return PredictionInput(_strings_tensor(strings), rows, notes=notes)
    if spec["kind"] == "tabular":
        x = np.column_stack([_numeric(frame, c, source) for c in spec["features"]])
        return PredictionInput(x, rows, notes=notes)
    inputs: dict[str, Any] = {}
    for column in spec["columns"]:
        name = column.get("input") or input_name(column["name"])
        if column["categorical"]:
            inputs[name] = _strings_tensor(_categories(frame, column["name"]))
        else:
            inputs[name] = _numeric(frame, column["name"], source).reshape(-1, 1)
    return PredictionInput(inputs, rows, notes=notes)


def _strings_tensor(values: np.ndarray) -> Any:
    # Keras takes strings only as TensorFlow string tensors, not NumPy arrays.
    import tensorflow as tf

    return tf.constant(np.asarray(values, dtype=object).astype(str).reshape(-1, 1))


# ---------------------------------------------------------------- arrays and images
def _shape_text(shape: Any) -> str:
    return "x".join(str(int(d)) for d in shape)


def _npz_input(path: Path, source: str, card: dict[str, Any]) -> PredictionInput:
    spec = card["input"]
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if "x" not in keys:
                found = ", ".join(keys) or "none"
                raise DataError(
                    f"{source}: missing array 'x'; arrays found: {found}{closest('x', keys)}"
                )
            x = np.asarray(archive["x"])
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{source}: not a valid .npz archive ({type(exc).__name__})") from None
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source}: array 'x' must be numeric; got dtype {x.dtype}")
    expected = tuple(int(d) for d in spec["shape"])
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        got = _shape_text(x.shape[1:]) if x.ndim > 1 else "scalars"
        what = {
            "image": "wrong image size: {} (height x width x channels) but the model takes {}",
            "tabular": "wrong number of features: {} per row but the model takes {}",
        }.get(spec["kind"], "wrong shape: {} per sample but the model takes {}")
        raise DataError(f"{source}: array 'x' has " + what.format(got, _shape_text(expected)))
    x = x.astype(np.float32)
    if np.isinf(x).any():
        raise DataError(f"{source}: array 'x' contains infinite values")
    if x.ndim > 2 and np.isnan(x).any():
        raise DataError(f"{source}: array 'x' contains NaN values")
    return PredictionInput(x, len(x), notes=_range_notes(x, spec))


def _range_notes(x: np.ndarray, spec: dict[str, Any]) -> list[str]:
    """Warn when new values are on another scale than the training ones (0-1 vs 0-255)."""
    if "value_range" not in spec or not x.size or spec["kind"] != "image":
        return []
    low, high = spec["value_range"]
    new_high = float(np.nanmax(x))
    if high > 0 and (new_high > 2 * high or new_high < high / 4):
        return [
            f"pixel values reach {new_high:g}, but the model was trained on values up to {high:g}"
        ]
    return []


def _image_folder_input(folder: Path, source: str, card: dict[str, Any]) -> PredictionInput:
    from PIL import Image

    from autodl.data._images import IMAGE_SUFFIXES, _read_image

    spec = card["input"]
    height, width = (int(d) for d in spec["image_size"])
    channels = int(spec["channels"])
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        suffixes = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES)
        raise DataError(f"{source}: no image files ({suffixes}) in the folder")
    x = np.empty((len(files), height, width, channels), dtype=np.float32)
    names, resized, skipped = [], 0, 0
    for path in files:
        image = _read_image(path)
        if image is None:
            skipped += 1
            continue
        image = image.convert("L" if channels == 1 else "RGB")
        if (image.height, image.width) != (height, width):
            # As the training loader did for images of another size.
            image = image.resize((width, height), Image.Resampling.BILINEAR)
            resized += 1
        pixels = np.asarray(image, dtype=np.float32)
        x[len(names)] = pixels[..., np.newaxis] if channels == 1 else pixels
        names.append(path.relative_to(folder).as_posix())
    if not names:
        raise DataError(f"{source}: no readable images (tried {len(files)} files)")
    x = x[: len(names)]
    notes = []
    if resized:
        notes.append(f"resized {resized} image(s) to {height}x{width}, the model's image size")
    if skipped:
        notes.append(f"skipped {skipped} unreadable file(s)")
    notes += _range_notes(x, spec)
    return PredictionInput(x, len(names), ids={"file": names}, notes=notes)
