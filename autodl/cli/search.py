"""`autodl search`: parse -> SearchSettings -> prepare and run the study -> render."""

from __future__ import annotations

import argparse
import shlex
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    space = parser.add_argument_group("what to search")
    space.add_argument("--space", required=True, help="space file (.py) or built-in name: mlp, cnn, rnn")
    space.add_argument("--data", help="builtin:NAME, FILE.npz, FILE.csv, FILE.parquet or an image folder "
                       "(default: the space's default_data)")
    space.add_argument("--target", help="target column of a CSV/Parquet file")
    space.add_argument("--task", help="binary, multiclass, classification or regression (default: inferred)")
    space.add_argument("--objective", help="metric to optimise, NAME[:min|max], e.g. val_auc or val_loss:min")
    space.add_argument("--val-size", type=float, default=0.2, help="validation fraction (default 0.2)")
    budget = parser.add_argument_group("budget")
    budget.add_argument("--trials", type=int, default=20, help="finished trials for the study in total (default 20)")
    budget.add_argument("--timeout", type=float, help="stop starting new trials after this many seconds")
    budget.add_argument("--max-failures", type=int, default=5,
                        help="stop after this many consecutive failed trials (default 5)")
    optuna_group = parser.add_argument_group("optuna")
    optuna_group.add_argument("--sampler", default="tpe", help="tpe, random, cmaes, gp, qmc or grid (default tpe)")
    optuna_group.add_argument("--pruner", default="hyperband",
                              help="hyperband, median, sha, percentile, patient, wilcoxon or none")
    optuna_group.add_argument("--seed", type=int, help="seed for sampling, splits and weights")
    optuna_group.add_argument("--storage", help="Optuna storage URL or journal file (default: OUT/study.journal)")
    optuna_group.add_argument("--study-name", help="study name (default: SPACE-DATA); rerunning resumes it")
    optuna_group.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", help="output folder (default: reports/STUDY-NAME)")
    output.add_argument("--top", type=int, default=10, help="rows of the final table (default 10)")
    output.add_argument("--dry-run", action="store_true", help="print the search space and the data, train nothing")


def run(args: argparse.Namespace) -> int:
    from autodl.study import SearchSettings, prepare_search, run_search

    settings = SearchSettings(
        space=args.space,
        data=args.data,
        target=args.target,
        task=args.task,
        trials=args.trials,
        timeout=args.timeout,
        seed=args.seed,
        out=args.out,
        storage=args.storage,
        study_name=args.study_name,
        jobs=args.jobs,
        sampler=args.sampler,
        pruner=args.pruner,
        objective=args.objective,
        val_size=args.val_size,
        max_failures=args.max_failures,
    ).validate()
    if args.dry_run:
        return _dry_run(settings)
    import optuna

    from autodl.report.terminal import SearchProgress, print_leaderboard

    optuna.logging.set_verbosity(optuna.logging.DEBUG if args.debug else optuna.logging.ERROR)
    command = "autodl " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    context = prepare_search(settings, command=command)
    for note in context.data.notes:
        print(f"note: {note}")
    progress = SearchProgress(context)
    with progress:
        result = run_search(context, callbacks=[progress])
    print_leaderboard(result.study, top=args.top)
    _print_outcome(result)
    return 0


def _print_outcome(result: object) -> None:
    summary = result.summary  # type: ignore[attr-defined]
    counts = summary["trials"]
    best = summary["best_value"]
    print(
        f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed; "
        f"best {summary['metric']} = {best:.4f} (trial {summary['best_trial']})"
        if best is not None
        else f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed; no complete trial"
    )
    print(f"outputs in {result.out}/ (summary.json, leaderboard.csv, best_config.json, best_model.keras)")  # type: ignore[attr-defined]


def _dry_run(settings: object) -> int:
    from autodl.data import load_data
    from autodl.space import load_space

    loaded = load_space(settings.space)  # type: ignore[attr-defined]
    print(f"space {loaded.path}")
    space = loaded.space
    for row in space.describe():
        when = f"   when {row['when']}" if row["when"] else ""
        print(f"  {row['key']:<18} {row['values']}{when}")
    source = settings.data or space.default_data  # type: ignore[attr-defined]
    if source:
        data = load_data(source, target=settings.target, task=settings.task)  # type: ignore[attr-defined]
        print(f"data  {data.describe()}")
    return 0
