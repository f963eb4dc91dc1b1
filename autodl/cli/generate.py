"""`autodl generate`: sample images (a PNG grid), text or sequences from an exported model."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help="output folder of a generation search (or of autodl export)"
    )
    parser.add_argument("--n", type=int, default=16, help="samples to generate (default 16)")
    parser.add_argument(
        "--seed-text", help="text models: the start every sample continues (default: a new row)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="randomness: below 1 safer, above 1 wilder (scales the latent spread for images)",
    )
    parser.add_argument(
        "--length",
        type=int,
        help="text and sequences: steps to generate per sample "
        "(default 200 characters, 50 tokens or steps)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed gives the same samples"
    )
    parser.add_argument(
        "--out",
        help="file to write: .png (image grid) or .npz for images, .txt or .json for text, "
        ".json, .csv or .npz for tokens, .npz or .json for sequences, .csv or .npz for rows "
        "(default samples.png, .txt, .json, .npz or .csv)",
    )


def run(args: argparse.Namespace) -> int:
    from autodl.export._generate import check_options, generate, generation_card, write_samples

    check_options(args.n, args.temperature, args.length)
    _, card = generation_card(args.model)  # a bad folder fails before Keras loads
    kind = card["generation"]["kind"]
    from autodl.export._generate import SUFFIXES

    out = args.out or f"samples{SUFFIXES[kind][0]}"
    samples = generate(
        args.model,
        n=args.n,
        seed_text=args.seed_text,
        temperature=args.temperature,
        seed=args.seed,
        length=args.length,
    )
    path = write_samples(samples, out)
    what = card["generation"]["generates"]
    print(f"wrote {samples.count} samples ({what}) to {path}")
    for i, text in enumerate(samples.texts[:5]):
        print(f"--- sample {i + 1}\n{text}")
    if len(samples.texts) > 5:
        print(f"... {len(samples.texts) - 5} more in {path}")
    return 0
