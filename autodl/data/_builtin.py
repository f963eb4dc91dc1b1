"""`builtin:NAME`: the small datasets bundled with scikit-learn (nothing is downloaded)."""

from __future__ import annotations

import numpy as np

from autodl.data._dataset import RawData
from autodl.exceptions import DataError, one_of

# name -> (sklearn loader, task)
_BUILTINS: dict[str, tuple[str, str]] = {
    "digits": ("load_digits", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}


def builtin_names() -> tuple[str, ...]:
    """Names accepted after ``builtin:``."""
    return tuple(_BUILTINS)


def load_builtin(name: str, source: str) -> RawData:
    if name not in _BUILTINS:
        raise DataError(f"{source}: " + one_of("builtin dataset", name, _BUILTINS))
    from sklearn import datasets

    loader, task = _BUILTINS[name]
    bunch = getattr(datasets, loader)()
    feature_names: tuple[str, ...] = ()
    if name == "digits":
        # Raw 0..16 pixel values as 8x8 one-channel images so image families apply directly.
        x = np.asarray(bunch.images, dtype=np.float32)[..., np.newaxis]
        kind = "image"
    else:
        x = np.asarray(bunch.data, dtype=np.float32)
        kind = "tabular"
        feature_names = tuple(str(f) for f in bunch.feature_names)
    target_names = getattr(bunch, "target_names", None)
    label_names = None
    if task == "classification" and target_names is not None:
        label_names = tuple(str(t) for t in target_names)
    return RawData(
        name=name,
        input_kind=kind,
        x=x,
        y=np.asarray(bunch.target),
        target_label="target",
        default_task=task,
        label_names=label_names,
        feature_names=feature_names,
    )
