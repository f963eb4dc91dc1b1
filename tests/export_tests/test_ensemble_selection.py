"""Which kept models the ensemble averages, and with what weights (chosen on validation)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autodl.export._ensemble import select_members, validation_loss


def _mse(y: np.ndarray):
    return lambda outputs: float(np.mean((outputs[:, 0] - y) ** 2))


def test_two_models_with_opposite_errors_are_averaged() -> None:
    y = np.linspace(0, 1, 50)
    high, low = (y + 1.0)[:, None], (y - 1.0)[:, None]
    assert select_members([high, low], _mse(y), rounds=4) == [1, 1]


def test_a_model_that_only_adds_error_is_left_out() -> None:
    y = np.linspace(0, 1, 50)
    good, worse = (y + 0.1)[:, None], (y + 0.5)[:, None]
    assert select_members([good, worse], _mse(y), rounds=4) == [1, 0]


def test_picking_a_model_twice_weighs_it_twice() -> None:
    # Errors +1 and -2: the best mix is 2/3 of the first and 1/3 of the second.
    y = np.zeros(20)
    assert select_members([(y + 1.0)[:, None], (y - 2.0)[:, None]], _mse(y), rounds=6) == [2, 1]


def test_rounds_bound_the_number_of_picks() -> None:
    y = np.zeros(20)
    counts = select_members(
        [(y + 1.0)[:, None], (y - 1.0)[:, None], (y + 0.5)[:, None]], _mse(y), rounds=1
    )
    assert sum(counts) == 2


def test_the_validation_loss_is_cross_entropy_for_classes_and_mse_for_values() -> None:
    y = np.array([0, 1, 1])
    sure = np.array([[0.0], [1.0], [1.0]])
    unsure = np.array([[0.4], [0.6], [0.6]])
    assert validation_loss("binary", y, sure) < validation_loss("binary", y, unsure)
    assert validation_loss("binary", y, 1.0 - sure) > 10  # clipped, never infinite
    three = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1]])
    assert validation_loss("multiclass", np.array([0, 1]), three) == pytest.approx(
        -np.mean(np.log([0.8, 0.7]))
    )
    assert validation_loss("regression", np.array([1.0, 3.0]), np.array([[2.0], [3.0]])) == 0.5


def test_a_weighted_ensemble_saves_and_reloads(tmp_path: Path) -> None:
    import keras

    from autodl.export._ensemble import build_ensemble

    paths = []
    for i, bias in enumerate((1.0, 4.0)):
        inputs = keras.Input(shape=(3,), name="x")
        dense = keras.layers.Dense(
            1, kernel_initializer="ones", bias_initializer=keras.initializers.Constant(bias)
        )
        model = keras.Model(inputs, dense(inputs), name="autodl_mlp")
        paths.append(tmp_path / f"trial_{i}.keras")
        model.save(paths[-1])
    ensemble = build_ensemble(paths, names=["trial_0", "trial_1"], weights=[2, 1])
    ensemble.save(tmp_path / "ensemble.keras")
    loaded = keras.saving.load_model(tmp_path / "ensemble.keras")
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype="float32")
    expected = (2 * (x.sum(axis=1) + 1.0) + (x.sum(axis=1) + 4.0)) / 3
    np.testing.assert_allclose(loaded.predict(x, verbose=0)[:, 0], expected, rtol=1e-6)


def test_no_better_average_exports_the_best_trials_model_and_a_note(
    table_export: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autodl.cli import main
    from autodl.export import _ensemble

    out = tmp_path / "out"
    shutil.copytree(table_export.out, out)
    best = table_export.result.summary["best_trial"]
    assert table_export.result.summary["export"]["source"] == "ensemble"  # the search's export
    monkeypatch.setattr(
        _ensemble,
        "select_members",
        lambda predictions, loss, rounds: [1] + [0] * (len(predictions) - 1),
    )
    assert main(["export", "--out", str(out)]) == 0
    entry = json.loads((out / "summary.json").read_text())["ensemble"]
    assert entry["file"] is None and entry["members"] == [best]
    assert entry["note"].startswith("no ensemble: no average of the 2 best trials' models")
    assert entry["value"] == entry["best_single_value"]
    assert entry["note"] in (out / "model_card.md").read_text()
    # The best trial's own model is exported again, and nothing of the ensemble is left.
    summary = json.loads((out / "summary.json").read_text())
    assert summary["export"]["source"] == "trial" and summary["export"]["trial"] == best
    assert (out / "best_model.keras").read_bytes() == (
        out / "models" / f"trial_{best}.keras"
    ).read_bytes()
    assert not (out / "best_trial_model.keras").exists()
    # `autodl export --ensemble 0` skips the choice: no ensemble entry at all.
    assert main(["export", "--out", str(out), "--ensemble", "0"]) == 0
    assert json.loads((out / "summary.json").read_text())["ensemble"] is None


def test_the_ensemble_is_on_by_default_except_for_generative_models() -> None:
    from autodl.study._settings import DEFAULT_ENSEMBLE, SearchSettings, ensemble_size

    default = SearchSettings(space="mlp").validate()
    assert ensemble_size(default, "multiclass") == ensemble_size(default, "regression") == 5
    assert DEFAULT_ENSEMBLE == 5 and ensemble_size(default, "generation") == 0
    assert ensemble_size(default, "multiclass", builds_own_model=True) == 0  # KerasTuner's
    assert ensemble_size(SearchSettings(space="mlp", ensemble=0).validate(), "binary") == 0
    assert ensemble_size(SearchSettings(space="mlp", ensemble=3).validate(), "binary") == 3
    # What a study recorded before the default existed (ensemble: 0) still means "none".
    assert ensemble_size(SearchSettings.from_dict({"space": "mlp", "ensemble": 0}), "binary") == 0
