"""The report's section for generation studies: what the best model makes of the data.

- autoencoders and VAEs: the validation codes on two latent dimensions, coloured by
  label where the data has labels; on images also validation inputs above their
  reconstructions, new samples (a VAE's from its prior, an autoencoder's from a Gaussian
  fitted to its training codes) and, for a VAE, a walk over two latent dimensions;
- textgen on text or tokens: samples at two temperatures from a seed taken from the
  validation split, with the validation perplexity;
- textgen on real-valued sequences: continuations of a validation sequence, as a chart.

Images travel inline as base64 PNGs, so the page stays one self-contained file.
"""

from __future__ import annotations

import base64
import html
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_logger = logging.getLogger(__name__)

RECONSTRUCTIONS = 10
PRIOR_SAMPLES = 16
TRAVERSAL_STEPS = 8
TEMPERATURES = (0.5, 1.0)
TEXT_SAMPLES = 3
TEXT_LENGTH = 160
SEED_CHARACTERS = 12
SAMPLE_SEED = 0
LATENT_POINTS = 2000
MAX_LABEL_COLOURS = 20

# One entry, as for the best-model section: a refreshed report samples again only when
# best_model.keras has changed.
_CACHE: dict[tuple[Any, ...], GenerationSection] = {}


@dataclass
class GenerationSection:
    facts: list[tuple[str, str]] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)  # title, caption, src
    texts: list[dict[str, Any]] = field(default_factory=list)  # title, samples
    figures: list[tuple[str, Any]] = field(default_factory=list)  # (id, plotly figure)
    notes: list[str] = field(default_factory=list)

    @property
    def figure_ids(self) -> list[str]:
        return [fig_id for fig_id, _ in self.figures]


def generation_section(
    best: Any, out_dir: Path | None, dataset: Any, model: Any, *, reload_data: Any
) -> GenerationSection:
    """The section for the best trial `best`; never raises (problems become notes)."""
    section = GenerationSection()
    if best is None:
        section.notes.append("No complete trial yet.")
        return section
    config = best.user_attrs.get("config") or {}
    section.facts = _facts(best, config, perplexity=False)
    key: tuple[Any, ...] | None = None
    if model is None:
        path = out_dir / "best_model.keras" if out_dir is not None else None
        if path is None or not path.is_file():
            section.notes.append("No best_model.keras next to this report: no samples to show.")
            return section
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, id(dataset), best.number)
        if key in _CACHE:
            return _CACHE[key]
        try:
            import keras

            model = keras.saving.load_model(path, compile=False)
        except Exception as exc:
            section.notes.append(f"best_model.keras did not load: {_first_line(exc)}")
            return section
    if dataset is None:
        dataset, note = reload_data()
        if dataset is None:
            section.notes.append(note)
            return section
    # Perplexity is the exp of a cross-entropy: not of a real-valued sequence's squared error.
    discrete = config.get("family") == "textgen" and dataset.input_kind != "sequence"
    section.facts = _facts(best, config, perplexity=discrete)
    try:
        if config.get("family") in ("autoencoder", "vae"):
            _autoencoder_samples(section, model, config, dataset)
        else:
            _textgen_samples(section, model, config, dataset)
    except Exception as exc:  # a sample that fails to draw leaves the rest of the report
        _logger.info("no generated samples: %s", exc, exc_info=True)
        section.notes.append(f"No samples: {_first_line(exc)}")
    if key is not None:
        _CACHE.clear()
        _CACHE[key] = section
    return section


def _facts(best: Any, config: dict[str, Any], *, perplexity: bool) -> list[tuple[str, str]]:
    history = best.user_attrs.get("history") or {}
    epoch = best.user_attrs.get("best_epoch")
    names = {
        "val_reconstruction": "validation reconstruction loss (nats per sample)",
        "val_neg_elbo": "validation negative ELBO (nats per sample)",
        "val_kl": "validation KL divergence from the prior (nats per sample)",
        "val_mse": "validation mean squared error (on the [0, 1] scale)",
        "val_token_loss": "validation loss per token",
    }
    facts = [
        (
            "model",
            f"trial {best.number}: {config.get('family', '?')}"
            f" ({config.get('architecture') or 'default'} architecture)",
        )
    ]
    for metric, label in names.items():
        values = history.get(metric)
        if not values or epoch is None or not 0 <= int(epoch) < len(values):
            continue
        value = float(values[int(epoch)])
        text = f"{value:.4g}"
        if metric == "val_token_loss" and perplexity:
            text += f" nats (perplexity {math.exp(min(value, 700.0)):.4g})"
        facts.append((label, text))
    return facts


