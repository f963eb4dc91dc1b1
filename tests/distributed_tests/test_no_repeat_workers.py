"""Several worker processes on one study never run the same configuration twice."""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import TrialState

from autodl.study import make_storage

from .conftest import output_of, start_loop_workers, wait_all


def test_three_workers_with_the_same_seed_never_sample_a_configuration_twice(
    tmp_path: Path, study_name: str
) -> None:
    url = str(tmp_path / "study.journal")
    optuna.create_study(study_name=study_name, storage=make_storage(url))
    # Same seed in every worker: without the check under the claim lock, all three draw alike.
    procs = start_loop_workers(url, study_name, n=3, total=10, seconds=0.1, mode="space")
    assert wait_all(procs, timeout=120) == [0, 0, 0], output_of(procs)
    trials = optuna.load_study(study_name=study_name, storage=make_storage(url)).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 10
    configs = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(configs)) == 10, f"a configuration ran twice: {configs}"
    assert len({t.user_attrs["worker"] for t in trials}) >= 2  # they did run side by side


def test_search_jobs_3_with_tpe_runs_no_configuration_twice(tmp_path: Path) -> None:
    from .test_search_jobs import FINISHED, GRID_SPACE, _check_total, _cli, _finish

    (tmp_path / "grid.py").write_text(GRID_SPACE)
    out = tmp_path / "out"
    proc = _cli(
        "search", "--space", "grid.py", "--pruner", "none", "--trials", "10", "--jobs", "3",
        "--seed", "0", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    code, output = _finish(proc)
    assert code == 0, output[-3000:]
    trials = optuna.load_study(
        study_name="grid-iris", storage=make_storage(str(out / "study.journal"))
    ).get_trials(deepcopy=False)
    _check_total(trials, 10)
    configs = [tuple(sorted(t.params.items())) for t in trials if t.state in FINISHED]
    assert len(set(configs)) == 10, f"a configuration ran twice: {configs}"
