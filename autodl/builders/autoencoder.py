"""Autoencoder: an encoder to a small latent code and a decoder back, dense or convolutional.

Inputs are scaled to [0, 1] inside the model (with the training split's range) and the
decoder ends in a sigmoid, then scales back: reconstructions come out in the data's own
units and range. `vae.py` builds the variational variant on the same encoder and decoder.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodl.builders._generative import GenerativeModel, value_range
from autodl.builders._layers import activate, dense_block, layer_kwargs

KINDS = ("image", "tabular", "sequence")


def build(config: dict[str, Any], data: Any, *, variational: bool = False) -> GenerativeModel:
    import keras

    family = "vae" if variational else "autoencoder"
    if data.input_kind not in KINDS:
        raise ValueError(
            f"{family} models images, rows or sequences of numbers, not {data.input_kind} data"
        )
    architecture = config.get("architecture") or "dense"
    if architecture not in ("dense", "conv"):
        raise ValueError(f"{family} architecture must be dense or conv; got {architecture}")
    if architecture == "conv" and data.input_kind != "image":
        raise ValueError(f"a conv {family} needs images; this data is {data.input_kind}")
    x_train = np.asarray(data.x_train, dtype="float32")
    shape = tuple(int(d) for d in x_train.shape[1:])
    low, span = value_range(x_train)
    latent = int(config["latent_dim"])

    raw = keras.Input(shape=shape, name="x")
    unit = keras.layers.Rescaling(scale=1.0 / span, offset=-low / span, name="to_unit_range")(raw)
    if architecture == "conv":
        hidden, feature_map, halvings = _conv_encoder(unit, config)
    else:
        hidden, feature_map, halvings = _dense_encoder(unit, config), None, 0
    if variational:
        mean = keras.layers.Dense(latent, name="z_mean", dtype="float32")(hidden)
        # Starting at log-variance 0 (unit variance) keeps the first steps' KL term small.
        log_var = keras.layers.Dense(
            latent, name="z_log_var", kernel_initializer="zeros", dtype="float32"
        )(hidden)
        encoder = keras.Model(raw, [mean, log_var], name="encoder")
    else:
        code = keras.layers.Dense(latent, name="z", dtype="float32")(hidden)
        encoder = keras.Model(raw, code, name="encoder")

    z = keras.Input(shape=(latent,), name="z")
    if architecture == "conv":
        unit_out = _conv_decoder(z, feature_map, halvings, shape, config)
    else:
        unit_out = _dense_decoder(z, shape, config)
    out = keras.layers.Rescaling(scale=span, offset=low, name="to_data_range", dtype="float32")(
        unit_out
    )
    decoder = keras.Model(z, out, name="decoder")

    x = keras.Input(shape=shape, name="x")
    codes = encoder(x)
    # The exported model reconstructs deterministically: a VAE decodes its mean code.
    reconstruction = decoder(codes[0] if variational else codes)
    export = keras.Model(x, reconstruction, name=f"autodl_{family}")
    return GenerativeModel(
        family=family,
        export_model=export,
        x_train=x_train,
        y_train=None,
        x_val=np.asarray(data.x_val, dtype="float32"),
        y_val=None,
        encoder=encoder,
        decoder=decoder,
        low=low,
        span=span,
    )


def _units(width: int, step: int, latent: int) -> int:
    """Layer `step` of a funnel that halves from `width`, never narrower than the code."""
    return max(latent, int(width) // 2**step)


def _dense_encoder(tensor: Any, config: dict[str, Any]) -> Any:
    import keras

    tensor = keras.layers.Flatten()(tensor)
    latent = int(config["latent_dim"])
    for i in range(int(config["encoder_layers"])):
        tensor = dense_block(tensor, _units(config["encoder_units"], i, latent), config)
    return tensor


def _dense_decoder(z: Any, shape: tuple[int, ...], config: dict[str, Any]) -> Any:
    import keras

    tensor = z
    latent = int(config["latent_dim"])
    depth = int(config["decoder_layers"])
    for i in range(depth):  # widening: the mirror of the encoder's funnel
        tensor = dense_block(
            tensor, _units(config["decoder_units"], depth - 1 - i, latent), config
        )
    tensor = keras.layers.Dense(
        math.prod(shape), activation="sigmoid", dtype="float32", **layer_kwargs(config)
    )(tensor)
    return keras.layers.Reshape(shape, dtype="float32")(tensor)


def _conv_encoder(tensor: Any, config: dict[str, Any]) -> tuple[Any, tuple[int, ...], int]:
    """Stride-2 conv blocks (doubling filters) while the map can still halve."""
    import keras

    no_dropout = {**config, "dropout": 0.0}
    halvings = 0
    for i in range(int(config["encoder_layers"])):
        stride = 2 if min(tensor.shape[1:3]) >= 2 else 1
        halvings += stride == 2
        tensor = keras.layers.Conv2D(
            int(config["encoder_units"]) * 2**i,
            3,
            strides=stride,
            padding="same",
            use_bias=not config.get("batch_norm"),
            **layer_kwargs(config),
        )(tensor)
        tensor = activate(tensor, no_dropout)
    feature_map = tuple(int(d) for d in tensor.shape[1:])
    tensor = keras.layers.Flatten()(tensor)
    if float(config.get("dropout", 0.0)) > 0:
        tensor = keras.layers.Dropout(float(config["dropout"]))(tensor)
    return tensor, feature_map, halvings


def _conv_decoder(
    z: Any,
    feature_map: tuple[int, ...],
    halvings: int,
    shape: tuple[int, ...],
    config: dict[str, Any],
) -> Any:
    """Dense to the encoder's last map, transposed convs that undo its halvings, then crop
    (a 7-pixel side halves to 4 and doubles back to 8)."""
    import keras

    no_dropout = {**config, "dropout": 0.0}
    tensor = keras.layers.Dense(math.prod(feature_map), **layer_kwargs(config))(z)
    tensor = activate(tensor, no_dropout)
    tensor = keras.layers.Reshape(feature_map)(tensor)
    channels = shape[-1]
    for i in range(max(int(config["decoder_layers"]), halvings)):
        tensor = keras.layers.Conv2DTranspose(
            max(channels, int(config["decoder_units"]) // 2**i),
            3,
            strides=2 if i < halvings else 1,
            padding="same",
            use_bias=not config.get("batch_norm"),
            **layer_kwargs(config),
        )(tensor)
        tensor = activate(tensor, no_dropout)
    tensor = keras.layers.Conv2D(
        channels, 3, padding="same", activation="sigmoid", dtype="float32"
    )(tensor)
    extra_h, extra_w = int(tensor.shape[1]) - shape[0], int(tensor.shape[2]) - shape[1]
    if extra_h or extra_w:
        tensor = keras.layers.Cropping2D(((0, extra_h), (0, extra_w)), dtype="float32")(tensor)
    return tensor
