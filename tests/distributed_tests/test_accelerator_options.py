"""--mixed-precision and --jit: what they change in a worker, and that it is undone."""

from __future__ import annotations

import math
from typing import Any

from autodl.study import SearchSettings


def _model(config: dict[str, Any], data: Any) -> Any:
    from autodl.builders import build_model
    from autodl.train._compile import compile_model

    model = build_model(config, data).model
    compile_model(model, config, data.task, {})
    return model


def test_mixed_precision_keeps_the_output_float32_and_jit_compiles_with_xla() -> None:
    import keras

    from autodl.data import load_data
    from autodl.space._vocabulary import defaults
    from autodl.study._workers import AcceleratorOptions
    from autodl.train import PreparedData, _compile

    data = load_data("builtin:iris")
    prepared = PreparedData.from_dataset(data)
    config = {**defaults(), "family": "mlp", "layers": 1, "units": 8, "epochs": 1, "batch_size": 64}
    options = AcceleratorOptions(SearchSettings(space="mlp", mixed_precision=True))
    try:
        assert keras.mixed_precision.dtype_policy().name == "mixed_float16"
        model = _model(config, data)
        hidden = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][0]
        assert hidden.compute_dtype == "float16"
        assert model.get_layer("output").compute_dtype == "float32"
        history = model.fit(prepared.x_train, prepared.y_train, epochs=1, batch_size=64, verbose=0)
        assert math.isfinite(history.history["loss"][-1])
        assert keras.backend.standardize_dtype(model(prepared.x_val[:2]).dtype) == "float32"
    finally:
        options.restore()
    assert keras.mixed_precision.dtype_policy().name == "float32"
    options = AcceleratorOptions(SearchSettings(space="mlp", jit=True))
    try:
        assert _model(config, data).jit_compile is True  # even on a CPU, where "auto" says no
    finally:
        options.restore()
    assert _compile._JIT_COMPILE == "auto"  # Keras decides again (XLA on GPUs, not on CPUs)
