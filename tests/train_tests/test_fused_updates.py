"""Optimizer updates with fewer graph ops (autodl/train/_fused.py): the same numbers as
Keras' own update, fewer ops in the traced step (one kernel a variable for Adam and
SGD), and a plain Keras optimizer otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from autodl.train._compile import make_optimizer
from autodl.train._fused import fuse_updates

# The fused kernels are TensorFlow's.
pytestmark = pytest.mark.usefixtures("tensorflow_only")

FUSED_OPS = {"ResourceApplyAdam", "ResourceApplyKerasMomentum", "ResourceApplyGradientDescent"}
SHAPES = [(6, 4), (4,)]


def _optimizer(kind: str):  # noqa: ANN202
    import keras

    return {
        "adam": lambda: keras.optimizers.Adam(1e-2),
        "adamw": lambda: keras.optimizers.AdamW(1e-2, weight_decay=0.05),
        "adam_ema": lambda: keras.optimizers.Adam(1e-2, use_ema=True, ema_momentum=0.9),
        "adam_clipnorm": lambda: keras.optimizers.Adam(1e-2, clipnorm=0.5),
        "sgd": lambda: keras.optimizers.SGD(0.05),
        "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
        "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        "nadam": lambda: keras.optimizers.Nadam(1e-2),
        "nadam_ema": lambda: keras.optimizers.Nadam(1e-2, use_ema=True, ema_momentum=0.9),
        "rmsprop": lambda: keras.optimizers.RMSprop(1e-2),
        "rmsprop_momentum": lambda: keras.optimizers.RMSprop(1e-2, momentum=0.9),
        "rmsprop_centered": lambda: keras.optimizers.RMSprop(1e-2, centered=True),
        "adam_amsgrad": lambda: keras.optimizers.Adam(1e-2, amsgrad=True),
        "adagrad": lambda: keras.optimizers.Adagrad(1e-2),
        "adadelta": lambda: keras.optimizers.Adadelta(1e-2),
    }[kind]()


def _train(kind: str, fused: bool, steps: int = 25) -> tuple[list[np.ndarray], list[str]]:
    """Apply `steps` fixed random gradients in a traced step, as a train step does; return
    the variables and optimizer variables after, and the op types of the traced step."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=s).astype("float32")) for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(steps)]
    optimizer = _optimizer(kind)
    if fused:
        fuse_updates(optimizer)
    optimizer.build(variables)

    @tf.function
    def step(gradients):  # noqa: ANN001, ANN202
        optimizer.apply(gradients, variables)

    for gradients in grads:
        step([tf.constant(g) for g in gradients])
    graph = step.get_concrete_function([tf.TensorSpec(s, "float32") for s in SHAPES]).graph
    return [v.numpy() for v in [*variables, *optimizer.variables]], [op.type for op in graph.get_operations()]


KERNEL_FUSED = ["adam", "adamw", "adam_ema", "adam_clipnorm", "sgd", "sgd_momentum", "sgd_nesterov"]
IN_TF_OPS = ["nadam", "nadam_ema", "rmsprop", "rmsprop_momentum", "rmsprop_centered"]


@pytest.mark.parametrize("kind", KERNEL_FUSED + IN_TF_OPS)
def test_updates_give_keras_numbers_with_fewer_ops(kind: str) -> None:
    keras_values, keras_ops = _train(kind, fused=False)
    fused_values, fused_ops = _train(kind, fused=True)
    assert not FUSED_OPS.intersection(keras_ops)
    if kind in KERNEL_FUSED:
        fused_kernels = [op for op in fused_ops if op in FUSED_OPS]
        assert len(fused_kernels) == len(SHAPES), f"{kind}: {fused_kernels}"  # one a variable
    assert len(fused_ops) < len(keras_ops)
    for keras_value, fused_value in zip(keras_values, fused_values, strict=True):
        # The moments, EMA copies, Nadam's momentum product and the iteration counter
        # too, after 25 steps.
        np.testing.assert_allclose(fused_value, keras_value, rtol=1e-5, atol=1e-6)
    initial_kernel = np.random.default_rng(0).normal(size=SHAPES[0])
    assert np.abs(keras_values[0] - initial_kernel).max() > 0.01  # it trained


@pytest.mark.parametrize("kind", ["adam_amsgrad", "adagrad", "adadelta"])
def test_other_updates_stay_keras_own(kind: str) -> None:
    optimizer = fuse_updates(_optimizer(kind))
    assert "_backend_update_step" not in vars(optimizer)


def test_a_subclass_with_its_own_update_keeps_it() -> None:
    import keras

    class Halved(keras.optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):  # noqa: ANN001, ANN202
            return super().update_step(gradient * 0.5, variable, learning_rate)

    assert "_backend_update_step" not in vars(fuse_updates(Halved(1e-3)))


def test_sparse_gradients_take_keras_update() -> None:
    """An Embedding's gradient is an IndexedSlices: Keras' own update handles it."""
    import keras
    import tensorflow as tf

    results = []
    for fused in (False, True):
        table = keras.Variable(np.ones((10, 3), dtype="float32"))
        optimizer = keras.optimizers.Adam(0.1)
        if fused:
            fuse_updates(optimizer)
        optimizer.build([table])

        @tf.function
        def step():  # noqa: ANN202
            sparse = tf.IndexedSlices(tf.ones((2, 3)), tf.constant([1, 4]), tf.constant([10, 3]))
            optimizer.apply([sparse], [table])  # noqa: B023 (called within the iteration)

        for _ in range(3):
            step()
        results.append(table.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
    assert not np.allclose(results[1][1], 1.0) and np.allclose(results[1][0], 1.0)


def test_a_configured_optimizer_trains_saves_and_loads_as_plain_keras(tmp_path) -> None:  # noqa: ANN001
    import keras

    optimizer = make_optimizer({"optimizer": "adam", "learning_rate": 1e-2})
    assert "_backend_update_step" in vars(optimizer)  # fused
    assert keras.optimizers.serialize(optimizer)["class_name"] == "Adam"
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.integers(0, 2, size=(64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer, "binary_crossentropy")
    losses = model.fit(x, y, epochs=5, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    model.save(tmp_path / "m.keras")  # optimizer state included; no custom objects to load it
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is keras.optimizers.Adam
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
