"""Per-trial cost of autodl's orchestration against raw Optuna, on a no-op objective.

    python -m benchmarks.overhead [--trials 1000] [--chunk 100]

Both sides sample the same 10 parameters with the same sampler (autodl's TPE settings,
`make_sampler("tpe")`, same seed, so they draw the same points) and return the same cheap
function of them: what differs is only what autodl does around a trial. Measured in
memory and with the embedded journal-file storage (autodl's default), interleaved in
chunks so that load on a shared machine hits every side alike.

- raw Optuna: `create_study` + 10 `trial.suggest_*` calls.
- autodl orchestration: the study as `prepare_search` creates it (sampler, pruner, study
  user attrs), run by the trial loop `run_search` runs (`run_trials`: the claim lock of
  the storage, the study-wide count, heartbeat, the worker id, the failure count), and
  the per-trial work `TrialRunner.__call__` does around training (seeding,
  `SearchSpace.sample` with its params in one journal append, the config and result user
  attrs). Target <= 1.2x raw Optuna.
- autodl TrialRunner (extra line, first `--runner-trials` trials only): the real
  `TrialRunner` with training replaced by a no-op, so also its between-trial
  `release_memory()` (Keras `clear_session` + gc) and the best-model writer (a stub model
  whose save writes a few bytes); compared with raw Optuna over the same first trials.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 0


def ten_key_space() -> Any:
    from autodl.space import SearchSpace, choice, integer, real

    return SearchSpace(
        family="mlp",
        layers=integer(1, 4),
        units=integer(16, 256, log=True),
        activation=choice("relu", "gelu", "swish", "elu"),
        initializer=choice("he_normal", "glorot_uniform"),
        dropout=real(0.0, 0.5),
        l2=real(1e-7, 1e-2, log=True),
        scaling=choice("standard", "minmax"),
        optimizer=choice("adam", "adamw", "nadam"),
        learning_rate=real(1e-4, 3e-2, log=True),
        batch_size=choice(16, 32, 64, 128),
        epochs=1,
    )


def raw_suggest(trial: Any) -> dict[str, Any]:
    """The same 10 dimensions as a plain Optuna user writes them."""
    return {
        "layers": trial.suggest_int("layers", 1, 4),
        "units": trial.suggest_int("units", 16, 256, log=True),
        "activation": trial.suggest_categorical("activation", ["relu", "gelu", "swish", "elu"]),
        "initializer": trial.suggest_categorical("initializer", ["he_normal", "glorot_uniform"]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "l2": trial.suggest_float("l2", 1e-7, 1e-2, log=True),
        "scaling": trial.suggest_categorical("scaling", ["standard", "minmax"]),
        "optimizer": trial.suggest_categorical("optimizer", ["adam", "adamw", "nadam"]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 128]),
    }


def fake_score(params: dict[str, Any]) -> float:
    """A cheap deterministic stand-in for a validation accuracy, so TPE has a signal."""
    return (
        0.9
        - abs(math.log10(params["learning_rate"]) + 2.5) / 10
        - abs(params["dropout"] - 0.2) / 5
        + 0.01 * params["layers"]
        + (0.02 if params["activation"] == "relu" else 0.0)
    )


# ---------------------------------------------------------------------- the sides
class Side:
    """One study and its objective, optimised chunk by chunk; each chunk's seconds are kept."""

    def __init__(
        self, name: str, study: Any, objective: Callable[[Any], float], *, loop: Any = None
    ) -> None:
        self.name = name
        self.study = study
        self.objective = objective
        self.loop = loop  # None: plain `study.optimize`; else `loop(study, objective, total)`
        self.chunks: list[tuple[int, float]] = []  # (trials, seconds)

    def run(self, n: int) -> None:
        start = time.perf_counter()
        if self.loop is None:
            self.study.optimize(self.objective, n_trials=n, gc_after_trial=False)
        else:
            self.loop(self.study, self.objective, self.trials + n)
        self.chunks.append((n, time.perf_counter() - start))

    @property
    def trials(self) -> int:
        return sum(n for n, _ in self.chunks)

    def ms_per_trial(self, chunks: int | None = None) -> float:
        """Mean over the first `chunks` chunks (all by default): TPE's cost grows with trials."""
        kept = self.chunks[:chunks]
        return 1000 * sum(s for _, s in kept) / max(1, sum(n for n, _ in kept))


