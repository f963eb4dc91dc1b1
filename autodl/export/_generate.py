"""`autodl generate`: sample new images, text, token or value sequences from an export.

The model card says what the exported generator takes (a latent code, or a window of
past steps) and holds what sampling needs (latent prior, vocabulary, value range), so
this reads only the output folder. The same `seed` gives the same samples.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autodl._files import write_text, write_with
from autodl.exceptions import ConfigError, DataError

DEFAULT_LENGTH = {"text": 200, "tokens": 50, "sequences": 50}
SUFFIXES = {
    "images": (".png", ".npz"),
    "rows": (".csv", ".npz"),
    "sequences": (".npz", ".json"),
    "text": (".txt", ".json"),
    "tokens": (".json", ".csv", ".npz"),
}
GRID_CELL = 64  # pixels a grid cell's longer side is scaled up to, at least
GRID_PAD = 2
MAX_SAMPLES = 4096


@dataclass
class GeneratedSamples:
    """What `generate` made: one of images/rows/sequences (arrays), texts or tokens."""

    kind: str
    count: int
    arrays: np.ndarray | None = None  # images (n, h, w, c), rows (n, f), sequences (n, t, f)
    texts: list[str] = field(default_factory=list)  # text: seed + generated characters
    tokens: list[list[int]] = field(default_factory=list)
    value_range: tuple[float, float] | None = None
    seed: int = 0
    temperature: float = 1.0
    notes: list[str] = field(default_factory=list)


def check_options(n: int, temperature: float, length: int | None) -> None:
    if not 1 <= n <= MAX_SAMPLES:
        raise ConfigError(f"--n must be between 1 and {MAX_SAMPLES}; got {n}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ConfigError(f"--temperature must be a positive number; got {temperature}")
    if length is not None and length < 1:
        raise ConfigError(f"--length must be at least 1; got {length}")


def generation_card(model_dir: str | Path) -> tuple[Path, dict[str, Any]]:
    """(folder, model card) of an exported generative model."""
    from autodl.export._card import CARD_JSON, read_model_card

    folder = Path(model_dir)
    if folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        raise DataError(f"--model {model_dir}: not found (give a search's output folder)")
    card = read_model_card(folder / CARD_JSON)
    if card.get("task") != "generation" or "generation" not in card:
        raise DataError(
            f"--model {model_dir}: a {card.get('task')} model, not a generative one; "
            "use autodl predict with it"
        )
    return folder, card


def generate(
    model_dir: str | Path,
    *,
    n: int = 16,
    seed_text: str | None = None,
    temperature: float = 1.0,
    seed: int = 0,
    length: int | None = None,
) -> GeneratedSamples:
    """Sample `n` new items from the generator exported in `model_dir`."""
    check_options(n, temperature, length)
    folder, card = generation_card(model_dir)
    generation = card["generation"]
    kind = generation["kind"]
    if seed_text is not None and kind not in ("text", "tokens"):
        raise ConfigError(f"--seed-text: only for text or token models; this one generates {kind}")
    path = folder / generation["generator"]["file"]
    if not path.exists():
        raise DataError(f"--model {model_dir}: {path.name} is missing; rerun autodl export")
    import keras

    generator = keras.saving.load_model(path, compile=False, safe_mode=True)
    rng = np.random.default_rng(seed)
    samples = GeneratedSamples(kind=kind, count=n, seed=seed, temperature=temperature)
    if kind in ("images", "rows") or generation["family"] in ("autoencoder", "vae"):
        samples.arrays = decode_prior(generator, generation, n, temperature, rng)
        low, high = generation["value_range"]
        samples.value_range = (float(low), float(high))
        return samples
    steps = length or DEFAULT_LENGTH[kind]
    if kind == "sequences":
        samples.arrays = continue_sequences(generator, generation, n, steps, temperature, rng)
        return samples
    from autodl.builders._generative import Vocabulary

    vocabulary = Vocabulary.from_dict(generation["vocabulary"])
    prompt = _prompt(vocabulary, seed_text or "", model_dir)
    ids = sample_ids(generator, vocabulary, prompt, n, steps, temperature, rng)
    if kind == "text":
        samples.texts = [(seed_text or "") + vocabulary.decode(row) for row in ids]
    else:
        samples.tokens = [vocabulary.decode(row) for row in ids]
    return samples


def _prompt(vocabulary: Any, seed_text: str, where: Any) -> list[int]:
    if vocabulary.kind == "tokens":
        try:
            values = [int(v) for v in seed_text.replace(",", " ").split()]
        except ValueError:
            raise ConfigError(
                f"--seed-text {seed_text!r}: a token model takes token ids, e.g. '3 14 15'"
            ) from None
        unknown = sorted({v for v in values if v not in vocabulary.index()})
    else:
        values = list(seed_text)
        unknown = sorted({c for c in values if c not in vocabulary.index()})
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:8])
        raise ConfigError(
            f"--seed-text: {shown} not in the vocabulary of --model {where} "
            f"({vocabulary.size} symbols; see model_card.md)"
        )
    return [vocabulary.index()[v] for v in values]


# ------------------------------------------------------------------------ samplers
def decode_prior(
    decoder: Any, generation: dict[str, Any], n: int, temperature: float, rng: np.random.Generator
) -> np.ndarray:
    """Decode `n` codes drawn from the card's latent prior (its spread times `temperature`)."""
    latent = generation["latent"]
    mean = np.asarray(latent["mean"], dtype="float64")
    std = np.asarray(latent["std"], dtype="float64")
    z = mean + std * temperature * rng.standard_normal((n, int(latent["dim"])))
    return decode(decoder, z, generation)


