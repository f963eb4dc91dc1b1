"""One Keras model that averages the outputs of several trials' models.

Every member takes the same raw input (same input names, dtypes and shapes: they were
built on the same data), so the ensemble is a plain functional model over shared
inputs with a `keras.layers.Average` on top: it saves and loads like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def build_ensemble(model_paths: Sequence[Path], *, names: Sequence[str] | None = None) -> Any:
    """Load the models at `model_paths` and average their outputs in one functional model."""
    import keras

    if len(model_paths) < 2:
        raise ValueError(f"an ensemble needs at least 2 models, but got {len(model_paths)}.")
    members = [keras.saving.load_model(path, compile=False) for path in model_paths]
    reference = _signature(members[0])
    for path, member in zip(model_paths, members, strict=True):
        if _signature(member) != reference:
            raise ValueError(
                f"{path} takes other inputs than {model_paths[0]}: {_signature(member)}"
            )
    # Nested models need distinct names: every trial's model is called autodl_<family>.
    for i, member in enumerate(members):
        member.name = names[i] if names else f"member_{i}"
    inputs = _shared_inputs(members[0])
    outputs = keras.layers.Average(name="average")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name="autodl_ensemble")
