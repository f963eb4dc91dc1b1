"""Helpers for the KerasTuner-compatibility tests: space files and quick searches."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

import autodl

optuna.logging.set_verbosity(optuna.logging.ERROR)


@pytest.fixture
def kt_space(tmp_path: Path):
    """Write a KerasTuner-style space file from dedented source; returns its path."""

    def write(source: str, name: str = "kt_space") -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return path

    return write


def search(space: Path, data: str, out: Path, trials: int, **options: Any) -> autodl.SearchResult:
    """A seeded search without pruning, so that every trial runs all its epochs."""
    options = {"seed": 0, "pruner": "none", **options}
    return autodl.search(str(space), data=data, trials=trials, out=str(out), **options)


def load_exported(out: Path) -> Any:
    import keras

    return keras.saving.load_model(out / "best_model.keras")


def probabilities_ok(pred: np.ndarray, n_rows: int, n_classes: int) -> None:
    assert pred.shape == (n_rows, n_classes)
    assert np.all(np.isfinite(pred))
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-4)
