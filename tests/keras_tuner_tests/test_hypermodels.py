"""KerasTuner HyperModels (with their own fit) and KerasTuner's failure classes."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from autodl.cli import main
from autodl.data import load_data
from autodl.train import Objective, TrialFailure
from autodl.train._hypermodel_fit import (
    InvalidHyperModel,
    SearchStopped,
    translate_user_error,
    trial_value,
)
from tests.keras_tuner_tests.conftest import load_exported, probabilities_ok, search

# A HyperModel whose fit tunes the batch size, as KerasTuner's guide shows; it passes
# **kwargs (and with them autodl's pruning callback) on to model.fit.
TUNED_BATCH = """
import keras
import keras_tuner

default_data = "builtin:iris"
fit_kwargs = {"epochs": 2}


class TunedBatchModel(keras_tuner.HyperModel):
    def build(self, hp):
        model = keras.Sequential([
            keras.Input(shape=(4,)),
            keras.layers.Dense(hp.Int("units", 8, 24, step=8), activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 64]), shuffle=True, **kwargs)
"""

# The first fit raises `raise_first`; later fits train normally.
FAILING_FIT = """
import keras
import keras_tuner

default_data = "builtin:iris"
fit_kwargs = {{"epochs": 1}}


class Flaky(keras_tuner.HyperModel):
    def __init__(self):
        super().__init__()
        self.fits = 0

    def build(self, hp):
        model = keras.Sequential([
            keras.Input(shape=(4,)),
            keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        self.fits += 1
        if self.fits == {fail_at}:
            raise keras_tuner.errors.{error}("{message}")
        return model.fit(*args, **kwargs)
"""


def test_hypermodel_fit_override_tunes_batch_size(kt_space, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = search(kt_space(TUNED_BATCH), None, out, trials=2)
    trials = [t for t in result.study.trials if t.state == TrialState.COMPLETE]
    assert len(trials) == 2, [t.user_attrs.get("fail_reason") for t in result.study.trials]
    for trial in trials:
        assert trial.distributions["batch_size"] == CategoricalDistribution((16, 64))
        assert trial.user_attrs["config"]["batch_size"] == trial.params["batch_size"]
        assert trial.user_attrs["config"]["units"] == trial.params["units"]
        # autodl's callback reached model.fit: one value per epoch for the pruner.
        assert sorted(trial.intermediate_values) == [0, 1]
        history = trial.user_attrs["history"]["val_accuracy"]
        assert trial.value == pytest.approx(max(history), abs=1e-6)
    assert result.study.trials[0].params["units"] == 8  # the textbook trial: the defaults
    model = load_exported(out)
    iris = load_data("builtin:iris")
    probabilities_ok(np.asarray(model.predict(iris.x_val, verbose=0)), len(iris.y_val), 3)


def test_failed_trial_error_fails_the_trial_and_the_search_goes_on(
    kt_space, tmp_path: Path
) -> None:
    space = kt_space(
        FAILING_FIT.format(fail_at=1, error="FailedTrialError", message="diverged on fold 3")
    )
    result = search(space, None, tmp_path / "out", trials=1)
    states = [t.state for t in result.study.trials]
    assert states == [TrialState.FAIL, TrialState.COMPLETE]
    reason = result.study.trials[0].user_attrs["fail_reason"]
    assert reason == "FailedTrialError: diverged on fold 3"
    assert (tmp_path / "out" / "best_model.keras").is_file()


def test_fatal_error_stops_the_search_with_exit_1(
    kt_space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = kt_space(
        FAILING_FIT.format(fail_at=2, error="FatalValueError", message="the data is corrupt")
    )
    out = tmp_path / "out"
    code = main(
        ["search", "--space", str(space), "--trials", "5", "--out", str(out), "--pruner", "none"]
    )
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "FatalValueError: the data is corrupt" in lines[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"]["complete"] == 1 and summary["trials"]["failed"] == 1
    assert (out / "best_model.keras").is_file()  # the finished trial's model is kept


@pytest.mark.parametrize(
    ("returned", "shown"),
    [
        ("None", "returned None"),
        ("keras.layers.Dense(3)", "returned a keras.src.layers.core.dense.Dense"),
    ],
)
def test_build_returning_no_model_exits_2(
    kt_space, tmp_path: Path, capsys: pytest.CaptureFixture[str], returned: str, shown: str
) -> None:
    space = kt_space(
        f"""
        import keras

        def build_model(hp):
            hp.Int("units", 4, 8)
            return {returned}
        """
    )
    code = main(
        ["search", "--space", str(space), "--data", "builtin:iris", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"{space}: build_model(hp) {shown}, not a keras.Model" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_keras_tuner_error_classes_are_sorted() -> None:
    import keras_tuner

    errors = keras_tuner.errors
    assert isinstance(translate_user_error(errors.FatalError("x"), "trial 3"), SearchStopped)
    assert isinstance(translate_user_error(errors.FatalTypeError("x"), "trial 3"), SearchStopped)
    failed = translate_user_error(errors.FailedTrialError("bad lr"), "trial 3")
    assert isinstance(failed, TrialFailure) and str(failed) == "FailedTrialError: bad lr"
    assert translate_user_error(ValueError("x"), "trial 3") is None


class _Reporter:
    def __init__(self, best_value: float | None = None, best_epoch: int = -1) -> None:
        self.best_value, self.best_epoch = best_value, best_epoch


def _history(**metrics: list[float]) -> keras.callbacks.History:
    history = keras.callbacks.History()
    history.history = dict(metrics)
    return history


def test_fit_return_values_are_read_as_keras_tuner_reads_them() -> None:
    acc = Objective("val_accuracy", "maximize")
    loss = Objective("val_loss", "minimize")
    history = _history(val_accuracy=[0.5, 0.9, 0.7], val_loss=[0.9, 0.4, 0.3])
    assert trial_value(history, acc, _Reporter(), "fit") == (0.9, 1)
    assert trial_value(history, loss, _Reporter(), "fit") == (0.3, 2)
    assert trial_value(
        {"val_accuracy": 0.8, "loss": 1.0}, acc, _Reporter(best_epoch=4), "fit"
    ) == (0.8, 4)
    assert trial_value(0.25, loss, _Reporter(), "fit") == (0.25, 0)
    assert trial_value(np.float32(0.5), loss, _Reporter(), "fit")[0] == 0.5
    # A list holds executions of one trial: KerasTuner averages them.
    value, _ = trial_value([_history(val_loss=[0.4, 0.2]), 0.6], loss, _Reporter(), "fit")
    assert value == pytest.approx(0.4)
    # None: what autodl's callback saw, when the user's fit passed it on.
    assert trial_value(None, acc, _Reporter(0.7, 2), "fit") == (0.7, 2)
    with pytest.raises(InvalidHyperModel, match="returned None"):
        trial_value(None, acc, _Reporter(), "fit")
    with pytest.raises(InvalidHyperModel, match="without the objective 'val_accuracy'"):
        trial_value({"accuracy": 0.9}, acc, _Reporter(), "fit")
    with pytest.raises(InvalidHyperModel, match="returned str"):
        trial_value("0.9", acc, _Reporter(), "fit")
    with pytest.raises(TrialFailure, match="not in the History"):
        trial_value(_history(loss=[1.0]), acc, _Reporter(), "fit")
