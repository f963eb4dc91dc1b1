"""The same build function under KerasTuner and under autodl; autodl without keras-tuner."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from autodl.data import load_data
from autodl.space import load_space
from tests.keras_tuner_tests.conftest import search

BUILD = """
import keras

default_data = "builtin:iris"
fit_kwargs = {"epochs": 1}


def build_model(hp):
    model = keras.Sequential([keras.Input(shape=(4,))])
    for i in range(2):
        model.add(keras.layers.Dense(
            hp.Int(f"units_{i}", min_value=4, max_value=16, step=4),
            activation=hp.Choice("activation", ["relu", "elu", "tanh"]),
        ))
    rate = hp.Float("rate", 0.0, 0.4, step=0.1)
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate))
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
"""


def _from_keras_tuner(hp: Any) -> tuple[Any, ...]:
    kind = type(hp).__name__
    if kind in ("Int", "Float"):
        step = None if hp.step is None else float(hp.step)
        return (kind.lower(), float(hp.min_value), float(hp.max_value), step, hp.sampling)
    if kind == "Boolean":
        return ("boolean",)
    assert kind == "Choice", kind
    return ("choice", tuple(hp.values))


def _from_optuna(dist: BaseDistribution) -> tuple[Any, ...]:
    if isinstance(dist, (IntDistribution, FloatDistribution)):
        kind = "int" if isinstance(dist, IntDistribution) else "float"
        step = None if dist.step is None else float(dist.step)
        return (kind, float(dist.low), float(dist.high), step, "log" if dist.log else "linear")
    assert isinstance(dist, CategoricalDistribution)
    if dist.choices == (False, True):
        return ("boolean",)
    return ("choice", tuple(dist.choices))


def test_keras_tuner_and_autodl_discover_the_same_space(kt_space, tmp_path: Path) -> None:
    import keras_tuner

    path = kt_space(BUILD)
    build_model = load_space(str(path)).space
    iris = load_data("builtin:iris")
    tuner = keras_tuner.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=1,
        seed=1,
        directory=str(tmp_path / "kt"),
        project_name="parity",
    )
    tuner.search(
        iris.x_train, iris.y_train, validation_data=(iris.x_val, iris.y_val), epochs=1, verbose=0
    )
    # KerasTuner marks trials INVALID (and goes on silently) when e.g. tensorboard is missing.
    statuses = [t.status for t in tuner.oracle.trials.values()]
    assert statuses == ["COMPLETED"], statuses
    kt_space_found = {hp.name: _from_keras_tuner(hp) for hp in tuner.oracle.get_space().space}

    result = search(path, None, tmp_path / "out", trials=1)
    trial = result.study.trials[0]
    autodl_space = {name: _from_optuna(dist) for name, dist in trial.distributions.items()}

    assert set(kt_space_found) == {
        "units_0",
        "units_1",
        "activation",
        "rate",
        "dropout",
        "learning_rate",
    }
    assert autodl_space == kt_space_found
    assert set(trial.user_attrs["config"]) == set(kt_space_found)


PLAIN = """
import keras

fit_kwargs = {"epochs": 1}


def build_model(hp):
    # Left uncompiled: autodl compiles it with the task's usual loss and accuracy.
    return keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(hp.Int("units", 4, 8, step=4), activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
"""

HYPERMODEL = """
import keras_tuner


class Model(keras_tuner.HyperModel):
    def build(self, hp):
        raise AssertionError("never reached without keras_tuner")
"""


def test_plain_build_function_needs_no_keras_tuner(kt_space, tmp_path: Path, cli) -> None:
    # A package that shadows keras_tuner and fails to import, as if it were not installed.
    blocker = tmp_path / "blocker" / "keras_tuner"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'keras_tuner'\", name='keras_tuner')\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out"
    plain = kt_space(PLAIN, name="plain")
    done = cli(
        "search",
        "--space",
        str(plain),
        "--data",
        "builtin:iris",
        "--trials",
        "1",
        "--out",
        str(out),
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"]["complete"] == 1 and (out / "best_model.keras").is_file()
    assert summary["metric"] == "val_accuracy"
    assert 0.0 <= summary["best_value"] <= 1.0

    hypermodel = kt_space(HYPERMODEL, name="hypermodel")
    done = cli("search", "--space", str(hypermodel), "--data", "builtin:iris", env=env)
    assert done.returncode == 2
    assert "keras_tuner" in done.stderr and "Traceback" not in done.stderr
