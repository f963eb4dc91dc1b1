"""The cross-entropy that ranks classification trials of equal value: the kept weights'
predictions on the validation rows, whatever loss and penalty the trial trained with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autodl.train._fit import validation_crossentropy


def _data(task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    labels = (x[:, 0] > 0).astype("int64") + (task == "multiclass") * (x[:, 1] > 0)
    y = labels.astype("float32").reshape(-1, 1) if task == "binary" else np.eye(3, dtype="float32")[labels]
    return x, y, labels


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_it_is_the_predictions_cross_entropy_not_the_focal_loss_and_penalty(task: str) -> None:
    import keras

    from autodl.train._compile import compile_model

    x, y, labels = _data(task)
    keras.utils.set_random_seed(0)
    units, activation = (1, "sigmoid") if task == "binary" else (3, "softmax")
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(units, activation, kernel_regularizer=keras.regularizers.L2(0.1))]
    )
    compile_model(model, {"loss": "focal", "focal_gamma": 2.0, "optimizer": "adam", "learning_rate": 1e-3}, task, {})
    p = np.clip(model.predict(x, verbose=0).astype("float64"), 1e-7, 1 - 1e-7)
    if task == "binary":
        p = np.concatenate([1 - p, p], axis=1)
    expected = -np.mean(np.log(p[np.arange(len(labels)), labels]))
    assert validation_crossentropy(model, x, labels, task) == pytest.approx(expected, rel=1e-5)
    val_loss = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]  # focal + penalty
    assert val_loss != pytest.approx(expected, rel=0.05)


def test_a_search_records_it_for_classification_trials_only(write_space, tmp_path: Path) -> None:
    import pandas as pd

    import autodl

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"size": rng.normal(size=120), "colour": rng.choice(["red", "green", "blue"], 120)})
    table["label"] = np.where((table["size"] > 0) & (table["colour"] != "red"), "yes", "no")
    table.to_csv(tmp_path / "shop.csv", index=False)
    # A table with a string column is fed as a dict of arrays and string tensors.
    for data, options, expected in (
        ("builtin:breast_cancer", {}, True),
        (str(tmp_path / "shop.csv"), {"target": "label"}, True),
        ("builtin:diabetes", {}, False),
    ):
        result = autodl.search(
            str(write_space(data=data, epochs=1)), trials=1, out=str(tmp_path / Path(data).stem), pruner="none",
            **options,
        )  # fmt: skip
        attrs = result.study.best_trial.user_attrs
        assert ("val_crossentropy" in attrs) is expected
        if expected:
            assert 0 < attrs["val_crossentropy"] < 5


@pytest.mark.parametrize(
    ("data", "extra", "logged"),
    [
        ("builtin:breast_cancer", {}, True),  # binary, plain cross-entropy: val_loss is it
        ("builtin:iris", {}, True),  # multiclass
        ("builtin:iris", {"l1": 0.001, "l2": 0.01}, True),  # the penalty is taken off val_loss
        ("builtin:iris", {"loss": "focal"}, False),
        ("builtin:iris", {"ema": True}, False),  # averaged weights, not an epoch's
    ],
)
def test_a_plain_cross_entropy_trial_takes_it_from_its_logged_validation_loss(
    monkeypatch: pytest.MonkeyPatch, data: str, extra: dict, logged: bool
) -> None:
    import autodl.train._fit as fit_module
    from autodl.data import load_data
    from autodl.space._vocabulary import defaults
    from autodl.train import Objective, PreparedData, train_config

    prepared = PreparedData.from_dataset(load_data(data))
    objective = Objective("val_accuracy", "maximize")
    config = {**defaults(), "family": "mlp", "layers": 1, "units": 8, "epochs": 4, "patience": 0, **extra}
    passes = []

    def forward_pass(*args):  # noqa: ANN002, ANN202
        passes.append(args)
        return validation_crossentropy(*args)

    monkeypatch.setattr(fit_module, "validation_crossentropy", forward_pass)
    trained = train_config(config, prepared, objective)
    assert (not passes) is logged
    # Either way it is the cross-entropy of the kept weights' validation predictions.
    expected = validation_crossentropy(trained.model, prepared.x_val, prepared.data.y_val, prepared.data.task)
    assert trained.val_crossentropy == pytest.approx(expected, rel=1e-5)
    if logged:  # the kept epoch's val_loss, less the kept weights' L1/L2 penalty
        kernels = [np.asarray(v) for v in trained.model.trainable_weights if v.regularizer is not None]
        penalty = sum(extra.get("l1", 0) * np.abs(k).sum() + extra.get("l2", 0) * np.square(k).sum() for k in kernels)
        assert trained.history["val_loss"][trained.best_epoch] - trained.val_crossentropy == pytest.approx(
            penalty, rel=1e-4, abs=1e-9
        )
