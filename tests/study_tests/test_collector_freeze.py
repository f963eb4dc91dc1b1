"""Between trials only the young generations are collected, in the command and in a
library caller's process alike; a caller gets its garbage collector back afterwards."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autodl import _process


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_library_search_freezes_between_trials_and_unfreezes_after(write_space, tmp_path: Path) -> None:
    import autodl

    seen: list[int] = []
    space = write_space(epochs=1)
    autodl.search(
        str(space), trials=3, out=str(tmp_path / "out"), pruner="none",
        callbacks=[lambda study, trial: seen.append(gc.get_freeze_count())],
    )  # fmt: skip
    assert len(seen) == 3 and all(seen)  # frozen from the start of the loop
    assert gc.get_freeze_count() == 0  # the caller's process, as it was


def test_release_memory_outside_a_trial_loop_collects_fully(monkeypatch: pytest.MonkeyPatch) -> None:
    from autodl.train import release_memory

    release_memory()
    assert gc.get_freeze_count() == 0
    monkeypatch.delitem(sys.modules, "keras")  # a loop entered before Keras was imported
    with _process.trial_loop():
        assert not _process.frozen()  # TensorFlow's objects would stay in the collector's sight
        monkeypatch.undo()
        release_memory()  # the first: a full collection, then what survived is frozen
        assert gc.get_freeze_count() > 0
        with _process.trial_loop():  # leaving an inner loop does not unfreeze the outer one
            release_memory()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_loop_of_trials_freezes_as_it_starts_without_a_full_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    import keras  # noqa: F401  (loaded, as in every search by the time its trials start)

    from autodl.train import release_memory

    collections: list[int] = []
    collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda generation=2: collections.append(generation) or collect(generation))
    with _process.trial_loop():
        assert _process.frozen() and gc.get_freeze_count() > 0
        release_memory()
        release_memory()
    assert collections == [1, 1]  # the young generations only, from the first trial on
    assert gc.get_freeze_count() == 0


def test_a_caller_that_froze_its_own_objects_stays_frozen() -> None:
    from autodl.train import release_memory

    gc.freeze()
    with _process.trial_loop():
        release_memory()
    assert gc.get_freeze_count() > 0  # not unfrozen: the caller froze it


def test_between_trials_autodl_knows_it_froze_without_asking_the_collector(monkeypatch) -> None:
    from autodl.train import release_memory

    with _process.trial_loop():
        assert _process.frozen() and gc.get_freeze_count() > 0

        def walks_every_frozen_object() -> int:  # 10-25 ms with TensorFlow loaded
            raise AssertionError("gc.get_freeze_count() called between trials")

        with monkeypatch.context() as patched:
            patched.setattr(gc, "get_freeze_count", walks_every_frozen_object)
            release_memory()
    assert not _process.frozen() and gc.get_freeze_count() == 0
    gc.freeze()  # a caller's own freeze is seen when its next loop of trials starts
    with _process.trial_loop():
        assert _process.frozen()
