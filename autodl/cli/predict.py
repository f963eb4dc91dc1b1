"""`autodl predict`: predict with an exported model on raw CSV, Parquet, NPZ or image folders."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="output folder of a search, or a .keras file with model_card.json beside it",
    )
    parser.add_argument(
        "--data",
        required=True,
        help="FILE.csv, FILE.parquet, FILE.npz (array x) or an image folder",
    )
    parser.add_argument(
        "--out", default="predictions.csv", help="CSV to write (default predictions.csv)"
    )


def run(args: argparse.Namespace) -> int:
    from autodl.export import predict_file

    result = predict_file(args.model, args.data, args.out)
    for note in result.notes:
        print(f"note: {note}")
    print(f"wrote {result.rows} predictions to {result.out}")
    return 0
