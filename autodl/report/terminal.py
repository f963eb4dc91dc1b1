"""Live progress during a search and the ranked table at its end.

A terminal gets a live rich view (progress, best so far, elapsed, ETA, a running top-5);
a pipe or a log file gets one plain line per finished trial.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text


class SearchProgress:
    """An Optuna callback that shows the study's progress; use as a context manager."""

    def __init__(
        self, context: Any, *, console: Console | None = None, live: bool | None = None
    ) -> None:
        self.context = context
        self.console = console or Console()
        self.live = sys.stdout.isatty() if live is None else live
        self.start = time.perf_counter()  # this process: the pace of its trials gives the ETA
        self.origin = self.start  # the search: a process restarted to free memory goes on with it
        self.target = context.settings.trials
        self.timeout = context.settings.timeout
        self.done_before = context.finished()
        self._live: Live | None = None

    def __enter__(self) -> SearchProgress:
        from autodl.study._memory import RestartState

        self.start = time.perf_counter()
        self.origin = self.start - (time.time() - RestartState.current().started)
        ctx = self.context
        resumed = f", resuming {self.done_before} finished trials" if self.done_before else ""
        self.console.print(
            f"study {ctx.study.study_name} in {ctx.storage_url}{resumed}\n"
            f"data  {ctx.data.describe()}\n"
            f"goal  {self.target} finished trials, {ctx.objective.direction} {ctx.objective.metric}",
            highlight=False,
            markup=False,  # names and paths are the user's: "[x]" is not rich markup
        )
        if self.live:
            self._live = Live(
                self._render(), console=self.console, refresh_per_second=2, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def __call__(self, study: Any, trial: Any) -> None:
        if self._live is not None:
            self._live.update(self._render())
        else:
            self.console.print(self._line(trial), highlight=False, soft_wrap=True, markup=False)

    # ------------------------------------------------------------------ text
    def _counts(self) -> dict[str, int]:
        from autodl.results import state_counts

        return state_counts(self.context.study)

    def _eta(self, finished: int) -> str:
        elapsed = time.perf_counter() - self.start
        done_now = finished - self.done_before
        remaining = self.target - finished
        estimates = []
        if done_now > 0 and remaining > 0:
            estimates.append(elapsed / done_now * remaining)
        if self.timeout:
            estimates.append(max(0.0, self.timeout - (time.perf_counter() - self.origin)))
        return _seconds(min(estimates)) if estimates else "-"

    def _best(self) -> str:
        from autodl.results import best_trial

        best = best_trial(self.context.study)
        return f"{best.value:.4f} (trial {best.number})" if best is not None else "-"

    def _line(self, trial: Any) -> str:
        counts = self._counts()
        finished = counts["complete"] + counts["pruned"]
        state = trial.state.name.lower()
        value = f" {trial.value:.4f}" if trial.values else ""
        reason = f" ({trial.user_attrs.get('fail_reason', '')})" if state == "fail" else ""
        if trial.user_attrs.get("stopped") == "timeout":
            reason = f" (stopped at the timeout after {trial.user_attrs.get('epochs')} epochs)"
        return (
            f"trial {trial.number} {state}{value}{reason} | {finished}/{self.target} finished, "
            f"{counts['pruned']} pruned, {counts['failed']} failed | best {self._best()} | "
            f"elapsed {_seconds(time.perf_counter() - self.origin)}, eta {self._eta(finished)}"
        )

    def _render(self) -> Group:
        counts = self._counts()
        finished = counts["complete"] + counts["pruned"]
        header = Text(
            f"{finished}/{self.target} finished  ·  {counts['complete']} complete  ·  "
            f"{counts['pruned']} pruned  ·  {counts['failed']} failed  ·  best {self._best()}  ·  "
            f"elapsed {_seconds(time.perf_counter() - self.origin)}  ·  eta {self._eta(finished)}"
        )
        return Group(header, leaderboard_table(self.context.study, top=5))


def leaderboard_table(study: Any, *, top: int = 10) -> Table:
    from autodl.results import leaderboard

    full = leaderboard(study)
    frame = full.head(top)
    title = f"top {len(frame)} of {len(full)} trials of {study.study_name}"
    table = Table(title=Text(title), title_justify="left")
    params = [c for c in frame.columns if c.startswith("param_")]
    for col in ["#", "state", "value", "epochs", "seconds", "n_params", "params"]:
        table.add_column(col, justify="right" if col not in ("state", "params") else "left")
    for _, row in frame.iterrows():
        shown = ", ".join(
            f"{c.removeprefix('param_')}={_fmt(row[c])}"
            for c in params
            if row[c] == row[c] and row[c] is not None
        )
        if row["state"] == "FAIL" and row.get("fail_reason"):
            shown = (
                f"{shown}; failed: {row['fail_reason']}"
                if shown
                else f"failed: {row['fail_reason']}"
            )
        cells = [
            str(row["number"]),
            str(row["state"]).lower(),
            _fmt(row["value"]),
            _count(row["epochs"]),
            _fmt(row["seconds"]),
            _count(row["n_params"]),
            shown,
        ]
        table.add_row(*(Text(cell) for cell in cells))  # Text: a parameter value is never markup
    return table


def print_leaderboard(study: Any, *, top: int = 10, console: Console | None = None) -> None:
    (console or Console()).print(leaderboard_table(study, top=top))


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _count(value: Any) -> str:
    """Whole numbers that pandas may have turned into floats (a column with gaps)."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
