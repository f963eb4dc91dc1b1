"""CNN: conv blocks with max-pooling; 2-D for images, 1-D for sequences and text.

Edit freely: every key is optional, a plain value fixes a key, and choice/integer/real/
boolean search it. Augmentation runs in training only and stays inside the model.
"""

from autodl.space import SearchSpace, boolean, choice, integer, real

space = SearchSpace(
    family="cnn",
    default_data="builtin:digits",
    # architecture
    blocks=integer(1, 3),
    filters=integer(8, 64, log=True),  # doubles with every block
    kernel_size=choice(3, 5),
    dense_units=integer(32, 256, log=True),
    activation=choice("relu", "gelu", "swish", "elu", "leaky_relu"),
    initializer=choice("he_normal", "he_uniform", "glorot_uniform"),
    # regularisation
    dropout=real(0.0, 0.5),
    batch_norm=boolean(),
    l2=real(1e-7, 1e-3, log=True),
    # preprocessing and augmentation
    scaling=choice("standard", "minmax"),
    augment=choice("none", "rotate", "crop", "zoom"),
    augment_strength=real(0.02, 0.15),
    # training recipe
    optimizer=choice("adam", "adamw", "nadam", "rmsprop", "sgd"),
    learning_rate=real(3e-4, 1e-2, log=True),
    momentum=real(0.8, 0.99),
    schedule=choice("constant", "cosine", "exponential", "plateau"),
    ema=boolean(),
    batch_size=choice(32, 64, 128),
    epochs=20,
    patience=5,
    # The article's textbook CNN runs first: Conv 32 and 64 with max-pooling, dropout 0.2,
    # Dense 128, Adam.
    textbook=dict(
        blocks=2,
        filters=32,
        kernel_size=3,
        dense_units=128,
        activation="relu",
        initializer="glorot_uniform",
        dropout=0.2,
        batch_norm=False,
        l2=1e-7,
        scaling="minmax",
        augment="none",
        optimizer="adam",
        learning_rate=1e-3,
        schedule="constant",
        ema=False,
        batch_size=32,
    ),
    # Then these, each written as its changes to the textbook CNN: the best of ten
    # candidates on validation data (digits and two generated image sets, two splits
    # each), before the sampler explores on its own.
    warm_starts=[
        dict(scaling="standard", learning_rate=3e-3),
        dict(blocks=3, filters=16, scaling="standard", learning_rate=3e-3),
        dict(
            filters=16, scaling="standard", optimizer="nadam", learning_rate=3e-3,
            schedule="cosine",
        ),
    ],
)
