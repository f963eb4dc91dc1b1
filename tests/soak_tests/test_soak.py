"""Soak: 200 short trials of one `autodl search` process keep memory and file descriptors
bounded; then a `kill -9` mid-trial and the same command resume with every trial intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

TRIALS = 200


def _open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:  # the process ended (or is between images during a restart)
        return None


def _trials(out: Path) -> list[optuna.trial.FrozenTrial]:
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / "study.journal")))
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage).get_trials(deepcopy=False)


def _search(space: Path, out: Path, trials: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "autodl", "search", "--space", str(space), "--trials", str(trials),
               "--out", str(out), "--pruner", "none", "--seed", "0"]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)


@pytest.mark.slow
def test_200_trials_keep_rss_and_fds_bounded_then_kill_9_resumes(write_space, tmp_path: Path) -> None:
    space = write_space(extra="units=integer(4, 8), layers=1,", epochs=1)
    out, log = tmp_path / "out", tmp_path / "search.log"
    proc = _search(space, out, TRIALS, log)
    fds: list[int] = []
    while proc.poll() is None:
        count = _open_fds(proc.pid)
        if count is not None:
            fds.append(count)
        time.sleep(0.5)
    assert proc.returncode == 0, log.read_text()[-3000:]

    trials = sorted(_trials(out), key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE"] * TRIALS
    # One process ran them all: a restart to free memory keeps the process id.
    assert {t.user_attrs["worker"].split(":")[1] for t in trials} == {str(proc.pid)}
    rss = [t.user_attrs["rss_mb"] for t in trials]
    growth = max(rss[5:]) - rss[4]
    restarts = log.read_text().count("restarting this process")
    print(f"RSS after trial 5 {rss[4]:.0f} MB, highest after {max(rss[5:]):.0f} MB; {restarts} restarts")
    assert growth < 150, f"RSS grew {growth:.0f} MB after trial 5"
    quarter = len(fds) // 4
    print(f"open file descriptors: first quarter up to {max(fds[:quarter])}, last quarter up to {max(fds[-quarter:])}")
    assert max(fds[-quarter:]) <= max(fds[:quarter]) + 3, f"file descriptors grew: {fds[:quarter]} -> {fds[-quarter:]}"

    # kill -9 in the middle of a trial, then the same command finishes the study.
    proc = _search(space, out, TRIALS + 10, log)
    while proc.poll() is None and not any(t.state.name == "RUNNING" for t in _trials(out)[TRIALS + 2 :]):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = {t.number: t.value for t in _trials(out) if t.state.name == "COMPLETE"}
    proc = _search(space, out, TRIALS + 10, log)
    assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
    after = _trials(out)
    assert sum(t.state.name == "COMPLETE" for t in after) == TRIALS + 10
    assert {t.number: t.value for t in after if t.number in before} == before
    killed = [t for t in after if t.state.name == "FAIL"]
    assert len(killed) == 1 and killed[0].number > TRIALS
