"""Heartbeats and retries on database storages, and joining a study by name."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from autodl.exceptions import ConfigError, StorageError
from autodl.study import SearchSettings, make_storage, prepare_search
from autodl.study._storage import RetryStaleTrial, database_url, heartbeat_seconds
from autodl.study._workers import join_study, worker_seed

TINY = """
from autodl.space import SearchSpace, choice

space = SearchSpace(family="mlp", default_data="builtin:iris", layers=1, units=choice(4, 8),
                    batch_size=64, epochs=1)
"""


def test_heartbeat_seconds_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTODL_HEARTBEAT_SECONDS", raising=False)
    assert heartbeat_seconds() == 60
    monkeypatch.setenv("AUTODL_HEARTBEAT_SECONDS", "3")
    assert heartbeat_seconds() == 3
    monkeypatch.setenv("AUTODL_HEARTBEAT_SECONDS", "soon")
    with pytest.raises(StorageError, match="AUTODL_HEARTBEAT_SECONDS='soon'"):
        heartbeat_seconds()


def test_bare_database_urls_get_an_installed_driver() -> None:
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert database_url("mysql://root@h/t").startswith("mysql+")
    assert database_url("mysql+pymysql://root@h/t") == "mysql+pymysql://root@h/t"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_stale_trial_is_retried_at_most_twice_with_retry_of() -> None:
    study = optuna.create_study()
    retry = RetryStaleTrial()
    trial = study.ask()
    trial.suggest_int("units", 1, 100)
    trial.set_user_attr("epochs", 3)
    study.tell(trial, state=TrialState.FAIL)
    for attempt in (1, 2):
        retry(study, study.trials[-1])
        (queued,) = study.get_trials(states=(TrialState.WAITING,))
        assert queued.number == attempt
        assert queued.user_attrs == {"retry_of": attempt - 1}  # nothing of the dead run
        assert queued.params == study.trials[0].params
        # It runs and its worker dies again: the next retry repeats it.
        study.tell(study.ask(), state=TrialState.FAIL)
    retry(study, study.trials[-1])
    assert len(study.trials) == 3  # the original and two retries, then no more
    assert study.trials[2].system_attrs["retry_history"] == [0, 1]
    assert study.trials[2].system_attrs["failed_trial"] == 0


def test_postgresql_storage_has_heartbeats_and_retries(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTODL_HEARTBEAT_SECONDS", "7")
    storage = make_storage(postgres_url)
    assert storage.get_heartbeat_interval() == 7
    assert storage.grace_period == 14
    assert isinstance(storage.get_heartbeat_stale_trial_callback(), RetryStaleTrial)


def test_missing_driver_and_unknown_study_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such study in .*did you mean 'tiny-iris'"):
        journal = str(tmp_path / "s.journal")
        optuna.create_study(study_name="tiny-iris", storage=make_storage(journal))
        join_study(journal, "tiny-irs")
    optuna.create_study(study_name="bare", storage=make_storage(journal))
    with pytest.raises(ConfigError, match="the study records no autodl settings"):
        join_study(journal, "bare")


def test_a_worker_joins_from_the_recorded_settings_and_space_source(tmp_path: Path) -> None:
    space = tmp_path / "tiny.py"
    space.write_text(TINY)
    journal = str(tmp_path / "study.journal")
    prepare_search(SearchSettings(space=str(space), storage=journal, study_name="s", trials=7, seed=3,
                                  sampler="random", out=str(tmp_path / "a")))
    joined = join_study(journal, "s", out=str(tmp_path / "b"))
    assert joined.loaded_space.path == space.resolve()  # the same file exists here
    assert (joined.settings.trials, joined.settings.seed, joined.settings.sampler) == (7, 3, "random")
    assert joined.settings.storage == journal and joined.settings.jobs == 1
    space.write_text(TINY.replace("choice(4, 8)", "choice(4, 8, 16)"))  # edited since: not used
    edited = join_study(journal, "s", out=str(tmp_path / "c"))
    assert edited.loaded_space.path == tmp_path / "c" / "space" / "tiny.py"
    assert edited.loaded_space.path.read_text() == TINY
    space.unlink()
    gone = join_study(journal, "s", out=str(tmp_path / "d"), data="builtin:iris", timeout=5)
    assert gone.loaded_space.path.read_text() == TINY
    assert gone.settings.data == "builtin:iris" and gone.settings.timeout == 5


def test_workers_sample_with_different_seeds_but_reproducibly() -> None:
    seeds = {worker_seed(1, i) for i in range(4)}
    assert len(seeds) == 4 and worker_seed(1, 2) == worker_seed(1, 2)
    assert worker_seed(None, 0) is None


def test_sqlite_is_refused_for_several_workers(tmp_path: Path, cli) -> None:
    (tmp_path / "tiny.py").write_text(TINY)
    done = cli("search", "--space", "tiny.py", "--jobs", "2", "--storage", f"sqlite:///{tmp_path}/s.db",
               "--out", str(tmp_path / "o"), cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("autodl search: error: --storage sqlite:///")
    assert "SQLite locks under concurrent writers" in last and "Traceback" not in done.stderr
