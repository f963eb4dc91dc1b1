"""What the generative families share: the built parts, value ranges, sequence vocabularies.

Everything saved (the best model, the encoder, the decoder, the text sampler) is a plain
functional model of built-in Keras layers, so it loads with `keras.saving.load_model`
alone. Only the training wrapper of autoencoders (`autodl.train._generative`) is a
custom class, and it is never saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Windows of a training stream overlap by half, so every transition is seen in two contexts.
TRAIN_STRIDE_FRACTION = 0.5


@dataclass
class GenerativeModel:
    """A generative family's built parts and the arrays `fit` takes.

    `trainer` is None for autoencoders: the training path wraps `encoder` and `decoder`
    in its own never-saved model that adds the reconstruction (and KL) terms.
    """

    family: str
    export_model: Any  # best_model.keras
    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    trainer: Any = None
    loss: Any = None
    metrics: list[Any] = field(default_factory=list)
    encoder: Any = None
    decoder: Any = None
    low: np.ndarray | None = None  # autoencoders: data value range, per last-axis feature
    span: np.ndarray | None = None
    vocabulary: Vocabulary | None = None  # textgen on text or tokens
    sequence_length: int = 0  # textgen: the context window the sampler uses


def value_range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low, high - low) along the last axis (channels, or a table's columns).

    A constant feature gets a span of 1, so scaling never divides by zero.
    """
    values = np.asarray(x, dtype="float32").reshape(-1, np.shape(x)[-1])
    low = values.min(axis=0)
    span = values.max(axis=0) - low
    return low.astype("float32"), np.where(span > 1e-12, span, 1.0).astype("float32")


@dataclass(frozen=True)
class Vocabulary:
    """The symbols a next-token model predicts: characters of a text, or integer token ids.

    Rows are joined into one stream with a separator between them: the newline for text
    (a real character the model may write), an end-of-row id for tokens (never emitted:
    it only marks where rows meet and pads a short seed).
    """

    kind: str  # "characters" | "tokens"
    symbols: tuple[Any, ...]

    @classmethod
    def from_data(cls, data: Any) -> Vocabulary:
        if data.input_kind == "text":
            chars = set("".join(str(t) for t in data.x_train)) | {"\n"}
            return cls("characters", tuple(sorted(chars)))
        if data.input_kind == "tokens":
            return cls("tokens", tuple(int(t) for t in np.unique(data.x_train)))
        raise ValueError(f"no vocabulary for {data.input_kind} data")

    @property
    def size(self) -> int:
        return len(self.symbols) + (1 if self.kind == "tokens" else 0)

    @property
    def separator(self) -> int:
        return self.symbols.index("\n") if self.kind == "characters" else len(self.symbols)

    def index(self) -> dict[Any, int]:
        return {s: i for i, s in enumerate(self.symbols)}

    def encode(self, row: Any) -> tuple[list[int], int]:
        """Ids of one row (text or token ids) and how many of its symbols are unknown."""
        lookup = self.index()
        values = str(row) if self.kind == "characters" else [int(t) for t in row]
        ids = [lookup[s] for s in values if s in lookup]
        return ids, len(values) - len(ids)

    def stream(self, rows: Any) -> tuple[np.ndarray, int]:
        """All rows as one id stream, each followed by the separator; also the unknown count."""
        ids: list[int] = []
        unknown = 0
        for row in rows:
            row_ids, missing = self.encode(row)
            ids += row_ids
            ids.append(self.separator)
            unknown += missing
        return np.asarray(ids, dtype="int32"), unknown

    def decode(self, ids: Any) -> Any:
        """Text for characters; a list of token ids (separators left out) for tokens."""
        if self.kind == "characters":
            return "".join(self.symbols[int(i)] for i in ids)
        return [self.symbols[int(i)] for i in ids if int(i) != self.separator]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "symbols": list(self.symbols),
            "size": self.size,
            "separator": self.separator,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Vocabulary:
        kind = str(values["kind"])
        symbols = tuple(str(s) if kind == "characters" else int(s) for s in values["symbols"])
        return cls(kind, symbols)


def stream_windows(stream: np.ndarray, length: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-step targets: windows of `length` ids and the same shifted by one.

    A stream shorter than one window gives a single, shorter window.
    """
    if len(stream) < 2:
        raise ValueError(f"a sequence of {len(stream)} symbols has no next step to learn")
    length = min(length, len(stream) - 1)
    starts = np.arange(0, len(stream) - length, max(1, stride))
    x = np.stack([stream[s : s + length] for s in starts])
    y = np.stack([stream[s + 1 : s + length + 1] for s in starts])
    return x, y


def row_windows(rows: np.ndarray, length: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows within each real-valued sequence (n, steps, features): rows are not joined,
    since the end of one series says nothing about the start of the next."""
    steps = rows.shape[1]
    if steps < 2:
        raise ValueError(f"sequences of {steps} step have no next step to learn")
    length = min(length, steps - 1)
    starts = np.arange(0, steps - length, max(1, stride))
    x = np.concatenate([rows[:, s : s + length] for s in starts])
    y = np.concatenate([rows[:, s + 1 : s + length + 1] for s in starts])
    return x.astype("float32"), y.astype("float32")


def train_stride(length: int) -> int:
    return max(1, int(length * TRAIN_STRIDE_FRACTION))
