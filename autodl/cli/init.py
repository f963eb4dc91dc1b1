"""`autodl init [DIR]`: copy the built-in search spaces somewhere the user can edit them."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default="search_spaces", help="folder to write into (default: search_spaces)")
    parser.add_argument("--overwrite", action="store_true", help="replace files that already exist")


def run(args: argparse.Namespace) -> int:
    from autodl.space import builtin_space_names, copy_builtin_spaces

    folder = Path(args.dir)
    written = copy_builtin_spaces(folder, overwrite=args.overwrite)
    for path in written:
        print(f"wrote {path}")
    skipped = len(builtin_space_names()) - len(written)
    if skipped:
        print(f"kept {skipped} existing file(s) in {folder} (--overwrite replaces them)")
    if written:
        print(f"next: autodl search --space {written[0]}")
    return 0
