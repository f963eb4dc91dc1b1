"""report.html from fake studies: sections, numbers, escaping, best-model plots, refreshing."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from autodl.report.html import (
    ReportRefresher,
    pruning_savings,
    render_report,
    search_command,
    write_report,
)

from .conftest import XSS, fake_study

FIGURE = re.compile(r'<script type="application/json" data-figure="([^"]+)">(.*?)</script>', re.S)


def figures(page: str) -> dict[str, Any]:
    return {fig_id: json.loads(text) for fig_id, text in FIGURE.findall(page)}


def visible_text(page: str) -> str:
    """The page's text with tags removed and entities decoded (roughly what a reader sees)."""
    body = page.split('<script type="application/json"', 1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


class FakeModel:
    """Just enough of a keras.Model for the best-model section, without loading Keras."""

    def __init__(self, predict: Any) -> None:
        self._predict = predict
        self.layers: list[Any] = []
        self.trainable_weights: list[Any] = []

    def predict(self, x: Any, verbose: int = 0, batch_size: int | None = None) -> Any:
        return self._predict(x)

    def count_params(self) -> int:
        return 1234


def test_summary_counts_savings_and_failures(tmp_path: Path) -> None:
    study = fake_study(None, n_trials=30, epochs=8, running=1)
    path = write_report(study, tmp_path)
    assert path == tmp_path / "report.html"
    text = visible_text(path.read_text(encoding="utf-8"))
    states = [t.state.name for t in study.trials]
    complete, pruned, failed = (
        states.count("COMPLETE"),
        states.count("PRUNED"),
        states.count("FAIL"),
    )
    assert f"{complete} complete, {pruned} pruned, {failed} failed, 1 running" in text
    # pruned trials trained 2 of their 8 epochs; failed ones 2; complete ones all 8
    trained = complete * 8 + pruned * 2 + failed * 2
    saved = pruned * 6
    assert f"{saved} of {trained + saved} epochs" in text
    best = max((t for t in study.trials if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert f"{best.value:.6g} (trial {best.number})" in text
    for section in (
        "Leaderboard",
        "Optimisation history",
        "Learning curves",
        "Hyperparameter importance",
        "Best model",
        "Failures",
    ):
        assert section in text
    nan_trials = [t.number for t in study.trials if "nan" in t.user_attrs.get("fail_reason", "")]
    assert (
        f"loss became nan at epoch 2 {len(nan_trials)} {', '.join(map(str, nan_trials))}" in text
    )


def test_leaderboard_lists_every_trial_best_first_with_full_parameter_names(
    tmp_path: Path,
) -> None:
    study = fake_study(None, n_trials=25)
    page = render_report(study)
    table = page.split('<table id="leaderboard">', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers[:3] == ["number", "state", "value"]
    assert {
        "learning_rate",
        "units",
        "optimizer",
        "dropout",
        "momentum",
        "epochs",
        "seconds",
        "n_params",
    } <= set(headers)
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    assert len(rows) == len(study.trials)
    first = re.findall(r'data-sort="([^"]*)"', rows[0])
    best = max(t.value for t in study.trials if t.state.name == "COMPLETE")
    assert first[1] == "0 complete" and float(first[2]) == pytest.approx(best)


def test_every_user_string_is_escaped_in_html_and_in_script_data() -> None:
    study = fake_study(None, name=f"study {XSS}", n_trials=12, extra_choice=XSS)
    page = render_report(study)
    assert XSS not in page
    assert "</script" not in "".join(text for _, text in FIGURE.findall(page))
    for _, text in FIGURE.findall(page):
        assert "<" not in text and ">" not in text
    # the value itself survives: plotly draws the decoded label, the table shows the text
    slices = figures(page)["fig-slice"]
    labels = [x for trace in slices["data"] for x in trace.get("x", []) if isinstance(x, str)]
    assert html.escape(XSS, quote=False) in labels
    assert XSS in visible_text(page)


def test_too_few_trials_give_notes_not_errors() -> None:
    study = fake_study(None, n_trials=1, fail_every=0, prune_every=0, running=0)
    page = render_report(study)
    assert "needs at least 2 complete trials" in visible_text(page)
    assert "fig-importance" not in figures(page)
    empty = optuna.create_study(direction="minimize")
    text = visible_text(render_report(empty))
    assert "no complete trial yet" in text.lower()
    assert "No trial has reported a per-epoch value yet." in text


def test_conditional_parameters_get_their_own_importance() -> None:
    study = fake_study(None, n_trials=40)
    importance = figures(render_report(study))["fig-importance"]
    names = [name for trace in importance["data"] for name in trace["y"]]
    sgd_trials = sum(
        1 for t in study.trials if t.state.name == "COMPLETE" and "momentum" in t.params
    )
    assert f"momentum (in {sgd_trials} trials)" in names
    assert {"learning_rate", "dropout", "units", "optimizer"} <= set(names)


def test_confusion_matrix_of_the_best_model_on_the_validation_split(tmp_path: Path) -> None:
    from autodl.data import load_data

    data = load_data("builtin:iris", seed=0)
    study = fake_study(None, n_trials=6)
    perfect = FakeModel(lambda x: np.eye(3)[np.asarray(data.y_val)])
    page = render_report(study, out_dir=tmp_path, dataset=data, model=perfect)
    matrix = np.array(figures(page)["fig-best-model"]["data"][0]["z"])
    assert matrix.sum() == len(data.y_val)
    assert np.array_equal(np.diag(matrix), np.bincount(data.y_val, minlength=3))
    assert "accuracy 1.0000" in visible_text(page)


def test_predicted_vs_true_for_regression(tmp_path: Path) -> None:
    from autodl.data import load_data

    data = load_data("builtin:diabetes", seed=0)
    study = fake_study(None, n_trials=6)
    double = FakeModel(lambda x: (np.asarray(data.y_val) * 2.0).reshape(-1, 1))
    page = render_report(study, out_dir=tmp_path, dataset=data, model=double)
    scatter = figures(page)["fig-best-model"]["data"][0]
    assert np.allclose(np.array(scatter["y"]), 2.0 * np.array(scatter["x"]))
    mae = float(np.mean(np.abs(data.y_val)))
    assert f"MAE {mae:.4g}" in visible_text(page)


def test_best_model_section_reloads_the_data_from_the_study(tmp_path: Path) -> None:
    study = fake_study(None, n_trials=6)  # records data=builtin:iris, seed 0, val_size 0.2
    page = render_report(
        study, out_dir=tmp_path, model=FakeModel(lambda x: np.tile([1.0, 0, 0], (len(x), 1)))
    )
    assert "fig-best-model" in figures(page)
    study.set_user_attr("data", "/no/such/file.csv")
    text = visible_text(render_report(study, out_dir=tmp_path, model=FakeModel(lambda x: x)))
    assert "Could not reload the data (/no/such/file.csv)" in text


def test_pruning_savings_counts_only_pruned_trials() -> None:
    study = fake_study(None, n_trials=9, epochs=8, fail_every=0, prune_every=3, running=0)
    assert pruning_savings(study.trials) == {
        "trained": 6 * 8 + 3 * 2,
        "unpruned": 9 * 8,
        "saved": 3 * 6,
    }


def test_search_command_uses_the_recorded_non_default_settings() -> None:
    settings = {
        "space": "spaces/my net.py",
        "data": "builtin:iris",
        "trials": 20,
        "seed": 3,
        "val_size": 0.2,
        "pruner": "median",
        "refit": True,
        "jobs": None,
        "storage": "postgresql://u:pw@h/db",
    }
    command = search_command(settings, "my study")
    assert command == (
        "autodl search --space 'spaces/my net.py' --data builtin:iris --trials 20 --seed 3 "
        "--pruner median --refit --study-name 'my study'"
    )


def test_refresher_writes_after_the_first_trial_then_every_few(tmp_path: Path) -> None:
    study = fake_study(None, n_trials=6)
    refresher = ReportRefresher(tmp_path, every=3, interval=3600)
    report = tmp_path / "report.html"
    trial = study.trials[0]
    refresher(study, trial)
    assert report.is_file()
    report.unlink()
    refresher.render_seconds = 0.0  # as if rendering were free: only the trial count decides
    for _ in range(2):
        refresher(study, trial)
    assert not report.exists()
    refresher(study, trial)
    assert report.is_file()
    assert refresher.pending == 0 and refresher.render_seconds > 0


def test_refresher_spends_at_most_its_share_of_the_time_rendering(tmp_path: Path) -> None:
    study = fake_study(None, n_trials=6)
    refresher = ReportRefresher(tmp_path, every=1, interval=3600, share=0.02)
    report = tmp_path / "report.html"
    refresher(study, study.trials[0])
    report.unlink()
    refresher.render_seconds = 1.0  # rendering took 1 s: the next one waits 50 s
    refresher.last_write -= 49.0
    refresher(study, study.trials[0])
    assert not report.exists()
    refresher.last_write -= 1.5
    refresher(study, study.trials[0])
    assert report.is_file()


def test_refresher_logs_a_failing_render_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    refresher = ReportRefresher(blocker / "out", every=1, interval=0)
    refresher(fake_study(None, n_trials=3), None)
    assert "could not refresh" in caplog.text