# ------------------------------------------------------------------- autoencoders
def _autoencoder_samples(
    section: GenerationSection, model: Any, config: dict[str, Any], data: Any
) -> None:
    from autodl.export._generate import decode_prior, image_grid, png_bytes
    from autodl.export._generative import export_generator

    _latent_figure(section, model, config, data)
    if data.input_kind != "image":
        section.notes.append(
            f"Sample pictures are drawn for images; this model encodes {data.input_kind} data. "
            "`autodl generate` writes new samples as numbers."
        )
        return
    generation = export_generator(model, config, data, None)
    value_range = tuple(generation["value_range"])
    x = np.asarray(data.x_val[:RECONSTRUCTIONS], dtype="float32")
    reconstructed = np.asarray(model.predict(x, verbose=0))
    grid = image_grid(np.concatenate([x, reconstructed]), value_range, cols=len(x))
    section.images.append(
        {
            "title": "Reconstructions",
            "caption": f"Top: {len(x)} validation images; bottom: the best model's "
            "reconstruction of each (a VAE decodes its mean code).",
            "src": _src(png_bytes(grid)),
        }
    )
    decoder = model.get_layer("decoder")
    rng = np.random.default_rng(SAMPLE_SEED)
    samples = decode_prior(decoder, generation, PRIOR_SAMPLES, 1.0, rng)
    where = (
        "codes drawn from the standard normal prior"
        if config["family"] == "vae"
        else "codes drawn from a Gaussian fitted to the training codes "
        "(an autoencoder has no prior)"
    )
    section.images.append(
        {
            "title": "New samples",
            "caption": f"{PRIOR_SAMPLES} images decoded from {where}.",
            "src": _src(png_bytes(image_grid(samples, value_range))),
        }
    )
    if config["family"] == "vae":
        latent = int(generation["latent"]["dim"])
        section.images.append(_traversal(decoder, generation, latent, value_range))


