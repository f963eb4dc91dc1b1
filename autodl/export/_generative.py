"""Exports of a generation study: the best model, its generator part on its own, the card.

- autoencoder / vae: `best_model.keras` reconstructs (raw input in, the data's units out);
  `decoder.keras` maps latent codes to new samples and `encoder.keras` maps inputs to
  codes (a VAE's gives the mean and log-variance).
- textgen: `best_model.keras` gives next-step predictions at every position of a window;
  `generator.keras` is the sampler-ready model (a fixed window in, the next step out).

Everything saved is a plain functional model of built-in layers: `keras.saving.load_model`
loads it without autodl. What a program needs to sample (the vocabulary, the latent
prior, the value range) is in `model_card.json` under "generation".
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from autodl._files import write_json
from autodl.exceptions import ConfigError
from autodl.export._best import BEST_CONFIG, BEST_MODEL, save_keras_model
from autodl.export._card import CARD_FORMAT, CARD_JSON, input_spec, write_model_card
from autodl.export._saved_model import SAVED_MODEL_DIR, export_saved_model

_logger = logging.getLogger(__name__)

DECODER = "decoder.keras"
ENCODER = "encoder.keras"
GENERATOR = "generator.keras"
SUMMARY = "summary.json"
EVALUATE_SEED = 0  # the VAE's sampled codes when scoring a split: the same every export
PREDICT_BATCH = 256


# ------------------------------------------------------------------------- finalize
def finalize_generation(context: Any, *, refit: bool = False, ensemble: int = 0) -> dict[str, Any]:
    """`finalize_export` for task "generation": write the generator part and the card."""
    import keras

    from autodl.results._summary import best_trial, library_versions

    study, data, out = context.study, context.data, Path(context.out)
    best = best_trial(study)
    if best is None:
        _logger.warning("no complete trial: nothing to export")
        return {}
    record = _read_json(out / BEST_CONFIG)
    config = best.user_attrs.get("config") or record.get("config")
    best_path = out / BEST_MODEL
    if not best_path.exists() or record.get("trial") != best.number or not config:
        raise ConfigError(
            f"{best_path}: missing or not the model of best trial {best.number}; "
            "generative models cannot be retrained by export, rerun the search"
        )
    notes = []
    if refit:
        notes.append("not refit: generative models are exported as their best trial trained them")
    if ensemble >= 2:
        notes.append("no ensemble: averaging generative models is not supported")
    for note in notes:
        _logger.warning("%s", note)

    model = keras.saving.load_model(best_path, compile=False)
    generation = export_generator(model, config, data, out)
    saved_model: str | None = SAVED_MODEL_DIR
    try:
        export_saved_model(model, out / SAVED_MODEL_DIR)
    except (
        Exception
    ) as exc:  # the .keras files are the primary export; say why this one is missing
        saved_model = None
        notes.append(f"no SavedModel: {_first_line(exc)}")
        _logger.warning("no SavedModel for the best model: %s", exc)
    validation = evaluate_generation(model, config, data, data.x_val)
    test = None
    if data.x_test is not None and data.n_test:
        test = evaluate_generation(model, config, data, data.x_test)
    export = {
        "model": BEST_MODEL,
        "saved_model": saved_model,
        "model_card": CARD_JSON,
        "source": "trial",
        "trial": best.number,
        "epochs": int(best.user_attrs.get("epochs", 0)) or None,
        "trained_on": "train",
        "n_params": int(model.count_params()),
        "generator": generation["generator"]["file"],
    }
    if notes:
        export["note"] = "; ".join(notes)
    card = {
        "format": CARD_FORMAT,
        "study_name": study.study_name,
        "task": "generation",
        "target": getattr(context.settings, "target", None),
        "class_names": [],
        "output": generation.pop("output"),
        "input": generation.pop("input"),
        "model": {**export, "file": BEST_MODEL},
        "generation": generation,
        "data": {
            **{
                k: v
                for k, v in data.to_dict().items()
                if k.startswith("n_") or k in ("name", "source", "input_shape")
            },
            "description": data.describe(),
            "rows_trained_on": int(data.n_train),
        },
        "objective": {
            "metric": context.objective.metric,
            "direction": context.objective.direction,
            "value": best.value,
        },
        "validation_metrics": validation,
        "test_metrics": test,
        "hyperparameters": config,
        "params": dict(best.params),
        "ensemble": None,
        "library_versions": library_versions(),
        "command": context.command or _equivalent_command(context.settings),
    }
    write_model_card(out, card)
    additions = {
        "export": export,
        "validation_metrics": validation,
        "test_metrics": test,
        "ensemble": None,
    }
    write_json(out / SUMMARY, {**_read_json(out / SUMMARY), **additions})
    return additions


def export_generator(
    model: Any, config: dict[str, Any], data: Any, out: Path | None
) -> dict[str, Any]:
    """Save the generator part(s) of `model` into `out` (None: save nothing) and describe
    them: the card's "generation" entry, plus its "input" and "output" specifications."""
    family = config["family"]
    if family in ("autoencoder", "vae"):
        return _export_autoencoder(model, config, data, out)
    return _export_textgen(model, config, data, out)


