"""Whether this Python process is the `autodl` command itself or a program that imports autodl.

Only the command may change its process as a whole: replace it with a fresh copy of
itself when trials have grown its memory (autodl/study/_memory.py), or freeze the garbage
collector's view of long-lived objects for good (autodl/train/_fit.py `release_memory`).
A caller's notebook, script or test run is frozen only while it runs trials
(`trial_loop`), and gets its collector back as it was afterwards.

It also holds what stops training from outside the trial: the search's deadline (its
timeout, `training_deadline`), and the SIGINT/SIGTERM that asked the search to stop
(`interrupt_requested`), since the KeyboardInterrupt its handler raises is lost when it
lands in a finalizer (`__del__`, a weakref callback, the collector), which TensorFlow runs
all through training.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

IS_COMMAND = False  # set by autodl.cli.main when it runs as the program (no argv passed)
_trial_loops = 0  # how many `trial_loop` blocks this process is inside
# Whether the collector holds frozen objects. Kept here because `gc.get_freeze_count()`
# walks every frozen object: 10-25 ms in a process that holds TensorFlow.
_frozen = False
_interrupt: int | None = None  # the signal that asked this process to stop, if one did
_deadline: float | None = None  # the `time.time()` at which the running trial stops training


def note_interrupt(signum: int | None) -> None:
    """Record the signal a handler turned into KeyboardInterrupt (None: forget it)."""
    global _interrupt
    _interrupt = signum


def interrupt_requested() -> bool:
    """Whether a signal asked the search to stop; training raises KeyboardInterrupt again
    at its next epoch in case the handler's was lost."""
    return _interrupt is not None


@contextmanager
def training_deadline(deadline: float | None) -> Iterator[None]:
    """Within, a trial still training at `deadline` (the search's timeout) stops at its next
    batch and keeps its best epoch so far: the search ends on time."""
    global _deadline
    previous, _deadline = _deadline, deadline
    try:
        yield
    finally:
        _deadline = previous


def past_deadline() -> bool:
    return _deadline is not None and time.time() >= _deadline


def may_freeze() -> bool:
    """Whether `release_memory` may freeze what survived the first trial (`gc.freeze`)."""
    return IS_COMMAND or _trial_loops > 0


def frozen() -> bool:
    """Whether the collector's view of the long-lived objects is frozen."""
    return _frozen


def freeze() -> None:
    """Take every object alive now out of the collector's sight (`gc.freeze`)."""
    global _frozen
    gc.freeze()
    _frozen = True


@contextmanager
def trial_loop() -> Iterator[None]:
    """Trials run in this process within: between them only the young generations are
    collected (0.001 s instead of a full collection's 0.2-0.8 s in a process that holds
    TensorFlow). On the way out, a caller's process is unfrozen, unless it froze itself.

    What is alive as the loop starts (TensorFlow, the data, the study) outlives its trials,
    and there is next to no garbage yet (10 objects in a search's process), so it is frozen
    at once, without the full collection that would walk its 380,000 objects (0.17 s).
    Without Keras loaded yet, the first trial's `release_memory` collects and freezes it.
    """
    global _trial_loops, _frozen
    _frozen = frozen_by_caller = gc.get_freeze_count() > 0
    _trial_loops += 1
    if not _frozen and "keras" in sys.modules:
        freeze()
    try:
        yield
    finally:
        _trial_loops -= 1
        if not (IS_COMMAND or _trial_loops or frozen_by_caller):
            gc.unfreeze()  # the survivors go back to the oldest generation
            _frozen = False
