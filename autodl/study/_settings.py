"""`SearchSettings`: everything a search needs, validated before anything heavy loads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from autodl.exceptions import ConfigError


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
    jobs: int = 1
    sampler: str = "tpe"
    pruner: str = "hyperband"
    objective: str | None = None
    val_size: float = 0.2
    max_failures: int = 5

    def validate(self) -> SearchSettings:
        from autodl.study._samplers import check_pruner_name, check_sampler_name

        if self.trials < 1:
            raise ConfigError(f"--trials must be at least 1; got {self.trials}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"--timeout must be a positive number of seconds; got {self.timeout}")
        if self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1; got {self.jobs}")
        if not 0.0 < self.val_size < 1.0:
            raise ConfigError(f"--val-size must be between 0 and 1; got {self.val_size}")
        if self.max_failures < 1:
            raise ConfigError(f"--max-failures must be at least 1; got {self.max_failures}")
        check_sampler_name(self.sampler)
        check_pruner_name(self.pruner)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
