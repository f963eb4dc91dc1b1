"""`autodl export`: export a finished (or running) study's best model after the fact.

Everything is rebuilt from the study in storage: its settings, data source and metric
are study user attributes, so the data reloads with the same seeded splits.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from autodl.exceptions import AutodlError, ConfigError, DataError, one_of

_logger = logging.getLogger(__name__)


def load_study_for_export(storage: str, study_name: str | None) -> Any:
    """Open `study_name` in `storage`; with one study there, the name may be left out."""
    import optuna

    from autodl.study._storage import make_storage, mask_url

    backend = make_storage(storage)
    names = optuna.get_all_study_names(backend)
    if not names:
        raise ConfigError(f"--storage {mask_url(storage)}: holds no study")
    if study_name is None:
        if len(names) > 1:
            raise ConfigError(
                f"--storage {mask_url(storage)} holds {len(names)} studies; "
                f"pass --study-name, one of: {', '.join(names)}"
            )
        study_name = names[0]
    if study_name not in names:
        raise ConfigError(one_of("--study-name", study_name, names))
    return optuna.load_study(study_name=study_name, storage=backend)


def export_study(
    storage: str,
    study_name: str | None = None,
    out: str | Path | None = None,
    *,
    refit: bool = False,
    ensemble: int | None = None,
    data: str | None = None,
    command: str = "",
) -> tuple[Path, dict[str, Any]]:
    """Export the best model of a stored study into `out`; return (out, summary additions).

    `ensemble`: K as `autodl search --ensemble K` (None: the search's own setting)."""
    from autodl.export._finalize import finalize_export
    from autodl.results import write_outputs
    from autodl.results._summary import best_trial
    from autodl.study._run import SearchContext
    from autodl.study._settings import SearchSettings
    from autodl.study._storage import mask_url
    from autodl.train import Objective

    study = load_study_for_export(storage, study_name)
    attrs = study.user_attrs
    if "metric" not in attrs or "settings" not in attrs:
        raise ConfigError(
            f"study '{study.study_name}' was not made by autodl search (no settings recorded)"
        )
    if best_trial(study) is None:
        raise ConfigError(f"study '{study.study_name}' has no complete trial to export")
    settings = SearchSettings.from_dict(attrs["settings"])
    settings = dataclasses.replace(settings, refit=refit)
    if ensemble is not None:
        settings = dataclasses.replace(settings, ensemble=ensemble).validate()
    source = data or attrs.get("data") or settings.data
    if not source:
        raise DataError(f"study '{study.study_name}' records no data source; pass --data")
    dataset = settings.load_dataset(source)
    if attrs.get("task") and dataset.task != attrs["task"]:
        raise DataError(
            f"{source}: is a {dataset.task} task, but study '{study.study_name}' searched a "
            f"{attrs['task']} one"
        )
    out_path = Path(out) if out else Path("reports") / study.study_name
    if not (out_path / "summary.json").exists():
        write_outputs(study, out_path, storage=mask_url(storage))
    context = SearchContext(
        settings=settings,
        loaded_space=_space_or_none(attrs.get("space")) if refit else None,
        data=dataset,
        objective=Objective(attrs["metric"], study.direction.name.lower()),
        study=study,
        out=out_path,
        storage_url=mask_url(storage),
        command=command,
    )
    return out_path, finalize_export(context, refit=refit)


def _space_or_none(path: str | None) -> Any:
    """The study's space, for custom losses named in its config; optional for a refit."""
    if not path:
        return None
    from autodl.space import load_space

    try:
        return load_space(path)
    except AutodlError as exc:
        _logger.info("space %s not loaded (%s): refitting without its custom objects", path, exc)
        return None
