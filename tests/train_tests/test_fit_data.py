"""`fit_data`: what `model.fit` is fed. On TensorFlow a tf.data pipeline that sees every
training row once per epoch, in a new order each epoch; arrays where tf.data cannot help."""

from __future__ import annotations

import numpy as np
import pytest

from autodl.train._fit import fit_data


@pytest.fixture(autouse=True)
def _tensorflow_only() -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.data pipelines are built on the TensorFlow backend only")


def _epoch(dataset) -> np.ndarray:  # noqa: ANN001
    return np.concatenate([np.asarray(y).ravel() for _, y in dataset])


def test_every_row_once_per_epoch_in_a_new_order() -> None:
    x = np.arange(100, dtype="float32").reshape(50, 2)
    y = np.arange(50, dtype="float32")
    data = fit_data(x, y, 8, validation=(x[:10], y[:10]))
    assert set(data) == {"x", "validation_data", "shuffle"} and data["shuffle"] is False
    first, second = _epoch(data["x"]), _epoch(data["x"])
    assert sorted(first) == sorted(second) == list(range(50))
    assert list(first) != list(second)  # reshuffled each epoch
    assert [len(np.asarray(yb)) for _, yb in data["x"]] == [8] * 6 + [2]
    assert list(_epoch(data["validation_data"])) == list(range(10))  # validation in order


def test_rows_and_targets_stay_paired_with_dict_inputs() -> None:
    x = {"age": np.arange(20, dtype="float32"), "city": np.array(["a", "b"] * 10, dtype=object)}
    y = np.arange(20, dtype="float32") * 2
    for features, targets in fit_data(x, y, 4)["x"]:
        np.testing.assert_array_equal(np.asarray(features["age"]) * 2, np.asarray(targets))


def test_arrays_stay_arrays_when_tf_data_cannot_help(monkeypatch: pytest.MonkeyPatch) -> None:
    import autodl.train._fit as fit_module

    x = np.zeros((10, 3), dtype="float32")
    y = np.zeros(10, dtype="float32")
    monkeypatch.setattr(fit_module, "TF_DATA_MAX_BYTES", x.nbytes - 1)
    assert fit_data(x, y, 4) == {"x": x, "y": y, "batch_size": 4}
    monkeypatch.undo()
    mixed = np.array([1, "a", None] * 3 + [2.5], dtype=object)  # no one tensor type holds it
    data = fit_data(mixed, y, 4, validation=(mixed, y))
    assert data["x"] is mixed and data["validation_data"][0] is mixed and data["batch_size"] == 4


def test_later_trials_reuse_the_rows_tensors_and_a_subset_replaces_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import tensorflow as tf

    made: list[int] = []
    slices = tf.data.Dataset.from_tensor_slices
    monkeypatch.setattr(tf.data.Dataset, "from_tensor_slices", staticmethod(lambda a: made.append(len(a[1])) or slices(a)))
    x = np.arange(100, dtype="float32").reshape(50, 2)
    y = np.arange(50, dtype="float32")
    validation = (x[:10], y[:10])
    cache: dict = {}
    for batch_size in (8, 16):  # two trials: the rows' tensors are made by the first only
        data = fit_data(x, y, batch_size, validation, cache)
        assert sorted(_epoch(data["x"])) == list(range(50))
        assert list(_epoch(data["validation_data"])) == list(range(10))
    assert made == [50, 10]
    data = fit_data(x[:30], y[:30], 8, validation, cache)  # outlier rows dropped: other rows
    assert sorted(_epoch(data["x"])) == list(range(30)) and made == [50, 10, 30]
    assert len(cache) == 2  # one per role, never piling up
    fit_data(x, y, 8, validation)  # no cache: made anew
    assert made == [50, 10, 30, 50, 10]
