"""Keep `best_model.keras` and `best_config.json` in step with the best trial so far.

Several worker processes may finish better trials at once: a file lock around the
compare-and-write makes sure the files on disk always belong to the best of them.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
from pathlib import Path
from typing import Any

from autodl._files import file_lock, write_json, write_with

BEST_MODEL = "best_model.keras"
BEST_CONFIG = "best_config.json"


def save_keras_model(model: Any, path: Path) -> None:
    """Save atomically: a crash mid-save leaves the previous file, never half of one."""
    _remember_keras_skipsets()
    write_with(path, lambda tmp: model.save(tmp))


def _remember_keras_skipsets() -> None:
    """Make Keras compute its saving skip sets once per process, not on every save.

    For each kind of object it saves, Keras 3 lists the attributes to skip by building a
    throwaway Layer, Optimizer (with variables), Metric... (`saving_lib.get_attr_skipset`):
    15-30 ms of each save of a small model. Its cache never hits: it is written under
    one key and read under another, and `clear_session` (after every trial) empties it.
    The lists depend only on the kind and the Keras version.
    """
    try:
        from keras.src.saving import saving_lib
    except ImportError:  # a Keras without this module: nothing to do
        return
    compute = getattr(saving_lib, "get_attr_skipset", None)
    if compute is None or hasattr(compute, "cache_info"):
        return
    saving_lib.get_attr_skipset = functools.cache(compute)


class BestModelWriter:
    """Writes the model of a trial when it beats the one on disk."""

    def __init__(self, out: Path, direction: str, study_name: str | None = None) -> None:
        self.out = Path(out)
        self.maximize = direction == "maximize"
        self.study_name = study_name

    def current(self) -> tuple[float, float, int] | None:
        """The ranking key (`rank_key`) of the model on disk, if it is this study's."""
        try:
            record = json.loads((self.out / BEST_CONFIG).read_text())
            if self.study_name and record.get("study_name") != self.study_name:
                return None  # another study's leftovers (--overwrite): ours replace them
            return self._key(float(record["value"]), record)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _key(self, value: float, record: dict[str, Any]) -> tuple[float, float, int]:
        return rank_key(value, record.get("val_loss"), int(record.get("trial", -1)), self.maximize)

    def offer(self, value: float, model: Any, record: dict[str, Any], saved: Path | None = None) -> bool:
        """Save `model` and `record` (best_config.json) if `value` beats the saved best.

        `record` holds the trial's number and its validation loss (`val_loss`, None if none).
        `saved`: a file this model was just saved to (the top-K copy), copied instead of
        serialising the model a second time."""
        key = self._key(value, record)
        with file_lock(self.out / ".best.lock"):
            current = self.current()
            if current is not None and not key < current:
                return False
            if saved is None or not _copy_if_present(saved, self.out / BEST_MODEL):
                save_keras_model(model, self.out / BEST_MODEL)
            write_json(self.out / BEST_CONFIG, {**record, "value": value})
            return True


def _copy_if_present(source: Path, path: Path) -> bool:
    """Copy `source` onto `path` atomically; False if `source` is gone (another worker's
    better trials can push a model out of the top K between its save and this copy)."""
    try:
        write_with(path, lambda tmp: shutil.copyfile(source, tmp))
    except FileNotFoundError:
        return False
    return True


def rank_key(value: float, loss: float | None, trial: int, maximize: bool) -> tuple[float, float, int]:
    """Sort key of a trial's model, best first: the order of `autodl.results.best_trial`.

    The better value; of equal values the lower validation loss (none: after any), then
    the earlier trial."""
    return (-value if maximize else value), (math.inf if loss is None else float(loss)), trial
