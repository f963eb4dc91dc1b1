"""`autodl report`: write report.html for any study, from its storage alone."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from autodl.cli._study import add_storage_arguments

    add_storage_arguments(parser)
    parser.add_argument(
        "--out",
        help="folder for report.html (default: the folder of a journal file, else "
        "reports/STUDY-NAME); alone, the folder a search wrote (its study.journal)",
    )


def run(args: argparse.Namespace) -> int:
    import optuna

    from autodl.cli._study import load_study, open_storage
    from autodl.report.html import write_report

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opened = open_storage(args.storage, args.out)
    study = load_study(opened, args.study_name)
    out = Path(args.out) if args.out else opened.folder or Path("reports") / study.study_name
    path = write_report(study, out, storage=opened.url)
    print(f"wrote {path}")
    print(f"open {path.resolve().as_uri()}")
    return 0