def _export_autoencoder(
    model: Any, config: dict[str, Any], data: Any, out: Path | None
) -> dict[str, Any]:
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    if out is not None:
        save_keras_model(decoder, out / DECODER)
        save_keras_model(encoder, out / ENCODER)
    latent = int(config["latent_dim"])
    x = np.asarray(data.x_train, dtype="float32")
    shape = [int(d) for d in x.shape[1:]]
    if config["family"] == "vae":
        prior = {"kind": "standard normal", "mean": [0.0] * latent, "std": [1.0] * latent}
        source = f"codes of {latent} numbers drawn from a standard normal distribution"
    else:
        # A plain autoencoder has no prior: codes come from a Gaussian fitted to the
        # training set's codes, one mean and spread per dimension.
        codes = np.asarray(
            encoder.predict(x, batch_size=PREDICT_BATCH, verbose=0), dtype="float64"
        )
        prior = {
            "kind": "gaussian fitted to the training codes",
            "mean": codes.mean(axis=0).round(6).tolist(),
            "std": codes.std(axis=0).round(6).tolist(),
        }
        source = f"codes of {latent} numbers drawn from a Gaussian fitted to the training codes"
    kind = {"image": "images", "tabular": "rows", "sequence": "sequences"}[data.input_kind]
    described = "x".join(map(str, shape))
    return {
        "family": config["family"],
        "kind": kind,
        "generates": f"{described} {kind} like those of {data.name}",
        "from": source,
        "shape": shape,
        "value_range": [float(x.min()), float(x.max())],
        "latent": {"dim": latent, **prior},
        "generator": {
            "file": DECODER,
            "input": f"z: float32, shape (n, {latent})",
            "output": f"float32, shape (n, {', '.join(map(str, shape))}), in the data's units",
        },
        "encoder": {
            "file": ENCODER,
            "output": "[z_mean, z_log_var]" if config["family"] == "vae" else "z",
        },
        "labels": list(data.class_names),
        "input": input_spec(data, model),
        "output": {"kind": "reconstruction", "shape": shape},
    }


def sequence_length(config: dict[str, Any], data: Any) -> int:
    """The window the model trained on: the configured length, or less for short data."""
    from autodl.builders._generative import Vocabulary

    length = int(config["sequence_length"])
    if data.input_kind == "sequence":
        return max(1, min(length, int(np.shape(data.x_train)[1]) - 1))
    stream, _ = Vocabulary.from_data(data).stream(data.x_train)
    return max(1, min(length, len(stream) - 1))


