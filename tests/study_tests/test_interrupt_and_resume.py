"""Ctrl-C, SIGTERM and kill -9 during a search cost nothing that was finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage

SLOW_TRIALS = """
from autodl.space import SearchSpace, real

space = SearchSpace(
    default_data="builtin:iris", layers=1, units=8, batch_size=8, epochs=100, patience=0,
    learning_rate=real(1e-3, 1e-2, log=True),
)
"""


def _start(space: Path, out: Path, trials: int) -> subprocess.Popen[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    args = ["--space", str(space), "--out", str(out), "--trials", str(trials), "--pruner", "none"]
    return subprocess.Popen(
        [sys.executable, "-m", "autodl", "search", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_finished(proc: subprocess.Popen[str], n: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    finished = 0
    assert proc.stdout is not None
    while finished < n:
        assert time.monotonic() < deadline, "search did not finish trials in time"
        line = proc.stdout.readline()
        assert line or proc.poll() is None, "search ended early"
        if line.startswith("trial ") and (" complete " in line or " pruned " in line):
            finished += 1


def _wait_for_running(proc: subprocess.Popen[str], out: Path, timeout: float = 120) -> None:
    """Until the search is inside a trial's training (its first epoch reported, most of
    its 100 still to run), not writing the report between two trials or saving one."""
    deadline = time.monotonic() + timeout
    while not any(
        t.state.name == "RUNNING" and t.intermediate_values for t in _study(out).get_trials(deepcopy=False)
    ):
        assert time.monotonic() < deadline and proc.poll() is None, "no trial started training"
        time.sleep(0.1)


def _search_interrupted_in_process(tmp_path: Path, epochs: int) -> tuple[Path, Path]:
    """`autodl.search` with the signal handling `autodl search` installs, 3 trials of
    `epochs`; a signal must interrupt it. Returns the space file and the output folder."""
    import autodl
    from autodl.cli._signals import graceful_interrupts

    space = tmp_path / "space.py"
    space.write_text(SLOW_TRIALS.replace("epochs=100", f"epochs={epochs}"))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), graceful_interrupts():
        autodl.search(str(space), trials=3, pruner="none", out=str(out))
    return space, out


def _study(out: Path) -> optuna.Study:
    storage = JournalStorage(JournalFileBackend(str(out / "study.journal")))
    return optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_saves_what_is_done_and_the_same_command_resumes(tmp_path: Path, signum: int) -> None:
    space = tmp_path / "slow.py"
    space.write_text(SLOW_TRIALS)
    out = tmp_path / "out"
    proc = _start(space, out, trials=4)
    _wait_for_finished(proc, 1)
    _wait_for_running(proc, out)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "resume with: autodl search" in err
    study = _study(out)
    states = [t.state.name for t in study.trials]
    assert states[0] == "COMPLETE" and states[-1] == "FAIL"
    assert study.trials[-1].user_attrs["fail_reason"] == "interrupted"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"]["complete"] == 1 and summary["trials"]["failed"] == 1
    assert (out / "best_model.keras").is_file() and (out / "leaderboard.csv").is_file()
    assert not list(out.glob(".*.tmp*")), "no half-written temporary files are left"

    proc = _start(space, out, trials=2)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    study = _study(out)
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(len(numbers))) and len(numbers) == 3
    assert [t.state.name for t in study.trials].count("COMPLETE") == 2


def test_kill_9_then_the_same_command_resumes_with_every_finished_trial(tmp_path: Path) -> None:
    space = tmp_path / "slow.py"
    space.write_text(SLOW_TRIALS)
    out = tmp_path / "out"
    proc = _start(space, out, trials=3)
    _wait_for_finished(proc, 1)
    _wait_for_running(proc, out)
    proc.kill()
    proc.wait(timeout=30)
    finished_before = {t.number: t.value for t in _study(out).trials if t.state.name == "COMPLETE"}
    assert finished_before

    proc = _start(space, out, trials=3)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    study = _study(out)
    for number, value in finished_before.items():
        assert study.trials[number].state.name == "COMPLETE" and study.trials[number].value == value
    orphan = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(orphan) == 1 and orphan[0].user_attrs["fail_reason"].startswith("abandoned")
    assert [t.state.name for t in study.trials].count("COMPLETE") == 3
    # the model on disk loads: it was never half-written
    import keras

    keras.saving.load_model(out / "best_model.keras")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_the_best_model_is_written_keeps_the_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    """The signal lands between best_model.keras and best_config.json: both are still
    written, the trial counts as complete, and the same search resumes and exports."""
    import autodl
    from autodl.export._best import BestModelWriter

    offer = BestModelWriter.offer

    def offer_interrupted(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        os.kill(os.getpid(), signum)  # as `autodl search` handles it (graceful_interrupts)
        time.sleep(0.2)
        return offer(self, *args, **kwargs)

    monkeypatch.setattr(BestModelWriter, "offer", offer_interrupted)
    space, out = _search_interrupted_in_process(tmp_path, epochs=2)
    study = _study(out)
    assert [t.state.name for t in study.trials] == ["COMPLETE"]
    assert json.loads((out / "best_config.json").read_text())["trial"] == 0

    monkeypatch.setattr(BestModelWriter, "offer", offer)
    result = autodl.search(str(space), trials=2, pruner="none", out=str(out))
    assert [t.state.name for t in result.study.trials] == ["COMPLETE", "COMPLETE"]
    assert (out / "best_model.keras").is_file() and result.summary["trials"]["complete"] == 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost raise
def test_an_interrupt_lost_in_a_finalizer_still_stops_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python drops an exception raised in `__del__` ("Exception ignored in"), and
    TensorFlow runs finalizers all through `fit`: a SIGTERM landing in one used to be lost,
    and the search ran to its end (the handler had already armed "exit at once" for the
    next signal). Training raises it again at its next epoch."""
    from autodl.train._callbacks import EpochReporter

    class SignalledWhileFinalized:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, inside __del__
            time.sleep(0.05)

    on_epoch_end = EpochReporter.on_epoch_end

    def epoch_end_then_finalizer(self, epoch, logs=None):  # noqa: ANN001, ANN202
        if self.trial is not None and self.trial.number == 1 and epoch == 2:
            SignalledWhileFinalized()  # dropped at once: its __del__ runs and swallows the raise
        return on_epoch_end(self, epoch, logs)

    monkeypatch.setattr(EpochReporter, "on_epoch_end", epoch_end_then_finalizer)
    _, out = _search_interrupted_in_process(tmp_path, epochs=30)
    study = _study(out)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL"]
    assert study.trials[1].user_attrs["fail_reason"] == "interrupted"
    assert len(study.trials[1].intermediate_values) == 2  # stopped in the epoch it was asked to
