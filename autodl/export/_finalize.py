"""After a search: choose what to export (the best trial's model, the ensemble chosen
on validation, or with --refit the retrained best configuration), export it in every
format, score it once on the test split, and write the model card.

Called once per search (`run_search`) and by `autodl export`. The test split is read
only here, after everything has been chosen, and only to report.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from autodl._files import write_json, write_with
from autodl.exceptions import ConfigError
from autodl.export._best import BEST_CONFIG, BEST_MODEL, save_keras_model
from autodl.export._card import CARD_FORMAT, CARD_JSON, input_spec, write_model_card
from autodl.export._ensemble import ENSEMBLE_MODEL, ENSEMBLE_SAVED_MODEL, build_ensemble
from autodl.export._evaluate import objective_value, predict_outputs, raw_model_input, task_metrics
from autodl.export._saved_model import SAVED_MODEL_DIR, export_saved_model
from autodl.export._topk import TopKModels

_logger = logging.getLogger(__name__)

# When best_model.keras is the ensemble or the retrained model, the trial's own stays here.
BEST_TRIAL_MODEL = "best_trial_model.keras"
SUMMARY = "summary.json"


def finalize_export(
    context: Any, *, refit: bool | None = None, ensemble: int | None = None
) -> dict[str, Any]:
    """Export the best model of `context.study` into `context.out`; return summary additions.

    `context` is a `SearchContext` (or anything with its `settings`, `study`, `data`, `out`,
    `objective`, `command` and `loaded_space`). `refit` and `ensemble` default to the
    settings. Does nothing (and returns {}) when no trial completed.
    """
    from autodl.results._summary import best_trial, library_versions
    from autodl.study._settings import ensemble_size

    settings = context.settings
    refit = bool(getattr(settings, "refit", False)) if refit is None else refit
    study, data, out = context.study, context.data, Path(context.out)
    k = ensemble_size(settings, getattr(data, "task", None)) if ensemble is None else ensemble
    if getattr(data, "task", None) == "generation":  # the generator part and its card: see _generative.py
        from autodl.export._generative import finalize_generation

        return finalize_generation(context, refit=refit, ensemble=k)
    best = best_trial(study)
    if best is None:
        _logger.warning("no complete trial: nothing to export")
        return {}
    config = best.user_attrs.get("config")
    if config is None:  # an empty dict is valid: a build function with no hyperparameters
        config = _read_json(out / BEST_CONFIG).get("config")
    if config is None:
        raise ConfigError(
            f"study '{study.study_name}': trial {best.number} has no recorded config"
        )
    note = None
    if refit and not _rebuildable(context, config):
        note = "not refit: the space builds its own Keras model, which autodl cannot rebuild"
        _logger.warning("%s; exporting the best trial's own model", note)
        refit = False
    previous = _read_json(out / CARD_JSON)
    trial_file = _trial_model_file(out, best.number, previous)
    if trial_file is None and not refit:
        raise ConfigError(
            f"{out / BEST_MODEL}: missing or not the model of best trial {best.number}; "
            "pass --refit to retrain the best configuration"
        )
    import keras

    trial_model = keras.saving.load_model(trial_file, compile=False) if trial_file else None
    # The trial model's validation outputs: its scores, and the ensemble's yardstick.
    trial_val = (
        predict_outputs(trial_model, raw_model_input(data, data.x_val))
        if trial_model is not None
        else None
    )
    validation = task_metrics(data.task, data.y_val, trial_val) if trial_val is not None else None
    best_path = out / BEST_MODEL
    ensemble_entry, ensemble_model = (
        _choose_ensemble(context, best, k, trial_val, config) if k >= 2 else (None, None)
    )
    shutil.rmtree(out / ENSEMBLE_SAVED_MODEL, ignore_errors=True)  # an earlier export's
    (out / ENSEMBLE_MODEL).unlink(missing_ok=True)
    if (refit or ensemble_model is not None) and trial_file == best_path:
        _copy(best_path, out / BEST_TRIAL_MODEL)  # best_model.keras is about to be replaced
    if refit:
        from autodl.export._refit import refit_model

        epochs = int(best.user_attrs.get("best_epoch", int(config["epochs"]) - 1)) + 1
        seed = None if settings.seed is None else int(settings.seed) + best.number
        model, built_on = refit_model(
            config, data, epochs, seed=seed, custom_objects=_custom_objects(context)
        )
        save_keras_model(model, best_path)
        source = "refit"
    elif ensemble_model is not None:  # better on validation than the best trial's model
        model, built_on = ensemble_model, data
        epochs = int(best.user_attrs.get("epochs", 0)) or None
        save_keras_model(model, best_path)
        validation = ensemble_entry["validation_metrics"]
        source = "ensemble"
    else:
        model, built_on = trial_model, data
        epochs = int(best.user_attrs.get("epochs", 0)) or None
        if trial_file != best_path:  # undo an earlier refit or ensemble
            _copy(trial_file, best_path)
        (out / BEST_TRIAL_MODEL).unlink(missing_ok=True)
        source = "trial"
    saved_model = export_saved_model(model, out / SAVED_MODEL_DIR)
    if source == "ensemble":
        ensemble_entry.update(file=BEST_MODEL, saved_model=SAVED_MODEL_DIR if saved_model else None)
    elif ensemble_model is not None:  # --refit: the refit is exported, the ensemble beside it
        save_keras_model(ensemble_model, out / ENSEMBLE_MODEL)
        saved = export_saved_model(ensemble_model, out / ENSEMBLE_SAVED_MODEL)
        ensemble_entry.update(
            file=ENSEMBLE_MODEL, saved_model=ENSEMBLE_SAVED_MODEL if saved else None
        )
    test = None
    if data.y_test is not None and len(data.y_test):
        test = task_metrics(
            data.task, data.y_test, predict_outputs(model, raw_model_input(data, data.x_test))
        )
    export = {
        "model": BEST_MODEL,
        "saved_model": SAVED_MODEL_DIR if saved_model else None,
        "model_card": CARD_JSON,
        "source": source,
        "trial": best.number,
        "epochs": epochs,
        "trained_on": "train+validation" if source == "refit" else "train",
        "n_params": int(model.count_params()),
    }
    if note:
        export["note"] = note
    card = {
        "format": CARD_FORMAT,
        "study_name": study.study_name,
        "task": data.task,
        "target": getattr(settings, "target", None),
        "class_names": list(data.class_names),
        "output": _output_spec(data),
        "input": input_spec(built_on, model),
        "model": {**export, "file": BEST_MODEL},
        "data": {
            **{
                k: v
                for k, v in data.to_dict().items()
                if k.startswith("n_") or k in ("name", "source", "input_shape")
            },
            "description": data.describe(),
            "rows_trained_on": int(built_on.n_train),
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
        "ensemble": ensemble_entry,
        "library_versions": library_versions(),
        "command": context.command or _equivalent_command(settings),
    }
    write_model_card(out, card)
    additions = {
        "export": export,
        "validation_metrics": validation,
        "test_metrics": test,
        "ensemble": ensemble_entry,
    }
    summary = _read_json(out / SUMMARY)
    write_json(out / SUMMARY, {**summary, **additions})
    return additions


def _trial_model_file(out: Path, trial: int, previous_card: dict[str, Any]) -> Path | None:
    """Where the best trial's own model is: best_model.keras, unless an earlier export of
    the same trial replaced it by a refit or an ensemble (then best_trial_model.keras);
    None if it is not saved."""
    best_path = out / BEST_MODEL
    if not best_path.exists() or _read_json(out / BEST_CONFIG).get("trial") != trial:
        return None
    model = previous_card.get("model") or {}
    if model.get("source") in ("refit", "ensemble") and model.get("trial") == trial:
        kept = out / BEST_TRIAL_MODEL
        return kept if kept.exists() else None
    return best_path


def _choose_ensemble(
    context: Any, best: Any, k: int, trial_val: np.ndarray | None, config: dict[str, Any]
) -> tuple[dict[str, Any] | None, Any]:
    """Choose an ensemble of the kept top-k models on validation (see _ensemble.py).

    Returns its summary entry (None when fewer than 2 models were kept) and the ensemble
    model, or None when no average beats the best single model on validation loss or the
    ensemble could not be built: the export then goes on with the best trial's model.
    """
    kept = TopKModels(Path(context.out), k, context.objective.direction).members()
    if len(kept) < 2:
        _logger.info("ensemble of %d: only %d model(s) kept, no ensemble", k, len(kept))
        return None, None
    # The best trial's model leads: the ensemble starts from what is exported alone.
    kept.sort(key=lambda m: m.trial != best.number)
    try:
        return _ensemble_of(context, kept, k, trial_val, config)
    except Exception as exc:  # an ensemble that cannot be built never stops the export
        _logger.warning("no ensemble: %s", exc, exc_info=_logger.isEnabledFor(logging.DEBUG))
        entry = {"file": None, "candidates": [m.trial for m in kept], "note": f"no ensemble: {exc}"}
        return entry, None


def _ensemble_of(
    context: Any, kept: list[Any], k: int, trial_val: np.ndarray | None, config: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    import keras

    from autodl.export._ensemble import select_members, validation_loss

    data, objective = context.data, context.objective
    x_val = raw_model_input(data, data.x_val)
    models = [keras.saving.load_model(m.path, compile=False) for m in kept]  # loaded once
    predictions = [predict_outputs(model, x_val) for model in models]
    counts = select_members(
        predictions, lambda outputs: validation_loss(data.task, data.y_val, outputs), rounds=2 * k
    )
    chosen = [(m, n) for m, n in zip(kept, counts, strict=True) if n]
    outputs = sum(predictions[i] * n for i, n in enumerate(counts) if n) / sum(counts)
    scale = _target_scale(data)

    def score(outputs: np.ndarray) -> float:
        return objective_value(
            objective.metric,
            data.task,
            data.y_val,
            outputs,
            target_scale=scale,
            config=config,
            custom_objects=_custom_objects(context),
        )

    single = trial_val if trial_val is not None else predictions[0]
    entry = {
        "file": None,
        "saved_model": None,
        "candidates": [m.trial for m in kept],
        "members": [m.trial for m, _ in chosen],
        "weights": [round(n / sum(counts), 6) for _, n in chosen],
        "metric": objective.metric,
        "direction": objective.direction,
        "value": score(outputs),
        "best_single_value": score(single),
        "validation_loss": validation_loss(data.task, data.y_val, outputs),
        "best_single_validation_loss": validation_loss(data.task, data.y_val, single),
        "validation_metrics": task_metrics(data.task, data.y_val, outputs),
    }
    if len(chosen) < 2:
        entry["note"] = (
            f"no ensemble: no average of the {len(kept)} best trials' models has a lower "
            "validation loss than the best one alone"
        )
        _logger.info("%s", entry["note"])
        return entry, None
    model = build_ensemble(
        [model for model, n in zip(models, counts, strict=True) if n],
        names=[f"trial_{m.trial}" for m, _ in chosen],
        weights=[n for _, n in chosen],
    )
    return entry, model


def _rebuildable(context: Any, config: dict[str, Any]) -> bool:
    """Whether autodl's builders can rebuild `config` (not a KerasTuner-built model)."""
    from autodl.builders import FAMILIES

    space = getattr(getattr(context, "loaded_space", None), "space", None)
    if getattr(space, "builds_own_model", False):
        return False
    return config.get("family") in FAMILIES and "epochs" in config and "batch_size" in config


