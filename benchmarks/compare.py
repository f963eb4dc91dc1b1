"""autodl against KerasTuner and plain Optuna at equal wall-clock budget, on held-out test data.

    python -m benchmarks.compare --tasks digits,breast_cancer,wine,diabetes --budget 60 \
        --seeds 0,1,2 --methods autodl,kt_random,kt_hyperband,kt_bayes,optuna_random,optuna_tpe

Each (task, seed) has one seeded split (autodl's loader: stratified for classification,
20% test, then 20% of the rest for validation) that every method gets. Each run is a fresh
Python process whose clock starts after the libraries are imported; the method chooses its
best model on validation only, and that model is scored once on the test split: accuracy
for classification, R^2 (and RMSE) for regression. Writes OUT/results.jsonl (one line per
task/method/seed) and OUT/results.md (the table), and prints both summaries.

`--reuse FILE` takes the rows of methods not run now from an earlier results.jsonl (same
tasks, seeds and budget; the split fingerprints must match), to rerun autodl alone against
peers whose code did not change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._tasks import TASKS

METHODS = ("autodl", "kt_random", "kt_hyperband", "kt_bayes", "optuna_random", "optuna_tpe")
RANDOM_BASELINES = ("optuna_random", "kt_random")  # "random search" for the time-to-target ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="digits,breast_cancer,wine,diabetes")
    parser.add_argument("--budget", type=float, default=60.0, help="wall-clock seconds per run")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", default="benchmarks/results", help="folder for results.jsonl/.md")
    parser.add_argument("--reuse", metavar="FILE", help="earlier results.jsonl: rows of methods not run now")
    parser.add_argument("--one", nargs=3, metavar=("TASK", "METHOD", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        task, method, seed = args.one
        return run_one(task, method, int(seed), args.budget, Path(args.result_file))
    tasks = _names(args.tasks, TASKS, "--tasks")
    methods = _names(args.methods, METHODS, "--methods")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = _reused_rows(Path(args.reuse), tasks, seeds, methods, args.budget) if args.reuse else []
    jsonl = out / "results.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    for task in tasks:
        for seed in seeds:
            for method in methods:
                row = run_child(task, method, seed, args.budget, out)
                rows.append(row)
                with jsonl.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(_progress(row), flush=True)
    _check_one_split(rows, str(jsonl))
    table = markdown_table(rows)
    ratios = time_to_target_lines(rows)
    header = (
        f"budget {args.budget:g} s per run, seeds {','.join(map(str, seeds))}; test score: accuracy "
        "(classification) or R^2 (regression), mean ± sd over seeds"
    )
    reused = sorted({r["method"] for r in rows if "reused_from" in r})
    if reused:
        header += f"; rows of {', '.join(reused)} reused from {args.reuse} (not rerun)"
    (out / "results.md").write_text(f"{header}\n\n{table}\n\n" + "\n".join(f"- {r}" for r in ratios) + "\n")
    print()
    print(header)
    print()
    print(table)
    print()
    for line in ratios:
        print(line)
    print(f"\nwrote {jsonl} and {out / 'results.md'}")
    return 0


def _reused_rows(
    path: Path, tasks: list[str], seeds: list[int], methods: list[str], budget: float
) -> list[dict[str, Any]]:
    """Rows of `path` for the tasks and seeds asked, of the methods not run now, same budget."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    kept = [
        {**row, "reused_from": str(path)}
        for row in rows
        if row["task"] in tasks and row["seed"] in seeds and row["method"] not in methods
        and row["budget"] == budget and "error" not in row
    ]
    _check_one_split(kept, f"--reuse {path}")
    print(f"reusing {len(kept)} rows of {path} ({', '.join(sorted({r['method'] for r in kept}))})")
    return kept


def _check_one_split(rows: list[dict[str, Any]], where: str) -> None:
    """Every method of a (task, seed) must have seen the same split."""
    prints: dict[tuple[str, int], set[str]] = {}
    for row in rows:
        if row.get("split"):
            prints.setdefault((row["task"], row["seed"]), set()).add(row["split"])
    for (task, seed), found in prints.items():
        if len(found) > 1:
            raise SystemExit(f"{where}: {task} seed {seed} has rows of different splits {sorted(found)}")


