"""Seconds per training epoch: autodl's tf.data feeding against Keras' own array feeding.

    python -m benchmarks.fit_data [--trials 10] [--repeats 2]

The same search (`autodl.search`, random sampler so both sides train the same
configurations, no pruning, no ensemble) runs twice per repeat, alternately: once as
autodl feeds `model.fit` on TensorFlow (`fit_data`: from_tensor_slices -> shuffle ->
batch -> prefetch) and once with NumPy arrays handed to Keras, which batches them itself
(what `fit_data` falls back to; `TF_DATA_MAX_BYTES = -1` forces it). Per side: the sum of
the trials' own seconds over the sum of their epochs. Tasks: breast_cancer with the MLP
space, digits with the CNN space.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings

CASES = (("mlp", "builtin:breast_cancer"), ("cnn", "builtin:digits"))


def run_side(space: str, data: str, trials: int, seed: int, tf_data: bool) -> tuple[float, int, float]:
    """(trial seconds, epochs, wall seconds) of one search."""
    import autodl
    import autodl.train._fit as fit_module

    default = fit_module.TF_DATA_MAX_BYTES
    fit_module.TF_DATA_MAX_BYTES = default if tf_data else -1
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
        fit_module.TF_DATA_MAX_BYTES = default
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
        totals = {True: [0.0, 0], False: [0.0, 0]}
        for seed in range(args.repeats):
            for tf_data in (False, True):
                seconds, epochs, wall = run_side(space, data, args.trials, seed, tf_data)
                totals[tf_data][0] += seconds
                totals[tf_data][1] += epochs
                side = "tf.data (autodl)" if tf_data else "arrays (Keras) "
                print(f"  {space} on {data}, seed {seed}, {side}: {seconds / epochs:.3f} s/epoch "
                      f"({epochs} epochs, {seconds:.1f} s in trials, {wall:.1f} s wall)")  # fmt: skip
        per_epoch = {k: s / max(1, e) for k, (s, e) in totals.items()}
        print(f"RATIO {space} on {data}: tf.data / arrays = {per_epoch[True] / per_epoch[False]:.2f}x "
              f"seconds per epoch ({per_epoch[True]:.3f} vs {per_epoch[False]:.3f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
