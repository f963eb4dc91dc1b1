"""A trial's model logs the metrics the search judges on; AUC, slow to update on every
batch, only when the objective is AUC."""

from __future__ import annotations

from pathlib import Path

import pytest


def _history(write_space, tmp_path: Path, **options) -> tuple[dict[str, list[float]], float]:  # noqa: ANN001
    import autodl

    result = autodl.search(
        str(write_space(data="builtin:breast_cancer", epochs=2)),
        trials=1, out=str(tmp_path / "out"), pruner="none", **options,
    )  # fmt: skip
    trial = result.study.best_trial
    return trial.user_attrs["history"], trial.value


def test_accuracy_is_logged_and_auc_is_not_by_default(write_space, tmp_path: Path) -> None:
    history, value = _history(write_space, tmp_path)
    assert {"val_accuracy", "val_loss", "accuracy", "loss"} <= set(history)
    assert not {"auc", "val_auc"} & set(history)
    assert value == pytest.approx(max(history["val_accuracy"]), abs=1e-6)


def test_an_auc_objective_logs_auc_and_selects_on_it(write_space, tmp_path: Path) -> None:
    history, value = _history(write_space, tmp_path, objective="val_auc")
    assert {"val_auc", "val_accuracy"} <= set(history)
    assert 0.5 < value == pytest.approx(max(history["val_auc"]), abs=1e-6)


def test_the_objective_value_of_saved_outputs_computes_auc_when_asked() -> None:
    import numpy as np

    from autodl.export._evaluate import objective_value

    y = np.array([0, 0, 1, 1])
    outputs = np.array([[0.1], [0.4], [0.35], [0.8]], dtype="float32")
    assert objective_value("val_auc", "binary", y, outputs, target_scale=None) == pytest.approx(0.75, abs=1e-3)
    assert objective_value("val_accuracy", "binary", y, outputs, target_scale=None) == pytest.approx(0.75)
