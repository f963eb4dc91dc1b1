"""Autoencoder: squeeze images (or rows of numbers) into a small code and rebuild them.

Selected on the validation reconstruction loss (`val_reconstruction`: the Bernoulli
negative log-likelihood of the inputs scaled to [0, 1], in nats per sample). Dense or
convolutional; for conv, `encoder_units` is the first block's filters (doubling per
block). `autodl generate` decodes codes drawn from a Gaussian fitted to the training
codes; `vae.py` learns a code space made for sampling.
"""

from autodl.space import SearchSpace, boolean, choice, integer, real

space = SearchSpace(
    family="autoencoder",
    default_data="builtin:digits",
    # architecture
    architecture=choice("dense", "conv"),
    latent_dim=integer(2, 32, log=True),
    encoder_layers=integer(1, 3),
    encoder_units=integer(16, 128, log=True),  # halving per dense layer
    decoder_layers=integer(1, 3),
    decoder_units=integer(16, 128, log=True),
    activation=choice("relu", "gelu", "swish", "elu"),
    initializer=choice("he_normal", "glorot_uniform"),
    # regularisation
    dropout=real(0.0, 0.3),
    batch_norm=boolean(),
    l2=real(1e-7, 1e-3, log=True),
    # training recipe
    optimizer=choice("adam", "adamw", "nadam", "rmsprop"),
    learning_rate=real(3e-4, 1e-2, log=True),
    batch_size=choice(32, 64, 128),
    epochs=30,
    patience=5,
    # The textbook deep autoencoder runs first (Dense 64 and 32 relu down to the code, the
    # mirror image up, sigmoid output, Adam), scaled to 8x8 digits.
    textbook=dict(
        architecture="dense",
        latent_dim=16,
        encoder_layers=2,
        encoder_units=64,
        decoder_layers=2,
        decoder_units=64,
        activation="relu",
        initializer="glorot_uniform",
        dropout=0.0,
        batch_norm=False,
        l2=1e-7,
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=128,
    ),
)
