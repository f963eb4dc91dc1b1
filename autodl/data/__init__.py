"""Data loading: builtin:NAME, .npz, .csv/.parquet and image folders -> `Dataset`.

Backend-free on purpose (no Keras/TensorFlow here), so loading and validating data is fast.

    from autodl.data import load_data
    ds = load_data("builtin:digits")
    ds.describe()  # "digits: 1437 train / 360 val, 8x8x1 images, 10 classes"
"""

from __future__ import annotations

from autodl.data._builtin import builtin_names
from autodl.data._dataset import DATA_KINDS, TASKS, Dataset
from autodl.data._load import load_data

__all__ = ["DATA_KINDS", "TASKS", "Dataset", "builtin_names", "load_data"]
