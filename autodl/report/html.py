"""report.html: one self-contained page that shows a study at a glance.

Everything is rebuilt from the Optuna study (plus, when there is one, the best model and
the validation data), so the same page comes out of a running search, a finished one, or
`autodl report` on any storage. The page works offline: plotly.js is embedded once and
the figures travel as JSON data blocks that a small script hands to `Plotly.newPlot`.

Escaping: the jinja2 template autoescapes every value; JSON inside <script> blocks has
`<`, `>` and `&` written as \\u003c, \\u003e, \\u0026; user strings that plotly draws (class
names, parameter values, the study name) are HTML-escaped first, because plotly reads
a small subset of HTML in labels.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from autodl._files import write_text

_logger = logging.getLogger(__name__)

REPORT_FILE = "report.html"
BEST_MODEL_FILE = "best_model.keras"
BEST_CONFIG_FILE = "best_config.json"
TOP_PARAMS = 6  # parameters shown in the parallel-coordinates plot
SLICE_PARAMS = 4  # and in the slice plots
MAX_EPOCHS_PER_CURVE = 200  # learning-curve points per trial; longer curves are thinned
MAX_CURVE_POINTS = 60_000  # all learning curves together
MAX_SCATTER_POINTS = 2_000  # predicted-vs-true points
MAX_CONDITIONAL_GROUPS = 5  # extra fANOVA fits for conditional parameters
STATE_COLORS = {
    "COMPLETE": "#1f77b4",
    "PRUNED": "#9e9e9e",
    "FAIL": "#d62728",
    "RUNNING": "#2ca02c",
}
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def write_report(
    study: Any,
    out_dir: str | os.PathLike[str],
    *,
    dataset: Any = None,
    command: str | None = None,
    model: Any = None,
    wall_seconds: float | None = None,
    storage: str | None = None,
    best_model: bool = True,
) -> Path:
    """Render `study` into OUT_DIR/report.html (atomically) and return its path.

    Args:
        dataset: the `autodl.data.Dataset` the search ran on; None reloads it from the
            study's recorded data source and settings (for the best model's section).
        command: the command line that ran the search; None rebuilds it from the
            study's recorded settings.
        model: the best model; None loads OUT_DIR/best_model.keras if it is there.
        wall_seconds: the search's wall time; None measures it from the trials' times.
        storage: where the study lives (credentials already masked), shown in the summary.
        best_model: False leaves out the layer summary and the validation plot, which
            need Keras (a process that only watches workers need not load it).
    """
    out = Path(out_dir)
    page = render_report(
        study,
        out_dir=out,
        dataset=dataset,
        command=command,
        model=model,
        wall_seconds=wall_seconds,
        storage=storage,
        best_model=best_model,
    )
    path = out / REPORT_FILE
    write_text(path, page)
    return path


def render_report(
    study: Any,
    *,
    out_dir: Path | None = None,
    dataset: Any = None,
    command: str | None = None,
    model: Any = None,
    wall_seconds: float | None = None,
    storage: str | None = None,
    best_model: bool = True,
) -> str:
    """The report page as a string; see `write_report`."""
    import jinja2
    import plotly.offline
    from markupsafe import Markup

    started = time.perf_counter()
    trials = study.get_trials(deepcopy=False)
    facts = _StudyFacts.of(study, trials)
    figures: list[dict[str, Any]] = []

    def add(fig_id: str, fig: Any, height: int | None = None) -> str:
        if height:
            fig.update_layout(height=height)
        figures.append({"id": fig_id, "json": _script_json(fig.to_json())})
        return fig_id

    history = (
        {
            "by_number": add("fig-history-number", _history_figure(facts, by_time=False)),
            "by_time": add("fig-history-time", _history_figure(facts, by_time=True)),
        }
        if facts.valued
        else None
    )
    curves = add("fig-curves", _curves_figure(facts)) if facts.has_curves else None
    importance = _importance(study, facts)
    if importance.figure is not None:
        add("fig-importance", importance.figure)
    parallel, slices = _parallel_and_slices(study, facts, importance.ranking)
    if parallel is not None:
        add("fig-parallel", parallel, height=420)
    if slices is not None:
        add("fig-slice", slices, height=360)
    if best_model:
        model_section = _best_model_section(study, facts, out_dir, dataset, model)
    else:
        model_section = _BestModel(
            trial=facts.best.number if facts.best else None,
            n_params=facts.best.user_attrs.get("n_params") if facts.best else None,
            notes=["The layer summary and the validation plot are added when the search ends."],
        )
    if model_section.figure is not None:
        add(
            "fig-best-model",
            model_section.figure,
            height=max(380, 30 * model_section.n_classes + 200),
        )
    generation = None
    if best_model and facts.attrs.get("task") == "generation":  # samples of the best model
        from autodl.report._generation import generation_section

        generation = generation_section(
            facts.best, out_dir, dataset, model, reload_data=lambda: _reload_dataset(facts)
        )
        for fig_id, fig in generation.figures:
            add(fig_id, fig)

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("autodl.report", "templates"),
        # on for every template: the .j2 suffix would defeat select_autoescape
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = env.get_template("report.html.j2").render(
        title=f"autodl report: {study.study_name}",
        study_name=study.study_name,
        generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        summary=_summary_rows(study, facts, wall_seconds, storage) + _export_rows(out_dir),
        best=_best_section(facts),
        reproduce=_reproduce(study, facts, command),
        leaderboard=_leaderboard_rows(study),
        history=history,
        curves=curves,
        metric=facts.metric,
        importance=importance,
        parallel="fig-parallel" if parallel is not None else None,
        slices="fig-slice" if slices is not None else None,
        best_model=model_section,
        generation=generation,
        failures=_failures(facts),
        figures=figures,
        plotly_js=Markup(_inert_script(plotly.offline.get_plotlyjs())),
    )
    _logger.debug(
        "rendered report of %s in %.2fs", study.study_name, time.perf_counter() - started
    )
    return page


# ---------------------------------------------------------------------------- facts
@dataclass
class _StudyFacts:
    """What several sections need, computed once per render."""

    trials: list[Any]
    maximize: bool
    metric: str
    best: Any
    attrs: dict[str, Any]

    @classmethod
    def of(cls, study: Any, trials: list[Any]) -> _StudyFacts:
        from autodl.results._summary import best_trial

        return cls(
            trials=trials,
            maximize=study.direction.name == "MAXIMIZE",
            metric=str(study.user_attrs.get("metric") or (study.metric_names or ["value"])[0]),
            best=best_trial(study),
            attrs=dict(study.user_attrs),
        )

    def by_state(self, *states: str) -> list[Any]:
        return [t for t in self.trials if t.state.name in states]

    @property
    def valued(self) -> list[Any]:
        """Complete and pruned trials with a finite value, in the order they finished."""
        done = [
            t
            for t in self.by_state("COMPLETE", "PRUNED")
            if t.values and t.value is not None and math.isfinite(t.value)
        ]
        return sorted(done, key=lambda t: t.number)

    @property
    def has_curves(self) -> bool:
        return any(t.intermediate_values for t in self.trials)

    @property
    def settings(self) -> dict[str, Any]:
        settings = self.attrs.get("settings")
        return settings if isinstance(settings, dict) else {}


def epochs_of(trial: Any) -> int:
    """Epochs a trial trained: its `epochs` attribute, else its count of reported epochs."""
    value = trial.user_attrs.get("epochs")
    try:
        return int(value) if value is not None else len(trial.intermediate_values)
    except (TypeError, ValueError):
        return len(trial.intermediate_values)


def pruning_savings(trials: Sequence[Any]) -> dict[str, int]:
    """Epochs trained vs epochs the same trials would have trained without pruning.

    A pruned trial would have run to its configuration's `epochs`; every other trial
    counts what it trained (early stopping on patience is not pruning).
    """
    trained = unpruned = 0
    for t in trials:
        if t.state.name not in ("COMPLETE", "PRUNED", "FAIL"):
            continue
        epochs = epochs_of(t)
        trained += epochs
        full = epochs
        if t.state.name == "PRUNED":
            config = t.user_attrs.get("config")
            try:
                full = max(epochs, int(config["epochs"]))
            except (TypeError, KeyError, ValueError):
                full = epochs
        unpruned += full
    return {"trained": trained, "unpruned": unpruned, "saved": unpruned - trained}


def _wall_seconds(trials: Sequence[Any]) -> float | None:
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    if not starts or not ends:
        return None
    return max(0.0, (max(ends) - min(starts)).total_seconds())


# -------------------------------------------------------------------------- summary
def _export_rows(out_dir: Path | None) -> list[tuple[str, str]]:
    """The one test score and the ensemble's validation score, once the export has run."""
    import json

    try:
        summary = json.loads((Path(out_dir) / "summary.json").read_text()) if out_dir else {}
    except (OSError, ValueError):
        return []
    rows = []
    test = summary.get("test_metrics")
    if isinstance(test, dict) and test:
        scores = ", ".join(f"{k} {_number(v)}" for k, v in test.items() if not isinstance(v, (dict, list)))
        rows.append(("test score (held-out split, used once)", scores))
    ensemble = summary.get("ensemble")
    if isinstance(ensemble, dict) and ensemble.get("value") is not None:
        from autodl.export._ensemble import describe_ensemble

        rows.append(("ensemble", describe_ensemble(ensemble)))
    return rows


