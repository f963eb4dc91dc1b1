"""The end of a `--jobs` search handed to the worker that ends last (`ExportHandover`).

The success path runs end to end in test_search_jobs.py; these tests pin the rules that
keep the export to one worker, after every trial, and let the parent take over otherwise.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from autodl.study import _workers as workers
from autodl.study._workers import EXPORT_ENV, ExportHandover, WorkerOutcome, export_if_last


def _study(n_complete: int, *, running: int = 0) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for i in range(n_complete):
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=float(i)))
    for _ in range(running):
        study.ask()
    return study


@pytest.fixture
def handover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExportHandover:
    handover = ExportHandover(tmp_path / "claim", time.time(), "autodl search --space x.py --jobs 2")
    monkeypatch.setenv(EXPORT_ENV, handover.to_env())
    return handover


def test_the_handover_travels_through_the_environment(handover: ExportHandover) -> None:
    assert ExportHandover.from_env() == handover


def test_only_one_worker_takes_the_claim(handover: ExportHandover) -> None:
    assert handover.take()
    assert not handover.take()


@pytest.mark.parametrize(
    "outcome",
    [
        WorkerOutcome(interrupted=True),
        WorkerOutcome(aborted="NaN loss"),
        WorkerOutcome(restart=workers.RestartState(started=0.0)),
    ],
    ids=["interrupted", "aborted", "restarting"],
)
def test_a_worker_that_did_not_end_normally_leaves_the_export(handover: ExportHandover, outcome: WorkerOutcome) -> None:
    context = SimpleNamespace(study=_study(2))
    assert not export_if_last(context, outcome)
    assert not handover.claim.exists()


def test_a_worker_leaves_the_export_while_another_trial_runs(handover: ExportHandover) -> None:
    context = SimpleNamespace(study=_study(2, running=1))
    assert not export_if_last(context, WorkerOutcome(reached_total=True))
    assert not handover.claim.exists()  # the worker running that trial exports when it ends


def test_a_worker_that_loses_the_claim_does_not_export(handover: ExportHandover) -> None:
    handover.take()
    context = SimpleNamespace(study=_study(2))
    assert not export_if_last(context, WorkerOutcome(reached_total=True))


def test_no_handover_without_the_parent_s_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXPORT_ENV, raising=False)
    assert not export_if_last(SimpleNamespace(study=_study(1)), WorkerOutcome(reached_total=True))


def test_a_failed_export_is_left_to_the_parent(handover: ExportHandover, tmp_path: Path, monkeypatch) -> None:
    import autodl.export

    def broken(context: object) -> dict:
        raise OSError("disk full")

    monkeypatch.setattr(autodl.export, "finalize_export", broken)
    study = _study(2)
    context = SimpleNamespace(study=study, out=tmp_path / "out", storage_url="memory", command="")
    assert not export_if_last(context, WorkerOutcome(reached_total=True))
    assert handover.covers(study) is None  # claimed, but never marked done: the parent exports


def test_the_parent_trusts_an_export_only_if_it_covers_every_trial(handover: ExportHandover, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"best_value": 1.0, "export": {"trial": 1}}))
    study = _study(2)
    handover.claim.write_text(json.dumps({"trials": 2, "out": str(out)}))
    assert handover.covers(study) == {"best_value": 1.0, "export": {"trial": 1}}
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=5.0))  # ran after the export
    assert handover.covers(study) is None
