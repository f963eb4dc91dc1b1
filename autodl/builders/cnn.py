"""CNN: conv blocks with pooling, 2-D for images and 1-D for sequences, rows and text."""

from __future__ import annotations

from typing import Any

from autodl.builders._layers import activate, dense_block, layer_kwargs, to_rank

TEXT_AS_TOKENS = True


def build_body(features: Any, config: dict[str, Any], *, is_text_tokens: bool) -> Any:
    import keras

    tensor = features
    if is_text_tokens:
        tensor = keras.layers.Embedding(int(config["max_tokens"]), int(config["embedding_dim"]))(tensor)
    rank = 4 if len(tensor.shape) == 4 else 3
    tensor = to_rank(tensor, rank)
    conv = keras.layers.Conv2D if rank == 4 else keras.layers.Conv1D
    pool = keras.layers.MaxPooling2D if rank == 4 else keras.layers.MaxPooling1D
    no_dropout = {**config, "dropout": 0.0}
    for block in range(int(config["blocks"])):
        filters = int(config["filters"]) * 2**block
        tensor = conv(
            filters,
            int(config["kernel_size"]),
            padding="same",
            use_bias=not config.get("batch_norm"),
            **layer_kwargs(config),
        )(tensor)
        tensor = activate(tensor, no_dropout)
        # Pool only while the feature map is at least 2 wide: more blocks than an 8x8 image
        # can halve still build, they just stop shrinking it.
        if min(tensor.shape[1:-1]) >= 2:
            tensor = pool(2)(tensor)
    if float(config.get("dropout", 0.0)) > 0:
        tensor = keras.layers.Dropout(float(config["dropout"]))(tensor)
    if is_text_tokens:
        tensor = keras.layers.GlobalMaxPooling1D()(tensor)
    tensor = keras.layers.Flatten()(tensor) if len(tensor.shape) > 2 else tensor
    if int(config["dense_units"]) > 0:
        tensor = dense_block(tensor, config["dense_units"], no_dropout)
    return tensor
