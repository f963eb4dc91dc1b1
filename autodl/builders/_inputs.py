"""Model inputs and the preprocessing that lives inside every model.

Everything a model needs to take *raw* input (imputation, outlier clipping, scaling,
category and text encoding, augmentation) is built here from built-in Keras layers and
`keras.ops`, with statistics learned on the training split only. The saved model then
loads with plain `keras.saving.load_model`, no autodl import and no custom objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class ModelInput:
    """The model's Keras inputs and the preprocessed tensor the family body starts from."""

    inputs: Any  # a keras.KerasTensor or a dict name -> keras.KerasTensor
    features: Any  # keras.KerasTensor: rank 2 (tabular), 3 (sequence/text tokens), 4 (image)
    is_text_tokens: bool = False  # integer token ids: the family adds an Embedding


def input_name(column: str) -> str:
    """A Keras-safe input name for a data column (kept as is where already safe)."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", str(column))
    return name if name and not name[0].isdigit() else f"c_{name}"


def build_input(config: dict[str, Any], data: Any, *, text_as_tokens: bool) -> ModelInput:
    import keras

    kind = data.input_kind
    if kind == "table":
        return _table_input(config, data)
    if kind == "text":
        return _text_input(config, data, tokens=text_as_tokens)
    x = np.asarray(data.x_train, dtype="float32")
    inputs = keras.Input(shape=x.shape[1:], name="x", dtype="float32")
    flat = x.reshape(-1, x.shape[-1])
    features = _numeric_preprocessing(inputs, flat, config, impute=(kind == "tabular"))
    if kind == "image":
        features = _augmentation(features, config)
    return ModelInput(inputs, features)


def _numeric_preprocessing(tensor: Any, x: np.ndarray, config: dict[str, Any], *, impute: bool) -> Any:
    """Impute NaN with training means, clip outliers, then scale, along the last axis."""
    import keras
    from keras import ops

    with np.errstate(all="ignore"):
        means = np.nan_to_num(np.nanmean(x, axis=0)).astype("float32")
    if impute and np.isnan(x).any():
        tensor = ops.where(ops.isnan(tensor), means, tensor)
    x = np.where(np.isnan(x), means, x)
    if config.get("outliers") == "clip":
        q = float(config["outlier_quantile"])
        low, high = np.quantile(x, q, axis=0), np.quantile(x, 1.0 - q, axis=0)
        # Lists, not arrays: the clip op keeps its bounds in the saved model's config.
        tensor = ops.clip(tensor, low.astype("float32").tolist(), high.astype("float32").tolist())
        x = np.clip(x, low, high)
    scaling = config.get("scaling", "standard")
    if scaling == "standard":
        mean, var = x.mean(axis=0), x.var(axis=0)
    elif scaling == "minmax":
        mean, var = x.min(axis=0), (x.max(axis=0) - x.min(axis=0)) ** 2
    else:
        return tensor
    # Constant features: divide by 1, not by ~0, so unseen values stay finite.
    var = np.where(var > 1e-12, var, 1.0)
    return keras.layers.Normalization(axis=-1, mean=mean.tolist(), variance=var.tolist())(tensor)


def _table_input(config: dict[str, Any], data: Any) -> ModelInput:
    import keras

    inputs: dict[str, Any] = {}
    numeric_tensors, numeric_columns, encoded = [], [], []
    for column in data.feature_names:
        values = data.x_train[column]
        name = input_name(column)
        if column in data.categorical:
            tensor = keras.Input(shape=(1,), name=name, dtype="string")
            vocabulary = sorted({str(v) for v in values})
            lookup = keras.layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot")
            encoded.append(lookup(tensor))
        else:
            tensor = keras.Input(shape=(1,), name=name, dtype="float32")
            numeric_tensors.append(tensor)
            numeric_columns.append(np.asarray(values, dtype="float32"))
        inputs[name] = tensor
    if numeric_tensors:
        joined = (
            numeric_tensors[0]
            if len(numeric_tensors) == 1
            else keras.layers.Concatenate(name="numeric")(numeric_tensors)
        )
        encoded.insert(0, _numeric_preprocessing(joined, np.stack(numeric_columns, axis=1), config, impute=True))
    features = encoded[0] if len(encoded) == 1 else keras.layers.Concatenate(name="features")(encoded)
    return ModelInput(inputs, features)


def _text_input(config: dict[str, Any], data: Any, *, tokens: bool) -> ModelInput:
    import keras

    inputs = keras.Input(shape=(1,), name="text", dtype="string")
    texts = np.asarray(data.x_train, dtype=object).astype(str)
    if tokens:
        vectorizer = keras.layers.TextVectorization(
            max_tokens=int(config["max_tokens"]),
            output_mode="int",
            output_sequence_length=int(config["sequence_length"]),
        )
    else:
        vectorizer = keras.layers.TextVectorization(
            max_tokens=int(config["max_tokens"]), output_mode="tf_idf"
        )
    vectorizer.adapt(texts)
    features = vectorizer(inputs)
    return ModelInput(inputs, features, is_text_tokens=tokens)


def _augmentation(tensor: Any, config: dict[str, Any]) -> Any:
    """Random image transforms; Keras runs them in training only."""
    import keras

    strength = float(config.get("augment_strength", 0.1))
    for part in str(config.get("augment", "none")).split("+"):
        if part == "flip":
            tensor = keras.layers.RandomFlip("horizontal")(tensor)
        elif part == "vflip":
            tensor = keras.layers.RandomFlip("vertical")(tensor)
        elif part == "rotate":
            tensor = keras.layers.RandomRotation(strength, fill_mode="constant")(tensor)
        elif part == "crop":
            tensor = keras.layers.RandomTranslation(strength, strength, fill_mode="constant")(tensor)
        elif part == "zoom":
            tensor = keras.layers.RandomZoom(strength, fill_mode="constant")(tensor)
    return tensor
