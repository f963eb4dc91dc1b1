"""Autoencoders and VAEs on a digits subset: search, export, report and `autodl generate`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import autodl
from autodl.export._generate import GRID_CELL, GRID_PAD, generate, write_samples

SPACE = """
from autodl.space import SearchSpace, real

space = SearchSpace(
    family={family!r},
    architecture={architecture!r},
    latent_dim=4,
    encoder_layers=1,
    encoder_units=16,
    decoder_layers=1,
    decoder_units=16,
    learning_rate=real(3e-3, 1e-2, log=True),
    batch_size=72,  # 288 training and 72 validation rows: no ragged batch to trace again
    epochs=4,
    patience=4,
)
"""


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """360 digit images without labels: generation needs none."""
    from sklearn.datasets import load_digits

    path = tmp_path_factory.mktemp("data") / "digits.npz"
    images = load_digits().images[:360, :, :, np.newaxis].astype("float32")
    np.savez(path, x=images)
    return path


def _search(tmp: Path, family: str, architecture: str, data: Path) -> autodl.SearchResult:
    space = tmp / f"{family}.py"
    space.write_text(textwrap.dedent(SPACE.format(family=family, architecture=architecture)))
    return autodl.search(
        str(space), data=str(data), trials=2, seed=0, out=str(tmp / "out"), pruner="none"
    )


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory: pytest.TempPathFactory, digits_npz: Path) -> autodl.SearchResult:
    return _search(tmp_path_factory.mktemp("ae"), "autoencoder", "dense", digits_npz)


@pytest.fixture(scope="module")
def vae(tmp_path_factory: pytest.TempPathFactory, digits_npz: Path) -> autodl.SearchResult:
    return _search(tmp_path_factory.mktemp("vae"), "vae", "conv", digits_npz)


@pytest.mark.parametrize(
    ("name", "metric"), [("autoencoder", "val_reconstruction"), ("vae", "val_neg_elbo")]
)
def test_the_objective_falls_over_the_epochs(
    name: str, metric: str, request: pytest.FixtureRequest
) -> None:
    result = request.getfixturevalue(name)
    assert result.summary["task"] == "generation" and result.summary["metric"] == metric
    complete = [t for t in result.study.trials if t.state.name == "COMPLETE"]
    assert len(complete) == 2
    for trial in complete:
        curve = [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)]
        assert len(curve) == 4 and curve[-1] < curve[0], curve
        assert trial.user_attrs["history"][metric] == pytest.approx(curve, rel=1e-5)
    if name == "vae":  # the bound is the reconstruction plus the KL term, whatever kl_weight is
        history = complete[0].user_attrs["history"]
        total = np.add(history["val_reconstruction"], history["val_kl"])
        np.testing.assert_allclose(history["val_neg_elbo"], total, rtol=1e-4)


@pytest.mark.parametrize("name", ["autoencoder", "vae"])
def test_reconstructions_have_the_inputs_shape_and_range(
    name: str, request: pytest.FixtureRequest
) -> None:
    result = request.getfixturevalue(name)
    x = result.data.x_val[:20]
    reconstructed = np.asarray(result.best_model.predict(x, verbose=0))
    assert reconstructed.shape == x.shape
    assert reconstructed.min() >= 0.0 and reconstructed.max() <= 16.0  # digits' pixel range
    assert reconstructed.std() > 0.1, "reconstructions are not a constant image"
    card = json.loads((result.out / "model_card.json").read_text())
    generation = card["generation"]
    assert generation["generator"]["file"] == "decoder.keras"
    assert generation["value_range"] == [0.0, 16.0] and generation["shape"] == [8, 8, 1]
    assert "8x8x1 images" in generation["generates"]
    prior = "standard normal" if name == "vae" else "fitted to the training codes"
    assert prior in generation["from"]
    markdown = (result.out / "model_card.md").read_text()
    assert "## Generation" in markdown and "decoder.keras" in markdown
    assert (result.out / "decoder.keras").is_file() and (result.out / "encoder.keras").is_file()


def test_autoencoder_samples_from_the_gaussian_of_its_training_codes(
    autoencoder: autodl.SearchResult,
) -> None:
    samples = generate(autoencoder.out, n=6, seed=1, temperature=0.5)
    assert samples.kind == "images" and samples.arrays.shape == (6, 8, 8, 1)
    assert samples.arrays.min() >= 0.0 and samples.arrays.max() <= 16.0
    card = json.loads((autoencoder.out / "model_card.json").read_text())
    assert len(card["generation"]["latent"]["std"]) == 4


def test_report_shows_reconstructions_prior_samples_and_a_traversal(
    vae: autodl.SearchResult,
) -> None:
    page = (vae.out / "report.html").read_text()
    section = page[page.index('<section id="generation">') :]
    section = section[: section.index("</section>")]
    for title in ("Reconstructions", "New samples", "Latent traversal"):
        assert f"<h3>{title}</h3>" in section
    assert section.count('src="data:image/png;base64,') == 3
    assert "validation negative ELBO" in section


def test_a_fresh_process_loads_the_decoder_and_generates_the_same_png(
    vae: autodl.SearchResult, tmp_path: Path
) -> None:
    """Plain Keras loads the exported parts; `autodl generate` in a fresh process writes a
    grid of the requested count, the same as generating here with the same seed."""
    png = tmp_path / "fresh.png"
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras
        decoder = keras.saving.load_model({str(vae.out / "decoder.keras")!r})
        encoder = keras.saving.load_model({str(vae.out / "encoder.keras")!r})
        assert not any(m.startswith("autodl") for m in sys.modules)
        images = decoder.predict(np.zeros((2, 4), "float32"), verbose=0)
        mean, log_var = encoder.predict(images, verbose=0)
        print(images.shape, mean.shape)
        from autodl.cli import main
        sys.exit(main(["generate", "--model", {str(vae.out)!r}, "--n", "7", "--seed", "11",
                       "--out", {str(png)!r}]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert "(2, 8, 8, 1) (2, 4)" in lines and any("wrote 7 samples" in line for line in lines)
    picture = Image.open(png)
    assert picture.text["autodl:count"] == "7" and picture.text["autodl:grid"] == "3x3"
    side = 3 * (GRID_CELL + GRID_PAD) + GRID_PAD  # 8-pixel digits scaled up to 64
    assert picture.size == (side, side)
    here = tmp_path / "here.png"
    write_samples(generate(vae.out, n=7, seed=11), here)
    np.testing.assert_array_equal(np.asarray(picture), np.asarray(Image.open(here)))
    other = generate(vae.out, n=7, seed=12).arrays
    assert np.abs(other - generate(vae.out, n=7, seed=11).arrays).max() > 1e-3
