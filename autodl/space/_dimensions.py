"""The building blocks of a search space: `choice`, `integer`, `real`, `boolean`.

Each dimension maps to one native Optuna distribution, so samplers, importance
evaluators and optuna-dashboard see ordinary parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna

from autodl.exceptions import SpaceError


def _condition(when: Mapping[str, Any] | None) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if when is None:
        return ()
    if not isinstance(when, Mapping):
        raise SpaceError(f"'when' must be a dict like {{'optimizer': 'sgd'}}; got {when!r}")
    out = []
    for parent, values in when.items():
        if not isinstance(values, (list, tuple, set, frozenset)):
            values = (values,)
        out.append((str(parent), tuple(values)))
    return tuple(out)


@dataclass(frozen=True)
class Dimension:
    """One searchable hyperparameter; `when` makes it conditional on other values."""

    when: tuple[tuple[str, tuple[Any, ...]], ...] = field(default=(), kw_only=True)

    def check(self) -> None:
        """Raise SpaceError if the dimension is malformed (the space adds its key)."""

    def is_active(self, values: Mapping[str, Any]) -> bool:
        return all(values.get(parent) in allowed for parent, allowed in self.when)

    def distribution(self) -> optuna.distributions.BaseDistribution:
        raise NotImplementedError

    def suggest(self, trial: optuna.trial.BaseTrial, name: str) -> Any:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        return self.distribution()._contains(self.distribution().to_internal_repr(value))


@dataclass(frozen=True)
class Choice(Dimension):
    values: tuple[Any, ...] = ()

    def check(self) -> None:
        if not self.values:
            raise SpaceError("choice() needs at least one value")
        for v in self.values:
            if not (v is None or isinstance(v, (bool, int, float, str)) or callable(v)):
                raise SpaceError(f"choice() values must be str, int, float, bool or a function; got {v!r}")

    @property
    def labels(self) -> tuple[Any, ...]:
        """What Optuna stores: functions (custom losses) are stored by their name."""
        return tuple(_label(v) for v in self.values)

    def distribution(self) -> optuna.distributions.CategoricalDistribution:
        return optuna.distributions.CategoricalDistribution(self.labels)

    def suggest(self, trial: optuna.trial.BaseTrial, name: str) -> Any:
        label = trial.suggest_categorical(name, self.labels)
        return self.values[self.labels.index(label)]

    def contains(self, value: Any) -> bool:
        return _label(value) in self.labels


@dataclass(frozen=True)
class Integer(Dimension):
    low: int = 0
    high: int = 0
    log: bool = False
    step: int = 1

    def check(self) -> None:
        _check_range(self.low, self.high, self.log, integer=True)
        if self.step < 1:
            raise SpaceError(f"integer() step must be >= 1; got {self.step}")
        if self.log and self.step != 1:
            raise SpaceError("integer() cannot combine log=True with a step")

    def distribution(self) -> optuna.distributions.IntDistribution:
        return optuna.distributions.IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial: optuna.trial.BaseTrial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)


@dataclass(frozen=True)
class Real(Dimension):
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None

    def check(self) -> None:
        _check_range(self.low, self.high, self.log, integer=False)
        if self.step is not None and (self.step <= 0 or self.log):
            raise SpaceError(f"real() step must be > 0 and not combined with log; got {self.step}")

    def distribution(self) -> optuna.distributions.FloatDistribution:
        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial: optuna.trial.BaseTrial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)


def _check_range(low: Any, high: Any, log: bool, *, integer: bool) -> None:
    kind = "integer" if integer else "real"
    types = (int,) if integer else (int, float)
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, types) or not math.isfinite(bound):
            raise SpaceError(f"{kind}() bounds must be finite {'integers' if integer else 'numbers'}; got {bound!r}")
    if low > high:
        raise SpaceError(f"{kind}({low}, {high}): low > high")
    if log and low <= 0:
        raise SpaceError(f"{kind}({low}, {high}, log=True): a log range needs low > 0")


def _label(value: Any) -> Any:
    if callable(value) and not isinstance(value, (bool, int, float, str)):
        return getattr(value, "__name__", repr(value))
    return value


def choice(*values: Any, when: Mapping[str, Any] | None = None) -> Choice:
    """One of `values` (strings, numbers, booleans, or functions such as a custom loss)."""
    if len(values) == 1 and isinstance(values[0], (list, tuple)):
        values = tuple(values[0])
    return Choice(values=tuple(values), when=_condition(when))


def integer(
    low: int, high: int, *, log: bool = False, step: int = 1, when: Mapping[str, Any] | None = None
) -> Integer:
    """An integer in [low, high], both inclusive; `log=True` samples on a log scale."""
    return Integer(low=low, high=high, log=log, step=step, when=_condition(when))


def real(
    low: float,
    high: float,
    *,
    log: bool = False,
    step: float | None = None,
    when: Mapping[str, Any] | None = None,
) -> Real:
    """A float in [low, high]; `log=True` samples on a log scale (e.g. learning rates)."""
    return Real(low=low, high=high, log=log, step=step, when=_condition(when))


def boolean(*, when: Mapping[str, Any] | None = None) -> Choice:
    """True or False (e.g. batch normalisation on/off)."""
    return Choice(values=(False, True), when=_condition(when))

