"""The model card: what an exported model takes, predicts and scored, and how it was made.

`model_card.json` is also what `autodl predict` checks new input against, so the input
specification names every column (with its dtype), the image size or the text column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from autodl._files import write_json, write_text
from autodl.exceptions import DataError

CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
CARD_FORMAT = "autodl-model-card/1"


def input_spec(data: Any, model: Any = None) -> dict[str, Any]:
    """What the model's input must look like, from the data it was built on."""
    from autodl.builders._inputs import input_name

    kind = data.input_kind
    spec: dict[str, Any] = {"kind": kind}
    if kind == "table":
        columns = []
        for column in data.feature_names:
            categorical = column in data.categorical
            entry: dict[str, Any] = {
                "name": column,
                "input": input_name(column),
                "dtype": "string" if categorical else "float32",
                "categorical": categorical,
            }
            if categorical:
                # Unseen categories map to StringLookup's out-of-vocabulary slot.
                entry["categories"] = len({str(v) for v in data.x_train[column]})
            columns.append(entry)
        spec["columns"] = columns
        return spec
    if kind == "text":
        spec.update(
            input="text",
            dtype="string",
            text_column=data.text_column or "text",
            vocabulary_size=_text_vocabulary_size(model),
        )
        return spec
    x = np.asarray(data.x_train)
    spec.update(input="x", dtype="float32", shape=list(data.input_shape or ()))
    if kind == "tabular":
        spec["features"] = list(data.feature_names) or [f"x{i}" for i in range(x.shape[1])]
    elif kind == "image":
        height, width, channels = (data.input_shape or (0, 0, 0))[:3]
        spec.update(image_size=[height, width], channels=channels)
    if x.size:
        # The scale of the training pixels/values (0-255 or 0-16): new input must match it.
        spec["value_range"] = [float(np.nanmin(x)), float(np.nanmax(x))]
    return spec


def _text_vocabulary_size(model: Any) -> int | None:
    """The vocabulary of the model's TextVectorization (an ensemble's: its first member's)."""
    for layer in getattr(model, "layers", None) or ():
        if type(layer).__name__ == "TextVectorization":
            return int(layer.vocabulary_size())
        size = _text_vocabulary_size(layer)  # a nested model: an ensemble's member
        if size is not None:
            return size
    return None


def write_model_card(out: Path, card: dict[str, Any]) -> None:
    write_json(Path(out) / CARD_JSON, card)
    write_text(Path(out) / CARD_MD, card_markdown(card))


def read_model_card(path: Path) -> dict[str, Any]:
    """Read `model_card.json`; a missing or foreign file is a `DataError` naming it."""
    try:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"{path}: no model card; a model exported by autodl has model_card.json beside it"
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable model card ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT or "input" not in card:
        raise DataError(f"{path}: not an autodl model card (expected format {CARD_FORMAT})")
    return card


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _metrics_table(rows: dict[str, dict[str, float] | None]) -> list[str]:
    names = sorted({name for metrics in rows.values() if metrics for name in metrics})
    if not names:
        return []
    lines = ["| split | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for split, metrics in rows.items():
        if metrics:
            lines.append(
                f"| {split} | " + " | ".join(_value(metrics.get(n)) for n in names) + " |"
            )
    return lines


def _from_trials(model: dict[str, Any], ensemble: dict[str, Any] | None) -> str:
    if model.get("source") == "ensemble" and ensemble:
        return "trials " + ", ".join(map(str, ensemble.get("members") or []))
    return f"trial {model.get('trial')}"


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown for people; the JSON is the same facts for programs."""
    model, data, spec = card["model"], card["data"], card["input"]
    lines = [f"# Model card: {card.get('study_name', 'autodl model')}", ""]
    trained = {
        "refit": f"retrained on train + validation for {model.get('epochs')} epochs",
        "ensemble": "a weighted average of the best trials' models (see Ensemble below), "
        "each trained on the training split",
    }.get(model.get("source"), "the search's own model, trained on the training split")
    lines += [
        f"- **Task**: {card['task']}"
        + (f" (target `{card['target']}`)" if card.get("target") else ""),
        f"- **Model**: `{model['file']}` from {_from_trials(model, card.get('ensemble'))}, {trained}; "
        f"{_value(model.get('n_params'))} parameters",
        f"- **SavedModel**: `{model.get('saved_model') or '-'}` "
        "(its serving signature `serve` takes raw input)",
        f"- **Data**: {data.get('description') or data.get('source')}",
        f"- **Selected on**: {card['objective']['metric']} ({card['objective']['direction']}) "
        f"= {_value(card['objective'].get('value'))}",
    ]
    if card.get("class_names"):
        lines.append("- **Classes**: " + ", ".join(f"`{c}`" for c in card["class_names"]))
    lines += ["", "## Input", ""]
    kind = spec["kind"]
    if kind == "table":
        lines += ["| column | dtype | categories |", "| --- | --- | --- |"]
        lines += [
            f"| `{c['name']}` | {c['dtype']} | {c.get('categories', '-')} |"
            for c in spec["columns"]
        ]
    elif kind == "text":
        lines.append(
            f"Text column `{spec['text_column']}` (strings); vocabulary size "
            f"{_value(spec.get('vocabulary_size'))}."
        )
    elif spec.get("description"):  # e.g. a generative model's token ids
        lines.append(spec["description"])
    else:
        shape = "x".join(map(str, spec["shape"]))
        lines.append(f"{kind} input `x`, float32, shape {shape} per sample.")
        if kind == "tabular":
            lines.append("Features, in order: " + ", ".join(f"`{f}`" for f in spec["features"]))
        if "value_range" in spec:
            low, high = spec["value_range"]
            lines.append(f"Training values range from {_value(low)} to {_value(high)}.")
    if card.get("generation"):
        from autodl.export._generative import generation_markdown

        lines += generation_markdown(card)
    lines += ["", "## Scores", ""]
    table = _metrics_table(
        {"validation": card.get("validation_metrics"), "test": card.get("test_metrics")}
    )
    lines += table or ["No scores were computed."]
    if model.get("source") == "refit":
        lines += [
            "",
            "Validation scores are those of the search's own model: the retrained one has "
            "seen the validation split.",
        ]
    if not card.get("test_metrics"):
        lines += ["", "The data had no test split (`--test-size` holds one out)."]
    ensemble = card.get("ensemble")
    if ensemble:
        from autodl.export._ensemble import describe_ensemble

        lines += ["", "## Ensemble", "", describe_ensemble(ensemble) + "."]
    searched = card.get("params") or {}
    lines += [
        "",
        "## Hyperparameters",
        "",
        "Searched values in bold; the rest were fixed or defaults.",
        "",
    ]
    lines += ["| key | value |", "| --- | --- |"]
    lines += [
        f"| {k} | **{_value(v)}** |" if k in searched else f"| {k} | {_value(v)} |"
        for k, v in sorted(card["hyperparameters"].items())
    ]
    lines += ["", "## Reproduce", "", "```", card.get("command") or "-", "```", ""]
    lines += [
        "Library versions: " + ", ".join(f"{k} {v}" for k, v in card["library_versions"].items())
    ]
    return "\n".join(lines) + "\n"
