"""`autodl worker`: join an existing study from any machine and run its trials.

The study records its space (path and source), data source and settings, so a worker
needs only the storage and the study name. It stops when the study holds its total of
finished trials (shared by all workers), at --timeout, or on Ctrl-C/SIGTERM (exit 130,
after marking its running trial FAIL "interrupted").
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", help="the study's storage URL, e.g. postgresql://USER@HOST/DB "
                        "(default: $AUTODL_STORAGE, which keeps a password out of the process list)")
    parser.add_argument("--study-name", required=True, help="the study to join")
    parser.add_argument("--data", help="the data on this machine, when its path differs from the "
                        "one the study records")
    parser.add_argument("--timeout", type=float, help="end after this many seconds: no trial starts later, and the running one "
                        "stops training and keeps its best epoch so far")
    parser.add_argument("--out", help="folder for the best model found here (default: reports/STUDY-NAME)")
    local = parser.add_argument_group("several workers on this machine")
    local.add_argument("--jobs", type=int, help="worker processes (default: one per GPU, 1 without GPUs)")
    local.add_argument("--gpus", help="GPU ids the workers use, e.g. 0,1,3 (default: all visible)")
    local.add_argument("--trials-per-gpu", type=int, default=1, metavar="K", help="workers sharing each GPU")
    # Plumbing between `autodl search --jobs N` and its workers; not for users.
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-outputs", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from autodl import _process
    from autodl.cli import EXIT_INTERRUPTED
    from autodl.exceptions import ConfigError, SearchAborted
    from autodl.study import _workers as workers
    from autodl.study._memory import MemoryWatch, RestartState, restart_process

    started = RestartState.current().started  # a worker restarted to free memory keeps its clock
    stop = workers.GracefulStop().install()
    workers.die_with_parent()
    storage = args.storage or os.environ.get(workers.STORAGE_ENV)
    if not storage:
        raise ConfigError(f"--storage: give the study's storage URL (or set ${workers.STORAGE_ENV})")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.DEBUG if args.debug else optuna.logging.ERROR)
    local = os.environ.get(workers.SETTINGS_ENV)
    context = workers.join_study(
        storage,
        args.study_name,
        data=args.data,
        out=args.out,
        timeout=args.timeout,
        settings=json.loads(local) if local else None,
    )
    settings = context.settings
    if args.jobs is not None or args.gpus is not None or args.trials_per_gpu != 1:
        import dataclasses

        context.settings = dataclasses.replace(
            settings, jobs=args.jobs, gpus=args.gpus, trials_per_gpu=args.trials_per_gpu
        ).validate()
        if workers.uses_local_workers(context.settings):
            return _run_local_workers(context, stop, quiet=args.quiet)
    callbacks = []
    progress = None
    if not args.quiet:
        from autodl.report.terminal import SearchProgress

        progress = SearchProgress(context, live=False)
        progress.__enter__()
        print(f"worker {workers.worker_name()} joined study {context.study.study_name}", flush=True)
        callbacks.append(progress)
    threads = os.environ.get(workers.THREADS_ENV)
    deadline = _deadline(started, args.timeout)
    outcome = workers.run_worker(
        context,
        storage_url=storage,
        callbacks=callbacks,
        stop=stop,
        worker_index=args.worker_index,
        threads=int(threads) if threads else None,
        write_files=not args.no_outputs,
        deadline=deadline,
        # Only the command itself may replace its process, not a caller of main().
        memory_watch=MemoryWatch(settings.max_memory_growth) if _process.IS_COMMAND else None,
    )
    if progress is not None:
        progress.__exit__(None, None, None)
    if outcome.restart is not None:
        if not args.quiet:
            print("note: memory grew past --max-memory-growth: restarting this worker to free it", flush=True)
        restart_process(outcome.restart)  # its start time comes back: so does the deadline
    if outcome.interrupted:
        if not args.quiet:
            print(f"interrupted after {outcome.trials_run} trials of this worker")
        return EXIT_INTERRUPTED
    if outcome.aborted:
        raise SearchAborted(
            f"stopped after {settings.max_failures} consecutive failed trials; last reason: {outcome.aborted}"
        )
    if not args.quiet:
        why = (
            "the study reached its total"
            if outcome.reached_total
            else "every grid point was tried" if outcome.space_exhausted else "timeout"
        )
        print(f"worker {workers.worker_name()} ran {outcome.trials_run} trials; stopped: {why}")
    workers.export_if_last(context, outcome)  # when its parent search handed the export over
    if args.no_outputs and _process.IS_COMMAND:
        _exit_at_once()
    return 0


def _exit_at_once() -> None:
    """End a worker whose parent writes the outputs without the interpreter's teardown.

    Unloading TensorFlow takes a second or more, and the parent's export waits for it;
    everything this worker did is already in the storage."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _deadline(started: float, timeout: float | None) -> float | None:
    """When to start no more trials: --timeout from the start of this command, or the
    deadline of the parent that started this worker (it counts from its own start)."""
    from autodl.study._workers import DEADLINE_ENV

    ends = [started + timeout] if timeout else []
    if os.environ.get(DEADLINE_ENV):
        ends.append(float(os.environ[DEADLINE_ENV]))
    return min(ends) if ends else None


def _run_local_workers(context: object, stop: object, *, quiet: bool) -> int:
    from autodl.cli import EXIT_INTERRUPTED
    from autodl.study._workers import run_local_workers

    stop.uninstall()  # type: ignore[attr-defined]  # the parent's own SIGINT/SIGTERM handling
    callbacks = []
    if not quiet:
        from autodl.report.terminal import SearchProgress

        callbacks.append(SearchProgress(context, live=False))
    try:
        run_local_workers(context, callbacks=callbacks, finalize=False)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0
