"""Shared fixtures of the training tests."""

from __future__ import annotations

import keras
import pytest


@pytest.fixture
def tensorflow_only() -> None:
    """Skip where Keras runs on another backend: what the test checks is TensorFlow's own
    behaviour (tracing, the eager kernel cache). CI runs the TensorFlow backend."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"checks TensorFlow's behaviour; the backend is {keras.backend.backend()}")
