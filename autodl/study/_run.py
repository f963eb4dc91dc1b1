"""Run a search: load space and data, create or resume the study, optimise, write outputs.

Optuna decides (sampler, pruner, storage); `autodl.train` runs Keras. The study in
storage is the single source of truth: outputs are rebuilt from it at the end.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodl.exceptions import ConfigError, SearchAborted
from autodl.study._memory import MemoryWatch, ProcessRestart, RestartState
from autodl.study._settings import SearchSettings
from autodl.study._storage import make_storage, mask_url
from autodl.train._objective import Objective

_logger = logging.getLogger(__name__)
STUDY_FILE = "study.journal"

TrialCallback = Callable[[Any, Any], None]  # (study, frozen_trial), as Optuna calls them


@dataclass
class SearchContext:
    """A search ready to run: everything loaded and the study created or resumed."""

    settings: SearchSettings
    loaded_space: Any  # autodl.space.LoadedSpace
    data: Any  # autodl.data.Dataset
    objective: Objective
    study: Any
    out: Path
    storage_url: str  # as the user can pass it back to --storage, credentials masked
    command: str = ""
    resumed_trials: int = 0

    @property
    def space(self) -> Any:
        return self.loaded_space.space

    def finished(self) -> int:
        import optuna

        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        return len(self.study.get_trials(deepcopy=False, states=states))


@dataclass
class SearchResult:
    """What `autodl.search()` returns: the study, its ranking and the exported best model."""

    study: Any
    out: Path
    summary: dict[str, Any]
    data: Any = field(repr=False, default=None)

    @property
    def leaderboard(self) -> Any:
        from autodl.results import leaderboard

        return leaderboard(self.study)

    @property
    def best_value(self) -> float | None:
        return self.summary.get("best_value")

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.summary.get("best_params") or {})

    @property
    def best_config(self) -> dict[str, Any] | None:
        return self.summary.get("best_config")

    @property
    def best_model(self) -> Any:
        import keras

        return keras.saving.load_model(self.out / "best_model.keras")


def search(
    space: str,
    data: str | None = None,
    *,
    trials: int = 20,
    callbacks: Sequence[TrialCallback] = (),
    **options: Any,
) -> SearchResult:
    """Search `space` (a file path or a built-in name) on `data`; see `SearchSettings`."""
    settings = SearchSettings(space=space, data=data, trials=trials, **options).validate()
    return run_search(prepare_search(settings), callbacks=callbacks)


def prepare_search(settings: SearchSettings, *, command: str = "") -> SearchContext:
    """Load the space and the data, then create the study or resume the existing one."""
    import optuna

    from autodl.space import load_space
    from autodl.space._hypermodel import adapt
    from autodl.study._generation import check_generation_data, resolve_generation_task

    settings = settings.validate()
    loaded = adapt(load_space(settings.space))  # a KerasTuner build target gets its adapter
    settings = resolve_generation_task(settings, loaded.space)  # a generative family: generation
    source = settings.data or getattr(loaded.space, "default_data", None)
    if not source:
        raise ConfigError(f"{loaded.path}: the space names no default_data; pass --data")
    data = settings.load_dataset(source)
    check_generation_data(loaded.space, data)
    if hasattr(loaded.space, "for_task"):  # e.g. keep only the losses this task trains with
        loaded = dataclasses.replace(loaded, space=loaded.space.for_task(data.task))
    if getattr(loaded.space, "builds_own_model", False):
        # The user's compile() decides which metrics exist: build once with the defaults.
        objective = loaded.space.infer_objective(settings.objective, data.task)
    else:
        objective = Objective.parse(
            settings.objective, data.task, families=getattr(loaded.space, "families", None)
        )
    study_name = settings.study_name or f"{loaded.name}-{data.name}"
    out = Path(settings.out or Path("reports") / study_name)
    _check_out_folder(out, study_name, overwrite=settings.overwrite)
    storage_url = settings.storage or str(out / STUDY_FILE)
    storage = make_storage(storage_url)
    max_epochs = _max_epochs(loaded.space)
    from autodl.study._samplers import make_pruner, make_sampler

    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction=objective.direction,
        sampler=make_sampler(settings.sampler, seed=settings.seed, space=loaded.space),
        pruner=make_pruner(settings.pruner, max_epochs=max_epochs),
        load_if_exists=True,
    )
    _check_or_record(study, settings, loaded, data, objective)
    context = SearchContext(
        settings=settings,
        loaded_space=loaded,
        data=data,
        objective=objective,
        study=study,
        out=out,
        storage_url=mask_url(storage_url),
        command=command,
    )
    from autodl.study._owners import fail_orphaned_trials

    orphaned = fail_orphaned_trials(study)
    if orphaned:
        _logger.warning("marked trials %s FAIL: their process ended mid-trial", orphaned)
    context.resumed_trials = len(study.get_trials(deepcopy=False))
    if context.resumed_trials and settings.sampler not in ("grid", "qmc"):
        # The same seed again would draw the points the first run drew (grid and QMC go on
        # from the trials in storage instead).
        from autodl.study._workers import worker_seed

        seed = worker_seed(settings.seed, f"resumed:{context.resumed_trials}")
        study.sampler = make_sampler(settings.sampler, seed=seed, space=loaded.space)
    _queue_starts(study, loaded.space, total=settings.trials)
    return context


def _queue_starts(study: Any, space: Any, *, total: int) -> None:
    """Queue the space's textbook trial, then its warm starts, that the study has not queued
    yet: as many as `total` (the study's trial budget) leaves room for, so `--trials 3`
    leaves nothing waiting and a rerun with a larger budget queues the rest."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    starts: list[tuple[dict[str, Any], str]] = []
    textbook = getattr(space, "textbook", None)
    if textbook and not any(t.user_attrs.get("textbook") for t in trials):  # a retry keeps the mark
        starts.append((textbook, "textbook"))
    queued_warm = sum(1 for t in trials if t.user_attrs.get("warm_start"))
    starts += [(start, "warm_start") for start in list(getattr(space, "warm_starts", ()))[queued_warm:]]
    taken = sum(1 for t in trials if t.state != TrialState.FAIL)  # finished, running or queued
    for params, mark in starts[: max(0, total - taken)]:
        study.enqueue_trial(params, user_attrs={mark: True})


def _check_out_folder(out: Path, study_name: str, *, overwrite: bool) -> None:
    """Never write over another study's outputs unless asked to."""
    import json

    try:
        other = json.loads((out / "summary.json").read_text()).get("study_name")
    except (OSError, ValueError, AttributeError):
        return
    if other and other != study_name and not overwrite:
        raise ConfigError(
            f"--out {out}: holds the outputs of study '{other}', not '{study_name}'; "
            "choose another --out, pass --study-name "
            f"{other} to resume it, or --overwrite to replace its files"
        )


def _max_epochs(space: Any) -> int:
    if hasattr(space, "max_epochs"):  # a space that builds its own model (KerasTuner)
        return int(space.max_epochs)
    entry = getattr(space, "entries", {}).get("epochs")
    if entry is None:
        return 20
    value = entry.value
    return int(getattr(value, "high", None) or max(getattr(value, "values", None) or [value]))


def _check_or_record(study: Any, settings: SearchSettings, loaded: Any, data: Any, objective: Objective) -> None:
    """Record what the study searches; refuse to resume it with another metric."""
    attrs = study.user_attrs
    if "metric" in attrs and attrs["metric"] != objective.metric:
        raise ConfigError(
            f"study '{study.study_name}' optimises {attrs['metric']}; this run asks for "
            f"{objective.metric}: pass --study-name to start a new study"
        )
    if "metric" in attrs:
        return
    study.set_user_attr("metric", objective.metric)
    study.set_user_attr("task", data.task)
    study.set_user_attr("data", data.source)
    study.set_user_attr("data_description", data.describe())
    study.set_user_attr("space", str(loaded.path.resolve()))
    # Workers on other machines may lack the file at that path: they run this copy of it.
    study.set_user_attr("space_source", loaded.path.read_text(encoding="utf-8"))
    study.set_user_attr("settings", {k: v for k, v in settings.to_dict().items() if k != "storage"})
    study.set_metric_names([objective.metric])


def run_search(
    context: SearchContext, *, callbacks: Sequence[TrialCallback] = (), restartable: bool = False
) -> SearchResult:
    """Optimise until the study has `trials` finished trials (or the timeout), then write outputs.

    Memory (see autodl/study/_memory.py): once trials have grown this process by
    `max_memory_growth` MB and trials remain, a `restartable` caller (`autodl search`,
    which can exec itself) gets `ProcessRestart`, outputs written; any other caller's
    process stops training and a worker process runs the remaining trials.
    """
    from autodl.report.html import ReportRefresher, write_search_report
    from autodl.results import write_outputs
    from autodl.study._workers import (
        AcceleratorOptions,
        WorkerOutcome,
        claim_lock,
        run_trials,
        uses_local_workers,
    )

    settings = context.settings
    if uses_local_workers(settings):  # --jobs N or --gpus: worker processes, one study
        return _run_in_workers(context, callbacks)
    # Keras loads from here on: the parent of worker processes above never needs it.
    from autodl.study._objective_fn import TrialRunner
    from autodl.train._device import configure_devices

    configure_devices()
    accelerator = AcceleratorOptions(settings)  # --mixed-precision, --jit
    runner = TrialRunner(context)
    state = RestartState.current()  # a restarted process goes on with the search's clock
    memory_watch = MemoryWatch(settings.max_memory_growth)
    # The loop every worker runs: `autodl worker`s that join this study share its total.
    lock = claim_lock(settings.storage or str(context.out / STUDY_FILE), context.study.study_name)
    outcome = WorkerOutcome()
    try:
        outcome = run_trials(
            context.study,
            runner,
            total=settings.trials,
            deadline=state.started + settings.timeout if settings.timeout else None,
            max_failures=settings.max_failures,
            callbacks=[*callbacks, ReportRefresher.for_search(context)],  # report.html mid-search
            catch=(runner.failure_type,),
            lock=lock,
            memory_watch=memory_watch,
        )
    finally:
        lock.close()
        accelerator.restore()
        summary = write_outputs(
            context.study, context.out, storage=context.storage_url, wall_seconds=time.time() - state.started
        )
        if sys.exc_info()[0] is not None or outcome.aborted or outcome.interrupted:
            write_search_report(context, wall_seconds=summary.get("wall_seconds"))  # never raises
    if outcome.interrupted:  # the running trial is FAIL "interrupted"; the caller says so
        raise KeyboardInterrupt
    if outcome.aborted:
        raise SearchAborted(
            f"stopped after {settings.max_failures} consecutive failed trials; last reason: {outcome.aborted}"
        )
    if outcome.restart is not None:
        if restartable:
            raise ProcessRestart(memory_watch.reason(), outcome.restart)
        _logger.warning("%s: a worker process runs the remaining trials", memory_watch.reason())
        if settings.timeout:
            left = settings.timeout - (time.time() - state.started)
            context.settings = dataclasses.replace(settings, timeout=left)
        return _run_in_workers(context, callbacks)
    from autodl.export import finalize_export

    # Refit, SavedModel, model card, the one test score and the ensemble: after all choices,
    # then the report, so it shows them.
    try:
        summary.update(finalize_export(context))
    finally:
        write_search_report(context, wall_seconds=summary.get("wall_seconds"))
    return SearchResult(context.study, context.out, summary, data=context.data)


def _run_in_workers(context: SearchContext, callbacks: Sequence[TrialCallback]) -> SearchResult:
    """The search's trials in worker processes; this process watches, the last one exports."""
    from autodl.report.html import ReportRefresher
    from autodl.study._workers import run_local_workers

    # The watching process refreshes report.html without the best model's section (no
    # Keras needed); the final report adds it.
    return run_local_workers(context, callbacks=[*callbacks, ReportRefresher.for_search(context, best_model=False)])