def _summary_rows(
    study: Any, facts: _StudyFacts, wall_seconds: float | None, storage: str | None
) -> list[tuple[str, str]]:
    from autodl.results import library_versions, state_counts

    attrs = facts.attrs
    settings = facts.settings
    counts = state_counts(study)
    rows: list[tuple[str, str]] = [("study", study.study_name)]
    if storage:
        rows.append(("storage", storage))
    rows.append(("task", str(attrs.get("task") or "unknown")))
    data = attrs.get("data_description") or attrs.get("data")
    if data:
        source = attrs.get("data")
        rows.append(
            ("data", f"{data} (from {source})" if source and source not in data else str(data))
        )
    direction = "higher is better" if facts.maximize else "lower is better"
    rows.append(("metric", f"{facts.metric} ({direction})"))
    if facts.best is not None:
        rows.append(("best value", f"{_number(facts.best.value)} (trial {facts.best.number})"))
    else:
        rows.append(("best value", "no complete trial yet"))
    parts = [
        f"{counts['complete']} complete",
        f"{counts['pruned']} pruned",
        f"{counts['failed']} failed",
    ]
    parts += [f"{counts[k]} {k}" for k in ("running", "waiting") if counts.get(k)]
    rows.append(("trials", ", ".join(parts)))
    if wall_seconds is not None:
        rows.append(("wall time", _duration(wall_seconds)))
    else:
        span = _wall_seconds(facts.trials)
        if span is not None:
            rows.append(("wall time", f"{_duration(span)} (first trial start to last trial end)"))
    savings = pruning_savings(facts.trials)
    if savings["unpruned"]:
        share = 100.0 * savings["saved"] / savings["unpruned"]
        rows.append(
            (
                "pruning saved",
                f"{savings['saved']} of {savings['unpruned']} epochs ({share:.0f}%): "
                f"{savings['trained']} epochs trained; without pruning the pruned trials "
                f"would have run to their full epochs",
            )
        )
    for key in ("sampler", "pruner", "seed"):
        if settings.get(key) is not None:
            rows.append((key, str(settings[key])))
    if attrs.get("space"):
        rows.append(("space", str(attrs["space"])))
    versions = library_versions()
    for name in ("optuna-dashboard", "plotly"):
        try:
            from importlib import metadata

            versions[name] = metadata.version(name)
        except Exception:  # a missing optional package only leaves its version out
            continue
    rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return rows


