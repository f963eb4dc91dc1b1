"""The ranking of a study's trials as a pandas DataFrame, best first."""

from __future__ import annotations

import math
from typing import Any

STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "RUNNING": 2, "WAITING": 3, "FAIL": 4}


def leaderboard(study: Any) -> Any:
    """One row per trial: complete trials by value, then pruned, running and failed ones.

    Equal values rank by `tie_loss` (lowest first), then by trial number.

    Columns: number, state, value, one column per parameter (full names), epochs,
    best_epoch, seconds, n_params, fail_reason.
    """
    import pandas as pd

    maximize = _maximize(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "value": t.value if t.values else None,
        }
        row.update({f"param_{k}": v for k, v in t.params.items()})
        row["epochs"] = attrs.get("epochs", len(t.intermediate_values) or None)
        row["best_epoch"] = attrs.get("best_epoch")
        row["seconds"] = attrs.get("seconds", _duration(t))
        row["n_params"] = attrs.get("n_params")
        row["fail_reason"] = attrs.get("fail_reason", "")
        row["_tie"] = tie_loss(t)
        rows.append(row)
    columns = ["number", "state", "value"]
    if not rows:
        return pd.DataFrame(columns=columns + ["epochs", "best_epoch", "seconds", "n_params", "fail_reason"])
    frame = pd.DataFrame(rows)
    param_cols = sorted(c for c in frame.columns if c.startswith("param_"))
    tail = ["epochs", "best_epoch", "seconds", "n_params", "fail_reason"]
    frame = frame[columns + param_cols + tail + ["_tie"]]
    frame["_state"] = frame["state"].map(STATE_ORDER).fillna(5)
    frame["_value"] = frame["value"].astype(float) * (-1 if maximize else 1)
    frame = frame.sort_values(["_state", "_value", "_tie", "number"], na_position="last", kind="stable")
    return frame.drop(columns=["_state", "_value", "_tie"]).reset_index(drop=True)


def tie_loss(trial: Any) -> float:
    """The validation cross-entropy of a classification trial's kept weights, else the
    validation loss at the epoch it reported; inf when it has neither.

    It orders trials of equal objective value, the surer model first: on a small validation
    set many trials reach the same accuracy (often 1.0), and the earliest of them is an
    arbitrary pick. Cross-entropy, not `val_loss`, where the trial recorded it: losses
    differ between trials (focal is smaller by design) and carry each model's L1/L2 penalty
    (train/_fit.py `validation_crossentropy`)."""
    attrs = trial.user_attrs
    crossentropy = attrs.get("val_crossentropy")
    if isinstance(crossentropy, (int, float)) and math.isfinite(crossentropy):
        return float(crossentropy)
    losses = (attrs.get("history") or {}).get("val_loss") or []
    epoch = attrs.get("best_epoch")
    if isinstance(epoch, int) and 0 <= epoch < len(losses):
        loss = losses[epoch]
        if isinstance(loss, (int, float)) and math.isfinite(loss):
            return float(loss)
    return math.inf


def state_counts(study: Any) -> dict[str, int]:
    counts = {"complete": 0, "pruned": 0, "failed": 0, "running": 0, "waiting": 0}
    names = {"FAIL": "failed"}
    for t in study.get_trials(deepcopy=False):
        key = names.get(t.state.name, t.state.name.lower())
        counts[key] = counts.get(key, 0) + 1
    return counts


def _maximize(study: Any) -> bool:
    return study.direction.name == "MAXIMIZE"


def _duration(trial: Any) -> float | None:
    if trial.datetime_start and trial.datetime_complete:
        return (trial.datetime_complete - trial.datetime_start).total_seconds()
    return None
