"""Exported models load and predict in a fresh process that never imports autodl, and
agree with autodl's own in-process predictions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# Runs in a fresh interpreter: plain Keras for .keras files, TensorFlow for SavedModels.
LOADER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras

    import tensorflow as tf

    def as_input(value):
        # Keras takes strings only as TensorFlow string tensors.
        return tf.constant(value) if value.dtype.kind == "U" else value

    outputs = {}
    for case in json.load(open(sys.argv[1])):
        raw = np.load(case["inputs"])
        x = {k: as_input(raw[k]) for k in raw.files} if case["dict"] else as_input(raw["x"])
        model = keras.saving.load_model(case["model"])
        outputs[case["name"] + ".keras"] = np.asarray(model.predict(x, verbose=0))
        if case.get("saved_model"):
            served = tf.saved_model.load(case["saved_model"])
            tensors = {k: tf.constant(v) for k, v in x.items()} if case["dict"] else tf.constant(x)
            outputs[case["name"] + ".serve"] = served.serve(tensors).numpy()
            signature = served.signatures["serving_default"]
            result = signature(**tensors) if case["dict"] else signature(tensors)
            outputs[case["name"] + ".signature"] = next(iter(result.values())).numpy()
    leaked = sorted(m for m in sys.modules if m == "autodl" or m.startswith("autodl."))
    assert not leaked, leaked
    np.savez(sys.argv[2], **outputs)
    """
)


def _probabilities(frame: Any, class_names: list[str]) -> np.ndarray:
    return frame[[f"prob_{c}" for c in class_names]].to_numpy("float64")


def _as_probabilities(outputs: np.ndarray, task: str) -> np.ndarray:
    outputs = outputs.reshape(len(outputs), -1).astype("float64")
    return np.hstack([1 - outputs, outputs]) if task == "binary" else outputs


@pytest.fixture(scope="module")
def fresh_outputs(
    tmp_path_factory: pytest.TempPathFactory,
    table_export: Any,
    image_export: Any,
    text_export: Any,
) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("fresh")
    cases = []
    for name, exported, is_dict in (
        ("table", table_export, True),
        ("image", image_export, False),
        ("text", text_export, False),
    ):
        inputs = folder / f"{name}.npz"
        np.savez(inputs, **exported.raw)
        cases.append(
            {
                "name": name,
                "dict": is_dict,
                "inputs": str(inputs),
                "model": str(exported.out / "best_model.keras"),
                "saved_model": str(exported.out / "saved_model"),
            }
        )
    (folder / "cases.json").write_text(json.dumps(cases))
    (folder / "loader.py").write_text(LOADER)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run(
        [
            sys.executable,
            str(folder / "loader.py"),
            str(folder / "cases.json"),
            str(folder / "out.npz"),
        ],
        cwd=folder,  # not the repository: nothing of autodl is importable by accident
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(folder / "out.npz") as archive:
        return {k: archive[k] for k in archive.files}


@pytest.mark.parametrize("name", ["table", "image", "text"])
def test_fresh_process_predictions_match_autodl_predict(
    name: str, fresh_outputs: dict[str, np.ndarray], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import pandas as pd

    from autodl.export import predict_file, read_model_card

    exported = request.getfixturevalue(f"{name}_export")
    card = read_model_card(exported.out / "model_card.json")
    result = predict_file(exported.out, exported.predict_file, tmp_path / "predictions.csv")
    frame = pd.read_csv(result.out, keep_default_na=False)
    assert result.rows == len(frame) == len(next(iter(exported.raw.values())))
    in_process = _probabilities(frame, card["class_names"])
    keras_out = _as_probabilities(fresh_outputs[f"{name}.keras"], card["task"])
    np.testing.assert_allclose(keras_out, in_process, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        fresh_outputs[f"{name}.serve"], fresh_outputs[f"{name}.keras"], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        fresh_outputs[f"{name}.signature"], fresh_outputs[f"{name}.keras"], rtol=1e-5, atol=1e-6
    )
    names = np.asarray(card["class_names"])
    assert list(frame["prediction"].astype(str)) == list(names[in_process.argmax(axis=1)])


def test_the_exported_ensemble_loads_fresh_and_averages_its_chosen_members(
    fresh_outputs: dict[str, np.ndarray], table_export: Any
) -> None:
    import keras

    from autodl.export._evaluate import predict_outputs

    # The table search's ensemble beat its best model (the fixture's fixed mix): it is
    # best_model.keras, and the best trial's own model is kept beside it.
    assert table_export.result.summary["export"]["source"] == "ensemble"
    ensemble = table_export.result.summary["ensemble"]
    assert ensemble["file"] == "best_model.keras" and len(ensemble["members"]) == 2
    assert ensemble["saved_model"] == "saved_model"
    best = table_export.result.summary["export"]["trial"]
    assert ensemble["members"][0] == best
    assert (table_export.out / "best_trial_model.keras").read_bytes() == (
        table_export.out / "models" / f"trial_{best}.keras"
    ).read_bytes()
    assert ensemble["weights"] == pytest.approx([2 / 3, 1 / 3])  # the fixture's fixed mix
    assert np.isfinite(ensemble["value"]) and np.isfinite(ensemble["best_single_value"])
    models = table_export.out / "models"
    assert sorted(p.name for p in models.glob("*.keras")) == sorted(
        f"trial_{n}.keras" for n in ensemble["candidates"]
    )
    x = {k: _string_tensor(v) for k, v in table_export.raw.items()}
    members = [keras.saving.load_model(models / f"trial_{n}.keras") for n in ensemble["members"]]
    mean = np.average(
        [predict_outputs(m, x) for m in members], axis=0, weights=ensemble["weights"]
    )
    np.testing.assert_allclose(fresh_outputs["table.keras"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fresh_outputs["table.serve"], mean, rtol=1e-5, atol=1e-6)


def _string_tensor(value: np.ndarray) -> Any:
    import tensorflow as tf

    return tf.constant(value) if value.dtype.kind == "U" else value
