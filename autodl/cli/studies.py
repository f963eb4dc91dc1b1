"""`autodl studies`: the studies in a storage, with their trial counts and best values."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

FORMATS = ("table", "csv", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from autodl.cli._study import add_storage_arguments

    add_storage_arguments(parser, study_name=False)
    parser.add_argument(
        "--out", help="the output folder of a search (its study.journal), instead of --storage"
    )
    parser.add_argument("--format", default="table", help="table, csv or json (default table)")


def study_rows(storage: Any) -> list[dict[str, Any]]:
    """One row per study: name, direction, metric, trial counts by state, best value."""
    import optuna

    from autodl.results import state_counts

    rows = []
    for summary in sorted(
        optuna.get_all_study_summaries(storage, include_best_trial=True),
        key=lambda s: s.study_name,
    ):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        best = summary.best_trial
        rows.append(
            {
                "study_name": summary.study_name,
                "direction": "/".join(d.name.lower() for d in summary.directions),
                "metric": summary.user_attrs.get("metric", ""),
                **state_counts(study),
                "best_value": best.value if best is not None and best.values else None,
                "best_trial": best.number if best is not None else None,
                "started": summary.datetime_start.isoformat(sep=" ", timespec="seconds")
                if summary.datetime_start
                else None,
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from autodl.cli._study import open_storage
    from autodl.exceptions import ConfigError, one_of

    if args.format not in FORMATS:
        raise ConfigError(one_of("--format", args.format, FORMATS))
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opened = open_storage(args.storage, args.out)
    rows = study_rows(opened.storage)
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if args.format == "csv":
        import csv

        columns = list(rows[0]) if rows else ["study_name"]
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return 0
    if not rows:
        print(f"no study in {opened.url}")
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"studies in {opened.url}"), title_justify="left")
    columns = [
        "study",
        "direction",
        "metric",
        "complete",
        "pruned",
        "failed",
        "running",
        "best",
        "started",
    ]
    for column in columns:
        table.add_column(
            column,
            justify="right"
            if column in ("complete", "pruned", "failed", "running", "best")
            else "left",
        )
    for row in rows:
        best = (
            "-" if row["best_value"] is None else f"{row['best_value']:.4g} (#{row['best_trial']})"
        )
        cells = [
            row["study_name"],
            row["direction"],
            str(row["metric"]),
            str(row["complete"]),
            str(row["pruned"]),
            str(row["failed"]),
            str(row["running"] + row.get("waiting", 0)),
            best,
            row["started"] or "-",
        ]
        table.add_row(*(Text(cell) for cell in cells))  # Text: a name like "[red]" is not markup
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0
