"""RNN: SimpleRNN / LSTM / GRU, optionally bidirectional; an Embedding front for text.

Works on sequences (npz 3-D x), rows read as sequences, and text columns. The default
dataset is a small sentiment-style text set generated inside autodl.
"""

from autodl.space import SearchSpace, boolean, choice, integer, real

space = SearchSpace(
    family="rnn",
    default_data="builtin:reviews",
    # architecture
    cell=choice("lstm", "gru", "simple"),
    bidirectional=boolean(),
    rnn_layers=integer(1, 2),
    rnn_units=integer(16, 128, log=True),
    embedding_dim=integer(16, 128, log=True),
    sequence_length=32,
    dense_units=integer(16, 128, log=True),
    activation=choice("relu", "tanh", "gelu"),
    # regularisation
    dropout=real(0.0, 0.5),
    # training recipe
    optimizer=choice("adam", "rmsprop", "nadam", "adamw"),
    learning_rate=real(3e-4, 1e-2, log=True),
    schedule=choice("constant", "cosine"),
    batch_size=choice(32, 64),
    epochs=15,
    patience=4,
    # The article's textbook model runs first: Embedding, bidirectional LSTM with dropout
    # 0.2, Dense 64, Adam.
    textbook=dict(
        cell="lstm",
        bidirectional=True,
        rnn_layers=1,
        rnn_units=64,
        embedding_dim=64,
        dense_units=64,
        activation="relu",
        dropout=0.2,
        optimizer="adam",
        learning_rate=1e-3,
        schedule="constant",
        batch_size=32,
    ),
)
