"""The `Dataset` record every loader produces, and the raw form loaders hand to splitting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# "tokens": integer ids, shape (n, steps), for next-token generation of npz sequences.
DATA_KINDS: tuple[str, ...] = ("tabular", "sequence", "image", "table", "text", "tokens")
# "generation": the data itself is modelled; labels, where there are any, only colour plots
# (then ``y`` holds class indices; without labels ``y`` is -1 everywhere).
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression", "generation")

# "table" data keep one array per column so numeric and string columns keep their own dtype.
Features = np.ndarray | dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train / val (/ test) splits plus what a model builder needs to know about them.

    Classification targets are int64 class indices (``class_names[i]`` is class ``i``);
    regression targets are float32. See ``DATA_KINDS`` for the shape of ``x`` per kind.
    """

    name: str
    source: str
    task: str
    input_kind: str
    x_train: Features = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_val: Features = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    x_test: Features | None = field(default=None, repr=False)
    y_test: np.ndarray | None = field(default=None, repr=False)
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    text_column: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # These come from our own loaders, so a bad value is a bug, not a user error.
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, but got {self.task=}.")
        if self.input_kind not in DATA_KINDS:
            raise ValueError(
                f"input_kind must be one of {DATA_KINDS}, but got {self.input_kind=}."
            )

    @property
    def n_classes(self) -> int:
        return 0 if self.task == "regression" else len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """Shape of one sample for array kinds; None for "table" and "text"."""
        if self.input_kind in ("table", "text"):
            return None
        return tuple(int(d) for d in np.shape(self.x_train)[1:])

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_val(self) -> int:
        return len(self.y_val)

    @property
    def n_test(self) -> int:
        return 0 if self.y_test is None else len(self.y_test)

    def describe(self) -> str:
        """One line for logs and reports, e.g. "digits: 1437 train / 360 val, 8x8x1 images, 10 classes"."""
        sizes = f"{self.n_train} train / {self.n_val} val"
        if self.y_test is not None:
            sizes += f" / {self.n_test} test"
        target = "regression" if self.task == "regression" else f"{self.n_classes} classes"
        if self.task == "generation":
            target = "generation" + (f" ({self.n_classes} label classes)" if self.n_classes else "")
        return f"{self.name}: {sizes}, {self._describe_inputs()}, {target}"

    def _describe_inputs(self) -> str:
        shape = self.input_shape or ()
        if self.input_kind == "tabular":
            return f"{shape[0]} features"
        if self.input_kind == "sequence":
            return f"{shape[0]}x{shape[1]} sequences"
        if self.input_kind == "tokens":
            return f"{shape[0]}-step token sequences"
        if self.input_kind == "image":
            return f"{'x'.join(map(str, shape))} images"
        if self.input_kind == "table":
            return f"{len(self.feature_names)} columns ({len(self.categorical)} categorical)"
        return f"text column '{self.text_column}'"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able metadata (no arrays), e.g. for summary.json and best_config.json."""
        shape = self.input_shape
        return {
            "name": self.name,
            "source": self.source,
            "task": self.task,
            "input_kind": self.input_kind,
            "input_shape": None if shape is None else list(shape),
            "n_train": self.n_train,
            "n_val": self.n_val,
            "n_test": self.n_test,
            "n_classes": self.n_classes,
            "class_names": list(self.class_names),
            "feature_names": list(self.feature_names),
            "categorical": list(self.categorical),
            "text_column": self.text_column,
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return f"Dataset({self.describe()!r})"


@dataclass
class RawData:
    """What a loader read, before target encoding and splitting.

    ``target_label`` names the target in error messages ("target 'price'", "array 'y'").
    ``label_names`` maps integer labels to display names (sklearn's ``target_names``).
    """

    name: str
    input_kind: str
    x: Features
    y: np.ndarray | None  # None: no labels (only task "generation" accepts that)
    target_label: str
    x_val: Features | None = None
    y_val: np.ndarray | None = None
    x_test: Features | None = None
    y_test: np.ndarray | None = None
    default_task: str | None = None
    label_names: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    text_column: str | None = None
    notes: list[str] = field(default_factory=list)
