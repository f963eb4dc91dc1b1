"""One real tiny search: report.html appears in its output folder, best model included."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import CHART_STATE, open_report

SPACE = """
from autodl.space import SearchSpace, real

space = SearchSpace(
    family="mlp",
    default_data="builtin:iris",
    learning_rate=real(1e-3, 1e-2, log=True),
    batch_size=64,
    epochs=2,
    patience=2,
)
"""


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import autodl

    folder = tmp_path_factory.mktemp("search")
    space = folder / "tiny.py"
    space.write_text(SPACE)
    return autodl.search(
        str(space),
        data="builtin:iris",
        trials=3,
        seed=0,
        out=str(folder / "out"),
        test_size=0.2,
        ensemble=2,
        pruner="none",
    )


def test_search_writes_report_html(searched: Any) -> None:
    page_path = searched.out / "report.html"
    assert page_path.is_file()
    page = page_path.read_text(encoding="utf-8")
    study = searched.study
    assert f"autodl report: {study.study_name}" in page
    assert page.count("<tr><td>") >= 3  # the best model's layer table
    assert '<script type="application/json" data-figure="fig-best-model">' in page
    assert "confusion matrix (validation split)" in page
    for trial in study.trials:  # every trial is in the leaderboard
        assert re.search(
            rf'<td class="num" data-sort="{float(trial.number)!r}">{trial.number}</td>', page
        )
    assert "autodl search --space" in page and "--seed 0" in page  # how to reproduce it


@pytest.mark.browser
def test_search_report_renders_in_chromium(searched: Any, browser: Any) -> None:
    page, events = open_report(browser, searched.out / "report.html")
    try:
        assert events.errors == [] and events.console_errors == []
        assert events.requests == [(searched.out / "report.html").resolve().as_uri()]
        charts = {c["id"]: c for c in page.evaluate(CHART_STATE)}
        assert charts["fig-best-model"]["traces"] == 1 and charts["fig-best-model"]["points"] == 3
        assert all(c["plotted"] and c["traces"] > 0 for c in charts.values())
    finally:
        page.close()


def test_search_report_lists_outputs_in_the_cli_line(
    searched: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from autodl.cli.search import _print_outcome

    _print_outcome(searched)
    out = capsys.readouterr().out
    assert "report.html" in out and Path(searched.out / "report.html").resolve().as_uri() in out


def test_report_shows_the_test_score_and_the_ensemble_next_to_the_best_model(searched: Any) -> None:
    page = (searched.out / "report.html").read_text()
    test = searched.summary["test_metrics"]
    assert "test score (held-out split, used once)" in page
    assert f"accuracy {test['accuracy']:.6g}" in page
    ensemble = searched.summary["ensemble"]
    from autodl.export._ensemble import describe_ensemble

    assert describe_ensemble(ensemble) in html.unescape(page)
