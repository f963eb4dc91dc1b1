"""Several processes running autodl's trial loop on one study, on every storage.

The objective is a no-op (no Keras), so these tests exercise the coordination itself:
the study-wide total, trial numbering, concurrent writers, crashes and signals.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from autodl.study import make_storage

from .conftest import output_of, start_loop_workers, wait_all

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _create(url: str, name: str) -> optuna.Study:
    return optuna.create_study(study_name=name, storage=make_storage(url), direction="maximize")


def _check_exact_total(study: optuna.Study, total: int, n_workers: int) -> None:
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials))), "trial numbers repeat or skip"
    finished = [t for t in trials if t.state in FINISHED]
    assert len(finished) == total
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    for t in trials:
        x = t.params["x"]
        # Every write of every trial landed on that trial: nothing lost or mixed up.
        assert t.user_attrs["echo"] == x
        assert t.intermediate_values == {0: float(x), 1: float(x + 1), 2: float(x + 2)}
        if t.state == TrialState.COMPLETE:
            assert t.value == float(x)
        elif t.state == TrialState.PRUNED:
            assert x % 5 == 0
        else:
            assert t.state == TrialState.FAIL and t.user_attrs["fail_reason"] == "expected"
    assert len({t.user_attrs["worker"] for t in trials}) == n_workers


def _run_three(url: str, name: str, total: int) -> optuna.Study:
    _create(url, name)
    procs = start_loop_workers(url, name, n=3, total=total, seconds=0.02)
    codes = wait_all(procs, timeout=120)
    assert codes == [0, 0, 0], output_of(procs)
    return optuna.load_study(study_name=name, storage=make_storage(url))


def test_three_workers_on_the_journal_file_reach_the_exact_total(tmp_path: Path, study_name: str) -> None:
    url = str(tmp_path / "study.journal")
    study = _run_three(url, study_name, total=40)
    _check_exact_total(study, 40, n_workers=3)
    # The file itself is intact: one JSON operation per line, nothing half-written.
    for line in Path(url).read_text().splitlines():
        json.loads(line)


def test_three_workers_on_postgresql_reach_the_exact_total(postgres_url: str, study_name: str, cleanup_study) -> None:
    cleanup_study(postgres_url, study_name)
    _check_exact_total(_run_three(postgres_url, study_name, total=24), 24, n_workers=3)


def test_three_workers_on_mariadb_reach_the_exact_total(mysql_url: str, study_name: str, cleanup_study) -> None:
    cleanup_study(mysql_url, study_name)
    _check_exact_total(_run_three(mysql_url, study_name, total=24), 24, n_workers=3)


def _running_trial_of(study: optuna.Study, pid: int, timeout: float = 60) -> int:
    worker = f"{socket.gethostname()}:{pid}"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.user_attrs.get("worker") == worker and t.params:  # inside the objective
                return t.number
        time.sleep(0.05)
    pytest.fail(f"worker {worker} never ran a trial")


# The mechanism is the same on both servers; MariaDB's run only adds time locally.
@pytest.mark.parametrize("server", ["postgres", pytest.param("mysql", marks=pytest.mark.slow)])
def test_a_killed_worker_s_trial_fails_by_heartbeat_and_is_retried(
    server: str, request: pytest.FixtureRequest, study_name: str, cleanup_study
) -> None:
    url = request.getfixturevalue(f"{server}_url")
    cleanup_study(url, study_name)
    study = _create(url, study_name)
    env = {"AUTODL_HEARTBEAT_SECONDS": "1"}  # stale after 2 s
    total = 8
    procs = start_loop_workers(url, study_name, n=3, total=total, seconds=0.8, mode="plain", env=env)
    victim = procs[0]
    killed = _running_trial_of(study, victim.pid)
    victim.send_signal(signal.SIGKILL)
    codes = wait_all(procs[1:], timeout=120)
    assert codes == [0, 0], output_of(procs[1:])
    study = optuna.load_study(study_name=study_name, storage=make_storage(url))
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    assert trials[killed].state == TrialState.FAIL
    retries = [t for t in trials.values() if t.user_attrs.get("retry_of") == killed]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.system_attrs["failed_trial"] == killed
    assert retry.params == trials[killed].params  # the same configuration, run again
    assert retry.state == TrialState.COMPLETE
    assert len([t for t in trials.values() if t.state in FINISHED]) == total
    assert not [t for t in trials.values() if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_sigterm_marks_the_running_trial_interrupted_and_exits_130(tmp_path: Path, study_name: str) -> None:
    url = str(tmp_path / "study.journal")
    study = _create(url, study_name)
    (proc,) = start_loop_workers(url, study_name, n=1, total=50, seconds=3.0, mode="plain")
    number = _running_trial_of(study, proc.pid)
    time.sleep(0.3)  # inside the objective, not in the claim
    proc.send_signal(signal.SIGTERM)
    assert wait_all([proc], timeout=30) == [130], output_of([proc])
    trial = optuna.load_study(study_name=study_name, storage=make_storage(url)).trials[number]
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "interrupted"


def test_a_worker_waits_while_others_hold_the_last_trials(tmp_path: Path, study_name: str) -> None:
    """With 1 trial left and it running, a second worker must not start another one."""
    from autodl.study._workers import GracefulStop, run_trials

    url = str(tmp_path / "study.journal")
    study = _create(url, study_name)
    held = study.ask()  # "another worker" holds the only remaining trial
    held.suggest_int("x", 0, 10)
    stop = GracefulStop()
    started = []

    def objective(trial: optuna.Trial) -> float:
        started.append(trial.number)
        return 1.0

    import threading

    def finish_later() -> None:
        time.sleep(1.0)
        study.tell(held, 5.0)

    threading.Thread(target=finish_later).start()
    outcome = run_trials(study, objective, total=1, stop=stop, poll_seconds=0.1)
    assert outcome.reached_total and started == []
    assert len(study.trials) == 1


def test_a_failed_trial_frees_its_place_for_a_new_one(tmp_path: Path, study_name: str) -> None:
    from autodl.study._workers import run_trials

    url = str(tmp_path / "study.journal")
    study = _create(url, study_name)
    calls = []

    def objective(trial: optuna.Trial) -> float:
        calls.append(trial.number)
        if len(calls) == 1:
            raise ValueError("boom")
        return 1.0

    with pytest.raises(ValueError):  # an unexpected error is a bug: it stops the worker
        run_trials(study, objective, total=2)
    assert study.trials[0].state == TrialState.FAIL
    assert study.trials[0].user_attrs["fail_reason"] == "ValueError: boom"
    outcome = run_trials(study, objective, total=2, catch=(ValueError,))
    assert outcome.reached_total
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]


def test_consecutive_failures_stop_the_worker(tmp_path: Path, study_name: str) -> None:
    from autodl.study._workers import run_trials

    study = _create(str(tmp_path / "study.journal"), study_name)

    class Expected(Exception):
        pass

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("fail_reason", f"bad {trial.number}")
        raise Expected()

    outcome = run_trials(study, objective, total=10, max_failures=3, catch=(Expected,))
    assert outcome.aborted == "bad 2" and outcome.trials_run == 3
    assert not outcome.reached_total


def test_ci_without_a_server_url_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import server_url

    monkeypatch.delenv("AUTODL_TEST_POSTGRES_URL", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="AUTODL_TEST_POSTGRES_URL is not set"):
        server_url("AUTODL_TEST_POSTGRES_URL")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="AUTODL_TEST_POSTGRES_URL is not set"):
        server_url("AUTODL_TEST_POSTGRES_URL")
    monkeypatch.setenv("AUTODL_TEST_POSTGRES_URL", "postgresql://h/db")
    assert server_url("AUTODL_TEST_POSTGRES_URL") == "postgresql://h/db"
    assert os.environ["CI"] == "false"


def test_no_trial_starts_after_the_deadline(tmp_path: Path, study_name: str) -> None:
    from autodl.study._workers import run_trials

    study = _create(str(tmp_path / "study.journal"), study_name)
    late = run_trials(study, lambda trial: 1.0, total=5, deadline=time.time() - 1, timeout=60)
    assert late.timed_out and late.trials_run == 0 and not study.trials

    def slow(trial: optuna.Trial) -> float:
        time.sleep(0.3)
        return 1.0

    outcome = run_trials(study, slow, total=50, timeout=0.5)
    assert outcome.timed_out and 1 <= outcome.trials_run <= 3