def decode(decoder: Any, z: np.ndarray, generation: dict[str, Any]) -> np.ndarray:
    out = np.asarray(decoder.predict(z.astype("float32"), batch_size=256, verbose=0))
    low, high = generation["value_range"]
    return np.clip(out, low, high).astype("float32")


def sample_ids(
    sampler: Any,
    vocabulary: Any,
    prompt: list[int],
    n: int,
    length: int,
    temperature: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """`n` continuations of `prompt`, `length` ids each, one step at a time.

    The context window is the sampler's input length, padded on the left with the
    separator (the start of a row). Tokens never emit their separator.
    """
    window = int(sampler.inputs[0].shape[1])
    context = np.full((n, window), vocabulary.separator, dtype="int32")
    if prompt:
        tail = np.asarray(prompt[-window:], dtype="int32")
        context[:, window - len(tail) :] = tail
    out = np.empty((n, length), dtype="int32")
    for step in range(length):
        # predict_on_batch runs the compiled graph: an eager call of an RNN steps through
        # its time loop in Python, a hundred times slower.
        probabilities = np.asarray(sampler.predict_on_batch(context), dtype="float64")
        logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
        if vocabulary.kind == "tokens":
            logits[:, vocabulary.separator] = -np.inf
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        draws = rng.random(n)
        chosen = np.minimum((cumulative < draws[:, None]).sum(axis=1), probabilities.shape[1] - 1)
        if vocabulary.kind == "tokens":  # rounding at the top end must not land on it either
            chosen = np.where(chosen == vocabulary.separator, np.argmax(weights, axis=1), chosen)
        out[:, step] = chosen
        context = np.concatenate([context[:, 1:], chosen[:, None].astype("int32")], axis=1)
    return out


def continue_sequences(
    sampler: Any,
    generation: dict[str, Any],
    n: int,
    length: int,
    temperature: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """`n` continuations of the card's seed window: predicted step plus noise of the
    validation errors' spread times `temperature`. Returns seed and continuation."""
    seed = np.asarray(generation["seed_sequence"], dtype="float32")
    noise = np.asarray(generation["residual_std"], dtype="float32")
    series = np.repeat(seed[np.newaxis], n, axis=0)
    window = int(sampler.inputs[0].shape[1])
    for _ in range(length):
        step = np.asarray(sampler.predict_on_batch(series[:, -window:]), dtype="float32")
        step = step + noise * temperature * rng.standard_normal(step.shape).astype("float32")
        series = np.concatenate([series, step[:, np.newaxis]], axis=1)
    return series


# ------------------------------------------------------------------------- writing
def image_grid(
    images: np.ndarray, value_range: tuple[float, float], *, cols: int | None = None
) -> Any:
    """A PIL image: `images` (n, h, w, c) tiled row by row, scaled up for viewing."""
    from PIL import Image

    images = np.asarray(images, dtype="float64")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    n, height, width, channels = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    scale = max(1, math.ceil(GRID_CELL / max(height, width)))
    low, high = value_range
    pixels = np.clip((images - low) / ((high - low) or 1.0), 0.0, 1.0)
    pixels = (pixels * 255).round().astype("uint8")
    if channels not in (1, 3):
        pixels = pixels[..., :1]
    cell_h, cell_w = height * scale, width * scale
    grid = np.full(
        (
            rows * (cell_h + GRID_PAD) + GRID_PAD,
            cols * (cell_w + GRID_PAD) + GRID_PAD,
            pixels.shape[-1],
        ),
        200,
        dtype="uint8",
    )
    for i in range(n):
        r, c = divmod(i, cols)
        tile = pixels[i].repeat(scale, axis=0).repeat(scale, axis=1)
        top, left = GRID_PAD + r * (cell_h + GRID_PAD), GRID_PAD + c * (cell_w + GRID_PAD)
        grid[top : top + cell_h, left : left + cell_w] = tile
    mode = "L" if grid.shape[-1] == 1 else "RGB"
    picture = Image.fromarray(grid[..., 0] if mode == "L" else grid, mode=mode)
    picture.info["grid"] = (rows, cols, cell_h, cell_w)
    return picture


def png_bytes(picture: Any, metadata: dict[str, str] | None = None) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def write_samples(samples: GeneratedSamples, out: str | Path) -> Path:
    """Write `samples` to `out`; its suffix picks the format (see `SUFFIXES`)."""
    out = Path(out)
    suffix = out.suffix.lower()
    allowed = SUFFIXES[samples.kind]
    if suffix not in allowed:
        raise ConfigError(
            f"--out {out}: {samples.kind} samples are written as {', '.join(allowed)}; "
            f"got '{suffix or out.name}'"
        )
    if suffix == ".png":
        assert samples.arrays is not None and samples.value_range is not None
        picture = image_grid(samples.arrays, samples.value_range)
        rows, cols, cell_h, cell_w = picture.info["grid"]
        metadata = {
            "autodl:count": str(samples.count),
            "autodl:grid": f"{rows}x{cols}",
            "autodl:cell": f"{cell_h}x{cell_w}",
            "autodl:seed": str(samples.seed),
            "autodl:temperature": str(samples.temperature),
        }
        data = png_bytes(picture, metadata)
        write_with(out, lambda tmp: tmp.write_bytes(data))
    elif suffix == ".npz":
        arrays = samples.arrays if samples.arrays is not None else np.asarray(samples.tokens)
        write_with(out, lambda tmp: _save_npz(tmp, arrays))
    elif suffix == ".json":
        values: Any = samples.texts or samples.tokens
        if samples.arrays is not None:
            values = np.asarray(samples.arrays).round(6).tolist()
        write_text(out, json.dumps(values, indent=1) + "\n")
    elif suffix == ".txt":
        write_text(
            out, "".join(f"# sample {i + 1}\n{text}\n\n" for i, text in enumerate(samples.texts))
        )
    else:  # .csv: one row (or token sequence) per line
        values = samples.tokens if samples.tokens else np.asarray(samples.arrays).tolist()
        write_text(out, "".join(",".join(str(v) for v in row) + "\n" for row in values))
    return out


def _save_npz(path: Path, arrays: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, x=arrays)
