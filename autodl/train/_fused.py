"""Optimizer updates with fewer graph ops: one TensorFlow kernel a variable for Adam,
AdamW and SGD; plain TensorFlow ops for Nadam and RMSprop.

Keras 3 writes each optimizer's update as a dozen or so backend ops a variable (casts,
powers, the moment updates, the step), each through Keras' op wrappers and tf.distribute's
update machinery, and the train step's graph is traced anew for every trial's model: on
a 2-layer MLP or a small CNN the optimizer's part took about half the time of tracing
the train step (80 of 150 ms with Adam and 8 variables; 180 ms with Nadam), then more
nodes for TensorFlow to optimise and run every step. TensorFlow has kernels that do
Adam's and SGD's update in one op (`ResourceApplyAdam`, `ResourceApplyKerasMomentum`,
`ResourceApplyGradientDescent`) with Keras' formulas (epsilon outside the square root,
the bias correction folded into the step size; momentum as `m = m * momentum - lr * g`).
Nadam and RMSprop have none that matches, so they are written here in TensorFlow ops,
Keras' formulas in Keras' order, with the step's scalars computed once instead of for
every variable.

`fuse_updates` swaps these in for one optimizer object, on TensorFlow, for Keras' own
Adam and AdamW (not AMSGrad), SGD, Nadam and RMSprop; the object stays the plain Keras
class (its config, class name and variables are unchanged), and clipping, weight decay,
EMA and gradient accumulation still run as Keras runs them around the update. Anything
else (Adagrad, Adadelta, subclasses with their own update, sparse gradients, a
tf.distribute strategy) keeps Keras' update. Both agree to float32 rounding
(tests/train_tests/test_fused_updates.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any


def fuse_updates(optimizer: Any) -> Any:
    """Give `optimizer` (a new Keras optimizer) the update with fewer graph ops where it
    has one (module docstring); return it."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return optimizer
    update_step = type(optimizer).update_step
    if update_step is keras.optimizers.Adam.update_step and not optimizer.amsgrad:
        fused, slots = _adam, ("_momentums", "_velocities")
    elif update_step is keras.optimizers.SGD.update_step:
        fused, slots = _sgd, ("momentums",) if optimizer.momentum else ()
    elif update_step is keras.optimizers.Nadam.update_step:
        fused, slots = _nadam, ("_momentums", "_velocities", "_u_product")
    elif update_step is keras.optimizers.RMSprop.update_step:
        fused, slots = _rmsprop, ("_velocities", "_momentums", "_average_gradients")
    else:
        return optimizer
    keras_update = optimizer._backend_update_step

    def update(grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
        import tensorflow as tf

        # Keras' own update wherever the fused one does not apply, or where a Keras
        # version keeps the optimizer's state under other names.
        if (
            tf.distribute.has_strategy()
            or any(isinstance(g, tf.IndexedSlices) for g in grads)
            or not all(hasattr(optimizer, slot) for slot in (*slots, "_get_variable_index"))
        ):
            keras_update(grads, variables, learning_rate)
            return
        fused(optimizer, grads, variables, learning_rate)

    # An attribute of this object, not a subclass: the optimizer still saves and loads as
    # the plain Keras class.
    optimizer._backend_update_step = update
    return optimizer


def _adam(optimizer: Any, grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
    import tensorflow as tf

    @functools.cache
    def scalars(dtype: Any) -> dict[str, Any]:  # the step's, shared by its variables
        step = tf.cast(optimizer.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(optimizer.beta_1, dtype), tf.cast(optimizer.beta_2, dtype)
        return {
            "beta1_power": tf.pow(beta_1, step),
            "beta2_power": tf.pow(beta_2, step),
            "lr": tf.cast(learning_rate, dtype),
            "beta1": beta_1,
            "beta2": beta_2,
            "epsilon": tf.cast(optimizer.epsilon, dtype),
        }

    for tensor, grad, index in _each_variable(optimizer, grads, variables):
        tf.raw_ops.ResourceApplyAdam(
            var=tensor.handle,
            m=_tf_variable(optimizer._momentums[index]).handle,
            v=_tf_variable(optimizer._velocities[index]).handle,
            grad=grad,
            use_locking=False,
            **scalars(tensor.dtype),
        )


def _sgd(optimizer: Any, grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
    import tensorflow as tf

    for tensor, grad, index in _each_variable(optimizer, grads, variables):
        lr = tf.cast(learning_rate, tensor.dtype)
        if optimizer.momentum == 0:
            tf.raw_ops.ResourceApplyGradientDescent(var=tensor.handle, alpha=lr, delta=grad)
            continue
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=tensor.handle,
            accum=_tf_variable(optimizer.momentums[index]).handle,
            lr=lr,
            grad=grad,
            momentum=tf.cast(optimizer.momentum, tensor.dtype),
            use_nesterov=bool(optimizer.nesterov),
        )


def _nadam(optimizer: Any, grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
    """Keras' Nadam in TensorFlow ops: its formulas in its order, the step's scalars once."""
    import tensorflow as tf

    u_product = _tf_variable(optimizer._u_product)
    decay_power = tf.pow(0.96, tf.cast(optimizer.iterations + 1, u_product.dtype))
    u_product.assign(u_product * optimizer.beta_1 * (1.0 - 0.5 * decay_power))

    @functools.cache
    def scalars(dtype: Any) -> dict[str, Any]:
        step = tf.cast(optimizer.iterations + 1, dtype)
        decay = tf.cast(0.96, dtype)
        beta_1, beta_2 = tf.cast(optimizer.beta_1, dtype), tf.cast(optimizer.beta_2, dtype)
        u_t_1 = beta_1 * (1.0 - 0.5 * tf.pow(decay, tf.cast(optimizer.iterations + 2, dtype)))
        u_product_t = tf.cast(u_product, dtype)  # read after the update above
        return {
            "lr": tf.cast(learning_rate, dtype),
            "one_minus_beta_1": 1 - beta_1,
            "one_minus_beta_2": 1 - beta_2,
            "u_t": beta_1 * (1.0 - 0.5 * tf.pow(decay, step)),
            "u_t_1": u_t_1,
            "u_product_t": u_product_t,
            "u_product_t_1": u_product_t * u_t_1,
            "beta_2_power": tf.pow(beta_2, step),
        }

    for tensor, grad, index in _each_variable(optimizer, grads, variables):
        c = scalars(tensor.dtype)
        m, v = _tf_variable(optimizer._momentums[index]), _tf_variable(optimizer._velocities[index])
        m.assign_add((grad - m) * c["one_minus_beta_1"])
        v.assign_add((tf.square(grad) - v) * c["one_minus_beta_2"])
        m_hat = (c["u_t_1"] * m) / (1 - c["u_product_t_1"]) + ((1 - c["u_t"]) * grad) / (1 - c["u_product_t"])
        v_hat = v / (1 - c["beta_2_power"])
        tensor.assign_sub((m_hat * c["lr"]) / (tf.sqrt(v_hat) + optimizer.epsilon))


def _rmsprop(optimizer: Any, grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
    """Keras' RMSprop in TensorFlow ops (its formulas in its order)."""
    import tensorflow as tf

    rho = optimizer.rho
    for tensor, grad, index in _each_variable(optimizer, grads, variables):
        lr = tf.cast(learning_rate, tensor.dtype)
        velocity = _tf_variable(optimizer._velocities[index])
        velocity.assign(rho * velocity + (1 - rho) * tf.square(grad))
        if optimizer.centered:
            average = _tf_variable(optimizer._average_gradients[index])
            average.assign(rho * average + (1 - rho) * grad)
            denominator = velocity - tf.square(average) + optimizer.epsilon
        else:
            denominator = velocity + optimizer.epsilon
        increment = (lr * grad) / tf.sqrt(denominator)
        if optimizer.momentum > 0:
            momentum = _tf_variable(optimizer._momentums[index])
            momentum.assign(optimizer.momentum * momentum + increment)
            tensor.assign_sub(momentum)
        else:
            tensor.assign_sub(increment)


def _each_variable(optimizer: Any, grads: list[Any], variables: list[Any]) -> Iterator[tuple[Any, Any, int]]:
    """(tf.Variable, its gradient in its dtype, its index among the optimizer's slots)."""
    import tensorflow as tf

    for grad, variable in zip(grads, variables, strict=True):
        tensor = _tf_variable(variable)
        yield tensor, tf.cast(grad, tensor.dtype), optimizer._get_variable_index(variable)


def _tf_variable(variable: Any) -> Any:
    """The tf.Variable behind a Keras variable."""
    import keras

    return variable.value if isinstance(variable, keras.Variable) else variable
