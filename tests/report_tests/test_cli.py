"""`autodl leaderboard`, `autodl studies` and `autodl report` on a storage, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from autodl.study import make_storage

from .conftest import fake_study


def test_leaderboard_formats_rank_every_trial(cli: Any, journal_study: Any) -> None:
    study, journal = journal_study(name="ranked", n_trials=12)
    as_json = cli(
        "leaderboard", "--storage", str(journal), "--study-name", "ranked", "--format", "json"
    )
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert len(rows) == len(study.trials)
    best = max(t.value for t in study.trials if t.state.name == "COMPLETE")
    assert rows[0]["state"] == "COMPLETE" and rows[0]["value"] == best
    assert {"param_learning_rate", "param_optimizer", "epochs", "seconds", "n_params"} <= set(
        rows[0]
    )

    as_csv = cli(
        "leaderboard",
        "--storage",
        str(journal),
        "--study-name",
        "ranked",
        "--format",
        "csv",
        "--top",
        "3",
    )
    assert as_csv.returncode == 0, as_csv.stderr
    top = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [int(r["number"]) for r in top] == [r["number"] for r in rows[:3]]

    table = cli("leaderboard", "--out", str(journal.parent), "--top", "2")  # the only study
    assert table.returncode == 0, table.stderr
    assert "top 2 of 13 trials of ranked" in table.stdout
    assert f"learning_rate={rows[0]['param_learning_rate']:.4g}" in table.stdout


def test_unknown_study_name_exits_2_naming_the_studies(cli: Any, journal_study: Any) -> None:
    _, journal = journal_study(name="cnn-digits", n_trials=3)
    fake_study(make_storage(str(journal)), name="mlp-iris", n_trials=3)
    for command in ("leaderboard", "report"):
        result = cli(command, "--storage", str(journal), "--study-name", "cnn-digit")
        assert result.returncode == 2
        assert "cnn-digits, mlp-iris" in result.stderr
        assert "did you mean 'cnn-digits'?" in result.stderr
        assert "Traceback" not in result.stderr
    several = cli("leaderboard", "--storage", str(journal))
    assert several.returncode == 2 and "--study-name is needed" in several.stderr
    missing = cli("studies", "--storage", str(journal.parent / "nope.journal"))
    assert missing.returncode == 2 and "no such journal file" in missing.stderr
    assert not (journal.parent / "nope.journal").exists()  # reading never creates a storage


def test_studies_lists_counts_by_state_and_best_value(cli: Any, journal_study: Any) -> None:
    first, journal = journal_study(name="a-study", n_trials=10)
    second = fake_study(
        make_storage(str(journal)), name="b-study", n_trials=5, fail_every=0, running=0
    )
    result = cli("studies", "--storage", str(journal), "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {r["study_name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"a-study", "b-study"}
    for study in (first, second):
        row = rows[study.study_name]
        states = [t.state.name for t in study.trials]
        assert (row["complete"], row["pruned"], row["failed"], row["running"]) == (
            states.count("COMPLETE"),
            states.count("PRUNED"),
            states.count("FAIL"),
            states.count("RUNNING"),
        )
        assert row["best_value"] == study.best_value and row["metric"] == "val_accuracy"
    table = cli("studies", "--out", str(journal.parent))
    assert table.returncode == 0 and "a-study" in table.stdout and "b-study" in table.stdout


def test_report_command_writes_the_page_next_to_the_journal(
    cli: Any, journal_study: Any, tmp_path: Path
) -> None:
    _, journal = journal_study(name="reported", n_trials=8)
    result = cli("report", "--storage", str(journal))
    assert result.returncode == 0, result.stderr
    page = journal.parent / "report.html"
    assert f"wrote {page}" in result.stdout
    assert "autodl report: reported" in page.read_text(encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    result = cli(
        "report", "--storage", str(journal), "--study-name", "reported", "--out", str(elsewhere)
    )
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "report.html").is_file()
