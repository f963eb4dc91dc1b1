"""Per-epoch time of an autodl trial against a hand-written `model.fit` of the same model.

Run where a GPU is visible (any Keras backend):
    KERAS_BACKEND=jax python -m benchmarks.gpu_epoch_time
Both models are the article's textbook CNN on digits, same batch size and epochs, timed
side by side in one process; the first epoch (tracing/compilation) is reported apart.
"""

from __future__ import annotations

import statistics
import time

import keras
import numpy as np

from autodl.data import load_data
from autodl.space import load_space
from autodl.space._vocabulary import defaults
from autodl.train import Objective, PreparedData, train_config
from autodl.train._device import configure_devices

EPOCHS = 12


class EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def hand_written(data, batch_size: int) -> list[float]:
    x, xv = data.x_train / 16.0, data.x_val / 16.0
    y, yv = np.eye(10)[data.y_train], np.eye(10)[data.y_val]
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Dropout(0.2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(x, y, validation_data=(xv, yv), epochs=EPOCHS, batch_size=batch_size, verbose=0, callbacks=[timer])
    return timer.seconds


def autodl_trial(data, batch_size: int) -> list[float]:
    config = {**defaults(), **load_space("cnn").space.fixed, **load_space("cnn").space.textbook}
    config.update(epochs=EPOCHS, patience=0, batch_size=batch_size)
    timer = EpochTimer()
    train_config(config, PreparedData.from_dataset(data), Objective.parse(None, data.task), extra_callbacks=[timer])
    return timer.seconds


def main() -> None:
    print(f"backend {keras.backend.backend()}, accelerators {configure_devices()}")
    data = load_data("builtin:digits")
    for batch_size in (32, 128):
        plain = hand_written(data, batch_size)
        ours = autodl_trial(data, batch_size)
        p, a = statistics.median(plain[1:]), statistics.median(ours[1:])
        print(
            f"batch {batch_size}: first epoch plain {plain[0]:.2f}s autodl {ours[0]:.2f}s; "
            f"later epochs (median) plain {p * 1000:.1f} ms autodl {a * 1000:.1f} ms; ratio {a / p:.2f}x"
        )


if __name__ == "__main__":
    main()
