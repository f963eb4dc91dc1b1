"""Textgen: a next-step model for text (characters), token ids or real-valued sequences.

Recurrent (SimpleRNN / LSTM / GRU, `architecture="rnn"`) or a causal 1-D CNN with dilations
doubling per block (`architecture="conv"`): both read a window of steps and predict, at
every position, the step that follows, so one window trains on all its positions.

Text and tokens end in a softmax over the vocabulary (loss: cross-entropy per token);
real-valued sequences are standardised inside the model and end in a linear layer
(loss: mean squared error per step, on the standardised scale) whose export scales back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodl.builders._generative import (
    GenerativeModel,
    Vocabulary,
    row_windows,
    stream_windows,
    train_stride,
)
from autodl.builders._layers import activate, layer_kwargs

CELLS = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
KINDS = ("text", "tokens", "sequence")


def build(config: dict[str, Any], data: Any) -> GenerativeModel:
    if data.input_kind not in KINDS:
        raise ValueError(
            f"textgen models text, token ids or sequences, not {data.input_kind} data"
        )
    architecture = config.get("architecture") or "rnn"
    if architecture not in ("rnn", "conv"):
        raise ValueError(f"textgen architecture must be rnn or conv; got {architecture}")
    if data.input_kind == "sequence":
        return _continuous(config, data)
    return _discrete(config, data)


def body(tensor: Any, config: dict[str, Any]) -> Any:
    """Causal layers over (batch, steps, features): each position sees only its past."""
    import keras

    if (config.get("architecture") or "rnn") == "rnn":
        cell = getattr(keras.layers, CELLS[config["cell"]])
        for _ in range(int(config["rnn_layers"])):
            tensor = cell(
                int(config["rnn_units"]),
                return_sequences=True,
                dropout=float(config.get("dropout", 0.0)),
                kernel_initializer=config.get("initializer", "glorot_uniform"),
            )(tensor)
        return tensor
    for block in range(int(config["blocks"])):
        tensor = keras.layers.Conv1D(
            int(config["filters"]),
            int(config["kernel_size"]),
            padding="causal",
            dilation_rate=2**block,
            use_bias=not config.get("batch_norm"),
            **layer_kwargs(config),
        )(tensor)
        tensor = activate(tensor, config)
    return tensor


def _discrete(config: dict[str, Any], data: Any) -> GenerativeModel:
    import keras

    vocabulary = Vocabulary.from_data(data)
    length = int(config["sequence_length"])
    train, _ = vocabulary.stream(data.x_train)
    val, _ = vocabulary.stream(data.x_val)  # symbols unseen in training are left out
    x_train, y_train = stream_windows(train, length, train_stride(length))
    x_val, y_val = stream_windows(val, length, length)

    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    tensor = keras.layers.Embedding(vocabulary.size, int(config["embedding_dim"]))(tokens)
    tensor = body(tensor, config)
    probabilities = keras.layers.Dense(
        vocabulary.size, activation="softmax", dtype="float32", name="next_token"
    )(tensor)
    model = keras.Model(tokens, probabilities, name="autodl_textgen")
    return GenerativeModel(
        family="textgen",
        export_model=model,
        trainer=model,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalCrossentropy(name="token_loss")],
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        vocabulary=vocabulary,
        sequence_length=int(x_train.shape[1]),
    )


def _continuous(config: dict[str, Any], data: Any) -> GenerativeModel:
    import keras

    rows = np.asarray(data.x_train, dtype="float32")
    features = rows.shape[-1]
    flat = rows.reshape(-1, features)
    mean = flat.mean(axis=0)
    std = np.where(flat.std(axis=0) > 1e-12, flat.std(axis=0), 1.0).astype("float32")
    length = int(config["sequence_length"])
    x_train, y_train = row_windows(rows, length, train_stride(length))
    x_val, y_val = row_windows(np.asarray(data.x_val, dtype="float32"), length, length)

    inputs = keras.Input(shape=(None, features), name="x")
    tensor = keras.layers.Normalization(axis=-1, mean=mean.tolist(), variance=(std**2).tolist())(
        inputs
    )
    tensor = body(tensor, config)
    standardised = keras.layers.Dense(features, dtype="float32", name="next_step")(tensor)
    trainer = keras.Model(inputs, standardised, name="autodl_textgen_standardised")
    in_units = keras.layers.Rescaling(scale=std, offset=mean, name="to_data_units")(standardised)
    export = keras.Model(inputs, in_units, name="autodl_textgen")
    return GenerativeModel(
        family="textgen",
        export_model=export,
        trainer=trainer,
        loss=keras.losses.MeanSquaredError(),
        metrics=[keras.metrics.MeanSquaredError(name="token_loss")],
        x_train=x_train,
        y_train=(y_train - mean) / std,
        x_val=x_val,
        y_val=(y_val - mean) / std,
        sequence_length=int(x_train.shape[1]),
    )


def sampler(model: Any, length: int) -> Any:
    """The sampler-ready model: a window of `length` steps in, the next step's distribution
    (or value, for real-valued sequences) out; built-in layers around the trained model."""
    import keras

    features = model.inputs[0].shape[2:]  # () for token ids, (F,) for real-valued steps
    dtype = "int32" if not features else "float32"
    window = keras.Input(shape=(length, *features), dtype=dtype, name="window")
    outputs = model(window)
    last = keras.layers.Cropping1D((length - 1, 0), name="last_step")(outputs)
    flat = keras.layers.Reshape(tuple(outputs.shape[2:]), name="next")(last)
    return keras.Model(window, flat, name="autodl_textgen_sampler")
