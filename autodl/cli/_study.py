"""Shared by the commands that read a study back: --storage / --out / --study-name."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autodl.exceptions import ConfigError, StorageError, closest

STUDY_FILE = "study.journal"  # as autodl.study._run writes it; no import, to keep --help light


def add_storage_arguments(parser: argparse.ArgumentParser, *, study_name: bool = True) -> None:
    where = parser.add_argument_group("which study")
    where.add_argument(
        "--storage",
        help="Optuna storage URL (sqlite:///FILE, postgresql://...) or journal file "
        "(default: OUT/study.journal)",
    )
    if study_name:
        where.add_argument("--study-name", help="the study (default: the only one in the storage)")


@dataclass
class OpenedStorage:
    storage: Any  # an Optuna storage
    url: str  # as the user gave it, credentials masked
    folder: Path | None  # the folder of a journal file, where a search wrote its outputs


def open_storage(storage: str | None, out: str | None) -> OpenedStorage:
    """The storage named by --storage, else OUT/study.journal; never creates a new one."""
    from autodl.study import make_storage, mask_url

    if not storage:
        if not out:
            raise ConfigError("pass --storage URL (or --out DIR, the folder a search wrote)")
        path = Path(out) / STUDY_FILE
        if not path.is_file():
            raise StorageError(f"--out {out}: no {STUDY_FILE} there; pass --storage URL")
        storage = str(path)
    if "://" not in storage:
        path = Path(storage)
        if path.is_dir() and (path / STUDY_FILE).is_file():
            path = path / STUDY_FILE  # the output folder of a search
        if not path.is_file():
            raise StorageError(f"--storage {storage}: no such journal file")
        return OpenedStorage(make_storage(str(path)), str(path), path.parent)
    return OpenedStorage(make_storage(storage), mask_url(storage), None)


def study_names(opened: OpenedStorage) -> list[str]:
    import optuna

    return sorted(optuna.get_all_study_names(storage=opened.storage))


def load_study(opened: OpenedStorage, name: str | None) -> Any:
    """The study called `name`; without a name, the storage's only study."""
    import optuna

    names = study_names(opened)
    if not names:
        raise StorageError(f"--storage {opened.url}: holds no study")
    if name is None:
        if len(names) > 1:
            raise ConfigError(
                f"--study-name is needed: {opened.url} holds {len(names)} studies: {', '.join(names)}"
            )
        name = names[0]
    if name not in names:
        raise ConfigError(
            f"--study-name {name}: no such study in {opened.url}; it holds {', '.join(names)}"
            f"{closest(name, names)}"
        )
    return optuna.load_study(study_name=name, storage=opened.storage)