def _best_section(facts: _StudyFacts) -> dict[str, Any] | None:
    best = facts.best
    if best is None:
        return None
    config = best.user_attrs.get("config")
    params = [(k, _plain(v)) for k, v in sorted(best.params.items())]
    return {
        "number": best.number,
        "value": _number(best.value),
        "params": params,
        "config": json.dumps(config, indent=2, sort_keys=True, default=str) if config else None,
        "epochs": epochs_of(best),
        "best_epoch": best.user_attrs.get("best_epoch"),
        "n_params": best.user_attrs.get("n_params"),
    }


def search_command(settings: dict[str, Any], study_name: str) -> str:
    """The `autodl search` command line that the recorded settings correspond to.

    Every recorded setting that differs from its default becomes its flag (`val_size`
    -> `--val-size`); the storage is never recorded (it may hold a password).
    """
    import dataclasses

    from autodl.study._settings import SearchSettings

    defaults = {f.name: f.default for f in dataclasses.fields(SearchSettings)}
    parts = ["autodl", "search", "--space", str(settings.get("space") or "SPACE")]
    for key, value in settings.items():
        if key in ("space", "storage", "study_name") or key not in defaults:
            continue
        if value is None or value is False or (value == defaults[key] and key != "trials"):
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, str(value)]
    parts += ["--study-name", study_name]
    return " ".join(shlex.quote(p) for p in parts)


def _reproduce(study: Any, facts: _StudyFacts, command: str | None) -> dict[str, Any]:
    settings = facts.settings
    study_command = command or (search_command(settings, study.study_name) if settings else "")
    best = facts.best
    snippet = None
    if best is not None and isinstance(best.user_attrs.get("config"), dict):
        items = sorted(best.user_attrs["config"].items())
        config = "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in items) + "}"
        seed = settings.get("seed")
        lines = [
            "python - <<'EOF'",
            "import keras",
            "from autodl.data import load_data",
            "from autodl.space import load_space",
            "from autodl.train import Objective, PreparedData, train_config",
            "",
            f"config = {config}",
            f"space = load_space({str(facts.attrs.get('space') or settings.get('space'))!r}).space",
            f"data = load_data({str(facts.attrs.get('data'))!r}, target={settings.get('target')!r}, "
            f"task={settings.get('task')!r}, val_size={settings.get('val_size', 0.2)!r},",
            f"                 test_size={settings.get('test_size')!r}, seed={int(seed or 0)!r})",
        ]
        if seed is not None:
            lines.append(
                f"keras.utils.set_random_seed({int(seed) + best.number})  # as trial {best.number} ran"
            )
        direction = "maximize" if facts.maximize else "minimize"
        lines += [
            f"objective = Objective({facts.metric!r}, {direction!r})",
            "trained = train_config(config, PreparedData.from_dataset(data), objective,",
            "                       custom_objects=getattr(space, 'custom_objects', None))",
            f"print(trained.value)  # trial {best.number} scored {_number(best.value)}",
            "EOF",
        ]
        snippet = "\n".join(lines)
    return {
        "command": study_command,
        "snippet": snippet,
        "seeded": settings.get("seed") is not None,
    }


# ---------------------------------------------------------------------- leaderboard
def _leaderboard_rows(study: Any) -> dict[str, Any]:
    from autodl.results import leaderboard
    from autodl.results._leaderboard import STATE_ORDER

    frame = leaderboard(study)
    columns = [c for c in frame.columns if c != "fail_reason"] + ["fail_reason"]
    # best_epoch is 0-based in the data; the page counts epochs from 1, as its charts do
    frame["best_epoch"] = frame["best_epoch"].map(lambda v: None if _missing(v) else int(v) + 1)
    names = {"best_epoch": "best at epoch", "fail_reason": "fail reason"}
    headers = [
        {
            "name": names.get(c, c.removeprefix("param_")),
            "numeric": c not in ("state", "fail_reason") and _numeric(frame[c]),
        }
        for c in columns
    ]
    rows = []
    for record in frame[columns].itertuples(index=False, name=None):
        cells = []
        for column, value in zip(columns, record, strict=True):
            shown = _cell(column, value)
            sort = (
                ""
                if _missing(value)
                else (repr(float(value)) if _is_number(value) else str(value))
            )
            if column == "state":  # sorts as the ranking does: complete, pruned, running, failed
                sort = f"{STATE_ORDER.get(str(value), 9)} {str(value).lower()}"
            cells.append((shown, sort))
        state = str(record[1]).lower()
        rows.append({"state": state, "cells": cells})
    return {"headers": headers, "rows": rows}


def _numeric(series: Any) -> bool:
    values = [v for v in series.tolist() if not _missing(v)]
    return bool(values) and all(_is_number(v) for v in values)


def _cell(column: str, value: Any) -> str:
    if _missing(value):
        return ""
    if column == "state":
        return str(value).lower()
    if column in ("number", "epochs", "best_epoch", "n_params") and _is_number(value):
        return f"{int(value):,}" if column == "n_params" else str(int(value))
    if column == "seconds" and _is_number(value):
        return f"{float(value):.1f}"
    return _plain(value)


