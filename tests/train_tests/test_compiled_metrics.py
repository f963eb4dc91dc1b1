"""A trial's model logs the metrics the search judges on; AUC, slow to update on every
batch, only when the objective is AUC; and the cross-entropy that ranks equal trials."""

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
    assert {"val_accuracy", "val_crossentropy", "val_loss", "accuracy", "loss"} <= set(history)
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


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_the_logged_cross_entropy_is_the_predictions_whatever_the_loss_and_penalty(task: str) -> None:
    """A focal loss is smaller than cross-entropy by design and Keras adds L2 to `loss`:
    trials training with either would look surer on `val_loss` than they are."""
    import keras
    import numpy as np

    from autodl.train._compile import compile_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    labels = (x[:, 0] > 0).astype("int64") + (task == "multiclass") * (x[:, 1] > 0)
    units, activation = (1, "sigmoid") if task == "binary" else (3, "softmax")
    y = labels.astype("float32").reshape(-1, 1) if task == "binary" else np.eye(3, dtype="float32")[labels]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(units, activation, kernel_regularizer=keras.regularizers.L2(0.1))]
    )
    config = {"loss": "focal", "focal_gamma": 2.0, "optimizer": "adam", "learning_rate": 1e-3}
    compile_model(model, config, task, {})
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = np.clip(model.predict(x, verbose=0).astype("float64"), 1e-7, 1 - 1e-7)
    if task == "binary":
        p = np.concatenate([1 - p, p], axis=1)
    crossentropy = -np.mean(np.log(p[np.arange(len(labels)), labels]))
    assert logs["crossentropy"] == pytest.approx(crossentropy, rel=1e-4)
    assert logs["loss"] != pytest.approx(crossentropy, rel=0.05)  # focal + penalty: another quantity
