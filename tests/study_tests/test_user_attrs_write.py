"""A trial's result attributes, and the params it samples, go to a journal file in one append
readable as Optuna's own."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend

from autodl.study import make_storage
from autodl.study._storage import params_in_one_write, set_user_attrs

ATTRS = {"epochs": 3, "best_epoch": 1, "seconds": 0.25, "history": {"val_loss": [0.9, 0.5, 0.6]}}


def _count_appends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Logs per `append_logs` call, for every journal file backend."""
    calls: list[int] = []
    append = JournalFileBackend.append_logs

    def counting(self: JournalFileBackend, logs: list) -> None:
        calls.append(len(logs))
        append(self, logs)

    monkeypatch.setattr(JournalFileBackend, "append_logs", counting)
    return calls


def test_journal_gets_all_attrs_in_one_append_and_optuna_replays_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "study.journal"
    study = optuna.create_study(study_name="s", storage=make_storage(str(path)))
    trial = study.ask()
    calls = _count_appends(monkeypatch)
    set_user_attrs(trial, ATTRS)
    assert calls == [len(ATTRS)]  # one append, one log line per key
    assert trial.user_attrs == ATTRS
    study.tell(trial, 0.5)
    # Another process reading the file (a fresh storage) replays them as Optuna's own writes.
    (reread,) = optuna.load_study(study_name="s", storage=make_storage(str(path))).trials
    assert reread.user_attrs == ATTRS
    assert reread.value == 0.5


def test_journal_refuses_attrs_of_a_finished_trial_as_optuna_does(tmp_path: Path) -> None:
    study = optuna.create_study(storage=make_storage(str(tmp_path / "study.journal")))
    trial = study.ask()
    study.tell(trial, 0.5)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        trial.set_user_attr("epochs", 3)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        set_user_attrs(trial, ATTRS)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_other_storages_take_the_attrs_one_by_one(storage: str, tmp_path: Path) -> None:
    url = None if storage == "memory" else make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=url)
    trial = study.ask()
    set_user_attrs(trial, ATTRS)
    study.tell(trial, 0.5)
    assert study.trials[0].user_attrs == ATTRS


def _sample(trial: optuna.trial.Trial) -> dict:
    sampled = {
        "layers": trial.suggest_int("layers", 1, 4),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
        "optimizer": trial.suggest_categorical("optimizer", ["adam", "sgd"]),
    }
    assert trial.params == sampled  # read back as it samples, before the append
    assert trial.suggest_int("layers", 1, 4) == sampled["layers"]  # asked again: the same
    return sampled


def test_journal_gets_a_trials_params_in_one_append_and_optuna_replays_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "study.journal"
    study = optuna.create_study(study_name="s", storage=make_storage(str(path)), sampler=optuna.samplers.RandomSampler(0))
    one_by_one = study.ask()
    expected_distributions = (_sample(one_by_one), one_by_one.distributions)
    study.tell(one_by_one, 0.1)
    trial = study.ask()
    calls = _count_appends(monkeypatch)
    with params_in_one_write(trial):
        sampled = _sample(trial)
        assert calls == []
    assert calls == [3]  # one append, one log line per param
    study.tell(trial, 0.5)
    # Another process reading the file (a fresh storage) replays them as Optuna's own writes.
    first, reread = optuna.load_study(study_name="s", storage=make_storage(str(path))).trials
    assert reread.params == sampled and reread.distributions == expected_distributions[1]
    assert first.params == expected_distributions[0]


def test_a_param_that_clashes_with_the_studys_raises_as_optuna_does(tmp_path: Path) -> None:
    study = optuna.create_study(storage=make_storage(str(tmp_path / "study.journal")))
    study.optimize(lambda t: t.suggest_int("layers", 1, 4), n_trials=1)
    clash = "Cannot set different distribution kind to the same parameter name"
    with pytest.raises(ValueError, match=clash):
        study.ask().suggest_float("layers", 0.5, 2.0)  # Optuna's own write: the study's is an int
    trial = study.ask()
    with pytest.raises(ValueError, match=clash):
        with params_in_one_write(trial):
            trial.suggest_float("layers", 0.5, 2.0)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_other_storages_take_each_param_as_it_is_sampled(storage: str, tmp_path: Path) -> None:
    url = None if storage == "memory" else make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=url)
    trial = study.ask()
    with params_in_one_write(trial):
        sampled = _sample(trial)
        assert study.trials[0].params == sampled  # in the storage already
    study.tell(trial, 0.5)
    assert study.trials[0].params == sampled
