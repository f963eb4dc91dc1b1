"""RNN: SimpleRNN / LSTM / GRU layers, optionally bidirectional, with an Embedding for text."""

from __future__ import annotations

from typing import Any

from autodl.builders._layers import dense_block, to_rank

TEXT_AS_TOKENS = True
CELLS = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def build_body(features: Any, config: dict[str, Any], *, is_text_tokens: bool) -> Any:
    import keras

    tensor = features
    if is_text_tokens:
        tensor = keras.layers.Embedding(
            int(config["max_tokens"]), int(config["embedding_dim"]), mask_zero=True
        )(tensor)
    tensor = to_rank(tensor, 3)
    cell = getattr(keras.layers, CELLS[config["cell"]])
    n_layers = int(config["rnn_layers"])
    for i in range(n_layers):
        layer = cell(
            int(config["rnn_units"]),
            dropout=float(config.get("dropout", 0.0)),
            return_sequences=i < n_layers - 1,
            kernel_initializer=config.get("initializer", "glorot_uniform"),
        )
        tensor = keras.layers.Bidirectional(layer)(tensor) if config.get("bidirectional") else layer(tensor)
    if int(config["dense_units"]) > 0:
        tensor = dense_block(tensor, config["dense_units"], {**config, "dropout": 0.0})
    return tensor
