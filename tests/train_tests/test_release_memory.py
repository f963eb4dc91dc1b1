"""Between trials, `release_memory` frees what TensorFlow would keep of every trained model."""

from __future__ import annotations

import gc

import numpy as np
import pytest


def _live_func_graphs() -> int:
    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(isinstance(o, FuncGraph) for o in gc.get_objects())


def test_trained_models_leave_no_graphs_behind() -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the gradient registry is TensorFlow's")
    from tensorflow.python.framework import ops

    from autodl.train import release_memory

    registry = ops._gradient_registry._registry
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")

    def train_and_release() -> float:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
        model.compile("adam", "mse")
        loss = model.fit(x, y, epochs=2, batch_size=16, verbose=0).history["loss"][-1]
        # TensorFlow registered a gradient function for the step it traced (why it leaks).
        assert any(str(n).startswith("CustomGradient-") for n in registry)
        del model
        release_memory()
        assert not any(str(n).startswith("CustomGradient-") for n in registry)
        return loss

    assert np.isfinite(train_and_release())
    after_one = _live_func_graphs()
    losses = [train_and_release() for _ in range(3)]
    assert all(np.isfinite(losses))  # models still train after the registry was cleaned
    assert _live_func_graphs() <= after_one  # without the fix: +18 graphs a model
