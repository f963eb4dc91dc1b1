"""The benchmark tasks: one seeded train/validation/test split per (task, seed), shared
by every method, and the scores every method is judged by."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASKS = ("digits", "breast_cancer", "wine", "diabetes", "iris", "gen_binary", "gen_multiclass", "gen_regression")
# Tasks no default was tuned on: generated tables (seeded), for checking that defaults generalise.
GENERATED = {
    "gen_binary": "a 2-class table: 600 rows, 20 features (6 informative, 4 redundant), 5% label noise",
    "gen_multiclass": "a 4-class table: 800 rows, 16 features (8 informative), 2 clusters per class",
    "gen_regression": "Friedman #1: 500 rows, 10 features (5 used, non-linear), noise sd 1.0",
}
TEST_SIZE = 0.2
VAL_SIZE = 0.2


@dataclass(frozen=True)
class Split:
    """Raw arrays of one task's split; labels are class indices, regression targets floats."""

    task: str
    kind: str  # "binary" | "multiclass" | "regression"
    input_kind: str  # "tabular" | "image"
    n_classes: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def classify(self) -> bool:
        return self.kind != "regression"

    @property
    def metric(self) -> str:
        """The test score in the tables: accuracy, or R^2 for regression."""
        return "accuracy" if self.classify else "r2"

    def fingerprint(self) -> str:
        """A short hash of every array, so the JSON lines show all methods saw the same split."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:12]

    def target_scale(self) -> tuple[float, float]:
        """(mean, std) of the training target: how every method standardises regression targets."""
        y = np.asarray(self.y_train, dtype="float64")
        return float(y.mean()), float(y.std()) or 1.0

    def write_npz(self, path: Path) -> Path:
        """The split as autodl's .npz input (x, y, x_val, y_val, x_test, y_test)."""
        np.savez(
            path,
            x=self.x_train,
            y=self.y_train,
            x_val=self.x_val,
            y_val=self.y_val,
            x_test=self.x_test,
            y_test=self.y_test,
        )
        return path


def load_split(task: str, seed: int) -> Split:
    """autodl's own loader and splitter (stratified for classification), seeded."""
    from autodl.data import load_data

    if task in GENERATED:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            data = load_data(_generated_npz(task, Path(tmp)), val_size=VAL_SIZE, test_size=TEST_SIZE, seed=seed)
    else:
        data = load_data(f"builtin:{task}", val_size=VAL_SIZE, test_size=TEST_SIZE, seed=seed)
    assert data.x_test is not None and data.y_test is not None
    return Split(
        task=task,
        kind=data.task,
        input_kind=data.input_kind,
        n_classes=data.n_classes,
        x_train=np.asarray(data.x_train, dtype="float32"),
        y_train=np.asarray(data.y_train),
        x_val=np.asarray(data.x_val, dtype="float32"),
        y_val=np.asarray(data.y_val),
        x_test=np.asarray(data.x_test, dtype="float32"),
        y_test=np.asarray(data.y_test),
    )


def _generated_npz(task: str, folder: Path) -> Path:
    """One fixed table per generated task (the data is the same for every seed; the split varies)."""
    from sklearn import datasets

    if task == "gen_binary":
        x, y = datasets.make_classification(
            n_samples=600, n_features=20, n_informative=6, n_redundant=4, flip_y=0.05, random_state=101
        )
    elif task == "gen_multiclass":
        x, y = datasets.make_classification(
            n_samples=800, n_features=16, n_informative=8, n_classes=4, n_clusters_per_class=2, random_state=102
        )
    else:
        x, y = datasets.make_friedman1(n_samples=500, n_features=10, noise=1.0, random_state=103)
    path = folder / f"{task}.npz"
    np.savez(path, x=x.astype("float32"), y=y if task != "gen_regression" else y.astype("float32"))
    return path


def scores(split: Split, y_true: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """accuracy for classification; R^2 and RMSE (user units) for regression.

    `outputs`: probabilities (one sigmoid column or one column per class) or predictions.
    """
    outputs = np.asarray(outputs, dtype="float64").reshape(len(y_true), -1)
    if split.classify:
        if outputs.shape[1] == 1:
            predicted = (outputs[:, 0] >= 0.5).astype("int64")
        else:
            predicted = np.argmax(outputs, axis=1)
        return {"accuracy": float(np.mean(predicted == np.asarray(y_true).astype("int64")))}
    y = np.asarray(y_true, dtype="float64")
    error = outputs[:, 0] - y
    mse = float(np.mean(error**2))
    return {"r2": 1.0 - mse / float(np.var(y)), "rmse": math.sqrt(mse)}


def val_score_from_standardised_mse(split: Split, mse_std: float) -> float:
    """Validation R^2 from an MSE on the standardised target (what every method minimises)."""
    _, std = split.target_scale()
    return 1.0 - mse_std * std**2 / float(np.var(np.asarray(split.y_val, dtype="float64")))