def _target_scale(data: Any) -> tuple[float, float] | None:
    # The same standardisation the trials trained with (see PreparedData.from_dataset).
    if data.task != "regression":
        return None
    y = np.asarray(data.y_train, dtype="float64")
    return float(y.mean()), float(y.std()) or 1.0


def _output_spec(data: Any) -> dict[str, Any]:
    if data.task == "regression":
        return {"kind": "value", "shape": [1], "units": "the target's own units"}
    if data.task == "binary":
        return {"kind": "probability", "shape": [1], "positive_class": data.class_names[1]}
    return {"kind": "probabilities", "shape": [data.n_classes]}


def _custom_objects(context: Any) -> dict[str, Any]:
    space = getattr(getattr(context, "loaded_space", None), "space", None)
    return dict(getattr(space, "custom_objects", None) or {})


def _equivalent_command(settings: Any) -> str:
    """The CLI command that runs the same search, for searches started from Python."""
    import shlex

    parts = ["autodl", "search"]
    defaults = type(settings)(space=settings.space).to_dict()
    for key, value in settings.to_dict().items():
        if value is None or (key != "space" and value == defaults.get(key)):
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif value is not False:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _copy(source: Path | None, target: Path) -> None:
    if source is None:
        return
    write_with(target, lambda tmp: shutil.copyfile(source, tmp))
