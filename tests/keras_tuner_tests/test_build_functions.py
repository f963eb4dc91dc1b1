"""Unmodified KerasTuner build functions searched by `autodl search`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from autodl.cli import main
from autodl.data import load_data
from autodl.results import best_trial
from autodl.study import SearchSettings, prepare_search
from autodl.train import Objective
from tests.keras_tuner_tests.conftest import load_exported, probabilities_ok, search

# In the style of KerasTuner's README: a loop of Dense layers, one shared activation,
# an optional dropout and a log-sampled learning rate, compiled by the user.
README_STYLE = """
import keras

default_data = "builtin:iris"
fit_kwargs = {"epochs": 2}


def build_model(hp):
    model = keras.Sequential([keras.Input(shape=(4,))])
    for i in range(hp.Int("num_layers", 1, 2)):
        model.add(
            keras.layers.Dense(
                units=hp.Int(f"units_{i}", min_value=8, max_value=32, step=8),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(3, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-3, max_value=3e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
"""

# In the style of keras.io's "Getting started with KerasTuner": a small CNN with default=
# values, the optimizer chosen by name, and a categorical (one-hot) loss.
GETTING_STARTED_CNN = """
import keras
from keras import layers

fit_kwargs = {"epochs": 1}


def build_model(hp):
    inputs = keras.Input(shape=(8, 8, 1))
    x = layers.Rescaling(1.0 / 16)(inputs)
    x = layers.Conv2D(
        filters=hp.Int("filters", min_value=8, max_value=32, step=8, default=16),
        kernel_size=hp.Choice("kernel_size", [2, 3], default=3),
        activation="relu",
        padding="same",
    )(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.25, default=0.25))(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=hp.Choice("optimizer", ["adam", "rmsprop"], default="rmsprop"),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
"""

# A conditional_scope: the hidden width exists only for the "mlp" model type. A regression
# model compiled without an accuracy metric, so the objective is inferred as val_loss.
CONDITIONAL = """
import keras

default_data = "builtin:diabetes"
fit_kwargs = {"epochs": 2, "batch_size": 64}


def build_model(hp):
    model = keras.Sequential([keras.Input(shape=(10,))])
    if hp.Choice("model_type", ["linear", "mlp"]) == "mlp":
        with hp.conditional_scope("model_type", "mlp"):
            model.add(keras.layers.Dense(hp.Int("hidden", 4, 16, step=4), activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
    return model
"""


def _complete(study) -> list:
    return [t for t in study.trials if t.state == TrialState.COMPLETE]


def test_readme_style_build_function_searches_and_exports(kt_space, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = search(kt_space(README_STYLE), None, out, trials=2)
    study = result.study
    assert study.user_attrs["metric"] == "val_accuracy"  # inferred from metrics=["accuracy"]
    trials = _complete(study)
    assert len(trials) == 2
    first = trials[0]
    # The first trial is the user's own defaults.
    assert first.user_attrs.get("textbook") is True
    assert first.params == {
        "num_layers": 1,
        "units_0": 8,
        "activation": "relu",
        "dropout": False,
        "lr": 1e-3,
    }
    for trial in trials:
        config = trial.user_attrs["config"]
        assert set(config) == {"num_layers", "activation", "dropout", "lr"} | {
            f"units_{i}" for i in range(config["num_layers"])
        }
        assert trial.distributions["units_0"] == IntDistribution(8, 32, step=8)
        assert trial.distributions["activation"] == CategoricalDistribution(("relu", "tanh"))
        assert trial.distributions["dropout"] == CategoricalDistribution((False, True))
        assert trial.distributions["lr"] == FloatDistribution(1e-3, 3e-2, log=True)
        assert trial.user_attrs["epochs"] == 2 and len(trial.intermediate_values) == 2
        history = trial.user_attrs["history"]
        assert len(history["val_accuracy"]) == 2
        assert trial.value == pytest.approx(max(history["val_accuracy"]), abs=1e-6)
        assert trial.user_attrs["best_epoch"] == int(np.argmax(history["val_accuracy"]))
        assert trial.user_attrs["seconds"] > 0

    best = best_trial(study)
    model = load_exported(out)
    assert model.count_params() == best.user_attrs["n_params"]
    # The user's compile is kept: the exported model's optimizer has the trial's learning rate.
    assert float(model.optimizer.learning_rate) == pytest.approx(best.params["lr"], rel=1e-5)
    recorded = json.loads((out / "best_config.json").read_text())
    assert recorded["config"] == best.user_attrs["config"]
    iris = load_data("builtin:iris")
    probabilities_ok(np.asarray(model.predict(iris.x_val, verbose=0)), len(iris.y_val), 3)


def test_getting_started_cnn_uses_defaults_and_one_hot_labels(kt_space, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = search(kt_space(GETTING_STARTED_CNN), "builtin:digits", out, trials=2)
    trials = _complete(result.study)
    assert len(trials) == 2, [t.user_attrs.get("fail_reason") for t in result.study.trials]
    assert trials[0].params == {
        "filters": 16,
        "kernel_size": 3,
        "dropout": 0.25,
        "optimizer": "rmsprop",
    }
    assert result.study.user_attrs["metric"] == "val_accuracy"
    # Ten digit classes after one epoch of a sane CNN: well above chance (0.1).
    assert result.best_value > 0.3
    model = load_exported(out)
    expected = {"adam": "Adam", "rmsprop": "RMSprop"}[best_trial(result.study).params["optimizer"]]
    assert type(model.optimizer).__name__ == expected
    assert model.loss == "categorical_crossentropy"
    digits = load_data("builtin:digits")
    probabilities_ok(np.asarray(model.predict(digits.x_val, verbose=0)), len(digits.y_val), 10)


def test_conditional_scope_regression_infers_val_loss(kt_space, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = search(kt_space(CONDITIONAL), None, out, trials=3, sampler="random")
    study = result.study
    assert study.user_attrs["metric"] == "val_loss"
    assert study.direction.name == "MINIMIZE"
    trials = _complete(study)
    assert len(trials) == 3
    seen = set()
    for trial in trials:
        kind = trial.params["model_type"]
        seen.add(kind)
        assert ("hidden" in trial.params) == (kind == "mlp")
        assert ("hidden" in trial.user_attrs["config"]) == (kind == "mlp")
        assert trial.value == pytest.approx(min(trial.user_attrs["history"]["val_loss"]), rel=1e-6)
    assert seen == {"linear", "mlp"}
    # Regression targets are fed in the user's units: the exported model predicts in them.
    diabetes = load_data("builtin:diabetes")
    pred = np.asarray(load_exported(out).predict(diabetes.x_val, verbose=0)).ravel()
    mse = float(np.mean((pred - diabetes.y_val) ** 2))
    assert mse == pytest.approx(result.best_value, rel=1e-3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_config"]["model_type"] in ("linear", "mlp")


def test_dry_run_lists_the_keras_tuner_space(kt_space, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "--space", str(kt_space(CONDITIONAL)), "--dry-run"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    lines = {
        line.split()[0]: line
        for line in printed.splitlines()
        if line.startswith("  ") and line.split()
    }
    assert "choice('linear', 'mlp')" in lines["model_type"]
    assert "int(4, 16, step=4) default=4" in lines["hidden"]
    assert "when model_type in ['mlp']" in lines["hidden"]
    assert "epochs=2" in printed and "batch_size=64" in printed
    assert "diabetes" in printed  # default_data


def test_objective_flag_is_checked_against_the_models_metrics(
    kt_space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = str(kt_space(README_STYLE))
    code = main(
        ["search", "--space", space, "--objective", "val_acuracy", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "val_acuracy" in err and "did you mean 'val_accuracy'" in err and "Traceback" not in err
    settings = SearchSettings(space=space, objective="val_loss", out=str(tmp_path / "loss"))
    context = prepare_search(settings)
    assert context.objective == Objective("val_loss", "minimize")
    assert context.study.direction.name == "MINIMIZE"
