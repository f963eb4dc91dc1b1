"""`predict_outputs`: a few thousand rows are predicted by calling the model eagerly, a
batch at a time, with the outputs Keras' `predict` gives; more rows go through `predict`."""

from __future__ import annotations

import numpy as np
import pytest

import autodl.export._evaluate as evaluate
from autodl.export._evaluate import PREDICT_BATCH, predict_outputs


def _counting_predict(model, monkeypatch: pytest.MonkeyPatch) -> list[int]:  # noqa: ANN001
    calls: list[int] = []
    predict = model.predict
    monkeypatch.setattr(model, "predict", lambda x, **kw: calls.append(1) or predict(x, **kw))
    return calls


def _mlp():  # noqa: ANN202
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(3, "softmax")])


def test_rows_are_predicted_eagerly_a_batch_at_a_time_as_predict_would(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _mlp()
    x = np.random.default_rng(0).normal(size=(2 * PREDICT_BATCH + 7, 4)).astype("float32")
    calls = _counting_predict(model, monkeypatch)
    outputs = predict_outputs(model, x)
    assert calls == []  # no function traced
    assert outputs.shape == (len(x), 3) and outputs.dtype == np.float64
    np.testing.assert_allclose(outputs, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_more_rows_go_through_predict(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _mlp()
    x = np.random.default_rng(1).normal(size=(40, 4)).astype("float32")
    eager = predict_outputs(model, x)
    monkeypatch.setattr(evaluate, "EAGER_ROWS", 16)
    calls = _counting_predict(model, monkeypatch)
    np.testing.assert_allclose(predict_outputs(model, x), eager, rtol=1e-5, atol=1e-6)
    assert calls == [1]


def test_a_table_with_a_string_column_and_a_model_only_predict_can_call(monkeypatch: pytest.MonkeyPatch) -> None:
    import keras
    import tensorflow as tf

    size = keras.Input((1,), name="size")
    colour = keras.Input((1,), name="colour", dtype="string")
    encoded = keras.layers.StringLookup(vocabulary=["red", "blue"], output_mode="one_hot")(colour)
    model = keras.Model({"size": size, "colour": colour}, keras.layers.Dense(1)(keras.layers.Concatenate()([size, encoded])))
    table = {"size": np.arange(300, dtype="float32").reshape(-1, 1), "colour": tf.constant([["red"], ["blue"], ["green"]] * 100)}
    outputs = predict_outputs(model, table)
    np.testing.assert_allclose(outputs, model.predict(table, verbose=0), rtol=1e-5, atol=1e-5)

    def graph_only(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise TypeError("only the compiled function takes these inputs")

    calls = _counting_predict(model, monkeypatch)
    monkeypatch.setattr(model, "__call__", graph_only)
    monkeypatch.setattr(type(model), "__call__", graph_only)
    np.testing.assert_allclose(predict_outputs(model, table), outputs, rtol=1e-5, atol=1e-5)
    assert calls == [1]
