"""Textgen: a character-level next-step model that writes text like its training text.

Works on a CSV text column (characters), npz integer token sequences and npz real-valued
sequences. Selected on the validation loss per token (`val_token_loss`, nats; the report
shows the perplexity, its exp). LSTM/GRU layers or a causal 1-D CNN whose dilation
doubles per block. The default data is a small rhyme set generated inside autodl.
"""

from autodl.space import SearchSpace, choice, integer, real

space = SearchSpace(
    family="textgen",
    default_data="builtin:rhymes",
    # architecture
    architecture=choice("rnn", "conv"),
    cell=choice("lstm", "gru"),  # rnn only
    rnn_layers=integer(1, 2),
    rnn_units=integer(32, 256, log=True),
    blocks=integer(2, 5),  # conv only: dilations 1, 2, 4, ...
    filters=integer(32, 128, log=True),
    kernel_size=choice(2, 3),
    embedding_dim=integer(8, 64, log=True),
    sequence_length=40,  # characters of context per training window
    activation=choice("relu", "gelu"),
    # regularisation
    dropout=real(0.0, 0.3),
    # training recipe
    optimizer=choice("adam", "rmsprop", "nadam"),
    learning_rate=real(1e-3, 3e-2, log=True),
    batch_size=choice(64, 128),
    epochs=15,
    patience=4,
    # The textbook character LSTM runs first: one LSTM of 128 units over 40 characters,
    # softmax over the characters, RMSprop at 0.01.
    textbook=dict(
        architecture="rnn",
        cell="lstm",
        rnn_layers=1,
        rnn_units=128,
        embedding_dim=32,
        activation="relu",
        dropout=0.0,
        optimizer="rmsprop",
        learning_rate=1e-2,
        batch_size=128,
    ),
)
