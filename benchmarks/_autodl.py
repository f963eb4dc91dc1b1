"""autodl as a user runs it: its built-in space and defaults, `timeout` = the budget."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._tasks import Split, scores, val_score_from_standardised_mse


def run_autodl(method: str, split: Split, seed: int, budget: float, workdir: Path) -> dict[str, Any]:
    """`autodl.search("cnn"|"mlp", data=<the split as .npz>, timeout=budget, ...)`.

    autodl's timeout starts no trial after the budget and stops the running one at its next
    batch (it keeps its best epoch so far; `budget_stops` counts them): `search_seconds`
    (until the last trial ended) shows what overrun is left, and `total_seconds` adds the
    export autodl does after the search (refit, SavedModel, report).
    """
    import keras
    import optuna

    import autodl

    npz = split.write_npz(workdir / f"{split.task}.npz")
    space = "cnn" if split.input_kind == "image" else "mlp"
    started_at = datetime.now()  # Optuna stamps trials with naive local times
    start = time.perf_counter()
    result = autodl.search(
        space,
        data=str(npz),
        task=split.kind,
        timeout=budget,
        trials=10000,
        seed=seed,
        out=str(workdir / "autodl"),
    )
    total_seconds = time.perf_counter() - start
    trials = result.study.get_trials(deepcopy=False)
    states = optuna.trial.TrialState
    complete = [t for t in trials if t.state == states.COMPLETE]
    pruned = [t for t in trials if t.state == states.PRUNED]
    timeline: list[tuple[float, float]] = []
    for trial in sorted(complete, key=lambda t: t.datetime_complete):
        score = trial.value if split.classify else val_score_from_standardised_mse(split, trial.value)
        best = max(score, timeline[-1][1]) if timeline else score
        seconds = (trial.datetime_complete - started_at).total_seconds()
        timeline.append((round(seconds, 3), round(float(best), 6)))
    ended = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    search_seconds = (max(ended) - started_at).total_seconds() if ended else total_seconds
    def test_scores(model_file: Path) -> dict[str, float] | None:
        if not (complete and model_file.exists()):
            return None
        model = keras.saving.load_model(model_file)
        outputs = np.asarray(model.predict(split.x_test, batch_size=256, verbose=0))
        return scores(split, split.y_test, outputs)  # raw input in, user units out

    export = result.summary.get("export") or {}
    ensemble = result.summary.get("ensemble") or {}
    return {
        "search_seconds": round(search_seconds, 3),
        "total_seconds": round(total_seconds, 3),
        "trials_finished": len(complete) + len(pruned),
        "trials_pruned": len(pruned),
        "trials_failed": len(trials) - len(complete) - len(pruned),
        "epochs": int(sum(int(t.user_attrs.get("epochs", 0) or 0) for t in trials)),
        "budget_stops": sum(t.user_attrs.get("stopped") == "timeout" for t in trials),
        "timeline": timeline,
        "best_val": timeline[-1][1] if timeline else None,
        "test": test_scores(result.out / "best_model.keras"),
        # What autodl exported ("ensemble" or "trial") and, beside an ensemble, the best
        # trial's own model on the same test rows: what the ensemble added.
        "exported": export.get("source"),
        "ensemble_members": ensemble.get("members") if export.get("source") == "ensemble" else None,
        "test_best_trial_model": test_scores(result.out / "best_trial_model.keras"),
        "space": space,
    }