# ------------------------------------------------------------------------- figures
def _layout(fig: Any, title: str, x_title: str, y_title: str) -> Any:
    fig.update_layout(
        title={"text": _label(title), "x": 0.01},
        xaxis_title=_label(x_title),
        yaxis_title=_label(y_title),
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        height=380,
    )
    return fig


def _history_figure(facts: _StudyFacts, *, by_time: bool) -> Any:
    import plotly.graph_objects as go

    done = facts.valued
    if by_time:
        done = sorted(done, key=lambda t: t.datetime_complete or datetime.min)

    def xs(trials: list[Any]) -> list[Any]:
        if by_time:
            return [
                t.datetime_complete.isoformat() if t.datetime_complete else None for t in trials
            ]
        return [t.number for t in trials]

    fig = go.Figure()
    for state, label in (("COMPLETE", "complete"), ("PRUNED", "pruned (last reported value)")):
        group = [t for t in done if t.state.name == state]
        if group:
            fig.add_trace(
                go.Scatter(
                    x=xs(group),
                    y=[t.value for t in group],
                    mode="markers",
                    name=label,
                    marker={"color": STATE_COLORS[state], "size": 7 if state == "COMPLETE" else 5},
                    customdata=[t.number for t in group],
                    hovertemplate="trial %{customdata}<br>%{y:.5g}<extra>"
                    + label.split()[0]
                    + "</extra>",
                )
            )
    best_x, best_y, best = [], [], None
    for t in done:
        if t.state.name != "COMPLETE":
            continue
        if best is None or (t.value > best if facts.maximize else t.value < best):
            best = t.value
        best_x.append(xs([t])[0])
        best_y.append(best)
    if best_x:
        fig.add_trace(
            go.Scatter(
                x=best_x,
                y=best_y,
                mode="lines",
                line={"shape": "hv", "color": "#ff7f0e", "width": 2},
                name="best so far",
                hovertemplate="best so far %{y:.5g}<extra></extra>",
            )
        )
    x_title = "time the trial finished" if by_time else "trial number"
    return _layout(
        fig, f"{facts.metric} by {'time' if by_time else 'trial'}", x_title, facts.metric
    )


def _curves_figure(facts: _StudyFacts) -> Any:
    """All learning curves in one chart: one trace per trial state, trials split by gaps."""
    import plotly.graph_objects as go

    with_curves = [t for t in facts.trials if t.intermediate_values]
    total = sum(min(len(t.intermediate_values), MAX_EPOCHS_PER_CURVE) for t in with_curves)
    per_trial = MAX_EPOCHS_PER_CURVE
    if total > MAX_CURVE_POINTS:
        per_trial = max(10, MAX_CURVE_POINTS * MAX_EPOCHS_PER_CURVE // total)
    styles = {
        "COMPLETE": ("complete", {"color": "rgba(31,119,180,0.55)", "width": 1.5}),
        "PRUNED": ("pruned", {"color": "rgba(120,120,120,0.55)", "width": 1, "dash": "dash"}),
        "FAIL": ("failed", {"color": "rgba(214,39,40,0.8)", "width": 1.5}),
        "RUNNING": ("running", {"color": "rgba(44,160,44,0.9)", "width": 1.5, "dash": "dot"}),
    }
    fig = go.Figure()
    for state, (label, line) in styles.items():
        xs: list[Any] = []
        ys: list[Any] = []
        ids: list[Any] = []
        for t in with_curves:
            if t.state.name != state:
                continue
            steps = _thin(sorted(t.intermediate_values), per_trial)
            xs += [s + 1 for s in steps] + [None]
            ys += [t.intermediate_values[s] for s in steps] + [None]
            ids += [t.number] * len(steps) + [None]
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=label,
                    line=line,
                    customdata=ids,
                    connectgaps=False,
                    hovertemplate="trial %{customdata}<br>epoch %{x}<br>%{y:.5g}<extra>"
                    + label
                    + "</extra>",
                )
            )
    best = facts.best
    if best is not None and best.intermediate_values:
        steps = _thin(sorted(best.intermediate_values), per_trial)
        fig.add_trace(
            go.Scatter(
                x=[s + 1 for s in steps],
                y=[best.intermediate_values[s] for s in steps],
                mode="lines+markers",
                name=f"best (trial {best.number})",
                line={"color": "#ff7f0e", "width": 3},
                marker={"size": 5},
                hovertemplate=f"trial {best.number}<br>epoch %{{x}}<br>%{{y:.5g}}<extra>best</extra>",
            )
        )
    return _layout(fig, f"learning curves: {facts.metric} per epoch", "epoch", facts.metric)


def _thin(steps: list[int], limit: int) -> list[int]:
    if len(steps) <= limit:
        return steps
    stride = len(steps) / limit
    picked = [steps[int(i * stride)] for i in range(limit)]
    if picked[-1] != steps[-1]:
        picked[-1] = steps[-1]
    return picked