def _export_textgen(
    model: Any, config: dict[str, Any], data: Any, out: Path | None
) -> dict[str, Any]:
    from autodl.builders._generative import Vocabulary
    from autodl.builders.textgen import sampler

    length = sequence_length(config, data)
    generator = sampler(model, length)
    if out is not None:
        save_keras_model(generator, out / GENERATOR)
    entry: dict[str, Any] = {
        "family": "textgen",
        "sequence_length": length,
        "labels": list(data.class_names),
    }
    if data.input_kind == "sequence":
        rows = np.asarray(data.x_val, dtype="float32")
        features = int(rows.shape[-1])
        residual = _residual_std(model, config, data)
        entry["from"] = f"a seed window of {length} steps, continued one predicted step at a time"
        entry.update(
            kind="sequences",
            generates=f"real-valued sequences of {features} feature(s) per step, like {data.name}",
            seed_sequence=rows[0, :length].round(6).tolist(),
            residual_std=residual,
            generator={
                "file": GENERATOR,
                "input": f"float32, shape (n, {length}, {features}): the last {length} steps",
                "output": f"float32, shape (n, {features}): the next step, in the data's units",
            },
            input={
                "kind": "sequence",
                "input": "x",
                "dtype": "float32",
                "shape": [None, features],
                "description": f"sequence input `x`, float32, shape (steps, {features}) "
                "per sample.",
            },
            output={"kind": "next step at every position", "shape": [None, features]},
        )
        return entry
    vocabulary = Vocabulary.from_data(data)
    what = "characters" if vocabulary.kind == "characters" else "token ids"
    entry["from"] = (
        f"a seed ({what}; empty means the start of a row) and the previous {length} steps"
    )
    entry.update(
        kind="text" if vocabulary.kind == "characters" else "tokens",
        generates=f"{'text' if vocabulary.kind == 'characters' else 'token sequences'} "
        f"like {data.name}'s, one {what[:-1]} at a time",
        vocabulary=vocabulary.to_dict(),
        generator={
            "file": GENERATOR,
            "input": f"int32 ids, shape (n, {length}): the last {length} steps, padded on the "
            f"left with the separator id {vocabulary.separator}",
            "output": f"float32, shape (n, {vocabulary.size}): next-step probabilities",
        },
        input={
            "kind": "tokens",
            "input": "tokens",
            "dtype": "int32",
            "shape": [None],
            "vocabulary_size": vocabulary.size,
            "description": f"int32 ids into the vocabulary of {vocabulary.size} {what} "
            "(model_card.json: generation.vocabulary), shape (steps,) per sample.",
        },
        output={
            "kind": "next-token probabilities at every position",
            "shape": [None, vocabulary.size],
        },
    )
    return entry


def _residual_std(model: Any, config: dict[str, Any], data: Any) -> list[float]:
    """Spread of the one-step prediction errors on the validation split, per feature: the
    noise a sampled continuation adds (times the temperature)."""
    from autodl.builders._generative import row_windows

    length = sequence_length(config, data)
    x, y = row_windows(np.asarray(data.x_val, dtype="float32"), length, length)
    predicted = np.asarray(model.predict(x, batch_size=PREDICT_BATCH, verbose=0), dtype="float64")
    return (predicted - y).reshape(-1, y.shape[-1]).std(axis=0).round(6).tolist()


# ------------------------------------------------------------------------- scoring
def evaluate_generation(model: Any, config: dict[str, Any], data: Any, x: Any) -> dict[str, float]:
    """The search's metrics, computed from the exported model on a split of raw data."""
    family = config["family"]
    if family in ("autoencoder", "vae"):
        return _score_autoencoder(model, family, data, np.asarray(x, dtype="float32"))
    return _score_textgen(model, config, data, x)


