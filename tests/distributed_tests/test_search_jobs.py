"""`autodl search --jobs N` and `autodl worker`, end to end with tiny Keras trials."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from autodl.results import best_trial
from autodl.study import make_storage

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

# 3 x 2 x 2 = 12 configurations, all discrete, one epoch each.
GRID_SPACE = """
from autodl.space import SearchSpace, choice

space = SearchSpace(
    family="mlp",
    default_data="builtin:iris",
    layers=1,
    units=choice(4, 8, 16),
    activation=choice("relu", "tanh"),
    learning_rate=choice(0.001, 0.01),
    batch_size=64,
    epochs=1,
    patience=1,
)
"""


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "autodl", *args],
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"autodl did not finish in {timeout}s:\n{out[-3000:]}")
    return proc.returncode, out


def _check_total(trials: list[optuna.trial.FrozenTrial], total: int) -> None:
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert len([t for t in trials if t.state in FINISHED]) == total
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_jobs_3_share_one_journal_study_without_repeating_a_grid_point(tmp_path: Path) -> None:
    (tmp_path / "grid.py").write_text(GRID_SPACE)
    out = tmp_path / "out"
    # Three faked GPUs: each worker must be pinned to its own (TensorFlow then finds no
    # real GPU behind the id and trains on the CPU).
    scratch = tmp_path / "tmp"  # where the parent keeps the export's claim file
    scratch.mkdir()
    proc = _cli(
        "search", "--space", "grid.py", "--sampler", "grid", "--pruner", "none", "--trials", "6",
        "--jobs", "3", "--seed", "0", "--out", str(out),
        cwd=tmp_path, env={"AUTODL_FAKE_GPUS": "3", "TMPDIR": str(scratch)},
    )  # fmt: skip
    code, output = _finish(proc)
    assert code == 0, output[-3000:]
    study = optuna.load_study(study_name="grid-iris", storage=make_storage(str(out / "study.journal")))
    trials = study.get_trials(deepcopy=False)
    _check_total(trials, 6)
    configs = [tuple(sorted(t.params.items())) for t in trials if t.state in FINISHED]
    assert len(set(configs)) == len(configs), f"a configuration ran twice: {configs}"
    device_of = {t.user_attrs["worker"]: t.user_attrs["device"] for t in trials}
    assert len(device_of) >= 2  # more than one worker process ran trials
    assert len(set(device_of.values())) == len(device_of)  # each on its own GPU
    assert set(device_of.values()) <= {"gpu:0", "gpu:1", "gpu:2"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"]["complete"] + summary["trials"]["pruned"] == 6
    assert (out / "best_model.keras").is_file()
    assert "6/6 finished" in output
    # The export (done by the worker that ended last) covers the study's best trial, and
    # the report has the best model's section, which needs Keras.
    assert summary["export"]["trial"] == best_trial(study).number
    card = json.loads((out / "model_card.json").read_text())
    assert card["command"].startswith("autodl search --space grid.py")
    assert card["model"]["trial"] == best_trial(study).number
    assert "<summary>layers (" in (out / "report.html").read_text()
    assert not list(scratch.glob("autodl-export-*"))  # the claim's folder is gone


def _first_running(study: optuna.Study, pids: dict[str, subprocess.Popen[str]], timeout: float = 240) -> tuple[str, int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            worker = t.user_attrs.get("worker")
            if worker in pids and t.intermediate_values:  # inside its training, past epoch 1
                return worker, t.number
        time.sleep(0.1)
    pytest.fail("no worker ever ran a trial")


@pytest.mark.slow  # about a minute: three processes load TensorFlow at once on two cores
def test_three_workers_join_a_postgresql_study_and_sigterm_interrupts_one(
    postgres_url: str, study_name: str, cleanup_study, tmp_path: Path
) -> None:
    from autodl.study import SearchSettings, prepare_search

    cleanup_study(postgres_url, study_name)
    space = tmp_path / "tiny.py"
    # 60 epochs, no early stopping: the signal lands while the trial trains, not after it
    space.write_text(GRID_SPACE.replace("epochs=1", "epochs=60").replace("patience=1", "patience=0"))
    settings = SearchSettings(
        space=str(space), storage=postgres_url, study_name=study_name, trials=5, pruner="none",
        out=str(tmp_path / "creator"),
    )  # fmt: skip
    prepare_search(settings)  # creates the study and records space, data and settings
    space.unlink()  # the workers' machine has no copy: they use the one the study keeps
    elsewhere = tmp_path / "worker-host"
    elsewhere.mkdir()
    procs = [
        _cli("worker", "--storage", postgres_url, "--study-name", study_name, "--out", f"w{i}", cwd=elsewhere)
        for i in range(3)
    ]
    host = socket.gethostname()
    by_worker = {f"{host}:{p.pid}": p for p in procs}
    study = optuna.load_study(study_name=study_name, storage=make_storage(postgres_url))
    worker, number = _first_running(study, by_worker)
    victim = by_worker.pop(worker)
    victim.send_signal(signal.SIGTERM)
    code, output = _finish(victim, timeout=120)
    assert code == 130, output[-3000:]
    for proc in by_worker.values():
        code, output = _finish(proc)
        assert code == 0, output[-3000:]
        assert f"joined study {study_name}" in output
    trials = study.get_trials(deepcopy=False)
    _check_total(trials, 5)
    interrupted = trials[number]
    assert interrupted.state == TrialState.FAIL
    assert interrupted.user_attrs["fail_reason"] == "interrupted"
    assert len({t.user_attrs["worker"] for t in trials}) >= 2
    assert list((elsewhere / "w0" / "space").glob("tiny.py"))


@pytest.mark.slow
def test_a_killed_worker_of_search_jobs_is_failed_and_retried(tmp_path: Path) -> None:
    (tmp_path / "grid.py").write_text(GRID_SPACE.replace("epochs=1", "epochs=3"))
    out = tmp_path / "out"
    proc = _cli(
        "search", "--space", "grid.py", "--pruner", "none", "--trials", "4", "--jobs", "2", "--out", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    journal = out / "study.journal"
    end = time.monotonic() + 240
    study = None
    while study is None and time.monotonic() < end:
        try:  # the journal file appears a moment before the study is written into it
            if journal.exists():
                study = optuna.load_study(study_name="grid-iris", storage=make_storage(str(journal)))
        except KeyError:
            pass
        time.sleep(0.2)
    assert study is not None, "the search never created its study"
    host = socket.gethostname()
    killed = None
    while killed is None and time.monotonic() < end:
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.params and t.user_attrs.get("worker", "").startswith(f"{host}:"):
                killed = t
                break
        time.sleep(0.1)
    assert killed is not None
    os.kill(int(killed.user_attrs["worker"].split(":")[1]), signal.SIGKILL)
    code, output = _finish(proc)
    assert code == 0, output[-3000:]
    trials = study.get_trials(deepcopy=False)
    _check_total(trials, 4)
    failed = trials[killed.number]
    assert failed.state == TrialState.FAIL
    assert "was killed (SIGKILL)" in failed.user_attrs["fail_reason"]
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == killed.number]
    assert retry.params == failed.params and retry.state == TrialState.COMPLETE
