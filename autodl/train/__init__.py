"""Training one configuration: compile, fit with pruning and early stopping, record.

This is the only place that runs Keras training; Optuna decides what to try next.
Names that need Keras load on first use, so `from autodl.train import Objective` is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from autodl.train._objective import Objective, available_metrics

_LAZY = {
    "EpochLearningRate": "_callbacks",
    "EpochReporter": "_callbacks",
    "TrialFailure": "_callbacks",
    "learning_rate_at": "_callbacks",
    "compile_model": "_compile",
    "PreparedData": "_fit",
    "TrainedModel": "_fit",
    "encode_targets": "_fit",
    "release_memory": "_fit",
    "seed_trial": "_fit",
    "train_config": "_fit",
}
__all__ = ["Objective", "available_metrics", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"autodl.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'autodl.train' has no attribute {name!r}")