def _names(text: str, valid: tuple[str, ...], flag: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in valid:
            raise SystemExit(f"{flag}: unknown '{name}'; choose from {', '.join(valid)}")
    return names


# ---------------------------------------------------------------------- one run
def run_child(task: str, method: str, seed: int, budget: float, out: Path) -> dict[str, Any]:
    """One run in a fresh process, so no method inherits another's graphs, caches or memory."""
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        command = [
            sys.executable, "-m", "benchmarks.compare", "--one", task, method, str(seed),
            "--budget", str(budget), "--result-file", str(result_file),
        ]  # fmt: skip
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        start = time.perf_counter()
        with open(logs / f"{task}-{method}-{seed}.log", "w") as log:
            try:
                code = subprocess.run(
                    command, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=budget * 4 + 300
                ).returncode
            except subprocess.TimeoutExpired:
                code = -1
        row: dict[str, Any] = {"task": task, "method": method, "seed": seed, "budget": budget}
        if result_file.exists():
            row.update(json.loads(result_file.read_text()))
        else:
            log_file = logs / f"{task}-{method}-{seed}.log"
            lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
            last = lines[-1].strip()[:300] if lines else ""
            row["error"] = f"run failed (exit {code}): {last} (log: {log_file})"
        row["process_seconds"] = round(time.perf_counter() - start, 3)
        return row


def run_one(task: str, method: str, seed: int, budget: float, result_file: Path) -> int:
    """The child: import everything first (startup is not what is measured), then run."""
    import logging

    import keras  # noqa: F401
    import optuna

    import autodl.study  # noqa: F401
    from benchmarks._tasks import load_split

    optuna.logging.set_verbosity(logging.WARNING)
    split = load_split(task, seed)
    if method == "autodl":
        from benchmarks._autodl import run_autodl as runner
    else:
        import keras_tuner  # noqa: F401

        from benchmarks._peers import RUNNERS

        runner = RUNNERS[method]
    with tempfile.TemporaryDirectory() as tmp:
        result = runner(method, split, seed, budget, Path(tmp))
    result.update(
        metric=split.metric,
        task_kind=split.kind,
        split=split.fingerprint(),
        n_train=len(split.y_train),
        n_val=len(split.y_val),
        n_test=len(split.y_test),
        versions=versions(),
    )
    result_file.write_text(json.dumps(result))
    return 0


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("autodl", "keras", "tensorflow", "optuna", "keras-tuner", "numpy", "scikit-learn"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


def _progress(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['task']:>14} {row['method']:>13} seed {row['seed']}: {row['error']}"
    test = row.get("test") or {}
    score = test.get(row["metric"])
    return (
        f"{row['task']:>14} {row['method']:>13} seed {row['seed']}: test {row['metric']} "
        f"{_fmt(score)}, best val {_fmt(row.get('best_val'))}, {row['trials_finished']} trials "
        f"({row['trials_pruned']} pruned, {row['trials_failed']} failed), {row['epochs']} epochs, "
        f"search {row['search_seconds']:.1f} s"
    )


# ---------------------------------------------------------------------- summaries
def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def _mean(values: list[float], digits: int = 1) -> str:
    return f"{statistics.mean(values):.{digits}f}" if values else "-"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | method | test score (metric) | best val | trials finished | pruned | failed "
        "| epochs trained | search s | runs |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    order = {m: i for i, m in enumerate(METHODS)}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["method"]), []).append(row)
    for (task, method), group in sorted(groups.items(), key=lambda kv: (kv[0][0], order[kv[0][1]])):
        ok = [r for r in group if "error" not in r]
        metric = ok[0]["metric"] if ok else "-"
        test = [r["test"][metric] for r in ok if r.get("test")]
        lines.append(
            f"| {task} | {method} | {_mean_sd(test)} ({metric}) "
            f"| {_mean_sd([r['best_val'] for r in ok if r.get('best_val') is not None])} "
            f"| {_mean([r['trials_finished'] for r in ok])} | {_mean([r['trials_pruned'] for r in ok])} "
            f"| {_mean([r['trials_failed'] for r in ok])} | {_mean([r['epochs'] for r in ok], 0)} "
            f"| {_mean([r['search_seconds'] for r in ok])} | {len(ok)}/{len(group)} |"
        )
    return "\n".join(lines)


def first_time_at(timeline: list[list[float]], target: float) -> float:
    """Seconds until the best validation score so far first reached `target` (inf: never)."""
    for seconds, best in timeline:
        if best >= target - 1e-12:
            return float(seconds)
    return math.inf


def time_to_target_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Per task: time for autodl to reach random search's final median validation score,
    over random search's own time to reach it (medians over seeds; target <= 1/3)."""
    lines = []
    tasks = sorted({r["task"] for r in rows})
    for task in tasks:
        ok = [r for r in rows if r["task"] == task and "error" not in r and r.get("timeline")]
        baseline = next((m for m in RANDOM_BASELINES if any(r["method"] == m for r in ok)), None)
        autodl_runs = [r for r in ok if r["method"] == "autodl"]
        if baseline is None or not autodl_runs:
            lines.append(f"{task}: time-to-target ratio needs autodl and optuna_random or kt_random")
            continue
        random_runs = [r for r in ok if r["method"] == baseline]
        # median_low: a score one random run reached (the median of an even count is a mean).
        target = statistics.median_low(r["timeline"][-1][1] for r in random_runs)
        t_random = statistics.median(first_time_at(r["timeline"], target) for r in random_runs)
        t_autodl = statistics.median(first_time_at(r["timeline"], target) for r in autodl_runs)
        ratio = t_autodl / t_random if math.isfinite(t_autodl) and t_random > 0 else math.inf
        reached = "never reached" if math.isinf(t_autodl) else f"{t_autodl:.1f} s"
        lines.append(
            f"{task}: {baseline}'s final median val score {target:.4f}: autodl {reached} vs "
            f"{baseline} {t_random:.1f} s -> ratio {ratio:.2f} (target <= 0.33)"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
