"""Optuna storages from what `--storage` accepts, with credentials never shown."""

from __future__ import annotations

import copy
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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


# Drivers by preference for a URL that names none. SQLAlchemy's own default changed in 2.1
# (psycopg 3 for postgresql://), so a bare URL failed with only psycopg2 installed.
_DRIVERS = {"postgresql": ("psycopg2", "psycopg"), "mysql": ("mysqldb", "pymysql"), "mariadb": ("mysqldb", "pymysql")}
_DRIVER_MODULES = {"psycopg2": "psycopg2", "psycopg": "psycopg", "pymysql": "pymysql", "mysqldb": "MySQLdb"}


def database_url(url: str) -> str:
    """`url` with an installed driver named: postgresql:// -> postgresql+psycopg2://."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if scheme == "postgres":  # Heroku-style; SQLAlchemy only knows postgresql
        scheme = "postgresql"
    for driver in _DRIVERS.get(scheme, ()):
        if importlib.util.find_spec(_DRIVER_MODULES[driver]) is not None:
            return f"{scheme}+{driver}{sep}{rest}"
    return f"{scheme}{sep}{rest}"


HEARTBEAT_ENV = "AUTODL_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_SECONDS = 60
MAX_RETRIES = 2  # a trial whose worker died runs at most this many more times


def heartbeat_seconds() -> int:
    """Seconds between a running trial's heartbeats on a database storage.

    A trial whose worker stops beating for twice this long is marked FAIL and retried.
    `AUTODL_HEARTBEAT_SECONDS` shortens it (tests, preemptible machines); default 60.
    """
    text = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not text:
        return DEFAULT_HEARTBEAT_SECONDS
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise StorageError(f"{HEARTBEAT_ENV}={text!r}: must be a whole number of seconds, at least 1")
    return seconds


class RetryStaleTrial:
    """Requeue a trial whose worker died (heartbeat lost), at most `max_retry` times.

    Optuna's retry callback records the original trial in the system attrs; the retry
    also gets the user attr `retry_of` (the trial it repeats), which reports can show.
    """

    def __init__(self, max_retry: int = MAX_RETRIES) -> None:
        import optuna

        # Optuna 4.9 renamed RetryFailedTrialCallback; accept both so optuna>=4.0 works.
        retry_class = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
        if retry_class is None:
            retry_class = optuna.storages.RetryFailedTrialCallback
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._retry = retry_class(max_retry=max_retry, inherit_intermediate_values=False)

    def __call__(self, study: Any, trial: Any) -> None:
        import optuna

        marked = copy.copy(trial)
        # What the dead run measured (epochs, history, its worker) must not leak into the retry.
        kept = {k: v for k, v in trial.user_attrs.items() if k in ("textbook",)}
        marked.user_attrs = {**kept, "retry_of": trial.number}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._retry(study, marked)


def make_storage(url: str, *, heartbeat_interval: int | None | str = "auto") -> Any:
    """An Optuna storage for a URL (sqlite/postgresql/mysql) or a journal-file path.

    On PostgreSQL/MySQL, running trials send heartbeats (`heartbeat_interval` seconds;
    "auto": `heartbeat_seconds()`, None: off) and a trial whose worker died is retried.
    """
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
    if heartbeat_interval == "auto":
        heartbeat_interval = heartbeat_seconds()
    # SQLite serialises writers already and a heartbeat thread would only add lock waits.
    beat = int(heartbeat_interval) if heartbeat_interval and scheme != "sqlite" else None
    # Optuna 4.9 renamed failed_trial_callback to heartbeat_stale_trial_callback.
    stale_arg = (
        "heartbeat_stale_trial_callback"
        if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback")
        else "failed_trial_callback"
    )
    retry = {stale_arg: RetryStaleTrial()} if beat else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                database_url(url),
                engine_kwargs=engine_kwargs,
                heartbeat_interval=beat,
                grace_period=beat * 2 if beat else None,
                **retry,
            )
    except (ModuleNotFoundError, ImportError) as exc:  # Optuna re-raises the driver's as ImportError
        missing = getattr(exc, "name", None) or getattr(exc.__cause__, "name", None) or "for this URL"
        raise StorageError(
            f"--storage {mask_url(url)}: the database driver '{missing}' is not installed "
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


def set_user_attrs(trial: Any, attrs: dict[str, Any]) -> None:
    """`trial.set_user_attr` for each item, written to a journal file in one append.

    Optuna appends every `set_user_attr` to a journal file on its own: the file lock, a
    write and an fsync each (about 1 ms). Here the items go in one append, still one log
    line per key exactly as Optuna writes them, so every reader replays them unchanged.
    Other storages, and a journal storage whose internals differ from those relied on
    here, take the items one by one.
    """
    cached = getattr(trial, "_cached_frozen_trial", None)  # what `trial.user_attrs` reads
    append = _journal_appender(trial.storage) if cached is not None and len(attrs) > 1 else None
    if append is None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    append([("SET_TRIAL_USER_ATTR", {"trial_id": trial._trial_id, "user_attr": {k: v}}) for k, v in attrs.items()])
    cached.user_attrs.update(attrs)


@contextmanager
def params_in_one_write(trial: Any) -> Iterator[None]:
    """Within, the params `trial` samples go to a journal file in one append, as it ends.

    Optuna appends every sampled param on its own, as it does every user attribute (see
    `set_user_attrs`): 17 appends on a default MLP trial, 8 ms of a 1 s wine trial. The
    trial reads its params from its own cache meanwhile (`trial.params`), and the log lines
    are Optuna's own. Other storages take each param as it is sampled.
    """
    cached = getattr(trial, "_cached_frozen_trial", None)  # what `trial.params` reads meanwhile
    append = _journal_appender(trial.storage) if cached is not None else None
    if append is None:
        yield
        return
    storage, held = trial.storage, _ParamsHeld(trial.storage)
    trial.storage = held  # what `Trial.suggest_*` writes each param through
    try:
        yield
    finally:
        trial.storage = storage
        if held.logs:
            append(held.logs)  # as Optuna's own write: raises on a distribution that clashes


class _ParamsHeld:
    """A trial's storage that holds the params it is given and passes everything else on."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage
        self.logs: list[tuple[str, dict[str, Any]]] = []

    def set_trial_param(self, trial_id: int, name: str, value: float, distribution: Any) -> None:
        from optuna.distributions import distribution_to_json

        fields = {"trial_id": trial_id, "param_name": name, "param_value_internal": value}
        self.logs.append(("SET_TRIAL_PARAM", {**fields, "distribution": distribution_to_json(distribution)}))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def _journal_appender(storage: Any) -> Any:
    """A function appending (operation name, fields) logs of this worker to a journal file
    at once and replaying them, or None where `storage` is not one this knows."""
    try:
        from optuna.storages.journal import JournalStorage
        from optuna.storages.journal._storage import JournalOperation

        if not isinstance(storage, JournalStorage):
            return None
        backend, replay, lock, sync = (
            storage._backend, storage._replay_result, storage._thread_lock, storage._sync_with_backend
        )  # fmt: skip
        ops = {name: int(JournalOperation[name]) for name in ("SET_TRIAL_USER_ATTR", "SET_TRIAL_PARAM")}
    except (ImportError, AttributeError, KeyError):
        return None

    def append(logs: list[tuple[str, dict[str, Any]]]) -> None:
        lines = [{"op_code": ops[op], "worker_id": replay.worker_id, **fields} for op, fields in logs]
        with lock:
            backend.append_logs(lines)
            sync()  # as Optuna's own write: raises if the trial had already finished

    return append
