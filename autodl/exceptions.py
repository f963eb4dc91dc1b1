"""Errors autodl raises on purpose.

`AutodlError` and its subclasses are *user* errors: the CLI prints their message as one
line on stderr and exits 2. Anything else that escapes is a bug (exit 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AutodlError(Exception):
    """A problem the user can fix: bad flag, space, data or storage."""


class SpaceError(AutodlError):
    """The search-space file or definition is invalid."""


class DataError(AutodlError):
    """The data source is missing, unreadable or unusable for the task."""


class ConfigError(AutodlError):
    """A command-line option or setting is invalid."""


class StorageError(AutodlError):
    """The Optuna storage URL is malformed or its server cannot be reached."""


class SearchAborted(AutodlError):
    """The search stopped on purpose (e.g. too many consecutive failed trials)."""


def closest(value: object, valid: Iterable[object]) -> str:
    """Return ' (did you mean 'x'?)' for the nearest valid name, or ''."""
    names = [str(v) for v in valid]
    match = difflib.get_close_matches(str(value), names, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def one_of(what: str, value: object, valid: Iterable[object]) -> str:
    """Message for a value outside a fixed set, naming the set and the closest choice."""
    valid = list(valid)
    return f"{what} must be one of {', '.join(map(str, valid))}; got '{value}'{closest(value, valid)}"
