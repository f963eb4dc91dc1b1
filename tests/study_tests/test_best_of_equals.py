"""Trials of equal value: the one with the lowest validation loss is the best, everywhere.

On a small validation set many trials reach the same accuracy (often 1.0); Optuna's
best trial is then the earliest of them, an arbitrary pick. autodl ranks, exports and
reports the surer model: the lowest validation loss at the epoch the trial reported.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from autodl.export import BestModelWriter
from autodl.results import best_trial, leaderboard, tie_loss


def _trial(value: float, val_loss: list[float] | None, best_epoch: int = 1) -> optuna.trial.FrozenTrial:
    attrs = {"best_epoch": best_epoch, "history": {"val_loss": val_loss}} if val_loss is not None else {}
    return optuna.trial.create_trial(params={}, distributions={}, value=value, user_attrs=attrs)


@pytest.fixture
def study() -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    study.add_trial(_trial(1.0, [0.5, 0.30, 0.2]))  # 0: val_loss 0.30 at its epoch 1
    study.add_trial(_trial(0.9, [0.01, 0.01]))  # 1: lowest loss, lower value
    study.add_trial(_trial(1.0, [0.9, 0.05], best_epoch=1))  # 2: the surer of the two 1.0s
    study.add_trial(_trial(1.0, None))  # 3: no loss recorded: after those with one
    return study


def test_tie_loss_is_the_loss_at_the_reported_epoch(study: optuna.Study) -> None:
    trials = study.get_trials()
    assert [tie_loss(t) for t in trials] == [0.30, 0.01, 0.05, math.inf]


def test_the_best_trial_is_the_surest_of_equals(study: optuna.Study) -> None:
    assert study.best_trial.number == 0  # Optuna: the earliest of equals
    assert best_trial(study).number == 2


def test_the_leaderboard_ranks_equals_by_validation_loss(study: optuna.Study) -> None:
    assert list(leaderboard(study)["number"]) == [2, 0, 3, 1]


def test_equals_rank_by_validation_cross_entropy_not_by_their_own_loss() -> None:
    """A focal-loss trial's val_loss is small by design (and another trial's carries its L2
    penalty): classification trials compare on the cross-entropy of their predictions."""
    study = optuna.create_study(direction="maximize")
    for val_loss, crossentropy in ((0.006, 0.08), (0.012, 0.03)):  # focal, then plain
        attrs = {"best_epoch": 0, "history": {"val_loss": [val_loss]}, "val_crossentropy": crossentropy}
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0, user_attrs=attrs))
    assert [tie_loss(t) for t in study.trials] == [0.08, 0.03]
    assert best_trial(study).number == 1
    assert list(leaderboard(study)["number"]) == [1, 0]


def test_no_complete_trial_has_no_best() -> None:
    assert best_trial(optuna.create_study()) is None


class _Model:
    def __init__(self, name: str) -> None:
        self.name = name

    def save(self, path: str) -> None:
        Path(path).write_text(self.name)


def test_the_model_on_disk_follows_the_same_order(tmp_path: Path) -> None:
    writer = BestModelWriter(tmp_path, "maximize", "s")

    def offer(name: str, value: float, trial: int, loss: float | None) -> bool:
        record = {"trial": trial, "study_name": "s", "val_loss": loss}
        return writer.offer(value, _Model(name), record)

    assert offer("a", 1.0, 0, 0.30)
    assert not offer("b", 1.0, 1, 0.40)  # equal value, less sure
    assert offer("c", 1.0, 2, 0.05)  # equal value, surer
    assert not offer("d", 0.9, 3, 0.01)  # lower value, however sure
    assert not offer("e", 1.0, 4, None)  # no loss: after any trial with one
    assert (tmp_path / "best_model.keras").read_text() == "c"
    assert json.loads((tmp_path / "best_config.json").read_text())["trial"] == 2


def test_the_kept_top_k_follow_the_same_order(tmp_path: Path) -> None:
    """With more equal values than K, the K surest models are kept, not the K first: the
    best trial is always among them and leads the ensemble."""
    from autodl.export import TopKModels

    top = TopKModels(tmp_path, 2, "maximize")
    assert top.offer(0, 1.0, _Model("a"), loss=0.30)
    assert top.offer(1, 1.0, _Model("b"), loss=0.40)
    assert top.offer(2, 1.0, _Model("c"), loss=0.05)  # pushes out b, the less sure
    assert not top.offer(3, 1.0, _Model("d"), loss=0.50)
    assert not top.offer(4, 1.0, _Model("e"), loss=None)  # no loss: after any with one
    assert top.offer(5, 1.1, _Model("f"), loss=9.0)  # a higher value, however unsure
    assert [m.trial for m in top.members()] == [5, 2]
    assert sorted(p.name for p in (tmp_path / "models").glob("*.keras")) == ["trial_2.keras", "trial_5.keras"]


def test_an_index_from_before_the_loss_still_reads(tmp_path: Path) -> None:
    from autodl.export import TopKModels

    top = TopKModels(tmp_path, 2, "maximize")
    (tmp_path / "models").mkdir()
    for n in (0, 1):
        top.path(n).write_text(str(n))
    (tmp_path / "models" / "index.json").write_text('{"0": 0.9, "1": 1.0}')
    assert [(m.trial, m.value) for m in top.members()] == [(1, 1.0), (0, 0.9)]
    assert top.offer(2, 1.0, _Model("c"), loss=0.2)  # a loss ranks before none
    assert [m.trial for m in top.members()] == [2, 1]
