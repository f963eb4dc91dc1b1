"""Every key a search space may set, its default, and the names it accepts.

A key the space does not mention takes its default here, so a trial's configuration is
always complete and `best_config.json` alone rebuilds the model.
"""

from __future__ import annotations

FAMILIES = ("mlp", "cnn", "rnn", "autoencoder", "vae", "textgen")
# Families that model the data itself (task "generation"): no labels, no output head.
GENERATIVE_FAMILIES = ("autoencoder", "vae", "textgen")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "leaky_relu")
INITIALIZERS = (
    "zeros",
    "random_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
)
INITIALIZER_ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal"}
OPTIMIZERS = ("sgd", "adam", "adamw", "adagrad", "adadelta", "rmsprop", "nadam")
CLASSIFICATION_LOSSES = ("crossentropy", "binary_crossentropy", "categorical_crossentropy", "focal")
REGRESSION_LOSSES = ("mse", "mae", "huber")
LOSSES = CLASSIFICATION_LOSSES + REGRESSION_LOSSES
SCHEDULES = ("constant", "cosine", "exponential", "step", "plateau")
SCALINGS = ("none", "standard", "minmax")
OUTLIERS = ("none", "clip", "zscore")
AUGMENTATIONS = ("none", "flip", "vflip", "rotate", "crop", "zoom")
CELLS = ("simple", "lstm", "gru")
# Generative bodies: dense or convolutional autoencoders; recurrent or causal-conv textgen.
ARCHITECTURES = ("dense", "conv", "rnn")

# key -> (default, allowed names or None for numbers/booleans)
KEYS: dict[str, tuple[object, tuple[object, ...] | None]] = {
    "family": ("mlp", FAMILIES),
    # MLP
    "layers": (2, None),
    "units": (64, None),
    # CNN (1-D for sequences and text, 2-D for images)
    "blocks": (2, None),
    "filters": (32, None),
    "kernel_size": (3, None),
    # RNN
    "cell": ("lstm", CELLS),
    "rnn_layers": (1, None),
    "rnn_units": (64, None),
    "bidirectional": (False, None),
    # text front (RNN and 1-D CNN on a text column)
    "embedding_dim": (64, None),
    "max_tokens": (10000, None),
    "sequence_length": (64, None),
    # generative families (autoencoder, vae, textgen)
    "architecture": (None, ARCHITECTURES),  # None: dense for autoencoders, rnn for textgen
    "latent_dim": (16, None),
    "encoder_layers": (2, None),  # dense layers, or stride-2 conv blocks
    "encoder_units": (128, None),  # first layer's units (halving), or first block's filters
    "decoder_layers": (2, None),
    "decoder_units": (128, None),
    "kl_weight": (1.0, None),  # VAE: weight of the KL term in the training loss
    # head shared by CNN and RNN
    "dense_units": (64, None),
    # layers
    "activation": ("relu", ACTIVATIONS),
    "initializer": ("glorot_uniform", INITIALIZERS),
    "dropout": (0.0, None),
    "batch_norm": (False, None),
    "l1": (0.0, None),
    "l2": (0.0, None),
    # loss
    "loss": (None, LOSSES),  # None: cross-entropy for classification, MSE for regression
    "focal_gamma": (2.0, None),
    "huber_delta": (1.0, None),
    # optimizer
    "optimizer": ("adam", OPTIMIZERS),
    "learning_rate": (1e-3, None),
    "momentum": (0.9, None),
    "nesterov": (False, None),
    "weight_decay": (1e-4, None),
    "schedule": ("constant", SCHEDULES),
    "decay_rate": (0.5, None),  # exponential/step: factor per `decay_epochs`
    "decay_epochs": (10, None),
    "warmup_epochs": (0, None),
    "ema": (False, None),
    "ema_momentum": (0.99, None),
    # training
    "batch_size": (32, None),
    "epochs": (20, None),
    "patience": (5, None),
    # preprocessing (inside the model)
    "scaling": ("standard", SCALINGS),
    "outliers": ("none", OUTLIERS),
    "outlier_quantile": (0.01, None),
    "outlier_zscore": (4.0, None),
    "augment": ("none", AUGMENTATIONS),
    "augment_strength": (0.1, None),
}

