"""Ctrl-C and SIGTERM during a search: stop cleanly once, exit at once the second time."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from autodl import _process

EXIT_INTERRUPTED = 130


@contextlib.contextmanager
def graceful_interrupts() -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM into KeyboardInterrupt (the running trial is marked
    FAIL "interrupted" and the outputs are written); a second one exits immediately.
    Files are only ever renamed into place, so exiting mid-write corrupts nothing."""

    def second(signum: int, frame: Any) -> None:
        sys.stderr.write("\ninterrupted again: exiting now\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)

    def first(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, second)
        signal.signal(signal.SIGTERM, second)
        _process.note_interrupt(signum)  # raised again at the next epoch if this one is lost
        raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, first)
    try:
        yield
    finally:
        _process.note_interrupt(None)
        for s, handler in previous.items():
            signal.signal(s, handler)
