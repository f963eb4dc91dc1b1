"""report.html in headless Chromium: offline, every chart drawn, sortable, no injected script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autodl.report.html import write_report

from .conftest import CHART_STATE, XSS, fake_study, open_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def loaded(browser: Any, tmp_path_factory: pytest.TempPathFactory):
    """A fake study with complete, pruned, failed and running trials, and a hostile name and
    parameter value, rendered and opened once for the tests of this module."""
    out = tmp_path_factory.mktemp("report")
    study = fake_study(None, name=f"fake {XSS}", n_trials=40, extra_choice=XSS)
    path = write_report(study, out)
    page, events = open_report(browser, path)
    yield page, events, path, study
    page.close()


def test_page_loads_offline_without_errors(loaded: Any, tmp_path: Path) -> None:
    page, events, path, _ = loaded
    assert events.errors == []
    assert events.console_errors == []
    assert events.requests == [path.resolve().as_uri()]  # nothing but the file itself
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000


def test_every_chart_has_rendered_with_data(loaded: Any) -> None:
    page, _, _, _ = loaded
    charts = page.evaluate(CHART_STATE)
    ids = {c["id"] for c in charts}
    assert {
        "fig-history-number",
        "fig-history-time",
        "fig-curves",
        "fig-importance",
        "fig-parallel",
        "fig-slice",
    } <= ids
    for chart in charts:
        assert chart["plotted"], chart
        assert chart["traces"] > 0 and chart["points"] > 0, chart
        assert chart["svg"] > 0, chart


def test_learning_curves_mark_pruned_failed_and_running_trials(loaded: Any) -> None:
    page, _, _, _ = loaded
    traces = page.evaluate(
        """() => document.getElementById("fig-curves").data.map(t => ({
            name: t.name, dash: (t.line || {}).dash || "solid", color: (t.line || {}).color }))"""
    )
    by_name = {t["name"]: t for t in traces}
    assert by_name["complete"]["dash"] == "solid"
    assert by_name["pruned"]["dash"] == "dash"
    assert by_name["failed"]["color"].startswith("rgba(214,39,40")  # red
    assert by_name["running"]["dash"] == "dot"


# Runs before the page's scripts: the order in which charts start drawing, and where every
# chart sits once the page is parsed (DOMContentLoaded follows the page's own scripts).
DRAW_ORDER = """
window.__drawOrder = [];
new MutationObserver(() => {
  for (const div of document.querySelectorAll("div.chart.js-plotly-plot")) {
    if (!window.__drawOrder.includes(div.id)) { window.__drawOrder.push(div.id); }
  }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
document.addEventListener("DOMContentLoaded", () => { window.__parsedBoxes = __boxes(); });
window.__boxes = () => Object.fromEntries(Array.from(document.querySelectorAll("div.chart"),
  div => [div.id, [div.getBoundingClientRect().top + scrollY, div.offsetHeight]]));
"""


def test_charts_on_screen_draw_first_and_nothing_moves_as_they_draw(
    browser: Any, loaded: Any
) -> None:
    _, _, path, _ = loaded
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(DRAW_ORDER)
    page.goto(path.resolve().as_uri() + "#importance", wait_until="load")
    page.wait_for_selector("body[data-charts=rendered]", state="attached", timeout=90_000)
    order = page.evaluate("window.__drawOrder")
    on_screen = page.eval_on_selector_all(
        "div.chart",
        """divs => divs.filter(d => {
          const box = d.getBoundingClientRect(); return box.bottom > 0 && box.top < innerHeight;
        }).map(d => d.id)""",
    )
    boxes = page.evaluate("[window.__parsedBoxes, window.__boxes()]")
    page.close()
    assert "fig-importance" in on_screen and "fig-history-number" not in on_screen
    assert sorted(order) == sorted(boxes[1])  # every chart drew, once
    assert set(order[: len(on_screen)]) == set(on_screen)
    assert boxes[0] == boxes[1]  # the page kept each chart's place and height


def _column(page: Any, index: int) -> list[str]:
    return page.evaluate(
        f"""() => Array.from(document.querySelectorAll("#leaderboard tbody tr"))
              .map(row => row.cells[{index}].getAttribute("data-sort") ?? row.cells[{index}].textContent)"""
    )


def test_clicking_a_header_sorts_the_leaderboard(loaded: Any) -> None:
    page, _, _, study = loaded
    headers = page.eval_on_selector_all(
        "#leaderboard thead th", "ths => ths.map(th => th.textContent)"
    )
    number, value = headers.index("number"), headers.index("value")
    before = [int(float(n)) for n in _column(page, number)]
    assert len(before) == len(study.trials)
    best = max(t.value for t in study.trials if t.state.name == "COMPLETE")
    assert float(_column(page, value)[0]) == pytest.approx(best)  # best first

    page.click(f"#leaderboard thead th:nth-child({number + 1})")
    ascending = [int(float(n)) for n in _column(page, number)]
    assert ascending == sorted(before) and ascending != before

    page.click(f"#leaderboard thead th:nth-child({value + 1})")
    values = [float(v) for v in _column(page, value) if v != ""]
    assert values == sorted(values)
    page.click(f"#leaderboard thead th:nth-child({value + 1})")
    values = [float(v) for v in _column(page, value) if v != ""]
    assert values == sorted(values, reverse=True)
    assert _column(page, value)[-1] == ""  # trials without a value stay last either way


def test_filter_box_hides_rows_that_do_not_match(loaded: Any) -> None:
    page, _, _, study = loaded
    page.fill("#lb-filter", "pruned")
    shown = page.eval_on_selector_all("#leaderboard tbody tr:not([hidden])", "rows => rows.length")
    assert shown == sum(t.state.name == "PRUNED" for t in study.trials)
    page.fill("#lb-filter", "")
    assert page.eval_on_selector_all(
        "#leaderboard tbody tr:not([hidden])", "rows => rows.length"
    ) == len(study.trials)


def test_hostile_name_and_value_are_shown_as_text_and_never_run(loaded: Any) -> None:
    page, events, path, _ = loaded
    source = path.read_text(encoding="utf-8")
    assert XSS not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert events.dialogs == []
    assert page.evaluate("() => typeof window.alert") == "function"
    assert XSS in page.inner_text("h1")  # shown literally, as text
    assert XSS in page.inner_text("#leaderboard")
    # injected markup would have created <script> elements in the DOM; only ours exist
    scripts = page.evaluate(
        "() => Array.from(document.scripts).filter(s => s.textContent.includes('alert(1)')).length"
    )
    assert scripts == 0 or all(
        kind == "application/json"
        for kind in page.evaluate(
            "() => Array.from(document.scripts).filter(s => s.textContent.includes('alert(1)')).map(s => s.type)"
        )
    )