def storage_for(kind: str, folder: Path, name: str) -> Any:
    if kind == "memory":
        return None
    from autodl.study._storage import make_storage

    return make_storage(str(folder / f"{name}.journal"))  # autodl's default: a journal file


def raw_side(kind: str, folder: Path) -> Side:
    import optuna

    from autodl.study._samplers import make_sampler

    study = optuna.create_study(
        storage=storage_for(kind, folder, "raw"),
        direction="maximize",
        sampler=make_sampler("tpe", seed=SEED),
    )
    return Side(f"raw Optuna ({kind})", study, lambda trial: fake_score(raw_suggest(trial)))


def autodl_study(kind: str, folder: Path, name: str, space: Any) -> Any:
    """The study as `prepare_search` makes it: same sampler/pruner factories, same user attrs."""
    import optuna

    from autodl.study._samplers import make_pruner, make_sampler

    study = optuna.create_study(
        study_name=name,
        storage=storage_for(kind, folder, name),
        direction="maximize",
        sampler=make_sampler("tpe", seed=SEED, space=space),
        pruner=make_pruner("hyperband", max_epochs=1),
        load_if_exists=True,
    )
    for key, value in {
        "metric": "val_accuracy",
        "task": "multiclass",
        "data": "builtin:iris",
        "data_description": "iris",
        "space": "overhead.py",
        "space_source": "space = ...",
        "settings": {"trials": 10**9, "seed": SEED},
    }.items():
        study.set_user_attr(key, value)
    return study


def autodl_loop(kind: str, folder: Path, name: str) -> Callable[[Any, Any, int], None]:
    """`run_search`'s loop: `run_trials` under the storage's claim lock, until `total`."""
    from autodl.study._workers import claim_lock, run_trials
    from autodl.train import TrialFailure

    def loop(study: Any, objective: Any, total: int) -> None:
        # In memory there is no other process to share the study with: no lock, as in run_trials.
        lock = claim_lock(str(folder / f"{name}.journal"), study.study_name) if kind != "memory" else None
        try:
            run_trials(study, objective, total=total, max_failures=5, catch=(TrialFailure,), lock=lock)
        finally:
            if lock is not None:
                lock.close()

    return loop


def orchestration_side(kind: str, folder: Path) -> Side:
    """TrialRunner.__call__'s work around training, line for line, training a no-op."""
    import keras

    from autodl.study._objective_fn import result_attrs, sample_config
    from autodl.study._storage import set_user_attrs

    space = ten_key_space()
    study = autodl_study(kind, folder, "orchestration", space)

    def objective(trial: Any) -> float:
        keras.utils.set_random_seed(SEED + trial.number)
        config = sample_config(space, trial)
        trained = no_training(config)
        set_user_attrs(trial, result_attrs(trained))
        return trained.value

    return Side(
        f"autodl orchestration ({kind})", study, objective,
        loop=autodl_loop(kind, folder, "orchestration"),
    )  # fmt: skip


class _StubModel:
    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(b"stub")


def no_training(config: dict[str, Any]) -> Any:
    """What training returns, with training replaced by a no-op."""
    from autodl.train import TrainedModel

    value = fake_score(config)
    return TrainedModel(
        model=None, export_model=_StubModel(), value=value, best_epoch=0, epochs_run=1,
        seconds=0.0, n_params=1000, history={"loss": [0.5], "val_accuracy": [value]},
    )  # fmt: skip


def trial_runner_side(kind: str, folder: Path) -> Side:
    """The real TrialRunner, its `_train` replaced by a no-op."""
    from autodl.data import load_data
    from autodl.space import LoadedSpace
    from autodl.study import SearchSettings
    from autodl.study._objective_fn import TrialRunner
    from autodl.study._run import SearchContext
    from autodl.train._objective import Objective

    space = ten_key_space()
    study = autodl_study(kind, folder, "runner", space)
    out = folder / "runner-out"
    context = SearchContext(
        settings=SearchSettings(space="overhead.py", seed=SEED),
        loaded_space=LoadedSpace(path=Path(__file__), name="overhead", space=space, module=None),  # type: ignore[arg-type]
        data=load_data("builtin:iris", seed=SEED),
        objective=Objective("val_accuracy", "maximize"),
        study=study,
        out=out,
        storage_url="",
    )

    class NoTrainingRunner(TrialRunner):
        def _train(self, config: dict[str, Any], trial: Any) -> Any:
            return no_training(config)

    runner = NoTrainingRunner(context)
    return Side(
        f"autodl TrialRunner ({kind})", study, runner, loop=autodl_loop(kind, folder, "runner")
    )


