"""Task "generation" in data, spaces and objectives: no labels needed, no Keras training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autodl.builders._generative import Vocabulary, row_windows, stream_windows
from autodl.data import load_data
from autodl.exceptions import ConfigError, DataError, SpaceError
from autodl.space import SearchSpace, choice, load_space
from autodl.study import SearchSettings
from autodl.study._generation import check_generation_data, resolve_generation_task
from autodl.train import Objective


def test_rhymes_are_generated_the_same_every_time_and_default_to_generation() -> None:
    a, b = load_data("builtin:rhymes"), load_data("builtin:rhymes")
    assert a.task == "generation" and a.input_kind == "text"
    assert list(a.x_train) == list(b.x_train)
    # every verse is two lines that end in a word of its rhyme, which is its label
    from autodl.data._builtin import _RHYME_WORDS

    for text, label in zip(a.x_train[:50], a.y_train[:50], strict=True):
        lines = text.rstrip(".").split(",\n")
        words = _RHYME_WORDS[a.class_names[label].lstrip("-")]
        assert len(lines) == 2 and all(line.split()[-1] in words for line in lines)


def test_a_labelled_set_keeps_its_labels_only_as_colours() -> None:
    data = load_data("builtin:digits", task="generation")
    assert data.task == "generation" and data.n_classes == 10
    assert (
        data.describe()
        == "digits: 1437 train / 360 val, 8x8x1 images, generation (10 label classes)"
    )
    assert data.y_train.min() >= 0


def test_npz_without_labels_images_and_token_sequences(tmp_path: Path) -> None:
    images = np.random.default_rng(0).random((30, 6, 6, 1)).astype("float32")
    np.savez(tmp_path / "images.npz", x=images)
    data = load_data(tmp_path / "images.npz", task="generation")
    assert (data.input_kind, data.n_classes, data.n_train + data.n_val) == ("image", 0, 30)
    assert (data.y_train == -1).all()

    tokens = np.random.default_rng(0).integers(0, 7, size=(40, 12))
    np.savez(tmp_path / "tokens.npz", x=tokens, x_val=tokens[:5])
    data = load_data(tmp_path / "tokens.npz", task="generation")
    assert data.input_kind == "tokens" and data.x_train.dtype == np.int64
    assert (data.n_train, data.n_val) == (40, 5)
    assert data.describe().startswith("tokens: 40 train / 5 val, 12-step token sequences")
    # without task generation the labels are still required
    with pytest.raises(DataError, match="missing array 'y'"):
        load_data(tmp_path / "tokens.npz")


def test_csv_text_needs_no_target_and_a_target_only_colours(tmp_path: Path) -> None:
    lines = [f"line number {i} of a little poem" for i in range(40)]
    frame = pd.DataFrame({"verse": lines, "mood": ["glad", "sad"] * 20})
    frame.to_csv(tmp_path / "poem.csv", index=False)
    plain = load_data(tmp_path / "poem.csv", task="generation")
    assert plain.input_kind == "text" and plain.text_column == "verse" and plain.n_classes == 0
    assert any("generating text column 'verse'" in note for note in plain.notes)
    coloured = load_data(tmp_path / "poem.csv", task="generation", target="mood")
    assert coloured.class_names == ("glad", "sad") and coloured.n_train == 32
    with pytest.raises(DataError, match=r"target column 'mod' not found.*did you mean 'mood'"):
        load_data(tmp_path / "poem.csv", task="generation", target="mod")


def test_a_flat_image_folder_is_enough_for_generation(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(12):
        Image.fromarray(np.full((5, 4), i * 20, dtype="uint8")).save(tmp_path / f"{i}.png")
    data = load_data(tmp_path, task="generation")
    assert data.input_shape == (5, 4, 1) and data.n_classes == 0
    with pytest.raises(DataError, match="one subfolder per class"):
        load_data(tmp_path)


def test_vocabulary_round_trips_and_windows_shift_by_one() -> None:
    data = load_data("builtin:rhymes")
    vocabulary = Vocabulary.from_data(data)
    assert vocabulary.symbols[vocabulary.separator] == "\n"
    assert Vocabulary.from_dict(vocabulary.to_dict()) == vocabulary
    stream, unknown = vocabulary.stream(["ab?", "b"])  # '?' is not in the rhymes
    assert unknown == 1 and vocabulary.decode(stream) == "ab\nb\n"
    x, y = stream_windows(np.arange(20), 6, 3)
    assert x.shape == y.shape == (5, 6)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    x, y = stream_windows(np.arange(4), 10, 10)  # shorter than a window: one short window
    assert x.shape == (1, 3)
    series = np.arange(2 * 9 * 2, dtype="float32").reshape(2, 9, 2)
    x, y = row_windows(series, 4, 4)
    assert x.shape == (4, 4, 2)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])


def test_a_generative_family_selects_the_task_and_its_objective() -> None:
    for name, metric in (("autoencoder", "val_reconstruction"), ("vae", "val_neg_elbo"),
                         ("textgen", "val_token_loss")):  # fmt: skip
        space = load_space(name).space
        settings = resolve_generation_task(SearchSettings(space=name), space)
        assert settings.task == "generation"
        assert Objective.parse(None, "generation", families=space.families).metric == metric
    mixed = SearchSpace(family=choice("autoencoder", "vae"))
    assert (
        Objective.parse(None, "generation", families=mixed.families).metric == "val_reconstruction"
    )
    with pytest.raises(ConfigError, match=r"'val_kl' is not a metric of a generation search"):
        Objective.parse("val_kl", "generation", families=["autoencoder"])
    with pytest.raises(ConfigError, match="--task binary: the space's family 'vae' generates"):
        resolve_generation_task(
            SearchSettings(space="vae", task="binary"), load_space("vae").space
        )
    with pytest.raises(ConfigError, match="--task generation: the space declares mlp"):
        resolve_generation_task(
            SearchSettings(space="mlp", task="generation"), load_space("mlp").space
        )
    with pytest.raises(SpaceError, match="cannot share a space"):
        resolve_generation_task(
            SearchSettings(space="x"), SearchSpace(family=choice("vae", "mlp"))
        )


def test_vae_keys_are_conditional_and_text_data_is_checked() -> None:
    space = SearchSpace(family=choice("autoencoder", "vae"), kl_weight=choice(0.5, 1.0))
    assert space.searched["kl_weight"].when == (("family", ("vae",)),)
    textgen = SearchSpace(
        family="textgen", architecture=choice("rnn", "conv"), cell=choice("lstm", "gru")
    )
    assert textgen.searched["cell"].when == (("architecture", ("rnn",)),)
    with pytest.raises(DataError, match="textgen family models text.*try --data builtin:rhymes"):
        check_generation_data(textgen, load_data("builtin:digits", task="generation"))