# Keys only one family reads: in a space that searches across families they become
# conditional on that family automatically, so samplers do not tune what is not used.
FAMILY_KEYS: dict[str, tuple[str, ...]] = {
    "mlp": ("layers", "units"),
    "cnn": ("blocks", "filters", "kernel_size"),
    "rnn": ("cell", "rnn_layers", "rnn_units", "bidirectional"),
    "autoencoder": (
        "architecture", "latent_dim", "encoder_layers", "encoder_units", "decoder_layers",
        "decoder_units",
    ),
    "vae": (
        "architecture", "latent_dim", "encoder_layers", "encoder_units", "decoder_layers",
        "decoder_units", "kl_weight",
    ),
    "textgen": ("architecture", "cell", "rnn_layers", "rnn_units", "blocks", "filters", "kernel_size"),
}

# Keys that only matter for one value of another key.
IMPLIED_CONDITIONS: dict[str, tuple[str, tuple[object, ...]]] = {
    "momentum": ("optimizer", ("sgd",)),
    "nesterov": ("optimizer", ("sgd",)),
    "weight_decay": ("optimizer", ("adamw",)),
    "focal_gamma": ("loss", ("focal",)),
    "huber_delta": ("loss", ("huber",)),
    "ema_momentum": ("ema", (True,)),
    "decay_rate": ("schedule", ("exponential", "step", "plateau")),
    "decay_epochs": ("schedule", ("exponential", "step")),
    "outlier_quantile": ("outliers", ("clip",)),
    "outlier_zscore": ("outliers", ("zscore",)),
    "augment_strength": ("augment", ("flip", "vflip", "rotate", "crop", "zoom")),
    # textgen: recurrent keys for its rnn architecture, conv keys for its causal-conv one
    "cell": ("architecture", ("rnn",)),
    "rnn_layers": ("architecture", ("rnn",)),
    "rnn_units": ("architecture", ("rnn",)),
    "blocks": ("architecture", ("conv",)),
    "filters": ("architecture", ("conv",)),
    "kernel_size": ("architecture", ("conv",)),
}

# Numeric keys: (smallest allowed, largest allowed, must be an integer)
BOUNDS: dict[str, tuple[float, float, bool]] = {
    "layers": (0, 64, True),
    "units": (1, 1 << 16, True),
    "blocks": (1, 16, True),
    "filters": (1, 4096, True),
    "kernel_size": (1, 15, True),
    "rnn_layers": (1, 8, True),
    "rnn_units": (1, 4096, True),
    "embedding_dim": (1, 4096, True),
    "max_tokens": (16, 1 << 22, True),
    "sequence_length": (2, 100000, True),
    "dense_units": (0, 1 << 16, True),
    "latent_dim": (1, 4096, True),
    "encoder_layers": (1, 16, True),
    "encoder_units": (1, 1 << 16, True),
    "decoder_layers": (1, 16, True),
    "decoder_units": (1, 1 << 16, True),
    "kl_weight": (0.0, 100.0, False),
    "dropout": (0.0, 0.95, False),
    "l1": (0.0, 1.0, False),
    "l2": (0.0, 1.0, False),
    "focal_gamma": (0.0, 10.0, False),
    "huber_delta": (1e-6, 100.0, False),
    "learning_rate": (1e-8, 10.0, False),
    "momentum": (0.0, 0.9999, False),
    "weight_decay": (0.0, 1.0, False),
    "decay_rate": (0.01, 1.0, False),
    "decay_epochs": (1, 10000, True),
    "warmup_epochs": (0, 1000, True),
    "ema_momentum": (0.5, 0.99999, False),
    "batch_size": (1, 1 << 16, True),
    "epochs": (1, 100000, True),
    "patience": (0, 100000, True),
    "outlier_quantile": (0.0, 0.49, False),
    "outlier_zscore": (0.5, 100.0, False),
    "augment_strength": (0.0, 1.0, False),
}
BOOLEAN_KEYS = ("bidirectional", "batch_norm", "nesterov", "ema")

# Settings of the space itself, not hyperparameters.
META_KEYS = ("default_data", "textbook", "warm_starts", "description")


def defaults() -> dict[str, object]:
    return {key: default for key, (default, _) in KEYS.items()}
