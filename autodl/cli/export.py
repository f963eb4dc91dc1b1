"""`autodl export`: export a stored study's best model (optionally retrained) after the fact."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage", help="Optuna storage URL or journal file (default: OUT/study.journal)"
    )
    parser.add_argument(
        "--study-name", help="study to export (may be left out when the storage holds one)"
    )
    parser.add_argument("--out", help="output folder (default: reports/STUDY-NAME)")
    parser.add_argument(
        "--refit",
        action="store_true",
        help="retrain the best configuration on train + validation for its best epoch count",
    )
    parser.add_argument(
        "--ensemble",
        type=int,
        metavar="K",
        help="choose an ensemble from the K best trials' kept models (default: the search's "
        "--ensemble; 0: export the best trial's model alone)",
    )
    parser.add_argument(
        "--data", help="data source, if it moved since the search (default: the study's)"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from autodl.exceptions import ConfigError

    storage = args.storage
    if storage is None:
        if not args.out:
            raise ConfigError(
                "--storage is required (or --out of a search, to use OUT/study.journal)"
            )
        storage = str(Path(args.out) / "study.journal")
        if not Path(storage).exists():
            raise ConfigError(f"--out {args.out}: no study.journal there; pass --storage")
    import optuna

    from autodl.export._study import export_study

    optuna.logging.set_verbosity(optuna.logging.DEBUG if args.debug else optuna.logging.ERROR)
    command = "autodl " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out, added = export_study(
        storage,
        args.study_name,
        args.out,
        refit=args.refit,
        ensemble=args.ensemble,
        data=args.data,
        command=command,
    )
    print_export(out, added)
    return 0


def print_export(out: Any, added: dict[str, Any]) -> None:
    """The lines `autodl search` and `autodl export` print about what was exported."""
    export = added.get("export")
    if not export:
        return
    what = f"trial {export['trial']}"
    if export["source"] == "refit":
        what += f" (retrained on train + validation for {export['epochs']} epochs)"
    elif export["source"] == "ensemble":
        what = "the ensemble (see below)"
    else:
        what += " (the trial's own model)"
    print(
        f"exported {what} to {out}/: {export['model']}, "
        + (f"{export['saved_model']}/, " if export.get("saved_model") else "")
        + "model_card.json, model_card.md"
    )
    if export.get("generator"):
        print(f"generator: {export['generator']} (sample with: autodl generate --model {out})")
    if export.get("note"):
        print(f"note: {export['note']}")
    test = added.get("test_metrics")
    if test:
        print("test    " + ", ".join(f"{k} {v:.4f}" for k, v in test.items()))
    ensemble = added.get("ensemble")
    if ensemble:
        from autodl.export._ensemble import describe_ensemble

        print(f"ensemble: {describe_ensemble(ensemble)}")