@dataclass
class _Importance:
    figure: Any = None
    ranking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _importance(study: Any, facts: _StudyFacts) -> _Importance:
    """fANOVA importances; conditional parameters are judged among the trials that have them."""
    import optuna
    import plotly.graph_objects as go

    result = _Importance()
    complete = facts.by_state("COMPLETE")
    if len(complete) < 2:
        result.notes.append(
            f"Importance needs at least 2 complete trials; this study has {len(complete)}."
        )
        return result
    everywhere = set.intersection(*(set(t.params) for t in complete))
    conditional = sorted(set().union(*(t.params for t in complete)) - everywhere)
    main: dict[str, float] = {}
    if everywhere:
        try:
            main = optuna.importance.get_param_importances(
                study,
                evaluator=_fanova(len(complete)),
                params=sorted(everywhere),
            )
        except Exception as exc:  # too few or too uniform trials: say so, keep the report
            result.notes.append(f"Importance could not be computed: {_first_line(exc)}")
    extra: dict[str, tuple[float, int]] = {}
    groups: dict[frozenset[int], list[str]] = {}
    for name in conditional:
        having = frozenset(t.number for t in complete if name in t.params)
        groups.setdefault(having, []).append(name)
    for having, names in sorted(groups.items(), key=lambda kv: -len(kv[0]))[
        :MAX_CONDITIONAL_GROUPS
    ]:
        if len(having) < 2:
            result.notes.append(
                f"{', '.join(names)}: in {len(having)} complete trial(s), too few to judge."
            )
            continue
        try:
            scores = optuna.importance.get_param_importances(
                study,
                evaluator=_fanova(len(having)),
                params=sorted(everywhere) + names,
            )
        except Exception as exc:
            result.notes.append(f"{', '.join(names)}: importance not computed: {_first_line(exc)}")
            continue
        for name in names:
            extra[name] = (scores.get(name, 0.0), len(having))
    if not main and not extra:
        if not result.notes:
            result.notes.append("No parameter varies across the complete trials.")
        return result
    result.ranking = [n for n, _ in sorted(main.items(), key=lambda kv: -kv[1])] + [
        n for n, _ in sorted(extra.items(), key=lambda kv: -kv[1][0])
    ]
    fig = go.Figure()
    if main:
        names = [n for n, _ in sorted(main.items(), key=lambda kv: kv[1])]
        fig.add_trace(
            go.Bar(
                x=[main[n] for n in names],
                y=[_label(n) for n in names],
                orientation="h",
                name=f"all {len(complete)} complete trials",
                marker={"color": "#1f77b4"},
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            )
        )
    if extra:
        names = [n for n, _ in sorted(extra.items(), key=lambda kv: kv[1][0])]
        fig.add_trace(
            go.Bar(
                x=[extra[n][0] for n in names],
                y=[f"{_label(n)} (in {extra[n][1]} trials)" for n in names],
                orientation="h",
                name="conditional: among the trials that have it",
                marker={"color": "#9467bd"},
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            )
        )
        result.notes.append(
            "Conditional parameters are scored by a separate fANOVA fit over the trials where "
            "they apply, so their bars are not shares of the same total."
        )
    # main parameters on top (largest first), conditional ones below them
    order = [
        f"{_label(n)} (in {extra[n][1]} trials)" for n in sorted(extra, key=lambda n: extra[n][0])
    ]
    order += [_label(n) for n in sorted(main, key=lambda n: main[n])]
    fig.update_yaxes(categoryorder="array", categoryarray=order)
    _layout(fig, "hyperparameter importance (fANOVA)", "share of the variance of the value", "")
    fig.update_layout(height=max(260, 28 * (len(main) + len(extra)) + 120), margin={"l": 200})
    result.figure = fig
    return result