def seed_call_ms(calls: int = 200) -> float:
    """What re-seeding Python, NumPy and the backend costs per call."""
    import keras

    start = time.perf_counter()
    for i in range(calls):
        keras.utils.set_random_seed(SEED + i)
    return 1000 * (time.perf_counter() - start) / calls


def check_same_distributions(raw: Side, other: Side) -> None:
    """Both sides must search the very same distributions, or the ratio compares nothing."""
    a = raw.study.trials[0].distributions
    b = other.study.trials[0].distributions
    if a != b:
        raise SystemExit(f"distributions differ:\n{a}\n{b}")


def main(argv: list[str] | None = None) -> int:
    import logging

    import optuna

    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=100, help="trials per side before switching")
    parser.add_argument(
        "--runner-trials", type=int, default=100,
        help="trials for the real-TrialRunner line (its memory release costs ~0.5 s a trial); 0 skips it",
    )  # fmt: skip
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(logging.WARNING)
    logging.getLogger("autodl").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sides: dict[str, list[Side]] = {}
        runners: dict[str, Side] = {}
        for kind in ("memory", "journal"):
            sides[kind] = [raw_side(kind, folder), orchestration_side(kind, folder)]
            if args.runner_trials > 0:
                runners[kind] = trial_runner_side(kind, folder)
        done = 0
        while done < args.trials:
            n = min(args.chunk, args.trials - done)
            for kind in sides:
                for side in sides[kind]:
                    side.run(n)
                runner = runners.get(kind)
                if runner is not None and runner.trials < args.runner_trials:
                    runner.run(min(n, args.runner_trials - runner.trials))
            done += n
            print(f"  {done}/{args.trials} trials per side", flush=True)
        for kind, group in sides.items():
            for side in group[1:] + ([runners[kind]] if kind in runners else []):
                check_same_distributions(group[0], side)
        same_points = all(
            a.params == b.params
            for a, b in zip(sides["memory"][0].study.trials, sides["memory"][1].study.trials, strict=True)
        )
        print(f"\nper-trial wall time, no-op objective, 10 parameters, TPE as autodl sets it "
              f"(same points drawn on both sides: {same_points})")  # fmt: skip
        for kind, (raw, orchestration) in sides.items():
            ratio = orchestration.ms_per_trial() / raw.ms_per_trial()
            print(f"  {raw.name:<34} {raw.ms_per_trial():8.2f} ms/trial over {raw.trials} trials")
            print(f"  {orchestration.name:<34} {orchestration.ms_per_trial():8.2f} ms/trial over "
                  f"{orchestration.trials} trials  {ratio:5.2f}x raw")  # fmt: skip
            runner = runners.get(kind)
            if runner is not None:
                chunks = len(runner.chunks)
                first = raw.ms_per_trial(chunks)
                print(f"  {runner.name:<34} {runner.ms_per_trial():8.2f} ms/trial over {runner.trials} "
                      f"trials  {runner.ms_per_trial() / first:5.2f}x raw's first {runner.trials} "
                      f"({first:.2f} ms/trial)")  # fmt: skip
        for kind, (raw, orchestration) in sides.items():
            ratio = orchestration.ms_per_trial() / raw.ms_per_trial()
            verdict = "meets" if ratio <= 1.2 else "misses"
            print(f"RATIO {kind}: autodl orchestration / raw Optuna = {ratio:.2f}x over {raw.trials} "
                  f"trials ({verdict} the <= 1.2x target)")  # fmt: skip
        overheads = [o.ms_per_trial() - r.ms_per_trial() for r, o in sides.values()]
        print(f"autodl orchestration adds {statistics.mean(overheads):.2f} ms per trial on average")
        print(f"  of which keras.utils.set_random_seed (per trial when --seed is set): "
              f"{seed_call_ms():.2f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
