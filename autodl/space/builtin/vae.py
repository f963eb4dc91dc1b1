"""Variational autoencoder: a code space you can sample new images from.

Selected on the validation negative ELBO (`val_neg_elbo`: reconstruction plus the KL
divergence from the standard normal prior, in nats per sample). `kl_weight` weights the
KL term in training only, so the search cannot win by ignoring the prior. `autodl
generate` decodes codes drawn from the prior with the exported `decoder.keras`.
"""

from autodl.space import SearchSpace, boolean, choice, integer, real

space = SearchSpace(
    family="vae",
    default_data="builtin:digits",
    # architecture
    architecture=choice("conv", "dense"),
    latent_dim=integer(2, 16, log=True),
    encoder_layers=integer(1, 3),
    encoder_units=integer(16, 128, log=True),  # conv: first block's filters, doubling
    decoder_layers=integer(1, 3),
    decoder_units=integer(16, 128, log=True),
    activation=choice("relu", "gelu", "swish", "elu"),
    initializer=choice("he_normal", "glorot_uniform"),
    kl_weight=real(0.25, 4.0, log=True),
    # regularisation
    batch_norm=boolean(),
    l2=real(1e-7, 1e-3, log=True),
    # training recipe
    optimizer=choice("adam", "adamw", "nadam", "rmsprop"),
    learning_rate=real(3e-4, 1e-2, log=True),
    batch_size=choice(32, 64, 128),
    epochs=50,  # the KL term keeps falling long after the reconstruction settles
    patience=8,
    # The textbook convolutional VAE runs first (Conv 32 and 64 with stride 2, a 2-number
    # code, transposed convs back up, Adam, KL at full weight).
    textbook=dict(
        architecture="conv",
        latent_dim=2,
        encoder_layers=2,
        encoder_units=32,
        decoder_layers=2,
        decoder_units=64,
        activation="relu",
        initializer="glorot_uniform",
        kl_weight=1.0,
        batch_norm=False,
        l2=1e-7,
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=128,
    ),
)
