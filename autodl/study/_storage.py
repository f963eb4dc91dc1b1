"""Optuna storages from what `--storage` accepts, with credentials never shown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from autodl.exceptions import StorageError

RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")
JOURNAL_SUFFIXES = (".journal", ".log", ".jsonl")


def mask_url(url: str) -> str:
    """`postgresql://user:secret@host/db` -> `postgresql://user:***@host/db`."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", str(url))


def is_journal_path(url: str) -> bool:
    return "://" not in url


def make_storage(url: str, *, heartbeat_interval: int | None = 60) -> Any:
    """An Optuna storage for a URL (sqlite/postgresql/mysql) or a journal-file path."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if is_journal_path(url):
        path = Path(url)
        if path.is_dir():
            raise StorageError(f"--storage {url}: is a folder; give a journal file path such as {path / 'study.journal'}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise StorageError(f"--storage {url}: cannot open journal file: {exc.strerror}") from None
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in RDB_SCHEMES:
        raise StorageError(
            f"--storage {mask_url(url)}: unknown scheme '{parts.scheme}'; use sqlite:///FILE, "
            "postgresql://HOST/DB, mysql+pymysql://HOST/DB or a journal file path"
        )
    if scheme != "sqlite" and not parts.hostname:
        raise StorageError(f"--storage {mask_url(url)}: no host in the URL")
    engine_kwargs: dict[str, Any] = {}
    if scheme != "sqlite":
        engine_kwargs["pool_pre_ping"] = True
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_interval if scheme != "sqlite" else None,
            grace_period=heartbeat_interval * 2 if heartbeat_interval and scheme != "sqlite" else None,
        )
    except ModuleNotFoundError as exc:
        raise StorageError(
            f"--storage {mask_url(url)}: the database driver '{exc.name}' is not installed "
            "(pip install 'autodl[storage]')"
        ) from None
    except Exception as exc:  # SQLAlchemy raises many types: name the host, never the password
        where = parts.hostname or parts.path
        if parts.port:
            where = f"{where}:{parts.port}"
        reason = mask_url(str(getattr(exc, "orig", None) or exc)).strip().splitlines()
        raise StorageError(
            f"--storage {mask_url(url)}: cannot connect to {where}: {reason[0] if reason else type(exc).__name__}"
        ) from None
