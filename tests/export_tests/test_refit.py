"""--refit: retraining the best configuration on train + validation does not lose accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_refit_on_digits_is_not_worse_than_the_best_trial(tmp_path: Path, make_space: Any) -> None:
    import keras

    import autodl
    from autodl.cli import main
    from autodl.export._evaluate import predict_outputs, raw_model_input, task_metrics

    space = make_space(tmp_path, "digits", "mlp", "layers=1, units=64,", epochs=12)
    result = autodl.search(
        str(space),
        data="builtin:digits",
        trials=2,
        seed=0,
        out=str(tmp_path / "out"),
        pruner="none",
        test_size=0.2,
        refit=True,
        ensemble=0,  # the trial's own model, not an ensemble, when exported without --refit
    )
    out, data = result.out, result.data
    export = result.summary["export"]
    assert export["source"] == "refit" and export["trained_on"] == "train+validation"
    refit_accuracy = result.summary["test_metrics"]["accuracy"]
    trial_model = keras.saving.load_model(out / "best_trial_model.keras")
    x_test = raw_model_input(data, data.x_test)
    trial_accuracy = task_metrics(data.task, data.y_test, predict_outputs(trial_model, x_test))[
        "accuracy"
    ]
    print(f"test accuracy: refit {refit_accuracy:.4f}, best trial {trial_accuracy:.4f}")
    assert refit_accuracy >= trial_accuracy - 0.02, (refit_accuracy, trial_accuracy)
    # Exporting again without --refit puts the trial's own model back.
    trial_model_bytes = (out / "best_trial_model.keras").read_bytes()
    assert main(["export", "--out", str(out)]) == 0
    assert (out / "best_model.keras").read_bytes() == trial_model_bytes
    assert not (out / "best_trial_model.keras").exists()
    assert json.loads((out / "summary.json").read_text())["export"]["source"] == "trial"
