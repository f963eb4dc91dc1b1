"""Seconds per trial with autodl's optimizer updates against Keras' own, side by side.

    python -m benchmarks.optimizer_updates [--pairs 6]

Each case is one fixed configuration trained by `autodl.train.train_config` (build,
compile, `fit` with validation, as in a search), once with the updates of
autodl/train/_fused.py and once with Keras' own (`fuse_updates` made a no-op), the two
sides alternating which goes first. Short trials, as most of a search's are: there the
train step's tracing, of which the optimizer's update was about half, weighs most.
Prints the median seconds of each side, the ratio, and both sides' mean best validation
score (the same training, to float32 rounding).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

BASE = {
    "layers": 2, "units": 64, "blocks": 2, "filters": 16, "kernel_size": 3, "dense_units": 64,
    "activation": "relu", "initializer": "glorot_uniform", "dropout": 0.1, "batch_norm": False,
    "l1": 0.0, "l2": 1e-5, "loss": None, "learning_rate": 3e-3, "momentum": 0.9, "nesterov": False,
    "weight_decay": 1e-4, "schedule": "constant", "batch_size": 32, "patience": 0,
    "scaling": "standard", "outliers": "none", "augment": "none", "ema": False,
}  # fmt: skip
# (data, family, optimizer, epochs)
CASES = (
    ("builtin:breast_cancer", "mlp", "adam", 7),
    ("builtin:breast_cancer", "mlp", "adamw", 7),
    ("builtin:breast_cancer", "mlp", "nadam", 7),
    ("builtin:breast_cancer", "mlp", "rmsprop", 7),
    ("builtin:breast_cancer", "mlp", "sgd", 7),
    ("builtin:digits", "cnn", "adam", 4),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.optimizer_updates", description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    import keras

    import autodl.train._fused as fused_module
    from autodl.data import load_data
    from autodl.train import Objective, PreparedData, train_config

    fuse = fused_module.fuse_updates
    objective = Objective("val_accuracy", "maximize")
    print(f"{'case':<36} {'Keras s':>8} {'autodl s':>8} {'ratio':>6}  best val (Keras / autodl)")
    for data_name, family, optimizer, epochs in CASES:
        prepared = PreparedData.from_dataset(load_data(data_name))
        config = {**BASE, "family": family, "optimizer": optimizer, "epochs": epochs}
        seconds: dict[str, list[float]] = {"keras": [], "autodl": []}
        values: dict[str, list[float]] = {"keras": [], "autodl": []}
        for pair in range(args.pairs + 1):  # pair 0 warms up both sides
            for side in ("keras", "autodl") if pair % 2 else ("autodl", "keras"):
                fused_module.fuse_updates = fuse if side == "autodl" else (lambda optimizer: optimizer)
                keras.utils.set_random_seed(pair)
                start = time.perf_counter()
                try:
                    trained = train_config(config, prepared, objective)
                finally:
                    fused_module.fuse_updates = fuse
                if pair:
                    seconds[side].append(time.perf_counter() - start)
                    values[side].append(trained.value)
                del trained
                keras.backend.clear_session()
        keras_s, autodl_s = statistics.median(seconds["keras"]), statistics.median(seconds["autodl"])
        case = f"{data_name.removeprefix('builtin:')} {family} {optimizer} {epochs} epochs"
        print(f"{case:<36} {keras_s:8.3f} {autodl_s:8.3f} {autodl_s / keras_s:6.3f}  "
              f"{statistics.mean(values['keras']):.4f} / {statistics.mean(values['autodl']):.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
