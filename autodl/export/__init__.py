"""Exports: the best model (raw input in, user units out) and the config that rebuilds it."""

from autodl.export._best import BestModelWriter, save_keras_model
from autodl.export._card import read_model_card
from autodl.export._finalize import finalize_export
from autodl.export._predict import predict_file
from autodl.export._topk import TopKModels

__all__ = [
    "BestModelWriter",
    "TopKModels",
    "finalize_export",
    "predict_file",
    "read_model_card",
    "save_keras_model",
]
