"""Seconds per training epoch: autodl's way of running `model.fit` against Keras' defaults.

    python -m benchmarks.fit_data [--trials 10] [--repeats 2]

The same search (`autodl.search`, random sampler so every side trains the same
configurations, no pruning, no ensemble) runs once per side and repeat, sides alternating:

- autodl: tf.data feeding on TensorFlow (`fit_data`: from_tensor_slices -> shuffle ->
  batch -> prefetch) and the optimizer's and metrics' variables built before the first
  train step is traced (`BuildTrainingState`);
- arrays: NumPy arrays handed to Keras, which batches them itself (what `fit_data` falls
  back to; `TF_DATA_MAX_BYTES = -1` forces it);
- traced twice: those variables left for Keras to create inside the first traced train
  step, so that TensorFlow traces it twice (the callback made a no-op).

Per side: the sum of the trials' own seconds over the sum of their epochs. Tasks:
breast_cancer with the MLP space, digits with the CNN space.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings

CASES = (("mlp", "builtin:breast_cancer"), ("cnn", "builtin:digits"))
SIDES = ("arrays", "traced twice", "autodl")


def run_side(space: str, data: str, trials: int, seed: int, side: str) -> tuple[float, int, float]:
    """(trial seconds, epochs, wall seconds) of one search."""
    import autodl
    import autodl.train._callbacks as callbacks_module
    import autodl.train._fit as fit_module

    max_bytes = fit_module.TF_DATA_MAX_BYTES
    build = callbacks_module.BuildTrainingState.on_train_begin
    if side == "arrays":
        fit_module.TF_DATA_MAX_BYTES = -1
    if side == "traced twice":
        callbacks_module.BuildTrainingState.on_train_begin = lambda self, logs=None: None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = autodl.search(
                space, data=data, trials=trials, seed=seed, sampler="random", pruner="none",
                ensemble=0, out=f"{tmp}/out",
            )  # fmt: skip
            wall = time.perf_counter() - start
            done = result.study.get_trials(deepcopy=False)
    finally:
        fit_module.TF_DATA_MAX_BYTES = max_bytes
        callbacks_module.BuildTrainingState.on_train_begin = build
    seconds = sum(float(t.user_attrs.get("seconds", 0.0)) for t in done)
    epochs = sum(int(t.user_attrs.get("epochs", 0)) for t in done)
    return seconds, epochs, wall


def main(argv: list[str] | None = None) -> int:
    import optuna

    import autodl._process

    parser = argparse.ArgumentParser(prog="python -m benchmarks.fit_data", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    autodl._process.IS_COMMAND = True  # trials run as the `autodl search` command runs them

    print(f"seconds per epoch, {args.trials} random-sampled trials per search, sides alternating")
    for space, data in CASES:
        totals = {side: [0.0, 0] for side in SIDES}
        for seed in range(args.repeats):
            for side in SIDES:
                seconds, epochs, wall = run_side(space, data, args.trials, seed, side)
                totals[side][0] += seconds
                totals[side][1] += epochs
                print(f"  {space} on {data}, seed {seed}, {side:<12}: {seconds / epochs:.3f} s/epoch "
                      f"({epochs} epochs, {seconds:.1f} s in trials, {wall:.1f} s wall)")  # fmt: skip
        per_epoch = {k: s / max(1, e) for k, (s, e) in totals.items()}
        for side in SIDES[:-1]:
            print(f"RATIO {space} on {data}: autodl / {side} = {per_epoch['autodl'] / per_epoch[side]:.2f}x "
                  f"seconds per epoch ({per_epoch['autodl']:.3f} vs {per_epoch[side]:.3f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
