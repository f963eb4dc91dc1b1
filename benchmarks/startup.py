"""`autodl --help` wall time against `python -c pass` (target: under 0.5 s more).

    python -m benchmarks.startup [--runs 7]

Both commands run alternately in fresh processes with the same interpreter; the figure
is the difference of the medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def autodl_command() -> list[str]:
    """The installed console script beside this interpreter, else the one on PATH."""
    script = Path(sys.executable).with_name("autodl")
    if script.exists():
        return [str(script), "--help"]
    found = shutil.which("autodl")
    if found is None:
        raise SystemExit("the autodl console script is not installed (pip install -e .)")
    return [found, "--help"]


def wall_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    baseline_cmd = [sys.executable, "-c", "pass"]
    autodl_cmd = autodl_command()
    wall_seconds(baseline_cmd)  # warm the file cache for both before timing
    wall_seconds(autodl_cmd)
    baseline, autodl = [], []
    for _ in range(args.runs):
        baseline.append(wall_seconds(baseline_cmd))
        autodl.append(wall_seconds(autodl_cmd))
    b, a = statistics.median(baseline), statistics.median(autodl)
    print(f"python -c pass : median {b:.3f} s over {args.runs} runs (min {min(baseline):.3f})")
    print(f"autodl --help  : median {a:.3f} s over {args.runs} runs (min {min(autodl):.3f})")
    verdict = "meets" if a - b < 0.5 else "misses"
    print(f"RATIO autodl --help / python -c pass = {a / b:.1f}x; difference {a - b:+.3f} s "
          f"({verdict} the < 0.5 s target)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
