"""Keep a long search's memory flat: a process that trials have grown replaces itself.

TensorFlow keeps a few MB of every model it has traced that no `clear_session()` returns
(7-14 MB an MLP trial here; KerasTuner searches grow the same way), so hundreds of trials
in one process would use gigabytes. Most of it is the training graphs its gradient
registry holds, which `release_memory` now drops (train/_fit.py); this is the safety net
for whatever else grows (other backends, other layers). A search or worker process whose resident
memory grew by more than `max_memory_growth` MB since its first trial (counted once the
C heap's free pages went back to the system: memory still held) ends after the
trial it is on and `exec`s the same command again: the study in storage resumes where it
was, with the same process id and the memory of a fresh process. The search's start
time and consecutive-failure count travel in the environment, so `--timeout`, wall time
and `--max-failures` count across restarts.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

_logger = logging.getLogger(__name__)

RESTART_ENV = "AUTODL_RESTART"  # JSON of `RestartState`, set only in a restarted process


def trim_heap() -> bool:
    """Hand the C heap's free pages back to the system (glibc `malloc_trim`); False where
    there is no glibc. Freed tensors of a larger model stay in malloc's arenas and count
    in the resident size, though nothing leaked: this tells the two apart."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


def rss_mb() -> float | None:
    """This process's resident set size in MB, or None where /proc is missing (not Linux)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class MemoryWatch:
    """Measures the growth of this process's memory since the end of its first trial.

    Usable as an Optuna callback: it stops the study once the growth exceeds `limit_mb`.
    """

    def __init__(
        self,
        limit_mb: float | None,
        measure: Callable[[], float | None] | None = None,
        trim: Callable[[], bool] | None = None,
    ) -> None:
        self.limit_mb = limit_mb or None  # 0 or None: never restart
        self.measure = measure or rss_mb
        self.trim = trim or trim_heap
        self.baseline: float | None = None
        self.trials = 0
        self.grown_mb: float | None = None  # set once the limit is exceeded

    def after_trial(self) -> bool:
        """Call after each trial; True once memory grew past the limit.

        Free heap pages go back to the system first (at the baseline, and before a reading
        over the limit counts), so the growth is memory still held, not the high-water
        mark of the largest model so far (a 3-block CNN after small ones: +60-100 MB of
        freed tensors that a restart would have cost seconds to return)."""
        self.trials += 1
        if not self.limit_mb:
            return False
        if self.baseline is None:
            self.trim()
            self.baseline = self.measure()  # the first trial's own allocations are the baseline
            return False
        current = self.measure()
        if current is None:
            return False
        if current - self.baseline > self.limit_mb and self.trim():
            current = self.measure() or current
        if current - self.baseline > self.limit_mb:
            self.grown_mb = current - self.baseline
        return self.grown_mb is not None

    def __call__(self, study: Any, trial: Any) -> None:
        if self.after_trial():
            study.stop()

    def reason(self) -> str:
        return (
            f"memory grew by {self.grown_mb:.0f} MB over {self.trials} trials "
            f"(--max-memory-growth {self.limit_mb:g})"
        )


@dataclass
class RestartState:
    """What a restarted process carries over from the one it replaced."""

    started: float  # time.time() when the search (or worker) first started
    failed_in_row: int = 0
    restarts: int = 0

    @classmethod
    def current(cls) -> RestartState:
        """The state handed over by the process this one replaced, else a fresh one."""
        raw = os.environ.get(RESTART_ENV)
        if raw:
            try:
                return cls(**json.loads(raw))
            except (TypeError, ValueError):
                _logger.warning("ignoring a malformed %s=%r", RESTART_ENV, raw)
        return cls(started=time.time())


class ProcessRestart(Exception):
    """Raised after a trial when this process should be replaced by a fresh one."""

    def __init__(self, reason: str, state: RestartState) -> None:
        super().__init__(reason)
        self.state = state


def restart_process(state: RestartState) -> NoReturn:
    """Replace this process (the `autodl` command) with the same command, handing over `state`."""
    state.restarts += 1
    os.environ[RESTART_ENV] = json.dumps(asdict(state))
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    logging.shutdown()
    os.execv(sys.executable, [sys.executable, "-m", "autodl", *sys.argv[1:]])
