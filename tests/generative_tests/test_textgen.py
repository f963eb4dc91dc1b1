"""Next-step generation on a small generated text (and on token and real-valued sequences)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import autodl
from autodl.data import load_data
from autodl.export._generate import continue_sequences, generate, sample_ids
from autodl.export._generative import export_generator
from autodl.space._vocabulary import defaults
from autodl.train import Objective, PreparedData, train_config

SPACE = """
from autodl.space import SearchSpace, choice

space = SearchSpace(
    family="textgen",
    architecture=choice("rnn", "conv"),
    cell="gru",
    rnn_units=32,
    blocks=2,
    filters=32,
    embedding_dim=8,
    sequence_length=16,
    learning_rate=1e-2,
    batch_size=64,
    epochs=3,
    patience=3,
)
"""
SMALL = {"rnn_units": 16, "filters": 16, "blocks": 2, "embedding_dim": 4, "sequence_length": 8,
         "epochs": 2, "batch_size": 32, "learning_rate": 1e-2}  # fmt: skip


@pytest.fixture(scope="module")
def poems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """160 lines from a tiny grammar: enough for a character model to learn words."""
    rng = np.random.default_rng(0)
    names, verbs, things = (
        ("ann", "bob", "cat", "dan"),
        ("likes", "eats", "sees"),
        ("jam", "tea", "pie", "figs"),
    )
    lines = [
        f"{names[rng.integers(4)]} {verbs[rng.integers(3)]} {things[rng.integers(4)]}."
        for _ in range(160)
    ]
    path = tmp_path_factory.mktemp("text") / "poems.csv"
    pd.DataFrame({"line": lines}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def textgen(tmp_path_factory: pytest.TempPathFactory, poems: Path) -> autodl.SearchResult:
    tmp = tmp_path_factory.mktemp("textgen")
    (tmp / "textgen.py").write_text(textwrap.dedent(SPACE))
    return autodl.search(
        str(tmp / "textgen.py"), data=str(poems), trials=2, seed=0, out=str(tmp / "out"),
        sampler="grid", pruner="none",
    )  # fmt: skip


def test_loss_per_token_falls_for_the_rnn_and_the_causal_cnn(textgen: autodl.SearchResult) -> None:
    assert (
        textgen.summary["task"] == "generation" and textgen.summary["metric"] == "val_token_loss"
    )
    trials = [t for t in textgen.study.trials if t.state.name == "COMPLETE"]
    assert sorted(t.params["architecture"] for t in trials) == ["conv", "rnn"]
    for trial in trials:
        curve = [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)]
        assert len(curve) == 3 and curve[-1] < curve[0], (trial.params, curve)
    card = json.loads((textgen.out / "model_card.json").read_text())
    # the card's scores come from the exported model and match the search's own
    assert card["validation_metrics"]["token_loss"] == pytest.approx(textgen.best_value, rel=1e-3)
    assert card["validation_metrics"]["perplexity"] > 1.0


def test_generation_has_the_requested_length_and_only_vocabulary_characters(
    textgen: autodl.SearchResult, poems: Path
) -> None:
    card = json.loads((textgen.out / "model_card.json").read_text())
    vocabulary = card["generation"]["vocabulary"]
    alphabet = set("".join(pd.read_csv(poems)["line"])) | {"\n"}
    assert vocabulary["kind"] == "characters" and set(vocabulary["symbols"]) == alphabet
    samples = generate(textgen.out, n=4, seed_text="ann ", length=30, seed=5, temperature=0.8)
    assert len(samples.texts) == 4
    for text in samples.texts:
        assert text.startswith("ann ") and len(text) == len("ann ") + 30
        assert set(text) <= alphabet
    markdown = (textgen.out / "model_card.md").read_text()
    assert "generator.keras" in markdown and "Vocabulary" in markdown and "perplexity" in markdown


def test_a_fresh_process_generates_the_same_text_with_the_same_seed(
    textgen: autodl.SearchResult, tmp_path: Path
) -> None:
    out = tmp_path / "samples.json"
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras
        sampler = keras.saving.load_model({str(textgen.out / "generator.keras")!r})
        assert not any(m.startswith("autodl") for m in sys.modules)
        print(sampler.predict(np.zeros((1, 16), "int32"), verbose=0).shape)
        from autodl.cli import main
        sys.exit(main(["generate", "--model", {str(textgen.out)!r}, "--n", "3", "--seed", "9",
                       "--length", "25", "--seed-text", "bob", "--out", {str(out)!r}]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    size = json.loads((textgen.out / "model_card.json").read_text())["generation"]["vocabulary"][
        "size"
    ]
    assert f"(1, {size})" in done.stdout and "wrote 3 samples" in done.stdout
    fresh = json.loads(out.read_text())
    here = generate(textgen.out, n=3, seed=9, length=25, seed_text="bob").texts
    assert fresh == here
    assert generate(textgen.out, n=3, seed=10, length=25, seed_text="bob").texts != here


def test_report_shows_samples_at_two_temperatures_and_the_perplexity(
    textgen: autodl.SearchResult,
) -> None:
    page = (textgen.out / "report.html").read_text()
    section = page[page.index('<section id="generation">') :]
    section = section[: section.index("</section>")]
    assert "<h3>Temperature 0.5</h3>" in section and "<h3>Temperature 1</h3>" in section
    assert section.count('<pre class="sample">') == 6
    assert "perplexity" in section


def test_token_sequences_never_emit_the_row_separator(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    starts = rng.integers(0, 5, size=60)
    tokens = (starts[:, None] + np.arange(10)[None, :]) % 5 * 10  # ids 0, 10, ..., 40
    np.savez(tmp_path / "tokens.npz", x=tokens)
    data = load_data(tmp_path / "tokens.npz", task="generation")
    config = {**defaults(), **SMALL, "family": "textgen", "architecture": "conv"}
    objective = Objective.parse(None, "generation", families=["textgen"])
    trained = train_config(config, PreparedData.from_dataset(data), objective)
    assert np.isfinite(trained.value) and trained.epochs_run == 2
    generation = export_generator(trained.export_model, config, data, tmp_path)
    assert generation["kind"] == "tokens" and (tmp_path / "generator.keras").is_file()
    from autodl.builders._generative import Vocabulary
    from autodl.builders.textgen import sampler

    vocabulary = Vocabulary.from_dict(generation["vocabulary"])
    assert vocabulary.symbols == (0, 10, 20, 30, 40)
    ids = sample_ids(
        sampler(trained.export_model, 8), vocabulary, [], 5, 12, 1.5, np.random.default_rng(0)
    )
    assert ids.shape == (5, 12) and not (ids == vocabulary.separator).any()
    assert all(len(vocabulary.decode(row)) == 12 for row in ids)


def test_real_valued_sequences_continue_a_validation_seed(tmp_path: Path) -> None:
    steps = np.linspace(0, 6 * np.pi, 30)
    phases = np.random.default_rng(0).uniform(0, 2 * np.pi, size=(40, 1))
    series = np.stack([np.sin(steps + phases), np.cos(steps + phases)], axis=-1).astype("float32")
    np.savez(tmp_path / "waves.npz", x=series)
    data = load_data(tmp_path / "waves.npz", task="generation")
    config = {**defaults(), **SMALL, "family": "textgen", "architecture": "rnn", "cell": "gru"}
    objective = Objective.parse(None, "generation", families=["textgen"])
    trained = train_config(config, PreparedData.from_dataset(data), objective)
    assert trained.curve[-1] < trained.curve[0]
    generation = export_generator(trained.export_model, config, data, None)
    from autodl.builders.textgen import sampler

    series_out = continue_sequences(
        sampler(trained.export_model, 8), generation, 3, 10, 0.0001, np.random.default_rng(0)
    )
    assert series_out.shape == (3, 8 + 10, 2)
    seed = np.broadcast_to(np.asarray(generation["seed_sequence"]), (3, 8, 2))
    np.testing.assert_allclose(series_out[:, :8], seed, atol=1e-6)
    assert np.abs(series_out[:, 8:]).max() < 5.0  # continuations stay near the waves' scale
