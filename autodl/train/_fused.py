"""Adam, AdamW and SGD updates as one TensorFlow kernel a variable.

Keras 3 writes each optimizer's update as a dozen or so backend ops a variable (casts,
powers, the moment updates, the step), each added to the train step's graph through
tf.distribute's update machinery. For the small models of most trials that graph is
built anew every trial: on a 2-layer MLP or a small CNN the optimizer's part took about
half the time of tracing the train step (80 of 150 ms for 8 variables), then more nodes
for TensorFlow to optimise and run every step. TensorFlow has kernels that do the same
update in one op (`ResourceApplyAdam`, `ResourceApplyKerasMomentum`,
`ResourceApplyGradientDescent`), with Keras' own formulas (epsilon outside the square
root, the bias correction folded into the step size; momentum as `m = m * momentum - lr
* g`).

`fuse_updates` swaps them in for one optimizer object, on TensorFlow, for Keras' own
Adam and AdamW (not AMSGrad) and SGD; the object stays a plain `keras.optimizers.Adam`
(its config, class name and variables are unchanged), and clipping, weight decay, EMA and
gradient accumulation still run as Keras runs them around the update. Anything else
(other optimizers, subclasses with their own update, sparse gradients, a tf.distribute
strategy) keeps Keras' update. The two agree to float32 rounding
(tests/train_tests/test_fused_updates.py).
"""

from __future__ import annotations

from typing import Any


def fuse_updates(optimizer: Any) -> Any:
    """Give `optimizer` (a new Keras optimizer) fused updates where it can have them; return it."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return optimizer
    update_step = type(optimizer).update_step
    if update_step is keras.optimizers.Adam.update_step and not optimizer.amsgrad:
        fused = _adam
    elif update_step is keras.optimizers.SGD.update_step:
        fused = _sgd
    else:
        return optimizer
    keras_update = optimizer._backend_update_step

    def update(grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
        import tensorflow as tf

        if tf.distribute.has_strategy() or any(isinstance(g, tf.IndexedSlices) for g in grads):
            keras_update(grads, variables, learning_rate)
            return
        fused(optimizer, grads, variables, learning_rate)

    # An attribute of this object, not a subclass: the optimizer still saves and loads as
    # the plain Keras class.
    optimizer._backend_update_step = update
    return optimizer


def _adam(optimizer: Any, grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
    import tensorflow as tf

    scalars: dict[Any, dict[str, Any]] = {}  # per dtype, shared by the variables
    for grad, variable in zip(grads, variables, strict=True):
        tensor = _tf_variable(variable)
        dtype = tensor.dtype
        if dtype not in scalars:
            step = tf.cast(optimizer.iterations + 1, dtype)
            beta_1, beta_2 = tf.cast(optimizer.beta_1, dtype), tf.cast(optimizer.beta_2, dtype)
            scalars[dtype] = {
                "beta1_power": tf.pow(beta_1, step),
                "beta2_power": tf.pow(beta_2, step),
                "lr": tf.cast(learning_rate, dtype),
                "beta1": beta_1,
                "beta2": beta_2,
                "epsilon": tf.cast(optimizer.epsilon, dtype),
            }
        index = optimizer._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=tensor.handle,
            m=_tf_variable(optimizer._momentums[index]).handle,
            v=_tf_variable(optimizer._velocities[index]).handle,
            grad=tf.cast(grad, dtype),
            use_locking=False,
            **scalars[dtype],
        )


def _sgd(optimizer: Any, grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
    import tensorflow as tf

    for grad, variable in zip(grads, variables, strict=True):
        tensor = _tf_variable(variable)
        dtype = tensor.dtype
        lr, grad = tf.cast(learning_rate, dtype), tf.cast(grad, dtype)
        if optimizer.momentum == 0:
            tf.raw_ops.ResourceApplyGradientDescent(var=tensor.handle, alpha=lr, delta=grad)
            continue
        momentum = optimizer.momentums[optimizer._get_variable_index(variable)]
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=tensor.handle,
            accum=_tf_variable(momentum).handle,
            lr=lr,
            grad=grad,
            momentum=tf.cast(optimizer.momentum, dtype),
            use_nesterov=bool(optimizer.nesterov),
        )


def _tf_variable(variable: Any) -> Any:
    """The tf.Variable behind a Keras variable."""
    import keras

    return variable.value if isinstance(variable, keras.Variable) else variable
