"""`SearchSettings`: everything a search needs, validated before anything heavy loads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from autodl.exceptions import ConfigError

# Models kept for the ensemble when --ensemble is not given (classification and regression).
DEFAULT_ENSEMBLE = 5


def ensemble_size(settings: Any, task: str | None, builds_own_model: bool = False) -> int:
    """How many of the best trials' models to keep and choose an ensemble from (0: none).

    `--ensemble K` as given; by default DEFAULT_ENSEMBLE, except for generative models,
    which are not averaged, and for spaces that build and compile their own model (a
    KerasTuner build function): an average would drop the user's compile settings."""
    k = getattr(settings, "ensemble", None)
    if k is None:
        return 0 if task == "generation" or builds_own_model else DEFAULT_ENSEMBLE
    return int(k)


@dataclass(frozen=True)
class SearchSettings:
    """The options of `autodl search` (and of `autodl.search()`), stored with the study."""

    space: str
    data: str | None = None
    target: str | None = None
    task: str | None = None
    trials: int = 20
    timeout: float | None = None
    seed: int | None = None
    out: str | None = None
    storage: str | None = None
    study_name: str | None = None
    jobs: int | None = None  # worker processes; None: one per GPU slot, 1 without GPUs
    sampler: str = "tpe"
    pruner: str = "hyperband"
    objective: str | None = None
    val_size: float = 0.2
    max_failures: int = 5
    overwrite: bool = False  # allow an --out folder that holds another study's outputs
    test_size: float | None = None  # hold out a test split, scored once after the search
    refit: bool = False  # retrain the best configuration on train + validation to export
    # Keep the K best trials' models and export their validation-chosen average when it
    # beats the best one (K >= 2; 0: never); None: DEFAULT_ENSEMBLE (see ensemble_size).
    ensemble: int | None = None
    gpus: str | None = None  # "0,1,3": the GPUs workers use (default: all visible)
    trials_per_gpu: int = 1  # workers sharing one GPU
    mixed_precision: bool = False  # mixed_float16 compute, float32 outputs
    jit: bool = False  # compile models with XLA (jit_compile=True)
    # A process whose memory grew by more than this many MB since its first trial restarts
    # itself and resumes (autodl/study/_memory.py); 0: never.
    max_memory_growth: float = 200.0

    def validate(self) -> SearchSettings:
        from autodl.study._samplers import check_pruner_name, check_sampler_name

        if self.trials < 1:
            raise ConfigError(f"--trials must be at least 1; got {self.trials}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"--timeout must be a positive number of seconds; got {self.timeout}")
        if self.jobs is not None and self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1; got {self.jobs}")
        if self.trials_per_gpu < 1:
            raise ConfigError(f"--trials-per-gpu must be at least 1; got {self.trials_per_gpu}")
        if self.gpus is not None:
            from autodl.study._workers import parse_gpus

            parse_gpus(self.gpus)
        if (self.jobs or 1) > 1 and (self.storage or "").startswith("sqlite"):
            from autodl.study._workers import SQLITE_SHARED

            raise ConfigError(SQLITE_SHARED.format(storage=self.storage))
        if not 0.0 < self.val_size < 1.0:
            raise ConfigError(f"--val-size must be between 0 and 1; got {self.val_size}")
        if self.max_failures < 1:
            raise ConfigError(f"--max-failures must be at least 1; got {self.max_failures}")
        if self.test_size is not None and not 0.0 < self.test_size < 1.0:
            raise ConfigError(f"--test-size must be between 0 and 1; got {self.test_size}")
        if self.max_memory_growth < 0:
            raise ConfigError(f"--max-memory-growth must be 0 (never restart) or more MB; got {self.max_memory_growth:g}")
        if self.ensemble is not None and (self.ensemble == 1 or self.ensemble < 0):
            raise ConfigError(f"--ensemble averages at least 2 models; got {self.ensemble}")
        check_sampler_name(self.sampler)
        check_pruner_name(self.pruner)
        return self

    def load_dataset(self, source: str) -> Any:
        """`source` split exactly as this search splits it (target, task, sizes, seed)."""
        from autodl.data import load_data

        return load_data(
            source,
            target=self.target,
            task=self.task,
            val_size=self.val_size,
            test_size=self.test_size,
            seed=self.seed or 0,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
