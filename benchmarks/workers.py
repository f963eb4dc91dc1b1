"""Scale-out benchmark (not a test): `python -m benchmarks.workers`.

1. Throughput: the same small search with `--jobs 1` and `--jobs 2`, measured in one run;
   finished trials per minute of each, and their ratio.
2. Storage overhead per trial on a no-op objective (10 parameters, random sampler): the
   embedded journal file against PostgreSQL, through autodl's worker loop (claim lock,
   heartbeat, counts) and through plain `study.optimize` for reference.

PostgreSQL comes from --postgres or $AUTODL_TEST_POSTGRES_URL; without it that row is left
out. Both runs of part 1 share this machine with whatever else runs on it: run it idle.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SPACE = """
from autodl.space import SearchSpace, choice, integer

space = SearchSpace(
    family="mlp",
    default_data="builtin:breast_cancer",
    layers=integer(1, 2),
    units=choice(16, 32, 64),
    activation=choice("relu", "tanh"),
    optimizer="adam",
    learning_rate=choice(0.001, 0.003),
    batch_size=32,
    epochs={epochs},
    patience={epochs},
)
"""


def _search(folder: Path, jobs: int, trials: int) -> dict[str, float]:
    """Run `autodl search --jobs N` in a fresh process; rates from the wall clock and the trials."""
    import optuna

    from autodl.study import make_storage

    out = folder / f"jobs{jobs}"
    command = [
        sys.executable, "-m", "autodl", "search", "--space", str(folder / "space.py"),
        "--trials", str(trials), "--jobs", str(jobs), "--sampler", "random", "--pruner", "none",
        "--seed", "0", "--out", str(out), "--study-name", f"bench-jobs{jobs}",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"autodl search --jobs {jobs} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    study = optuna.load_study(study_name=f"bench-jobs{jobs}", storage=make_storage(str(out / "study.journal")))
    trials_done = [t for t in study.trials if t.state.is_finished() and t.datetime_complete]
    finished = len([t for t in trials_done if t.state.name in ("COMPLETE", "PRUNED")])
    first = min(t.datetime_start for t in trials_done)
    last = max(t.datetime_complete for t in trials_done)
    span = (last - first).total_seconds()
    return {
        "finished": finished,
        "wall_s": wall,
        "span_s": span,
        "per_min_wall": finished / wall * 60,
        "per_min_span": finished / span * 60,
    }


def throughput(trials: int, epochs: int, repeats: int = 1) -> dict[str, object]:
    """`repeats` pairs of runs (1 then 2 workers, back to back); each pair gives a ratio."""
    import statistics

    pairs = []
    with tempfile.TemporaryDirectory(prefix="autodl-bench-") as tmp:
        for repeat in range(repeats):
            folder = Path(tmp) / str(repeat)
            folder.mkdir()
            (folder / "space.py").write_text(SPACE.format(epochs=epochs))
            one = _search(folder, 1, trials)
            two = _search(folder, 2, trials)
            pairs.append({
                "jobs1": one,
                "jobs2": two,
                "ratio_wall": two["per_min_wall"] / one["per_min_wall"],
                "ratio_span": two["per_min_span"] / one["per_min_span"],
            })  # fmt: skip
    return {
        "pairs": pairs,
        "ratio_wall": statistics.median(p["ratio_wall"] for p in pairs),
        "ratio_span": statistics.median(p["ratio_span"] for p in pairs),
    }


def _noop_objective(trial: object) -> float:
    return sum(trial.suggest_float(f"p{i}", 0.0, 1.0) for i in range(10))  # type: ignore[attr-defined]


def storage_cost(url: str, n: int) -> dict[str, float]:
    """Milliseconds per no-op trial: autodl's worker loop, then plain study.optimize."""
    import optuna

    from autodl.study import make_storage
    from autodl.study._workers import claim_lock, run_trials

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    result = {}
    for how in ("autodl loop", "study.optimize"):
        name = f"bench-storage-{uuid.uuid4().hex[:10]}"
        storage = make_storage(url)
        study = optuna.create_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        start = time.perf_counter()
        if how == "autodl loop":
            lock = claim_lock(url, name)
            try:
                run_trials(study, _noop_objective, total=n, lock=lock)
            finally:
                lock.close()
        else:
            study.optimize(_noop_objective, n_trials=n)
        result[how] = (time.perf_counter() - start) / n * 1000
        optuna.delete_study(study_name=name, storage=storage)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="trials of each search (default 20)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per trial (default 5)")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs; the median ratio is reported")
    parser.add_argument("--storage-trials", type=int, default=100, help="no-op trials per storage (default 100)")
    parser.add_argument("--postgres", default=os.environ.get("AUTODL_TEST_POSTGRES_URL"),
                        help="PostgreSQL URL (default: $AUTODL_TEST_POSTGRES_URL)")
    parser.add_argument("--skip-search", action="store_true", help="only the storage part")
    parser.add_argument("--json", action="store_true", help="also print the numbers as JSON")
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {cores} CPU cores, load average {os.getloadavg()[0]:.2f} at start")
    report: dict[str, object] = {}
    if not args.skip_search:
        result = throughput(args.trials, args.epochs, args.repeats)
        report["throughput"] = result
        print(f"\nsearch: {args.trials} trials, MLP on breast_cancer, {args.epochs} epochs, random sampler, no pruning")
        for i, pair in enumerate(result["pairs"], 1):
            for jobs in (1, 2):
                r = pair[f"jobs{jobs}"]
                print(
                    f"  run {i} --jobs {jobs}: {r['per_min_wall']:.1f} finished trials/min over the whole command "
                    f"({r['wall_s']:.1f} s), {r['per_min_span']:.1f}/min from first trial start to last end "
                    f"({r['span_s']:.1f} s)"
                )
            print(f"  run {i} speed-up: {pair['ratio_wall']:.2f}x (whole command), {pair['ratio_span']:.2f}x (trials only)")
        print(f"  RATIO 2 vs 1 workers, median of {len(result['pairs'])}: {result['ratio_wall']:.2f}x (whole command), "
              f"{result['ratio_span']:.2f}x (trials only); target >= 1.7x")
    with tempfile.TemporaryDirectory(prefix="autodl-bench-") as tmp:
        storages = {"journal file": str(Path(tmp) / "study.journal")}
        if args.postgres:
            storages["PostgreSQL"] = args.postgres
        costs = {label: storage_cost(url, args.storage_trials) for label, url in storages.items()}
    report["storage_ms_per_trial"] = costs
    print(f"\nstorage overhead per no-op trial (10 parameters, random sampler, {args.storage_trials} trials):")
    for label, cost in costs.items():
        print(f"  {label:<13} autodl worker loop {cost['autodl loop']:6.1f} ms   study.optimize {cost['study.optimize']:6.1f} ms")
    if not args.postgres:
        print("  PostgreSQL: skipped (pass --postgres URL or set AUTODL_TEST_POSTGRES_URL)")
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