def _fanova(n_trials: int) -> Any:
    """Optuna's fANOVA evaluator, with fewer trees for big studies: its cost grows with
    trials x trees, and past fifty trials 64 trees change the scores little."""
    import optuna

    trees = min(64, max(8, 3200 // max(1, n_trials)))
    return optuna.importance.FanovaImportanceEvaluator(n_trees=trees, seed=0)


def _parallel_and_slices(study: Any, facts: _StudyFacts, ranking: list[str]) -> tuple[Any, Any]:
    complete = [
        t for t in facts.by_state("COMPLETE") if t.value is not None and math.isfinite(t.value)
    ]
    if len(complete) < 2:
        return None, None
    everywhere = set.intersection(*(set(t.params) for t in complete))
    ranked = ranking or sorted(set().union(*(t.params for t in complete)))
    if not ranked:
        return None, None
    # Every line crosses every axis: the parallel plot uses parameters all trials have.
    parallel_params = [p for p in ranked if p in everywhere][:TOP_PARAMS]
    parallel = _parallel_figure(complete, parallel_params, facts) if parallel_params else None
    slices = _slice_figure(complete, ranked[:SLICE_PARAMS], facts)
    return parallel, slices


def _distribution(trials: list[Any], name: str) -> Any:
    for t in trials:
        if name in t.distributions:
            return t.distributions[name]
    return None


def _axis_values(trials: list[Any], name: str) -> tuple[list[float | None], Any]:
    """One parameter as numbers on [0, 1] for a parallel axis, and its tick labels."""
    import optuna

    dist = _distribution(trials, name)
    raw = [t.params.get(name) for t in trials]
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        choices = list(dist.choices)
        span = max(1, len(choices) - 1)
        index = {repr(c): i for i, c in enumerate(choices)}
        values = [index[repr(v)] / span if repr(v) in index else None for v in raw]
        ticks = [(i / span, _label(_plain(c))) for i, c in enumerate(choices)]
        return values, ticks
    log = bool(getattr(dist, "log", False))
    numbers = [float(v) for v in raw if v is not None]
    low = float(getattr(dist, "low", min(numbers)))
    high = float(getattr(dist, "high", max(numbers)))
    return _scaled(
        raw, low, high, log=log, integer=isinstance(dist, optuna.distributions.IntDistribution)
    )


def _scaled(
    raw: list[Any], low: float, high: float, *, log: bool = False, integer: bool = False
) -> tuple[list[float | None], list[tuple[float, str]]]:
    def f(v: float) -> float:
        return math.log10(v) if log else v

    lo, hi = (f(low), f(high)) if not log or low > 0 else (low, high)
    log = log and low > 0
    width = (hi - lo) or 1.0
    values = [None if v is None else (f(float(v)) - lo) / width if hi > lo else 0.5 for v in raw]
    if hi <= lo:
        return values, [(0.5, _number(low))]
    if log:
        decades = [d for d in range(math.ceil(lo), math.floor(hi) + 1)]
        marks = sorted({lo, hi, *decades})
        return values, [((m - lo) / width, f"{10**m:.3g}") for m in marks]
    marks = [lo, (lo + hi) / 2, hi]
    text = [str(int(round(m))) if integer else f"{m:.3g}" for m in marks]
    return values, [((m - lo) / width, t) for m, t in zip(marks, text, strict=True)]


PARALLEL_COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")  # worst .. best


def _parallel_figure(trials: list[Any], params: list[str], facts: _StudyFacts) -> Any:
    """Parallel coordinates drawn as SVG lines (plotly's parcoords needs WebGL, which is
    software-rendered and takes seconds on machines without a GPU)."""
    import plotly.graph_objects as go

    values = [float(t.value) for t in trials]
    axes = [_scaled(values, min(values), max(values))]
    axes += [_axis_values(trials, name) for name in params]
    labels = [facts.metric, *params]
    order = sorted(range(len(trials)), key=lambda i: values[i], reverse=not facts.maximize)
    buckets = min(len(PARALLEL_COLORS), len(trials))
    fig = go.Figure()
    for b in range(buckets):  # worst first, so the best lines are drawn on top
        members = order[b * len(order) // buckets : (b + 1) * len(order) // buckets]
        if not members:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        ids: list[Any] = []
        for i in members:
            for a, (scaled, _) in enumerate(axes):
                xs.append(a)
                ys.append(scaled[i])
                ids.append(trials[i].number)
            xs.append(None)
            ys.append(None)
            ids.append(None)
        shown = sorted(values[i] for i in members)
        color = PARALLEL_COLORS[round(b * (len(PARALLEL_COLORS) - 1) / max(1, buckets - 1))]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": color, "width": 1.4},
                opacity=max(0.3, min(0.8, 6 / math.sqrt(len(trials)))),  # many lines: see through
                customdata=ids,
                name=f"{_number(shown[0])} to {_number(shown[-1])}",
                hovertemplate="trial %{customdata}<extra></extra>",
                connectgaps=False,
            )
        )
    annotations = []
    for a, (_, ticks) in enumerate(axes):
        for position, text in ticks:
            annotations.append(
                {
                    "x": a,
                    "y": position,
                    "text": text,
                    "showarrow": False,
                    "xanchor": "right",
                    "xshift": -4,
                    "font": {"size": 10, "color": "#444"},
                }
            )
    fig.update_layout(
        title={
            "text": f"parallel coordinates: {len(trials)} complete trials, top parameters",
            "x": 0.01,
        },
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        xaxis={
            "tickvals": list(range(len(labels))),
            "ticktext": [_label(n) for n in labels],
            "side": "top",
            "showgrid": False,
            "zeroline": False,
            "range": [-0.5, len(labels) - 0.7],
        },
        yaxis={"visible": False, "range": [-0.05, 1.05]},
        shapes=[
            {
                "type": "line",
                "x0": a,
                "x1": a,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#999", "width": 1},
            }
            for a in range(len(labels))
        ],
        annotations=annotations,
        legend={"title": {"text": _label(facts.metric)}, "orientation": "h", "y": -0.08},
        hovermode="closest",
    )
    return fig


def _slice_figure(trials: list[Any], params: list[str], facts: _StudyFacts) -> Any:
    import optuna
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(params), shared_yaxes=True, horizontal_spacing=0.03)
    for col, name in enumerate(params, start=1):
        having = [t for t in trials if name in t.params]
        dist = _distribution(having, name)
        categorical = isinstance(dist, optuna.distributions.CategoricalDistribution)
        xs = [_label(_plain(t.params[name])) if categorical else t.params[name] for t in having]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[t.value for t in having],
                mode="markers",
                marker={
                    "color": [t.number for t in having],
                    "colorscale": "Blues",
                    "size": 6,
                    "line": {"width": 0.5, "color": "#555"},
                    "showscale": col == len(params),
                    "colorbar": {"title": {"text": "trial"}},
                },
                customdata=[t.number for t in having],
                hovertemplate="trial %{customdata}<br>%{x}<br>%{y:.5g}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        axis: dict[str, Any] = {"title_text": _label(name)}
        if categorical:
            axis["type"] = "category"
            axis["categoryorder"] = "array"
            axis["categoryarray"] = [_label(_plain(c)) for c in dist.choices]
        elif getattr(dist, "log", False):
            axis["type"] = "log"
            axis["exponentformat"] = "power"
        fig.update_xaxes(row=1, col=col, **axis)
    fig.update_yaxes(title_text=_label(facts.metric), row=1, col=1)
    fig.update_layout(
        title={
            "text": f"slice plots: {_label(facts.metric)} against the top parameters",
            "x": 0.01,
        },
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


# ----------------------------------------------------------------------- best model
@dataclass
class _BestModel:
    trial: int | None = None
    layers: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # name, type, shape, params
    trainable: int | None = None
    n_params: int | None = None
    figure: Any = None
    n_classes: int = 0
    caption: str | None = None
    notes: list[str] = field(default_factory=list)


# One entry: the facts of the last best model seen, so refreshing the report during a
# search reloads the model and predicts only when best_model.keras has changed.
_MODEL_CACHE: dict[tuple[Any, ...], _BestModel] = {}


def _best_model_section(
    study: Any, facts: _StudyFacts, out_dir: Path | None, dataset: Any, model: Any
) -> _BestModel:
    best = facts.best
    if best is None:
        return _BestModel(notes=["No complete trial yet."])
    path = out_dir / BEST_MODEL_FILE if out_dir is not None else None
    record = _best_record(out_dir)
    section_trial = best.number
    if model is None:
        if path is None or not path.is_file():
            return _BestModel(
                trial=best.number,
                n_params=best.user_attrs.get("n_params"),
                notes=[
                    f"No {BEST_MODEL_FILE} next to this report: layer summary and validation plot left out."
                ],
            )
        if record.get("study_name") not in (None, study.study_name):
            return _BestModel(
                trial=best.number,
                n_params=best.user_attrs.get("n_params"),
                notes=[
                    f"{BEST_MODEL_FILE} here belongs to study {record.get('study_name')!s}, not this one."
                ],
            )
        section_trial = int(record.get("trial", best.number))
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, id(dataset))
        if key in _MODEL_CACHE:
            return _MODEL_CACHE[key]
        try:
            from autodl.train._device import configure_devices

            configure_devices()  # GPU memory growth, so a report never holds a whole GPU
            import keras

            model = keras.saving.load_model(path)
        except Exception as exc:
            return _BestModel(
                trial=section_trial, notes=[f"{BEST_MODEL_FILE} did not load: {_first_line(exc)}"]
            )
        section = _describe_model(model, section_trial, facts, dataset)
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = section
        return section
    return _describe_model(model, section_trial, facts, dataset)


