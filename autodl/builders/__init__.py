"""Model builders: one module per family, one registry, one entry point.

`build_model(config, data)` returns a `BuiltModel` whose `model` trains on the targets
as `autodl.train` feeds them and whose `export_model` takes raw input and predicts in
the user's units.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from autodl.exceptions import SpaceError, one_of

FAMILIES: dict[str, str] = {
    "mlp": "autodl.builders.mlp",
    "cnn": "autodl.builders.cnn",
    "rnn": "autodl.builders.rnn",
}
# Task "generation": these model the data itself and build a `GenerativeModel` (no output
# head, their own losses), so they keep a registry of their own beside `FAMILIES`.
GENERATIVE_FAMILIES: dict[str, str] = {
    "autoencoder": "autodl.builders.autoencoder",
    "vae": "autodl.builders.vae",
    "textgen": "autodl.builders.textgen",
}


@dataclass
class BuiltModel:
    model: Any  # keras.Model trained by autodl.train
    export_model: Any  # keras.Model sharing its layers, taking raw input, output in user units


def build_model(config: dict[str, Any], data: Any, *, target_scale: tuple[float, float] | None = None) -> BuiltModel:
    """Build an uncompiled Keras model for `config` on `data` (an `autodl.data.Dataset`).

    `target_scale` = (mean, std) of a standardised regression target: the export model
    multiplies it back so it predicts in the user's units.
    """
    import keras

    from autodl.builders._inputs import build_input
    from autodl.builders._layers import output_head

    family = config.get("family", "mlp")
    if family not in FAMILIES:
        raise SpaceError(one_of("family", family, FAMILIES))
    module = importlib.import_module(FAMILIES[family])
    model_input = build_input(config, data, text_as_tokens=module.TEXT_AS_TOKENS)
    body = module.build_body(model_input.features, config, is_text_tokens=model_input.is_text_tokens)
    outputs = output_head(body, data.task, data.n_classes)
    model = keras.Model(model_input.inputs, outputs, name=f"autodl_{family}")
    if target_scale is not None:
        mean, std = target_scale
        outputs = keras.layers.Rescaling(
            scale=float(std), offset=float(mean), name="target_units", dtype="float32"
        )(outputs)
    # A separate, never-compiled model over the same layers: it saves without optimizer
    # state or custom losses, so it loads anywhere with plain Keras.
    return BuiltModel(model, keras.Model(model_input.inputs, outputs, name=f"autodl_{family}"))


def build_generative(config: dict[str, Any], data: Any) -> Any:
    """Build a generative family's parts for `config` on `data` (see `GenerativeModel`)."""
    family = config.get("family")
    if family not in GENERATIVE_FAMILIES:
        raise SpaceError(one_of("family", family, GENERATIVE_FAMILIES))
    return importlib.import_module(GENERATIVE_FAMILIES[family]).build(config, data)


def model_input(data: Any, x: Any) -> Any:
    """Raw data (as an `autodl.data.Dataset` holds it) in the form the model's inputs take.

    Keras takes strings only as TensorFlow string tensors, not NumPy arrays, so text and
    category columns are converted with `tf.constant`.
    """
    import numpy as np

    from autodl.builders._inputs import input_name

    if data.input_kind == "table":
        return {
            input_name(column): _column(np.asarray(x[column]).reshape(-1, 1), column in data.categorical)
            for column in data.feature_names
        }
    if data.input_kind == "text":
        return _column(np.asarray(x, dtype=object).reshape(-1, 1), True)
    return np.asarray(x, dtype="float32")


def _column(values: Any, is_string: bool) -> Any:
    if not is_string:
        return values.astype("float32")
    import tensorflow as tf

    return tf.constant(values.astype(str))
