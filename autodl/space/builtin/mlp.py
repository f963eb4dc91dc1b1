"""MLP: fully connected networks for tables (numbers and categories) and small arrays.

Edit freely: every key is optional (unlisted keys keep autodl's defaults), a plain value
fixes a key, and choice/integer/real/boolean search it. `autodl search --space mlp.py`.
"""

from autodl.space import SearchSpace, boolean, choice, integer, real

space = SearchSpace(
    family="mlp",
    default_data="builtin:breast_cancer",
    # architecture
    layers=integer(1, 4),
    units=integer(16, 256, log=True),
    activation=choice("relu", "gelu", "swish", "elu", "selu", "tanh", "leaky_relu", "sigmoid"),
    initializer=choice("he_normal", "he_uniform", "glorot_uniform", "glorot_normal", "random_normal"),
    # regularisation
    dropout=real(0.0, 0.5),
    batch_norm=boolean(),
    l1=real(1e-7, 1e-3, log=True),
    l2=real(1e-7, 1e-2, log=True),
    # preprocessing (learned on the training split, kept inside the exported model)
    scaling=choice("standard", "minmax"),
    outliers=choice("none", "clip", "zscore"),
    # training recipe
    # each task keeps the losses it can train with: the first two for classification,
    # the last three for regression
    loss=choice("crossentropy", "focal", "mse", "mae", "huber"),
    optimizer=choice("adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad", "adadelta"),
    learning_rate=real(3e-4, 3e-2, log=True),
    momentum=real(0.8, 0.99),  # sampled only for SGD
    nesterov=boolean(),  # sampled only for SGD
    schedule=choice("constant", "cosine", "exponential", "step", "plateau"),
    warmup_epochs=integer(0, 3),
    ema=boolean(),
    batch_size=choice(32, 64, 128, 256),
    epochs=20,
    patience=5,  # epochs without a better validation score (or an equal one at a lower loss)
    # The article's textbook model runs first: Dense 64 relu, then sigmoid/softmax, Adam.
    textbook=dict(
        layers=1,
        units=64,
        activation="relu",
        initializer="glorot_uniform",
        dropout=0.0,
        batch_norm=False,
        l1=1e-7,
        l2=1e-7,
        scaling="standard",
        outliers="none",
        loss="crossentropy",
        optimizer="adam",
        learning_rate=1e-3,
        schedule="constant",
        warmup_epochs=0,
        ema=False,
        batch_size=32,
    ),
    # Then these, each written as its changes to the textbook model: the best of a dozen
    # candidates on validation data (breast_cancer, wine, diabetes and generated tables,
    # two splits each), before the sampler explores on its own.
    warm_starts=[
        dict(units=256, dropout=0.2, learning_rate=1e-2, batch_size=64),
        dict(layers=2, units=256, dropout=0.3, learning_rate=3e-3, schedule="plateau"),
        dict(
            layers=2, units=256, activation="gelu", dropout=0.2, optimizer="adamw",
            learning_rate=2e-3, schedule="cosine", batch_size=64,
        ),
        dict(
            layers=3, units=128, activation="swish", dropout=0.1, l2=1e-4, learning_rate=2e-3,
            schedule="cosine", batch_size=64,
        ),
    ],
)