def _best_record(out_dir: Path | None) -> dict[str, Any]:
    if out_dir is None:
        return {}
    try:
        record = json.loads((out_dir / BEST_CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _describe_model(model: Any, trial: int, facts: _StudyFacts, dataset: Any) -> _BestModel:
    section = _BestModel(trial=trial)
    try:
        section.layers = layer_summary(model)
        section.n_params = int(model.count_params())
        section.trainable = int(sum(int(math.prod(w.shape)) for w in model.trainable_weights))
    except Exception as exc:
        section.notes.append(f"No layer summary: {_first_line(exc)}")
    if facts.best is not None and trial != facts.best.number:
        section.notes.append(
            f"The saved model is trial {trial}'s; the study's best is trial {facts.best.number} "
            "(its model was not saved here)."
        )
    if facts.attrs.get("task") == "generation":
        return section  # no labels to plot against: the generation section shows samples
    if dataset is None:
        dataset, note = _reload_dataset(facts)
        if dataset is None:
            section.notes.append(note)
            return section
    try:
        _validation_figure(section, model, dataset)
    except Exception as exc:
        _logger.info("no validation plot: %s", exc, exc_info=True)
        section.notes.append(f"No validation plot: {_first_line(exc)}")
    return section


def layer_summary(model: Any) -> list[tuple[str, str, str, str]]:
    """(name, type, output shape, parameters) per layer, as `model.summary()` lists them.

    A table of our own rather than `summary()`'s text: Keras draws that for an
    80-column terminal and drops the columns that do not fit.
    """
    rows = []
    for layer in model.layers:
        try:
            output = layer.output
            shapes = (
                [tuple(t.shape) for t in output]
                if isinstance(output, (list, tuple))
                else [tuple(output.shape)]
            )
            shape = ", ".join(str(s) for s in shapes)
        except Exception:  # a layer used several times has no single output shape
            shape = "?"
        try:
            count = f"{int(layer.count_params()):,}"
        except Exception:  # an unbuilt layer has no weights yet
            count = "0"
        rows.append((layer.name, type(layer).__name__, shape, count))
    return rows


def _reload_dataset(facts: _StudyFacts) -> tuple[Any, str]:
    from autodl.data import load_data

    source = facts.attrs.get("data")
    if not source:
        return None, "The study records no data source: validation plot left out."
    settings = facts.settings
    try:
        data = load_data(
            str(source),
            target=settings.get("target"),
            task=settings.get("task"),
            val_size=settings.get("val_size", 0.2),
            test_size=settings.get("test_size"),
            seed=int(settings.get("seed") or 0),
        )
    except Exception as exc:
        return (
            None,
            f"Could not reload the data ({source}): {_first_line(exc)}; validation plot left out.",
        )
    return data, ""


def _validation_figure(section: _BestModel, model: Any, data: Any) -> None:
    import numpy as np
    import plotly.graph_objects as go

    from autodl.export._evaluate import predict_outputs, raw_model_input

    predictions = predict_outputs(model, raw_model_input(data, data.x_val))
    y_true = np.asarray(data.y_val)
    if data.task == "regression":
        y_pred = predictions.reshape(len(y_true), -1)[:, 0].astype("float64")
        y_true = y_true.astype("float64").reshape(-1)
        if len(y_true) > MAX_SCATTER_POINTS:
            keep = np.random.default_rng(0).choice(len(y_true), MAX_SCATTER_POINTS, replace=False)
            y_true_shown, y_pred_shown = y_true[keep], y_pred[keep]
        else:
            y_true_shown, y_pred_shown = y_true, y_pred
        low = float(min(y_true.min(), y_pred.min()))
        high = float(max(y_true.max(), y_pred.max()))
        fig = go.Figure(
            [
                go.Scatter(
                    x=y_true_shown.tolist(),
                    y=y_pred_shown.tolist(),
                    mode="markers",
                    marker={"size": 5, "opacity": 0.6, "color": "#1f77b4"},
                    name="validation rows",
                    hovertemplate="true %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
                ),
                go.Scatter(
                    x=[low, high],
                    y=[low, high],
                    mode="lines",
                    name="perfect",
                    line={"color": "#888", "dash": "dash"},
                    hoverinfo="skip",
                ),
            ]
        )
        rmse = float(np.sqrt(np.mean((y_pred - y_true) ** 2)))
        mae = float(np.mean(np.abs(y_pred - y_true)))
        section.caption = f"{len(y_true)} validation rows: RMSE {rmse:.4g}, MAE {mae:.4g}"
        section.figure = _layout(fig, "predicted vs true (validation split)", "true", "predicted")
        return
    if predictions.ndim == 1 or predictions.shape[-1] == 1:
        y_pred = (predictions.reshape(-1) > 0.5).astype("int64")
    else:
        y_pred = predictions.argmax(axis=-1)
    y_true = y_true.astype("int64").reshape(-1)
    names = [
        _label(n)
        for n in (
            data.class_names or [str(i) for i in range(int(max(y_true.max(), y_pred.max())) + 1)]
        )
    ]
    k = len(names)
    matrix = np.zeros((k, k), dtype="int64")
    np.add.at(matrix, (y_true.clip(0, k - 1), y_pred.clip(0, k - 1)), 1)
    accuracy = float(np.trace(matrix) / max(1, matrix.sum()))
    fig = go.Figure(
        go.Heatmap(
            z=matrix.tolist(),
            x=names,
            y=names,
            colorscale="Blues",
            texttemplate="%{z}" if k <= 30 else None,
            hovertemplate="true %{y}<br>predicted %{x}<br>%{z} rows<extra></extra>",
        )
    )
    _layout(fig, "confusion matrix (validation split)", "predicted class", "true class")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    section.n_classes = k
    section.caption = f"{len(y_true)} validation rows: accuracy {accuracy:.4f}"
    section.figure = fig


# ------------------------------------------------------------------------- failures
def _failures(facts: _StudyFacts) -> list[dict[str, Any]]:
    groups: dict[str, list[int]] = {}
    for t in facts.by_state("FAIL"):
        reason = str(t.user_attrs.get("fail_reason") or "no reason recorded")
        groups.setdefault(reason, []).append(t.number)
    rows = []
    for reason, numbers in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(map(str, numbers[:30])) + (
            f", … ({len(numbers) - 30} more)" if len(numbers) > 30 else ""
        )
        rows.append({"reason": reason, "count": len(numbers), "trials": shown})
    return rows


# -------------------------------------------------------------------------- helpers
def _script_json(text: str) -> Any:
    """JSON that is safe inside a <script> element: no `</script>`, no `<!--`, no entities."""
    from markupsafe import Markup

    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return Markup(text)


def _inert_script(code: str) -> str:
    """Script text that cannot end its <script> element early (plotly.js has no such
    sequence today; this keeps a future version from breaking the page)."""
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def _label(value: Any) -> str:
    """A user string as plotly should draw it: plotly reads tags in labels, so escape them."""
    return html.escape(str(value), quote=False)


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value)) if not isinstance(value, str) else False
    except (TypeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__


# ------------------------------------------------------------------ during a search
def write_search_report(
    context: Any, *, wall_seconds: float | None = None, best_model: bool = True
) -> Path | None:
    """The report at the end of a search (a `SearchContext`); a failure is logged, never raised."""
    try:
        return write_report(
            context.study,
            context.out,
            dataset=context.data,
            command=context.command or None,
            wall_seconds=wall_seconds,
            storage=context.storage_url,
            best_model=best_model,
        )
    except Exception as exc:  # the search's results matter more than its report
        _logger.warning("could not write %s: %s", Path(context.out) / REPORT_FILE, exc)
        _logger.debug("report failure", exc_info=True)
        return None


class ReportRefresher:
    """An Optuna callback that rewrites report.html now and then during a long search.

    It writes after the first trial this process sees (a report early on; and the memory
    rendering takes is in place before `MemoryWatch` takes its baseline), then when a
    trial has finished since the last write and either a minute has passed, or `every`
    trials have finished and the last rendering took at most `share` of the time since
    (a 40-trial report renders in about 0.4 s: at the 2% default, about every 20 s of a
    search of short trials, not every 5 trials, which cost 7% of a 60 s search). A report
    that fails to render is logged, never raised.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        *,
        dataset: Any = None,
        command: str | None = None,
        storage: str | None = None,
        every: int = 5,
        interval: float = 60.0,
        share: float = 0.02,
        best_model: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.dataset = dataset
        self.command = command
        self.storage = storage
        self.every = every
        self.interval = interval
        self.share = share
        self.best_model = best_model
        self.last_write = time.monotonic()
        self.render_seconds = 0.0
        self.pending = 0
        self.written = False

    def __call__(self, study: Any, trial: Any) -> None:
        self.pending += 1
        since = time.monotonic() - self.last_write
        due = not self.written or since >= self.interval or (
            self.pending >= self.every and since * self.share >= self.render_seconds
        )
        if not due:
            return
        started = time.monotonic()
        try:
            write_report(
                study,
                self.out_dir,
                dataset=self.dataset,
                command=self.command,
                storage=self.storage,
                best_model=self.best_model,
            )
        except Exception as exc:  # a report is never worth a failed search
            _logger.warning("could not refresh %s: %s", self.out_dir / REPORT_FILE, exc)
            _logger.debug("report failure", exc_info=True)
        finally:
            self.render_seconds = time.monotonic() - started
            self.last_write = time.monotonic()
            self.pending = 0
            self.written = True

    @classmethod
    def for_search(cls, context: Any, *, best_model: bool = True) -> ReportRefresher:
        return cls(
            context.out,
            dataset=context.data,
            command=context.command or None,
            storage=context.storage_url,
            best_model=best_model,
        )
