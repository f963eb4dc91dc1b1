"""Generation as a task: chosen by a space's generative family, checked against the data.

Light on purpose (no Keras): `prepare_search` and `--dry-run` call it before anything loads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from autodl.exceptions import ConfigError, DataError, SpaceError
from autodl.space._vocabulary import GENERATIVE_FAMILIES

# Data kinds each generative family models, and a built-in set to try instead.
FAMILY_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "autoencoder": (("image", "tabular", "sequence"), "builtin:digits"),
    "vae": (("image", "tabular", "sequence"), "builtin:digits"),
    "textgen": (("text", "tokens", "sequence"), "builtin:rhymes"),
}


def space_families(space: Any) -> tuple[str, ...] | None:
    """The families a `SearchSpace` declares; None for spaces that build their own model."""
    families = getattr(space, "families", None)
    return tuple(families) if families is not None else None


def resolve_generation_task(settings: Any, space: Any) -> Any:
    """`settings` with task "generation" when the space declares a generative family.

    Recording the resolved task with the study lets workers, reports and `autodl export`
    reload the data as the search saw it.
    """
    families = space_families(space)
    generative = [f for f in families or () if f in GENERATIVE_FAMILIES]
    if not generative:
        if settings.task == "generation":
            declared = ", ".join(families) if families else "its own Keras model"
            raise ConfigError(
                f"--task generation: the space declares {declared}; generation needs one "
                f"of the families {', '.join(GENERATIVE_FAMILIES)}"
            )
        return settings
    others = [f for f in families or () if f not in GENERATIVE_FAMILIES]
    if others:
        raise SpaceError(
            f"family: generative families ({', '.join(generative)}) and predictive ones "
            f"({', '.join(others)}) cannot share a space: they solve different tasks"
        )
    if settings.task not in (None, "generation"):
        raise ConfigError(
            f"--task {settings.task}: the space's family '{generative[0]}' generates data; "
            "leave --task out or pass --task generation"
        )
    return dataclasses.replace(settings, task="generation")


def check_generation_data(space: Any, data: Any) -> None:
    """Every generative family of the space can model `data` (else one clear line)."""
    if data.task != "generation":
        return
    for family in space_families(space) or ():
        kinds, example = FAMILY_KINDS.get(family, ((), ""))
        if kinds and data.input_kind not in kinds:
            raise DataError(
                f"{data.source}: the {family} family models {', '.join(kinds)} data, but this "
                f"is {data.input_kind} data ({data.describe()}); try --data {example}"
            )
    entry = getattr(space, "entries", {}).get("architecture")
    autoencoding = {"autoencoder", "vae"} & set(space_families(space) or ())
    if autoencoding and entry is not None and not entry.searched and entry.value == "conv":
        if data.input_kind != "image":
            raise DataError(
                f"{data.source}: architecture 'conv' of an autoencoder needs images; this is "
                f"{data.input_kind} data (use architecture 'dense')"
            )
