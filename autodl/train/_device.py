"""Accelerator set-up done once per process before the first model is built."""

from __future__ import annotations

import logging
import os

_logger = logging.getLogger(__name__)
ACCELERATORS: list[str] = []  # what `configure_devices()` found in this process


def quiet_backend_logs() -> None:
    """Keep TensorFlow's C++ start-up chatter off the user's terminal (before it loads)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # JAX would otherwise take most GPU memory up front, starving parallel workers.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def configure_devices() -> list[str]:
    """Turn on GPU memory growth (TensorFlow) and return the visible accelerators."""
    ACCELERATORS[:] = _configure_devices()
    return list(ACCELERATORS)


def _configure_devices() -> list[str]:
    quiet_backend_logs()
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # already initialised in this process: growth is fixed
                pass
        return [g.name for g in gpus]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform != "cpu"]
    if backend == "torch":
        import torch

        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return []
