"""Ctrl-C or SIGTERM while a trained trial's model and record are written: they are
written whole, and the trial counts as complete."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ResultKept(KeyboardInterrupt):
    """An interrupt that arrived once the trial's result was on disk: the search stops, and
    the trial is told COMPLETE with `value` (best_model.keras may already be its model)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them to the handlers in
    place (which raise KeyboardInterrupt, or exit). In the main thread only, where signals
    are handled; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])
