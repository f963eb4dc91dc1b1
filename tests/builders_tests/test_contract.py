"""Every family on every input kind: build, compile, one epoch of fit, save, reload, predict.

The reload happens in a fresh process that imports only keras, as a user's deployment would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autodl.builders import FAMILIES, build_model, model_input
from autodl.data import load_data
from autodl.space._vocabulary import defaults
from autodl.train import Objective, PreparedData, train_config

SMALL = {"layers": 1, "units": 8, "blocks": 2, "filters": 4, "dense_units": 8, "rnn_units": 4,
         "embedding_dim": 4, "sequence_length": 8, "max_tokens": 200, "epochs": 1, "batch_size": 64}  # fmt: skip


def _table_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "city": rng.choice(["paris", "oslo", "lima"], n),
            "income": rng.normal(50, 10, n),
        }
    )
    frame.loc[::17, "income"] = np.nan  # imputed inside the model
    frame["bought"] = np.where((frame["city"] == "oslo") | (frame["age"] > 60), "yes", "no")
    path = tmp_path / "shop.csv"
    frame.to_csv(path, index=False)
    return path


def _dataset(kind: str, tmp_path: Path):
    if kind == "image":
        return load_data("builtin:digits")
    if kind == "tabular":
        return load_data("builtin:diabetes")
    if kind == "sequence":
        return load_data("builtin:waves")
    if kind == "text":
        return load_data("builtin:reviews")
    return load_data(_table_csv(tmp_path), target="bought")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("kind", ["tabular", "image", "sequence", "table", "text"])
def test_family_builds_fits_saves_and_reloads(family: str, kind: str, tmp_path: Path) -> None:
    _check_saves_and_reloads({**defaults(), **SMALL, "family": family}, _dataset(kind, tmp_path), tmp_path)


@pytest.mark.parametrize("kind", ["tabular", "table"])
def test_clipped_outliers_save_and_reload(kind: str, tmp_path: Path) -> None:
    # The clip bounds live in the model: it once could not be saved at all.
    config = {**defaults(), **SMALL, "family": "mlp", "outliers": "clip", "outlier_quantile": 0.05}
    _check_saves_and_reloads(config, _dataset(kind, tmp_path), tmp_path)


def _check_saves_and_reloads(config: dict, data, tmp_path: Path) -> None:
    """Train one epoch, save, reload in a fresh process without autodl: same predictions."""
    prepared = PreparedData.from_dataset(data)
    trained = train_config(config, prepared, Objective.parse(None, data.task))
    assert trained.epochs_run == 1 and np.isfinite(trained.value)
    path = tmp_path / "model.keras"
    trained.export_model.save(path)
    x = model_input(data, data.x_val[:5] if not isinstance(data.x_val, dict) else {k: v[:5] for k, v in data.x_val.items()})
    expected = np.asarray(trained.export_model.predict(x, verbose=0))
    np.save(tmp_path / "expected.npy", expected)
    inputs = tmp_path / "inputs.npz"
    arrays = x if isinstance(x, dict) else {"x": x}
    np.savez(inputs, **{k: np.asarray(v).astype(str) if _is_string(v) else np.asarray(v) for k, v in arrays.items()})
    script = textwrap.dedent(
        f"""
        import json, sys, numpy as np, keras
        model = keras.saving.load_model({str(path)!r})
        assert not any(m.startswith("autodl") for m in sys.modules)
        def raw(v):  # Keras takes strings as TensorFlow string tensors
            if v.dtype.kind == "U":
                import tensorflow as tf
                return tf.constant(v)
            return v
        arrays = {{k: raw(v) for k, v in np.load({str(inputs)!r}).items()}}
        x = arrays["x"] if list(arrays) == ["x"] else arrays
        got = np.asarray(model.predict(x, verbose=0))
        print(json.dumps(float(np.abs(got - np.load({str(tmp_path / "expected.npy")!r})).max())))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) < 1e-4


def _is_string(values: object) -> bool:
    return getattr(values, "dtype", None) is not None and str(values.dtype) in ("string", "<dtype: 'string'>")


def test_regression_export_predicts_in_user_units(tmp_path: Path) -> None:
    data = load_data("builtin:diabetes")
    config = {**defaults(), **SMALL, "family": "mlp", "epochs": 3}
    prepared = PreparedData.from_dataset(data)
    trained = train_config(config, prepared, Objective.parse(None, data.task))
    standardised = trained.model.predict(prepared.x_val, verbose=0).ravel()
    in_units = trained.export_model.predict(prepared.x_val, verbose=0).ravel()
    mean, std = prepared.target_scale
    np.testing.assert_allclose(in_units, standardised * std + mean, rtol=1e-4)
    assert 50 < mean < 250  # diabetes targets are in the 25..346 range


def test_more_cnn_blocks_than_the_image_allows_still_builds() -> None:
    data = load_data("builtin:digits")
    built = build_model({**defaults(), **SMALL, "family": "cnn", "blocks": 5}, data)
    assert built.model.output_shape == (None, 10)


def test_zscore_outliers_drop_training_rows_of_a_table(tmp_path: Path) -> None:
    from autodl.train._fit import _drop_outlier_rows

    data = load_data(_table_csv(tmp_path), target="bought")
    data.x_train["income"][:3] = 1e6  # three wild values
    prepared = PreparedData.from_dataset(data)
    x, y = _drop_outlier_rows({**defaults(), "outliers": "zscore", "outlier_zscore": 3.0}, prepared)
    assert len(y) == data.n_train - 3
    assert all(int(v.shape[0]) == len(y) for v in x.values())
    x_same, _ = _drop_outlier_rows({**defaults(), "outliers": "none"}, prepared)
    assert x_same is prepared.x_train
