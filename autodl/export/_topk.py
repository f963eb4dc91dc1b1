"""Keep the models of the K best trials on disk, for an ensemble built after the search.

Only the current top K are ever kept (`OUT/models/trial_N.keras`): a model that falls out
is deleted at once, so a long search never fills the disk with checkpoints. Trials of
equal value rank as everywhere else (autodl/results/_leaderboard.py `tie_loss`): the lower
validation loss first, then the earlier trial; so the best trial is always among the kept,
and on a saturated validation score the K surest models are kept, not the K first. An
index file records each kept model's value and loss; a file lock keeps it right with
several workers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autodl._files import file_lock, write_json
from autodl.export._best import rank_key, save_keras_model

_logger = logging.getLogger(__name__)

MODELS_DIR = "models"
INDEX_FILE = "index.json"


@dataclass(frozen=True)
class KeptModel:
    """One kept trial model: its trial number, validation value and file."""

    trial: int
    value: float
    path: Path


# A kept model's index entry: (value, validation loss or None).
Score = tuple[float, float | None]


def _score(raw: Any) -> Score:
    """An index entry: [value, loss], or a bare value (index files before the loss)."""
    if isinstance(raw, (list, tuple)):
        return float(raw[0]), None if raw[1] is None else float(raw[1])
    return float(raw), None


class TopKModels:
    """Save a trial's export model while it is among the `k` best; drop those that fall out."""

    def __init__(self, out: Path, k: int, direction: str) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, but got {k=}.")
        self.folder = Path(out) / MODELS_DIR
        self.k = k
        self.maximize = direction == "maximize"

    def _read_index(self) -> dict[int, Score]:
        try:
            raw = json.loads((self.folder / INDEX_FILE).read_text())
            index = {int(k): _score(v) for k, v in raw.items()}
        except (OSError, ValueError, TypeError, AttributeError, IndexError):
            return {}
        # A model file removed by hand is no longer a member.
        return {n: v for n, v in index.items() if self.path(n).exists()}

    def path(self, trial: int) -> Path:
        return self.folder / f"trial_{trial}.keras"

    def _ranked(self, index: dict[int, Score]) -> list[tuple[int, Score]]:
        return sorted(index.items(), key=lambda item: rank_key(*item[1], item[0], self.maximize))

    def offer(self, trial: int, value: float, model: Any, loss: float | None = None) -> bool:
        """Keep `model` if (`value`, then validation `loss`) ranks in the top k; return
        whether it was kept."""
        with file_lock(self.folder / ".lock"):
            index = self._read_index()
            ranked = self._ranked({**index, trial: _score([value, loss])})
            kept = dict(ranked[: self.k])
            if trial not in kept:
                return False
            save_keras_model(model, self.path(trial))
            write_json(self.folder / INDEX_FILE, {str(n): list(score) for n, score in kept.items()})
            for dropped in set(index) - set(kept):
                self.path(dropped).unlink(missing_ok=True)
                _logger.debug("dropped trial %d from the top %d models", dropped, self.k)
            return True

    def members(self) -> list[KeptModel]:
        """The kept models, best first."""
        if not self.folder.is_dir():
            return []
        with file_lock(self.folder / ".lock"):
            index = self._read_index()
        return [KeptModel(n, v, self.path(n)) for n, (v, _) in self._ranked(index)[: self.k]]
