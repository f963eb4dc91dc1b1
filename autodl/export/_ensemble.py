"""One Keras model that averages the outputs of several trials' models.

Which models, and how much of each: greedy forward selection with replacement on the
validation split (Caruana et al., 2004). It starts from the best trial's model and adds,
one at a time, whichever kept model lowers the validation loss of the average most
(cross-entropy of the averaged probabilities, or the mean squared error); a model picked
twice weighs twice. It stops when no addition helps, so the ensemble is never worse on
validation loss than the best single model; when nothing helps at all there is no
ensemble. The loss, not accuracy, decides: accuracy is often tied at 1.0 on validation.

Every member takes the same raw input (same input names, dtypes and shapes: they were
built on the same data), so the ensemble is a plain functional model over shared inputs
with built-in layers only (`Average`, or `Rescaling` and `Add` for unequal weights): it
saves and loads like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ENSEMBLE_MODEL = "ensemble_model.keras"
ENSEMBLE_SAVED_MODEL = "ensemble_saved_model"


def _shared_inputs(model: Any) -> Any:
    import keras

    def like(tensor: Any, name: str) -> Any:
        return keras.Input(shape=tuple(tensor.shape[1:]), dtype=tensor.dtype, name=name)

    structure = model.input
    if isinstance(structure, dict):
        return {name: like(tensor, name) for name, tensor in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [like(t, t.name) for t in structure]
    return like(structure, structure.name)


def _signature(model: Any) -> list[tuple[str, str, tuple[Any, ...]]]:
    return [(t.name, str(t.dtype), tuple(t.shape[1:])) for t in model.inputs]


def validation_loss(task: str, y: Any, outputs: np.ndarray) -> float:
    """Cross-entropy of predicted probabilities (classification) or MSE (regression)."""
    from autodl.export._evaluate import class_probabilities

    y = np.asarray(y)
    if task == "regression":
        return float(np.mean((outputs[:, 0] - y.astype("float64")) ** 2))
    probabilities = class_probabilities(outputs, task)
    picked = probabilities[np.arange(len(y)), y.astype("int64")]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def select_members(predictions: Sequence[np.ndarray], loss: Any, *, rounds: int) -> list[int]:
    """How many times each model is picked (greedy, with replacement; model 0 first).

    `predictions`: each model's validation outputs; `loss(outputs)`: lower is better.
    Adds at most `rounds` picks, each one only if it lowers the loss of the average.
    """
    counts = [0] * len(predictions)
    counts[0] = 1
    current, size = np.asarray(predictions[0], dtype="float64"), 1
    best = loss(current)
    for _ in range(rounds):
        candidates = [(current * size + p) / (size + 1) for p in predictions]
        losses = [loss(c) for c in candidates]
        pick = int(np.argmin(losses))
        if not losses[pick] < best - 1e-9 * max(1.0, abs(best)):
            break
        counts[pick] += 1
        current, size, best = candidates[pick], size + 1, losses[pick]
    return counts


def build_ensemble(
    models: Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
) -> Any:
    """Average the outputs of `models` (Keras models, or paths to load) in one model."""
    import os

    import keras

    if len(models) < 2:
        raise ValueError(f"an ensemble needs at least 2 models, but got {len(models)}.")
    members = [
        keras.saving.load_model(m, compile=False) if isinstance(m, (str, os.PathLike)) else m
        for m in models
    ]
    labels = list(names) if names else [str(m) for m in models]
    reference = _signature(members[0])
    for label, member in zip(labels, members, strict=True):
        if _signature(member) != reference:
            raise ValueError(f"{label} takes other inputs than {labels[0]}: {_signature(member)}")
    # Nested models need distinct names: every trial's model is called autodl_<family>.
    for i, member in enumerate(members):
        member.name = names[i] if names else f"member_{i}"
    inputs = _shared_inputs(members[0])
    member_outputs = [member(inputs) for member in members]
    if weights is None or len(set(weights)) == 1:
        outputs = keras.layers.Average(name="average")(member_outputs)
    else:
        total = float(sum(weights))
        scaled = [
            keras.layers.Rescaling(float(w) / total, name=f"weight_{i}")(out)
            for i, (w, out) in enumerate(zip(weights, member_outputs, strict=True))
        ]
        outputs = keras.layers.Add(name="weighted_average")(scaled)
    return keras.Model(inputs, outputs, name="autodl_ensemble")


def describe_ensemble(entry: dict[str, Any]) -> str:
    """One line for the terminal, the model card and the report."""
    if not entry.get("file"):
        return str(entry.get("note") or "no ensemble")
    parts = ", ".join(
        f"{m} ({w:.0%})"
        for m, w in zip(entry["members"], entry.get("weights") or [], strict=False)
    ) or ", ".join(map(str, entry["members"]))
    return (
        f"{entry['file']} averages trials {parts}, chosen on validation loss: "
        f"{entry['metric']} {entry['value']:.6g} (best single model {entry['best_single_value']:.6g})"
    )
