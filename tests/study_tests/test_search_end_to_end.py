"""Real (tiny) searches end to end: outputs, the Optuna study, the exported model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import autodl


def _check_outputs(out: Path, n_trials: int) -> dict:
    for name in ("summary.json", "leaderboard.csv", "best_config.json", "best_model.keras"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    counts = summary["trials"]
    assert counts["complete"] + counts["pruned"] == n_trials
    assert summary["best_value"] is not None and summary["best_params"] is not None
    board = pd.read_csv(out / "leaderboard.csv")
    complete = board[board["state"] == "COMPLETE"]["value"].tolist()
    maximize = summary["direction"] == "maximize"
    assert complete == sorted(complete, reverse=maximize), "leaderboard is best first"
    assert board.iloc[0]["value"] == pytest.approx(summary["best_value"])
    best_config = json.loads((out / "best_config.json").read_text())
    assert best_config["value"] == pytest.approx(summary["best_value"])
    assert best_config["config"]["family"] in ("mlp", "cnn", "rnn")
    return summary


def _predict_in_fresh_process(model_path: Path, x: np.ndarray | dict) -> np.ndarray:
    """Load with plain Keras in a new process (no autodl import) and predict raw input."""
    inputs = model_path.parent / "raw_inputs.npz"
    arrays = x if isinstance(x, dict) else {"x": x}
    np.savez(inputs, **arrays)
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras
        model = keras.saving.load_model({str(model_path)!r})
        assert not any(m.startswith("autodl") for m in sys.modules)
        def raw(v):
            if v.dtype.kind == "U":
                import tensorflow as tf
                return tf.constant(v)
            return v
        arrays = {{k: raw(v) for k, v in np.load({str(inputs)!r}).items()}}
        x = arrays["x"] if list(arrays) == ["x"] else arrays
        np.save({str(model_path.parent / "pred.npy")!r}, np.asarray(model.predict(x, verbose=0)))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return np.load(model_path.parent / "pred.npy")


def test_cnn_on_digits_leaves_a_normal_optuna_study_and_a_raw_input_model(write_space, tmp_path: Path) -> None:
    space = write_space(
        family="cnn", data="builtin:digits", extra="blocks=integer(1, 2), filters=4, dense_units=16,", epochs=2
    )
    out = tmp_path / "out"
    result = autodl.search(str(space), trials=3, seed=0, out=str(out))
    summary = _check_outputs(out, 3)
    assert summary["metric"] == "val_accuracy" and summary["direction"] == "maximize"
    assert result.best_value == summary["best_value"]
    assert summary["best_value"] > 0.3  # 10 classes: well above chance after 2 epochs
    assert list(result.leaderboard["number"])[0] == summary["best_trial"]

    # Another process reads the study with Optuna alone: native distributions, one
    # intermediate value per epoch, and the user attributes reports rely on.
    script = textwrap.dedent(
        f"""
        import json, optuna
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        storage = JournalStorage(JournalFileBackend({str(out / "study.journal")!r}))
        study = optuna.load_study(study_name={summary["study_name"]!r}, storage=storage)
        t = study.best_trial
        print(json.dumps({{
            "dist": type(t.distributions["learning_rate"]).__name__,
            "log": t.distributions["learning_rate"].log,
            "steps": sorted(t.intermediate_values),
            "attrs": sorted(t.user_attrs),
            "metric_names": study.metric_names,
        }}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["dist"] == "FloatDistribution" and seen["log"] is True
    assert seen["steps"][0] == 0 and len(seen["steps"]) >= 1
    assert {"config", "epochs", "seconds", "n_params", "best_epoch"} <= set(seen["attrs"])
    assert seen["metric_names"] == ["val_accuracy"]

    # The exported model takes the raw 0..16 pixel values given to --data.
    x = result.data.x_val[:20]
    probabilities = _predict_in_fresh_process(out / "best_model.keras", x)
    assert probabilities.shape == (20, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(probabilities, result.best_model.predict(x, verbose=0), atol=1e-5)


def test_mlp_on_breast_cancer_csv(write_space, tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = np.where(frame["target"] == 1, "benign", "malignant")
    csv = tmp_path / "cancer.csv"
    frame.to_csv(csv, index=False)
    space = write_space(extra="layers=integer(1, 2), units=16,", epochs=3)
    out = tmp_path / "out"
    result = autodl.search(str(space), data=str(csv), target="target", trials=3, seed=0, out=str(out))
    summary = _check_outputs(out, 3)
    assert summary["task"] == "binary"
    assert summary["best_value"] > 0.85
    assert result.data.feature_names == tuple(c for c in frame.columns if c != "target")
    raw = frame.drop(columns="target").to_numpy(dtype="float32")[:10]  # the CSV's columns as given
    got = _predict_in_fresh_process(out / "best_model.keras", raw)
    assert got.shape == (10, 1)
    np.testing.assert_allclose(got, result.best_model.predict(raw, verbose=0), atol=1e-5)
    # By default the completed trials' models are kept and an ensemble is chosen from them;
    # best_model.keras is the ensemble only if it beat the best trial's model on validation.
    complete = [t.number for t in result.study.trials if t.state.name == "COMPLETE"]
    ensemble, export = summary["ensemble"], summary["export"]
    assert len(complete) >= 2 and sorted(ensemble["candidates"]) == complete
    assert sorted(p.name for p in (out / "models").glob("*.keras")) == sorted(
        f"trial_{n}.keras" for n in complete
    )
    if ensemble["file"]:
        assert export["source"] == "ensemble" and ensemble["file"] == "best_model.keras"
        assert ensemble["validation_loss"] < ensemble["best_single_validation_loss"]
        assert (out / "best_trial_model.keras").is_file()
    else:
        assert export["source"] == "trial" and ensemble["note"].startswith("no ensemble")
        assert not (out / "best_trial_model.keras").exists()


def test_regression_on_diabetes_predicts_in_target_units(write_space, tmp_path: Path) -> None:
    space = write_space(data="builtin:diabetes", extra="layers=1, units=integer(8, 32),", epochs=5)
    out = tmp_path / "out"
    result = autodl.search(str(space), trials=2, seed=0, out=str(out))
    summary = _check_outputs(out, 2)
    assert summary["metric"] == "val_mse" and summary["direction"] == "minimize"
    assert summary["best_value"] < 1.0  # standardised MSE below predicting the mean
    predictions = _predict_in_fresh_process(out / "best_model.keras", result.data.x_val)
    assert 50 < float(predictions.mean()) < 250, "predictions are in the target's units"


def test_rnn_on_generated_sequences(write_space, tmp_path: Path) -> None:
    space = write_space(
        family="rnn", data="builtin:waves", extra="cell=choice('gru', 'lstm'), rnn_units=8, dense_units=8,", epochs=2
    )
    out = tmp_path / "out"
    result = autodl.search(str(space), trials=2, seed=0, out=str(out))
    _check_outputs(out, 2)
    assert result.best_config["family"] == "rnn"
    assert _predict_in_fresh_process(out / "best_model.keras", result.data.x_val[:4]).shape == (4, 3)


def test_text_classification_from_a_csv(write_space, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    good, bad = ["great fun", "loved it", "superb acting"], ["dull plot", "waste of time", "awful sound"]
    rows = [
        (f"the show was {rng.choice(good if label else bad)} really", "pos" if label else "neg")
        for label in rng.integers(0, 2, 200)
    ]
    csv = tmp_path / "reviews.csv"
    pd.DataFrame(rows, columns=["review", "label"]).to_csv(csv, index=False)
    space = tmp_path / "text_space.py"
    space.write_text(
        "from autodl.space import SearchSpace, real\n"
        "space = SearchSpace(family='rnn', rnn_units=8, embedding_dim=8, sequence_length=8,\n"
        "    bidirectional=True, learning_rate=real(3e-3, 1e-2, log=True), batch_size=32,\n"
        "    epochs=8, patience=4)\n"
    )
    out = tmp_path / "out"
    result = autodl.search(str(space), data=str(csv), target="label", trials=2, seed=0, out=str(out))
    summary = _check_outputs(out, 2)
    assert result.data.input_kind == "text" and summary["best_value"] > 0.8
    texts = np.asarray(["the show was loved it really", "the show was dull plot really"])
    probabilities = _predict_in_fresh_process(out / "best_model.keras", texts.reshape(-1, 1))
    assert probabilities.shape == (2, 1)


def test_the_textbook_trial_then_the_warm_starts_run_first(tmp_path: Path) -> None:
    space = tmp_path / "starts.py"
    space.write_text(
        "from autodl.space import SearchSpace, choice, integer\n"
        "space = SearchSpace(default_data='builtin:iris', units=integer(4, 32), activation=choice('relu', 'tanh'),\n"
        "    epochs=1, textbook=dict(units=8, activation='relu'),\n"
        "    warm_starts=[dict(units=32, activation='tanh'), dict(units=16)])\n"
    )
    result = autodl.search(str(space), trials=4, seed=0, out=str(tmp_path / "out"))
    first = result.study.trials[:3]
    assert [t.params["units"] for t in first] == [8, 32, 16]
    # a warm start is the textbook model with the keys it names changed
    assert [t.params["activation"] for t in first] == ["relu", "tanh", "relu"]
    assert [t.user_attrs.get("textbook", False) for t in first] == [True, False, False]
    assert [t.user_attrs.get("warm_start", False) for t in first] == [False, True, True]


def test_starts_beyond_the_budget_wait_for_a_rerun_with_a_larger_one(tmp_path: Path) -> None:
    space = tmp_path / "starts.py"
    space.write_text(
        "from autodl.space import SearchSpace, integer\n"
        "space = SearchSpace(default_data='builtin:iris', units=integer(4, 32), epochs=1,\n"
        "    textbook=dict(units=8), warm_starts=[dict(units=32), dict(units=16)])\n"
    )
    out = str(tmp_path / "out")
    first = autodl.search(str(space), trials=2, seed=0, out=out).study.trials
    # Nothing is left queued beyond --trials: the textbook trial and the first warm start ran.
    assert [(t.state.name, t.params["units"]) for t in first] == [("COMPLETE", 8), ("COMPLETE", 32)]
    trials = autodl.search(str(space), trials=4, seed=0, out=out).study.trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    # The larger budget queues the warm start that had no room; then the sampler draws.
    assert trials[2].params["units"] == 16 and trials[2].user_attrs.get("warm_start")
    assert not trials[3].user_attrs.get("warm_start") and not trials[3].user_attrs.get("textbook")


def test_rerunning_the_same_search_resumes_it(write_space, tmp_path: Path) -> None:
    space = write_space(extra="units=8, layers=1,", epochs=1)
    out = tmp_path / "out"
    autodl.search(str(space), trials=2, seed=0, out=str(out))
    result = autodl.search(str(space), trials=4, seed=0, out=str(out))
    numbers = [t.number for t in result.study.trials]
    assert numbers == [0, 1, 2, 3], "trial numbers go on and --trials counts the total"
    assert result.summary["trials"]["complete"] + result.summary["trials"]["pruned"] == 4
    again = autodl.search(str(space), trials=4, seed=0, out=str(out))
    assert len(again.study.trials) == 4, "a finished study runs no more trials"


def test_failing_trials_are_recorded_and_the_search_goes_on(tmp_path: Path) -> None:
    space = tmp_path / "flaky.py"
    space.write_text(
        textwrap.dedent(
            """
            import keras
            from autodl.space import SearchSpace, choice

            def exploding_loss(y_true, y_pred):
                return keras.ops.mean(y_pred) * float("nan")

            space = SearchSpace(
                default_data="builtin:iris", units=8, layers=1, epochs=1, batch_size=64,
                loss=choice("crossentropy", exploding_loss),
            )
            """
        )
    )
    out = tmp_path / "out"
    result = autodl.search(str(space), trials=2, seed=1, out=str(out), sampler="random", max_failures=40)
    failed = [t for t in result.study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert failed, "the NaN loss trials fail"
    assert all("nan" in t.user_attrs["fail_reason"].lower() for t in failed)
    assert result.summary["trials"]["complete"] == 2
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board[board["state"] == "FAIL"]["fail_reason"].str.contains("nan", case=False)) == {True}


def test_consecutive_failures_stop_the_search_with_the_reason(tmp_path: Path) -> None:
    space = tmp_path / "broken.py"
    space.write_text(
        textwrap.dedent(
            """
            from autodl.space import SearchSpace, integer

            def broken_loss(y_true, y_pred):
                raise RuntimeError("this loss is broken")

            space = SearchSpace(default_data="builtin:iris", units=integer(4, 8), layers=1, epochs=1, loss=broken_loss)
            """
        )
    )
    with pytest.raises(autodl.exceptions.SearchAborted, match="3 consecutive failed trials.*this loss is broken"):
        autodl.search(str(space), trials=5, out=str(tmp_path / "out"), max_failures=3)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["trials"]["failed"] == 3


def test_out_of_memory_is_recorded_as_such_and_the_search_goes_on(tmp_path: Path) -> None:
    space = tmp_path / "oom.py"
    space.write_text(
        textwrap.dedent(
            """
            import keras
            import tensorflow as tf
            from autodl.space import SearchSpace, choice

            def greedy_loss(y_true, y_pred):
                raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

            space = SearchSpace(
                default_data="builtin:iris", units=8, layers=1, epochs=1, batch_size=64,
                loss=choice("crossentropy", greedy_loss),
            )
            """
        )
    )
    result = autodl.search(str(space), trials=2, seed=3, out=str(tmp_path / "out"), sampler="random", max_failures=10)
    failed = [t for t in result.study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert failed and all(t.user_attrs["fail_reason"].startswith("out of memory") for t in failed)
    assert result.summary["trials"]["complete"] == 2


def test_a_model_that_cannot_be_saved_fails_its_trial_and_the_search_goes_on(
    write_space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autodl.export import BestModelWriter

    offer = BestModelWriter.offer
    calls = []

    def offer_failing_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise NotImplementedError("Object Clip was created by passing non-serializable argument values")
        return offer(self, *args, **kwargs)

    monkeypatch.setattr(BestModelWriter, "offer", offer_failing_once)
    space = write_space("mlp", "builtin:iris", epochs=1)
    result = autodl.search(str(space), trials=2, seed=0, out=str(tmp_path / "out"))
    failed = [t for t in result.study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert [t.number for t in failed] == [0]
    assert failed[0].user_attrs["fail_reason"].startswith("saving its model failed: NotImplementedError: Object Clip")
    assert result.summary["trials"]["complete"] == 2
    assert (tmp_path / "out" / "best_model.keras").exists()


def test_a_grid_search_stops_when_every_point_was_tried(tmp_path: Path) -> None:
    # Optuna's GridSampler asks the study to stop after the last point; the search must
    # end there, with every point tried once, not fail (2 points, 5 trials asked).
    space = tmp_path / "grid.py"
    space.write_text(
        'from autodl.space import SearchSpace, choice\n'
        'space = SearchSpace(default_data="builtin:iris", units=choice(4, 8), layers=1, epochs=1)\n'
    )
    result = autodl.search(str(space), trials=5, sampler="grid", pruner="none", seed=0, out=str(tmp_path / "out"))
    trials = result.study.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert sorted(t.params["units"] for t in trials) == [4, 8]
    assert result.summary["trials"]["complete"] == 2 and (tmp_path / "out" / "best_model.keras").exists()
