"""`autodl search`: parse -> SearchSettings -> prepare and run the study -> render."""

from __future__ import annotations

import argparse
import shlex
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    space = parser.add_argument_group("what to search")
    space.add_argument("--space", required=True, help="space file (.py) or built-in name: mlp, cnn, rnn, "
                       "autoencoder, vae, textgen")
    space.add_argument("--data", help="builtin:NAME, FILE.npz, FILE.csv, FILE.parquet or an image folder "
                       "(default: the space's default_data)")
    space.add_argument("--target", help="target column of a CSV/Parquet file (optional for generation: "
                       "it only colours plots)")
    space.add_argument("--task", help="binary, multiclass, classification, regression or generation "
                       "(default: inferred; generation when the space's family is generative)")
    space.add_argument("--objective", help="metric to optimise, NAME[:min|max], e.g. val_auc or val_loss:min")
    space.add_argument("--val-size", type=float, default=0.2, help="validation fraction (default 0.2)")
    budget = parser.add_argument_group("budget")
    budget.add_argument("--trials", type=int, default=20, help="finished trials for the study in total (default 20)")
    budget.add_argument("--timeout", type=float, help="end the search after this many seconds: no trial starts later, and the "
                        "running one stops training and keeps its best epoch so far")
    budget.add_argument("--max-failures", type=int, default=5,
                        help="stop after this many consecutive failed trials (default 5)")
    budget.add_argument("--max-memory-growth", type=float, default=200.0, metavar="MB",
                        help="restart the search process (it resumes by itself) once its memory grew by "
                        "more than MB since its first trial (default 200; 0: never)")
    optuna_group = parser.add_argument_group("optuna")
    optuna_group.add_argument("--sampler", default="tpe", help="tpe, random, cmaes, gp, qmc or grid (default tpe)")
    optuna_group.add_argument("--pruner", default="hyperband",
                              help="hyperband, median, sha, percentile, patient, wilcoxon or none")
    optuna_group.add_argument("--seed", type=int, help="seed for sampling, splits and weights")
    optuna_group.add_argument("--storage", help="Optuna storage URL or journal file (default: OUT/study.journal)")
    optuna_group.add_argument("--study-name", help="study name (default: SPACE-DATA); rerunning resumes it")
    optuna_group.add_argument("--jobs", type=int,
                              help="worker processes on this machine, all on one study "
                              "(default: one per GPU, 1 without GPUs)")
    gpu = parser.add_argument_group("GPUs")
    gpu.add_argument("--gpus", help="GPU ids the workers use, e.g. 0,1,3 (default: all visible)")
    gpu.add_argument("--trials-per-gpu", type=int, default=1, metavar="K",
                     help="workers sharing each GPU (default 1)")
    gpu.add_argument("--mixed-precision", action="store_true",
                     help="compute in float16 where safe (mixed_float16); for GPUs")
    gpu.add_argument("--jit", action="store_true", help="compile models with XLA (jit_compile=True)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", help="output folder (default: reports/STUDY-NAME)")
    output.add_argument("--overwrite", action="store_true",
                        help="write into an --out folder that holds another study's outputs")
    output.add_argument("--top", type=int, default=10, help="rows of the final table (default 10)")
    output.add_argument("--dry-run", action="store_true", help="print the search space and the data, train nothing")
    export = parser.add_argument_group("export")
    export.add_argument("--test-size", type=float, help="hold out this fraction as a test split, "
                        "scored once after the search (an npz's x_test/y_test is used as is)")
    export.add_argument("--refit", action="store_true",
                        help="retrain the best configuration on train + validation and export that")
    export.add_argument("--ensemble", type=int, metavar="K",
                        help="keep the K best trials' models and export their weighted average, "
                             "chosen on validation loss, when it beats the best single model "
                             "(default 5; 0: export the best trial's model alone)")


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
        overwrite=args.overwrite,
        test_size=args.test_size,
        refit=args.refit,
        ensemble=args.ensemble,
        gpus=args.gpus,
        trials_per_gpu=args.trials_per_gpu,
        mixed_precision=args.mixed_precision,
        jit=args.jit,
        max_memory_growth=args.max_memory_growth,
    ).validate()
    if args.dry_run:
        return _dry_run(settings)
    import optuna

    from autodl import _process
    from autodl.cli._signals import EXIT_INTERRUPTED, graceful_interrupts
    from autodl.report.terminal import SearchProgress, print_leaderboard
    from autodl.study._memory import ProcessRestart, restart_process

    optuna.logging.set_verbosity(optuna.logging.DEBUG if args.debug else optuna.logging.ERROR)
    command = "autodl " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    from autodl.study import _workers

    if _process.IS_COMMAND and _workers.uses_local_workers(settings):
        _workers.prestart_workers(settings)  # they load Keras while this process prepares
    context = prepare_search(settings, command=command)
    for note in context.data.notes:
        print(f"note: {note}")
    progress = SearchProgress(context)
    try:
        with graceful_interrupts(), progress:
            result = run_search(context, callbacks=[progress], restartable=_process.IS_COMMAND)
    except ProcessRestart as restart:
        print(f"note: {restart}: restarting this process to free it; the search resumes", flush=True)
        restart_process(restart.state)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {context.finished()} finished trials are saved in {context.storage_url}; "
            f"outputs in {context.out}/\nresume with: {command}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print_leaderboard(result.study, top=args.top)
    _print_outcome(result)
    from autodl.cli.export import print_export

    print_export(result.out, result.summary)
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
    out = result.out  # type: ignore[attr-defined]
    print(f"outputs in {out}/ (summary.json, leaderboard.csv, best_config.json, best_model.keras, report.html)")
    if (out / "report.html").is_file():
        print(f"report: {(out / 'report.html').resolve().as_uri()}")


def _dry_run(settings: object) -> int:
    from autodl.data import load_data
    from autodl.space import load_space
    from autodl.space._hypermodel import adapt
    from autodl.study._generation import resolve_generation_task

    loaded = adapt(load_space(settings.space))  # type: ignore[attr-defined]
    settings = resolve_generation_task(settings, loaded.space)
    print(f"space {loaded.path}")
    space = loaded.space
    for row in space.describe():
        when = f"   when {row['when']}" if row["when"] else ""
        print(f"  {row['key']:<18} {row['values']}{when}")
    for note in getattr(space, "notes", ()):  # KerasTuner spaces: how trials will train
        print(f"  note: {note}")
    source = settings.data or space.default_data  # type: ignore[attr-defined]
    if source:
        data = load_data(source, target=settings.target, task=settings.task)  # type: ignore[attr-defined]
        print(f"data  {data.describe()}")
    return 0
