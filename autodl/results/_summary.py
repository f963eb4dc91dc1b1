"""summary.json, leaderboard.csv and best_config.json, written atomically."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from autodl._files import write_json, write_text
from autodl.results._leaderboard import leaderboard, state_counts, tie_loss


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("autodl", "keras", "tensorflow", "optuna", "numpy", "scikit-learn"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def best_trial(study: Any) -> Any | None:
    """The best complete trial; of equal values, the lowest `tie_loss`, then the earliest.

    Optuna's `study.best_trial` is the earliest of equals; autodl ranks, exports and
    reports this one."""
    from optuna.trial import TrialState

    try:
        value = study.best_value
    except ValueError:  # no complete trial yet
        return None
    ties = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value == value]
    return min(ties, key=lambda t: (tie_loss(t), t.number))


def summarize(study: Any, *, storage: str, wall_seconds: float | None = None) -> dict[str, Any]:
    """The facts of a study as summary.json holds them (credentials already masked)."""
    best = best_trial(study)
    attrs = study.user_attrs
    epochs_trained = sum(
        int(t.user_attrs.get("epochs", len(t.intermediate_values))) for t in study.get_trials(deepcopy=False)
    )
    return {
        "study_name": study.study_name,
        "storage": storage,
        "direction": study.direction.name.lower(),
        "metric": attrs.get("metric"),
        "task": attrs.get("task"),
        "data": attrs.get("data"),
        "space": attrs.get("space"),
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_params": best.params if best else {},
        "best_config": best.user_attrs.get("config") if best else None,
        "trials": state_counts(study),
        "epochs_trained": epochs_trained,
        "wall_seconds": round(wall_seconds, 3) if wall_seconds is not None else None,
        "versions": library_versions(),
    }


def write_outputs(study: Any, out: Path, *, storage: str, wall_seconds: float | None = None) -> dict[str, Any]:
    """Write summary.json and leaderboard.csv for `study` into `out`; return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(study, storage=storage, wall_seconds=wall_seconds)
    write_json(out / "summary.json", summary)
    write_text(out / "leaderboard.csv", leaderboard(study).to_csv(index=False))
    return summary
