"""--timeout ends the search on time: no trial starts after it, and the trial still training
then stops at its next batch and keeps its best epoch so far."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ENDLESS_TRIALS = """
from autodl.space import SearchSpace, real

space = SearchSpace(
    default_data="builtin:iris", layers=1, units=8, batch_size=8, epochs=100000, patience=0,
    learning_rate=real(1e-3, 1e-2, log=True),
)
"""


@pytest.fixture
def endless_space(tmp_path: Path) -> Path:
    space = tmp_path / "endless.py"
    space.write_text(ENDLESS_TRIALS)
    return space


def test_the_trial_training_at_the_timeout_stops_and_keeps_its_best_epoch(endless_space: Path, tmp_path: Path) -> None:
    import autodl

    out = tmp_path / "out"
    result = autodl.search(str(endless_space), trials=3, timeout=4, pruner="none", out=str(out))
    [trial] = result.study.trials  # 100,000 epochs: without the stop it would train for hours
    assert trial.state.name == "COMPLETE" and trial.user_attrs["stopped"] == "timeout"
    assert 1 <= trial.user_attrs["epochs"] == len(trial.intermediate_values) < 100000
    assert trial.value == pytest.approx(max(trial.intermediate_values.values()))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"]["complete"] == 1 and summary["best_trial"] == 0
    assert (out / "best_model.keras").is_file()


def test_the_command_says_which_trial_the_timeout_stopped(cli, endless_space: Path, tmp_path: Path) -> None:  # noqa: ANN001
    done = cli("search", "--space", str(endless_space), "--timeout", "5", "--trials", "3", "--pruner", "none",
               "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trial 0 complete" in done.stdout and "(stopped at the timeout after " in done.stdout
    assert "1 complete, 0 pruned, 0 failed" in done.stdout


def test_training_past_the_deadline_stops_after_one_batch_and_still_validates() -> None:
    import autodl._process
    from autodl.data import load_data
    from autodl.space._vocabulary import defaults
    from autodl.train import Objective, PreparedData, train_config

    prepared = PreparedData.from_dataset(load_data("builtin:iris"))
    objective = Objective("val_accuracy", "maximize")
    config = {**defaults(), "family": "mlp", "layers": 1, "units": 8, "batch_size": 8, "epochs": 50, "patience": 0}
    with autodl._process.training_deadline(time.time()):
        trained = train_config(config, prepared, objective)
    assert trained.timed_out and trained.epochs_run == 1
    assert 0.0 <= trained.value <= 1.0 and len(trained.history["val_accuracy"]) == 1

    untimed = train_config(dict(config, epochs=2), prepared, objective)
    assert not untimed.timed_out and untimed.epochs_run == 2  # the deadline was the block's only
