"""`BuildTrainingState`: the optimizer's and metrics' variables exist before Keras traces
the first train step, so TensorFlow traces it once instead of twice."""

from __future__ import annotations

import numpy as np
import pytest

from autodl.train._callbacks import BuildTrainingState

# The second trace is TensorFlow's (JAX builds the state before fit).
pytestmark = pytest.mark.usefixtures("tensorflow_only")


def _train_step_traces(model, x, y, callbacks) -> int:  # noqa: ANN001
    """How many times `fit` traced the train step (its Python runs only while tracing)."""
    traced = []
    step = model.train_step

    def counted(data):  # noqa: ANN001, ANN202
        traced.append(1)
        return step(data)

    model.train_step = counted
    history = model.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:8], y[:8]), callbacks=callbacks, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and len(history.history["val_loss"]) == 2
    return len(traced)


def _numeric():  # noqa: ANN202
    import keras

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)).astype("float32"), rng.integers(0, 2, size=(40, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model, x, y


def test_the_train_step_is_traced_once() -> None:
    model, x, y = _numeric()
    assert _train_step_traces(model, x, y, [BuildTrainingState(x, y)]) == 1
    model, x, y = _numeric()
    assert _train_step_traces(model, x, y, []) == 2  # Keras alone: the trace saved


def test_string_columns_as_autodl_feeds_them() -> None:
    import keras
    import tensorflow as tf

    words = tf.constant([["red"], ["green"], ["blue"], ["red"]] * 5)  # as autodl.builders.model_input
    y = np.array([1, 0, 0, 1] * 5, dtype="float32").reshape(-1, 1)
    inputs = keras.Input((1,), dtype="string")
    hidden = keras.layers.StringLookup(vocabulary=["red", "green", "blue"], output_mode="one_hot")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(hidden)))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    assert _train_step_traces(model, words, y, [BuildTrainingState(words, y)]) == 1


def test_rows_it_cannot_build_from_are_left_to_the_first_step() -> None:
    model, x, y = _numeric()
    wrong_rows = np.zeros((2, 5), dtype="float32")  # the model takes 3 features
    assert _train_step_traces(model, x, y, [BuildTrainingState(wrong_rows, y)]) == 2
