"""`autodl leaderboard`: the ranking of any study, including one still running elsewhere."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

FORMATS = ("table", "csv", "json")
TABLE_ROWS = 20  # default rows of the table format; csv and json give every trial


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from autodl.cli._study import add_storage_arguments

    add_storage_arguments(parser)
    parser.add_argument(
        "--out", help="the output folder of a search (its study.journal), instead of --storage"
    )
    parser.add_argument(
        "--top",
        type=int,
        metavar="K",
        help=f"show the K best trials (table default {TABLE_ROWS}, csv/json default all)",
    )
    parser.add_argument("--format", default="table", help="table, csv or json (default table)")


def run(args: argparse.Namespace) -> int:
    from autodl.cli._study import load_study, open_storage
    from autodl.exceptions import ConfigError, one_of

    if args.format not in FORMATS:
        raise ConfigError(one_of("--format", args.format, FORMATS))
    if args.top is not None and args.top < 1:
        raise ConfigError(f"--top must be at least 1; got {args.top}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = load_study(open_storage(args.storage, args.out), args.study_name)
    if args.format == "table":
        from rich.console import Console

        from autodl.report.terminal import leaderboard_table

        # A pipe gets a wide table rather than one squeezed into 80 columns.
        console = Console(width=None if sys.stdout.isatty() else 200)
        console.print(leaderboard_table(study, top=args.top or TABLE_ROWS))
        return 0
    from autodl.results import leaderboard

    frame = leaderboard(study)
    if args.top is not None:
        frame = frame.head(args.top)
    if args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        # not DataFrame.to_json: it rounds floats to 10 digits
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        sys.stdout.write(json.dumps(records, indent=2, default=_plain) + "\n")
    return 0


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
