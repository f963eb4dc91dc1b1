"""A search or worker process that trials have grown restarts itself and the search goes on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage

from autodl.study._memory import RESTART_ENV, MemoryWatch, RestartState, rss_mb

ARGS = ("--pruner", "none", "--seed", "0", "--max-memory-growth", "0.001")  # restart after trial 2


def _trials(out: Path) -> list[optuna.trial.FrozenTrial]:
    storage = JournalStorage(JournalFileBackend(str(out / "study.journal")))
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    return study.get_trials(deepcopy=False)


def test_watch_takes_its_baseline_after_the_first_trial_and_trips_past_the_limit() -> None:
    readings = iter([700.0, 750.0, 790.0, 801.0])
    watch = MemoryWatch(100, measure=lambda: next(readings), trim=lambda: False)
    assert [watch.after_trial() for _ in range(4)] == [False, False, False, True]
    assert watch.grown_mb == 101.0
    assert "memory grew by 101 MB over 4 trials" in watch.reason()


def test_watch_counts_only_what_is_still_held_once_free_heap_pages_are_returned() -> None:
    # baseline; under the limit; over it, but only free pages (790 once trimmed); over it
    # and held (815 once trimmed)
    readings = iter([700.0, 750.0, 820.0, 790.0, 830.0, 815.0])
    trims: list[int] = []
    watch = MemoryWatch(100, measure=lambda: next(readings), trim=lambda: trims.append(watch.trials) or True)
    assert [watch.after_trial() for _ in range(4)] == [False, False, False, True]
    assert trims == [1, 3, 4]  # before the baseline, then only past the limit
    assert watch.grown_mb == 115.0


def test_trim_heap_returns_free_pages_and_never_raises() -> None:
    from autodl.study._memory import trim_heap

    blocks = [bytearray(4000) for _ in range(30000)]  # ~120 MB in small heap blocks
    kept = blocks[::64]  # a few stay: freeing the rest cannot shrink the heap from its top
    del blocks
    held = rss_mb()
    assert trim_heap() is True  # glibc, as on every Linux the tests run on
    assert rss_mb() < held - 50 and len(kept) == 469


def test_watch_with_no_limit_or_no_reading_never_trips() -> None:
    never_called = MemoryWatch(
        0, measure=lambda: pytest.fail("measured with no limit"), trim=lambda: pytest.fail("trimmed")
    )
    assert not any(never_called.after_trial() for _ in range(3))
    unknown = MemoryWatch(1, measure=lambda: None)  # not Linux: no /proc
    assert not any(unknown.after_trial() for _ in range(3))
    assert rss_mb() is not None and rss_mb() > 0  # the tests run on Linux


def test_restart_state_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RESTART_ENV, json.dumps({"started": 123.0, "failed_in_row": 2, "restarts": 1}))
    assert RestartState.current() == RestartState(started=123.0, failed_in_row=2, restarts=1)
    monkeypatch.setenv(RESTART_ENV, "{not json")
    assert time.time() - RestartState.current().started < 60  # a fresh state, not a crash


def test_search_command_restarts_itself_and_finishes_the_study(write_space, cli, tmp_path: Path) -> None:
    space, out = write_space(extra="units=integer(4, 16), layers=1,", epochs=1), tmp_path / "out"
    done = cli("search", "--space", str(space), "--trials", "4", "--out", str(out), *ARGS)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "restarting this process to free it" in done.stdout
    trials = _trials(out)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert len({t.user_attrs["worker"] for t in trials}) == 1  # the same process id throughout
    # The restarted process draws new points, not the ones its seed drew before.
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4
    assert json.loads((out / "summary.json").read_text())["trials"]["complete"] == 4
    assert (out / "best_model.keras").is_file()


def test_a_library_caller_hands_the_remaining_trials_to_a_worker_process(
    write_space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itertools
    import os

    import autodl
    from autodl.study import _memory

    # This test process has trained many models already: its RSS need not grow with two
    # more, so it is made to grow by 1 MB a reading.
    readings = itertools.count(1000.0)
    monkeypatch.setattr(_memory, "rss_mb", lambda: next(readings))
    space, out = write_space(extra="units=integer(4, 16), layers=1,", epochs=1), tmp_path / "out"
    result = autodl.search(str(space), trials=4, out=str(out), pruner="none", seed=0, max_memory_growth=0.5)
    trials = sorted(_trials(out), key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    pids = [t.user_attrs["worker"].split(":")[1] for t in trials]
    # This process (never replaced: it is the caller's) ran two; a worker process the rest.
    assert pids[:2] == [str(os.getpid())] * 2 and str(os.getpid()) not in pids[2:]
    assert result.summary["trials"]["complete"] == 4 and (out / "best_model.keras").is_file()


@pytest.mark.slow
def test_local_workers_restart_themselves_and_reach_the_total(write_space, cli, tmp_path: Path) -> None:
    space, out = write_space(extra="units=integer(4, 16), layers=1,", epochs=1), tmp_path / "out"
    done = cli("search", "--space", str(space), "--trials", "8", "--jobs", "2", "--out", str(out), *ARGS)
    assert done.returncode == 0, done.stderr[-2000:]
    trials = _trials(out)
    assert sum(t.state.name == "COMPLETE" for t in trials) == 8
    assert not [t for t in trials if t.state.name == "FAIL"]
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2  # each worker kept its process id across its restarts
    per_worker = max(sum(t.user_attrs["worker"] == w for t in trials) for w in workers)
    assert per_worker >= 3  # so at least one worker ran past the trial that trips the watch
