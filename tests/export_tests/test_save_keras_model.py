"""`save_keras_model`: Keras' own .keras file, without Keras rebuilding its saving skip
sets (a throwaway Layer, Optimizer, Metric...) on every save."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import keras
import numpy as np
from keras.src.saving import saving_lib

from autodl.export._best import save_keras_model


def _keras_skipset():  # noqa: ANN202
    """Keras' own `get_attr_skipset`, whether or not autodl has memoised it."""
    return getattr(saving_lib.get_attr_skipset, "__wrapped__", saving_lib.get_attr_skipset)


def _trained_model() -> keras.Model:
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 6)), rng.integers(0, 3, 16), epochs=1, verbose=0)
    return model


def test_each_kind_of_skip_set_is_computed_once_across_saves_and_sessions(tmp_path: Path, monkeypatch) -> None:
    original = _keras_skipset()
    calls: Counter[str] = Counter()

    def counted(obj_type: str) -> set[str]:
        calls[obj_type] += 1
        return original(obj_type)

    monkeypatch.setattr(saving_lib, "get_attr_skipset", counted)
    for n in range(3):
        keras.backend.clear_session()  # as between trials
        save_keras_model(_trained_model(), tmp_path / f"trial_{n}.keras")
    assert calls and set(calls.values()) == {1}, calls


def test_the_file_is_what_keras_itself_saves(tmp_path: Path, monkeypatch) -> None:
    model = _trained_model()
    original = _keras_skipset()
    monkeypatch.setattr(saving_lib, "get_attr_skipset", original)
    model.save(tmp_path / "keras.keras")  # Keras alone
    save_keras_model(model, tmp_path / "autodl.keras")
    save_keras_model(model, tmp_path / "autodl_again.keras")  # the remembered skip sets

    def contents(name: str) -> tuple[dict, list[np.ndarray]]:
        with zipfile.ZipFile(tmp_path / name) as archive:
            config = json.loads(archive.read("config.json"))
        loaded = keras.saving.load_model(tmp_path / name)
        return config, [*loaded.get_weights(), *(v.numpy() for v in loaded.optimizer.variables)]

    expected_config, expected_arrays = contents("keras.keras")
    for name in ("autodl.keras", "autodl_again.keras"):
        config, arrays = contents(name)
        assert config == expected_config
        assert len(arrays) == len(expected_arrays) > 2
        assert all(np.array_equal(a, b) for a, b in zip(arrays, expected_arrays, strict=True))
