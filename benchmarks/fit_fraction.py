"""The fraction of a 2-epoch digits trial's wall time that autodl spends outside `model.fit`.

    python -m benchmarks.fit_fraction [--trials 3]

Runs `autodl.search` on builtin:digits with a CNN space fixed to 2 epochs (no pruner, so
every trial trains both epochs) and times every `keras.Model.fit` call by wrapping it.
A trial's wall time is Optuna's datetime_start -> datetime_complete. Target: <= 5% outside
fit. The other wrapped steps (build, compile, keeping the model among the top K for the
ensemble, best-model save, memory release) show where the time outside fit goes.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

SPACE = """\
from autodl.space import SearchSpace, integer, real

space = SearchSpace(
    family="cnn",
    default_data="builtin:digits",
    filters=integer(8, 32, log=True),
    learning_rate=real(1e-3, 1e-2, log=True),
    epochs=2,
)
"""

# (label, intervals): every call of a wrapped step, as (start, end) wall-clock datetimes.
Intervals = list[tuple[datetime, datetime]]


def timed(label: str, fn: Callable[..., Any], log: dict[str, Intervals]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = datetime.now()
        try:
            return fn(*args, **kwargs)
        finally:
            log.setdefault(label, []).append((start, datetime.now()))

    return wrapper


def seconds_within(intervals: Intervals, start: datetime, end: datetime) -> float:
    return sum((b - a).total_seconds() for a, b in intervals if a >= start and b <= end)


def main(argv: list[str] | None = None) -> int:
    import logging
    import warnings

    import keras
    import optuna

    import autodl
    import autodl._process
    import autodl.builders
    import autodl.export._best as best_module
    import autodl.export._topk as topk_module
    import autodl.train._fit as fit_module

    parser = argparse.ArgumentParser(prog="python -m benchmarks.fit_fraction", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    # Trials run as the `autodl search` command runs them (this process is the benchmark's own).
    autodl._process.IS_COMMAND = True
    log: dict[str, Intervals] = {}
    keras.Model.fit = timed("fit", keras.Model.fit, log)
    autodl.builders.build_model = timed("build", autodl.builders.build_model, log)
    fit_module.compile_model = timed("compile", fit_module.compile_model, log)
    fit_module.release_memory = timed("release memory", fit_module.release_memory, log)
    best_module.BestModelWriter.offer = timed("save best model", best_module.BestModelWriter.offer, log)
    topk_module.TopKModels.offer = timed("keep top-K model", topk_module.TopKModels.offer, log)

    with tempfile.TemporaryDirectory() as tmp:
        space_file = Path(tmp) / "digits_2_epochs.py"
        space_file.write_text(SPACE)
        start = time.perf_counter()
        result = autodl.search(
            str(space_file), data="builtin:digits", trials=args.trials, seed=0, pruner="none",
            out=str(Path(tmp) / "out"),
        )  # fmt: skip
        search_seconds = time.perf_counter() - start
        trials = [t for t in result.study.get_trials(deepcopy=False) if t.datetime_complete]

    print(f"autodl.search on builtin:digits, CNN fixed to 2 epochs, {len(trials)} trials "
          f"({search_seconds:.1f} s including export)")  # fmt: skip
    steps = ("build", "compile", "keep top-K model", "save best model", "release memory")
    labels = [k for k in steps if k in log]
    header = "  trial  state     epochs  wall s   fit s  outside  " + "  ".join(f"{k} s" for k in labels)
    print(header)
    total_wall = total_fit = 0.0
    later_wall = later_fit = 0.0
    for trial in trials:
        wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
        fit = seconds_within(log.get("fit", []), trial.datetime_start, trial.datetime_complete)
        parts = [seconds_within(log[k], trial.datetime_start, trial.datetime_complete) for k in labels]
        total_wall, total_fit = total_wall + wall, total_fit + fit
        if trial.number > 0:
            later_wall, later_fit = later_wall + wall, later_fit + fit
        print(
            f"  {trial.number:5d}  {trial.state.name:<8}  {trial.user_attrs.get('epochs', '-')!s:>6}  "
            f"{wall:6.2f}  {fit:6.2f}  {1 - fit / wall:6.1%}  "
            + "  ".join(f"{p:{len(k) + 2}.3f}" for p, k in zip(parts, labels, strict=True))
        )
    fraction = 1 - total_fit / total_wall
    verdict = "meets" if fraction <= 0.05 else "misses"
    print(f"RATIO outside model.fit: {fraction:.1%} of trial wall time over {len(trials)} trials "
          f"({verdict} the <= 5% target)")  # fmt: skip
    if later_wall:
        print(f"  without the first trial: {1 - later_fit / later_wall:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