def _score_autoencoder(model: Any, family: str, data: Any, x: np.ndarray) -> dict[str, float]:
    from autodl.builders._generative import value_range

    low, span = value_range(np.asarray(data.x_train, dtype="float32"))
    if family == "vae":
        encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
        mean, log_var = (
            np.asarray(a, dtype="float64")
            for a in encoder.predict(x, batch_size=PREDICT_BATCH, verbose=0)
        )
        log_var = np.clip(log_var, -20.0, 20.0)
        noise = np.random.default_rng(EVALUATE_SEED).standard_normal(mean.shape)
        z = (mean + np.exp(0.5 * log_var) * noise).astype("float32")
        reconstruction = decoder.predict(z, batch_size=PREDICT_BATCH, verbose=0)
    else:
        reconstruction = model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
    target = np.clip((x - low) / span, 0.0, 1.0).astype("float64")
    p = np.clip((np.asarray(reconstruction, dtype="float64") - low) / span, 1e-6, 1 - 1e-6)
    axes = tuple(range(1, target.ndim))
    nll = -(target * np.log(p) + (1 - target) * np.log(1 - p)).sum(axis=axes)
    scores = {"reconstruction": float(nll.mean()), "mse": float(((p - target) ** 2).mean())}
    if family == "vae":
        kl = -0.5 * (1 + log_var - mean**2 - np.exp(log_var)).sum(axis=-1)
        scores.update(kl=float(kl.mean()), neg_elbo=float((nll + kl).mean()))
    return scores


def _score_textgen(model: Any, config: dict[str, Any], data: Any, x: Any) -> dict[str, float]:
    from autodl.builders._generative import Vocabulary, row_windows, stream_windows

    length = sequence_length(config, data)
    if data.input_kind == "sequence":
        rows = np.asarray(data.x_train, dtype="float32").reshape(-1, np.shape(data.x_train)[-1])
        std = np.where(rows.std(axis=0) > 1e-12, rows.std(axis=0), 1.0)
        windows, targets = row_windows(np.asarray(x, dtype="float32"), length, length)
        predicted = np.asarray(model.predict(windows, batch_size=PREDICT_BATCH, verbose=0))
        return {"token_loss": float((((predicted - targets) / std) ** 2).mean())}
    stream, _ = Vocabulary.from_data(data).stream(x)
    windows, targets = stream_windows(stream, length, length)
    probabilities = np.asarray(
        model.predict(windows, batch_size=PREDICT_BATCH, verbose=0), dtype="float64"
    )
    picked = np.take_along_axis(probabilities, targets[..., np.newaxis].astype("int64"), axis=-1)
    loss = float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())
    return {"token_loss": loss, "perplexity": math.exp(min(loss, 700.0))}


# ---------------------------------------------------------------------- model card
def generation_markdown(card: dict[str, Any]) -> list[str]:
    """The model card's "Generation" section, for people."""
    generation = card["generation"]
    generator = generation["generator"]
    lines = [
        "",
        "## Generation",
        "",
        f"- **Generates**: {generation['generates']}",
        f"- **From**: {generation['from']}",
        f"- **Generator**: `{generator['file']}`: {generator['input']} -> {generator['output']}",
    ]
    if generation.get("encoder"):
        encoder = generation["encoder"]
        lines.append(f"- **Encoder**: `{encoder['file']}` -> {encoder['output']}")
    if generation.get("value_range"):
        low, high = generation["value_range"]
        lines.append(f"- **Values** range from {low:.4g} to {high:.4g}, as in the training data")
    vocabulary = generation.get("vocabulary")
    if vocabulary:
        shown = "".join(vocabulary["symbols"]) if vocabulary["kind"] == "characters" else None
        text = (
            json.dumps(shown) if shown is not None else ", ".join(map(str, vocabulary["symbols"]))
        )
        lines.append(
            f"- **Vocabulary**: {vocabulary['size']} {vocabulary['kind']}, in id order: {text}"
        )
    metrics = card.get("validation_metrics") or {}
    if "perplexity" in metrics:
        lines.append(f"- **Validation perplexity**: {metrics['perplexity']:.4g}")
    lines += [
        "",
        "Sample with `autodl generate --model DIR --n 16 --out samples."
        + (
            "png"
            if generation["kind"] == "images"
            else "txt"
            if generation["kind"] == "text"
            else "json"
        )
        + "`.",
    ]
    return lines


# ------------------------------------------------------------------------- helpers
def _equivalent_command(settings: Any) -> str:
    from autodl.export._finalize import _equivalent_command as command

    return command(settings)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
