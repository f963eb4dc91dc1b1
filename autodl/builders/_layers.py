"""Small helpers every family shares: dense/conv keyword arguments, activation, head."""

from __future__ import annotations

from typing import Any


def layer_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """Initializer and L1/L2 penalty for a Dense or Conv layer."""
    import keras

    l1, l2 = float(config.get("l1", 0.0)), float(config.get("l2", 0.0))
    return {
        "kernel_initializer": config.get("initializer", "glorot_uniform"),
        "kernel_regularizer": keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None,
    }


def activate(tensor: Any, config: dict[str, Any]) -> Any:
    """Optional batch normalisation, then the activation, then dropout."""
    import keras

    if config.get("batch_norm"):
        tensor = keras.layers.BatchNormalization()(tensor)
    tensor = keras.layers.Activation(config.get("activation", "relu"))(tensor)
    if float(config.get("dropout", 0.0)) > 0:
        tensor = keras.layers.Dropout(float(config["dropout"]))(tensor)
    return tensor


def dense_block(tensor: Any, units: int, config: dict[str, Any]) -> Any:
    import keras

    # The bias is redundant before batch normalisation.
    use_bias = not config.get("batch_norm")
    tensor = keras.layers.Dense(int(units), use_bias=use_bias, **layer_kwargs(config))(tensor)
    return activate(tensor, config)


def output_head(tensor: Any, task: str, n_classes: int) -> Any:
    """The last layer: softmax for multiclass, sigmoid for binary, linear for regression."""
    import keras

    # float32 even under a mixed_float16 policy: softmax and losses are unstable in float16.
    if task == "multiclass":
        return keras.layers.Dense(n_classes, activation="softmax", name="output", dtype="float32")(tensor)
    if task == "binary":
        return keras.layers.Dense(1, activation="sigmoid", name="output", dtype="float32")(tensor)
    return keras.layers.Dense(1, name="output", dtype="float32")(tensor)


def to_rank(tensor: Any, rank: int) -> Any:
    """Reshape features for a family: rows become sequences, images become rows of pixels."""
    import keras

    shape = tuple(tensor.shape[1:])
    current = len(shape) + 1
    if current == rank:
        return tensor
    if rank == 2:
        return keras.layers.Flatten()(tensor)
    if rank == 3 and current == 2:
        return keras.layers.Reshape((shape[0], 1))(tensor)
    if rank == 3 and current == 4:
        return keras.layers.Reshape((shape[0], shape[1] * shape[2]))(tensor)
    raise ValueError(f"cannot turn features of shape {shape} into rank {rank}")
