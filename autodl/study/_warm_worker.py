"""A `--jobs` worker started before its search is ready (`prestart_workers`).

It imports Keras, the seconds it was started early for, while the parent loads the data
and creates the study, then reads its orders, one JSON line on stdin: the environment to
add and the `autodl worker ...` command line to run. An empty stdin means the search
ended without needing it.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    from autodl.study._workers import die_with_parent

    die_with_parent()
    import keras  # noqa: F401

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    orders = json.loads(line)
    os.environ.update(orders["env"])
    for name in orders["unset"]:
        os.environ.pop(name, None)
    # As if started as `python -m autodl worker ...`: a restart to free memory re-runs it so.
    sys.argv = [sys.argv[0], *orders["argv"]]
    from autodl.cli import main as autodl_main

    return autodl_main()


if __name__ == "__main__":
    sys.exit(main())
