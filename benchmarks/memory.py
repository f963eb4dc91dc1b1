"""Memory growth over consecutive trials: autodl against KerasTuner on the same tiny search.

    python -m benchmarks.memory [--trials 100]

Each side runs in its own fresh process (autodl: the `autodl search` command): an MLP on builtin:iris (1-2 dense layers of 16-64
units, learning rate 1e-3..1e-1 log, 2 epochs, batch 16), random sampling on both sides
and no pruning, so each trial does the same work. The resident set size (VmRSS) is read
after every trial; the figure is RSS after trial N minus RSS after trial 5 (target <= 100 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SEED = 0
EPOCHS = 2
BATCH_SIZE = 16
SPACE = f"""\
from autodl.space import SearchSpace, integer, real

space = SearchSpace(
    family="mlp",
    default_data="builtin:iris",
    layers=integer(1, 2),
    units=integer(16, 64),
    learning_rate=real(1e-3, 1e-1, log=True),
    epochs={EPOCHS},
    batch_size={BATCH_SIZE},
)
"""


def rss_mb() -> float:
    """This process's resident set size in MB, from /proc (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def run_autodl(trials: int, folder: Path) -> list[float]:
    """`autodl search` as a user runs it; the RSS each trial recorded after it (`rss_mb`).

    The command restarts its process when memory has grown by --max-memory-growth (default
    200 MB): the readings show what a user's machine sees over a long search.
    """
    import optuna

    space_file = folder / "iris_tiny.py"
    space_file.write_text(SPACE)
    out = folder / "autodl"
    subprocess.run(
        [sys.executable, "-m", "autodl", "search", "--space", str(space_file), "--data", "builtin:iris",
         "--trials", str(trials), "--seed", str(SEED), "--sampler", "random", "--pruner", "none",
         "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / "study.journal")))
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    return [t.user_attrs["rss_mb"] for t in study.trials]


def run_keras_tuner(trials: int, folder: Path) -> list[float]:
    import keras
    import keras_tuner as kt
    import numpy as np

    from autodl.data import load_data

    data = load_data("builtin:iris", seed=SEED)  # the split autodl makes
    x_train = np.asarray(data.x_train, dtype="float32")
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train = (x_train - mean) / std
    x_val = (np.asarray(data.x_val, dtype="float32") - mean) / std
    readings: list[float] = []

    def build(hp: Any) -> Any:
        inputs = keras.Input(shape=(x_train.shape[1],))
        x = inputs
        for _ in range(hp.Int("layers", 1, 2)):
            x = keras.layers.Dense(hp.Int("units", 16, 64), activation="relu")(x)
        outputs = keras.layers.Dense(data.n_classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        lr = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
        model.compile(
            optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model

    class Measured(kt.RandomSearch):
        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            readings.append(rss_mb())

    tuner = Measured(
        build, objective="val_accuracy", max_trials=trials, seed=SEED,
        directory=str(folder / "kt"), project_name="memory", overwrite=True,
        max_consecutive_failed_trials=trials,
    )  # fmt: skip
    tuner.search(
        x_train, data.y_train, validation_data=(x_val, data.y_val), epochs=EPOCHS,
        batch_size=BATCH_SIZE, verbose=0,
    )  # fmt: skip
    return readings


def child(side: str, trials: int) -> int:
    import logging
    import warnings

    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        runner = run_autodl if side == "autodl" else run_keras_tuner
        readings = runner(trials, Path(tmp))
    print("READINGS " + json.dumps(readings), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--side", choices=("autodl", "keras_tuner"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        return child(args.side, args.trials)
    if args.trials < 6:
        raise SystemExit("--trials must be at least 6 (growth is measured from trial 5)")
    growth: dict[str, float] = {}
    for side in ("autodl", "keras_tuner"):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "--side", side, "--trials", str(args.trials)],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        lines = [line for line in done.stdout.splitlines() if line.startswith("READINGS ")]
        if done.returncode != 0 or not lines:
            print(f"{side}: failed (exit {done.returncode})\n{done.stderr[-3000:]}")
            return 1
        readings = json.loads(lines[-1].removeprefix("READINGS "))
        n = len(readings)
        checkpoints = sorted({5, 10, 25, 50, 75, n} & set(range(1, n + 1)))
        trend = ", ".join(f"{i}: {readings[i - 1]:.0f}" for i in checkpoints)
        growth[side] = readings[n - 1] - readings[4]
        print(f"{side:<12} RSS MB after trial {trend}; growth after {n} trials minus after 5: "
              f"{growth[side]:+.1f} MB")  # fmt: skip
    for side, mb in growth.items():
        verdict = "meets" if mb <= 100 else "misses"
        print(f"{side}: {mb:+.1f} MB ({verdict} the <= 100 MB target)")
    if growth["keras_tuner"] > 0:
        print(f"RATIO memory growth autodl / KerasTuner = {growth['autodl'] / growth['keras_tuner']:.2f}")
    else:
        print("RATIO memory growth autodl / KerasTuner: undefined (KerasTuner did not grow)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