def _latent_figure(
    section: GenerationSection, model: Any, config: dict[str, Any], data: Any
) -> None:
    """Validation codes on the first two latent dimensions, coloured by label if any
    (labels are what `--target` or class folders give a generation study)."""
    import plotly.graph_objects as go

    x = np.asarray(data.x_val[:LATENT_POINTS], dtype="float32")
    codes = model.get_layer("encoder").predict(x, batch_size=256, verbose=0)
    codes = np.asarray(codes[0] if config["family"] == "vae" else codes, dtype="float64")
    labels = np.asarray(data.y_val[:LATENT_POINTS])
    second = (
        codes[:, 1]
        if codes.shape[1] > 1
        else np.random.default_rng(SAMPLE_SEED).uniform(-0.1, 0.1, len(codes))
    )
    fig = go.Figure()
    names = data.class_names if len(data.class_names) <= MAX_LABEL_COLOURS else ()
    groups = [(str(n), labels == i) for i, n in enumerate(names)] or [
        ("validation rows", np.ones(len(codes), dtype=bool))
    ]
    for name, member in groups:
        if member.any():
            fig.add_trace(
                go.Scatter(
                    x=codes[member, 0].tolist(),
                    y=second[member].tolist(),
                    mode="markers",
                    name=html.escape(name, quote=False),
                    marker={"size": 5, "opacity": 0.7},
                )
            )
    mean = "mean " if config["family"] == "vae" else ""
    fig.update_layout(
        title={"text": f"validation {mean}codes: latent dimensions 1 and 2", "x": 0.01},
        xaxis_title="z1",
        yaxis_title="z2" if codes.shape[1] > 1 else "(jitter)",
        template="plotly_white",
        height=420,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    section.figures.append(("fig-generation-latent", fig))


def _traversal(
    decoder: Any, generation: dict[str, Any], latent: int, value_range: Any
) -> dict[str, str]:
    from statistics import NormalDist

    from autodl.export._generate import decode, image_grid, png_bytes

    # Evenly spaced quantiles of the prior, so each step covers the same probability.
    values = [NormalDist().inv_cdf(q) for q in np.linspace(0.05, 0.95, TRAVERSAL_STEPS)]
    if latent >= 2:
        z = np.zeros((TRAVERSAL_STEPS * TRAVERSAL_STEPS, latent))
        for row, a in enumerate(values):
            for col, b in enumerate(values):
                z[row * TRAVERSAL_STEPS + col, :2] = (a, b)
        caption = (
            f"Latent dimensions 1 (down) and 2 (across) walked from {values[0]:.2f} to "
            f"{values[-1]:.2f} (5% to 95% of the prior); the others held at 0."
        )
    else:
        z = np.asarray(values)[:, np.newaxis]
        caption = f"The single latent dimension walked from {values[0]:.2f} to {values[-1]:.2f}."
    images = decode(decoder, z, generation)
    grid = image_grid(images, value_range, cols=TRAVERSAL_STEPS)
    return {"title": "Latent traversal", "caption": caption, "src": _src(png_bytes(grid))}


# ------------------------------------------------------------------------ textgen
def _textgen_samples(
    section: GenerationSection, model: Any, config: dict[str, Any], data: Any
) -> None:
    from autodl.builders._generative import Vocabulary
    from autodl.builders.textgen import sampler
    from autodl.export._generate import sample_ids
    from autodl.export._generative import export_generator, sequence_length

    length = sequence_length(config, data)
    generator = sampler(model, length)
    if data.input_kind == "sequence":
        generation = export_generator(model, config, data, None)
        _sequence_figure(section, generator, generation)
        return
    vocabulary = Vocabulary.from_data(data)
    first = data.x_val[0]
    if vocabulary.kind == "characters":
        seed = str(first)[:SEED_CHARACTERS]
        prompt, _ = vocabulary.encode(seed)
    else:
        seed = " ".join(str(int(t)) for t in list(first)[:5])
        prompt, _ = vocabulary.encode(list(first)[:5])
    for temperature in TEMPERATURES:
        rng = np.random.default_rng(SAMPLE_SEED)
        ids = sample_ids(
            generator, vocabulary, prompt, TEXT_SAMPLES, TEXT_LENGTH, temperature, rng
        )
        if vocabulary.kind == "characters":
            samples = [seed + vocabulary.decode(row) for row in ids]
        else:
            samples = [seed + " | " + " ".join(map(str, vocabulary.decode(row))) for row in ids]
        section.texts.append(
            {
                "title": f"Temperature {temperature:g}",
                "samples": samples,
            }
        )
    section.notes.append(
        f"Each sample continues the seed {seed!r} (the start of the first validation row) by "
        f"{TEXT_LENGTH} {'characters' if vocabulary.kind == 'characters' else 'tokens'}; "
        "lower temperatures pick likely symbols, higher ones take more chances."
    )


def _sequence_figure(
    section: GenerationSection, generator: Any, generation: dict[str, Any]
) -> None:
    import plotly.graph_objects as go

    from autodl.export._generate import continue_sequences

    seed = np.asarray(generation["seed_sequence"], dtype="float32")
    fig = go.Figure()
    steps = list(range(len(seed)))
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=seed[:, 0].tolist(),
            mode="lines",
            name="seed (validation)",
            line={"color": "#333", "width": 2},
        )
    )
    colors = {0.5: "#1f77b4", 1.0: "#ff7f0e"}
    for temperature in TEMPERATURES:
        rng = np.random.default_rng(SAMPLE_SEED)
        series = continue_sequences(generator, generation, TEXT_SAMPLES, 50, temperature, rng)
        for i, row in enumerate(series):
            fig.add_trace(
                go.Scatter(
                    x=list(range(len(seed) - 1, len(row))),
                    y=row[len(seed) - 1 :, 0].tolist(),
                    mode="lines",
                    name=f"temperature {temperature:g}",
                    showlegend=i == 0,
                    line={"color": colors.get(temperature, "#2ca02c"), "width": 1},
                )
            )
    fig.update_layout(
        title={"text": "continuations of a validation sequence (first feature)", "x": 0.01},
        xaxis_title="step",
        yaxis_title="value",
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    section.figures.append(("fig-generation", fig))


# ------------------------------------------------------------------------ helpers
def _src(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
