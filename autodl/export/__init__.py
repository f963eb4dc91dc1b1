"""Exports: the best model (raw input in, user units out) and the config that rebuilds it."""

from autodl.export._best import BestModelWriter, save_keras_model

__all__ = ["BestModelWriter", "save_keras_model"]
