"""`SearchSpace`: the recipe card a space file declares, and how a trial samples it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from autodl.exceptions import SpaceError, closest, one_of
from autodl.space import _vocabulary as vocab
from autodl.space._dimensions import Choice, Dimension, Integer, Real, _condition, _label


@dataclass(frozen=True)
class SpaceEntry:
    """One key of a space: a searched `Dimension` or a fixed value."""

    key: str
    value: Any  # Dimension or a fixed value

    @property
    def searched(self) -> bool:
        return isinstance(self.value, Dimension)


class SearchSpace:
    """A declarative search space: keys from the vocabulary, each fixed or searched.

    Example::

        space = SearchSpace(
            family="cnn",
            default_data="builtin:digits",
            blocks=integer(1, 3),
            optimizer=choice("adam", "sgd"),
            momentum=real(0.8, 0.99),          # only sampled when optimizer is sgd/rmsprop
            learning_rate=real(1e-4, 1e-1, log=True),
            epochs=20,
        )
    """

    def __init__(
        self,
        *,
        default_data: str | None = None,
        textbook: Mapping[str, Any] | None = None,
        warm_starts: Sequence[Mapping[str, Any]] = (),
        description: str = "",
        **keys: Any,
    ) -> None:
        self.default_data = default_data
        self.description = description
        self.custom_objects: dict[str, Callable[..., Any]] = {}
        self.entries: dict[str, SpaceEntry] = {}
        for key, value in keys.items():
            self.entries[key] = SpaceEntry(key, self._validated(key, value))
        self._add_implied_conditions()
        self._check_conditions()
        # The first trials: the textbook model, then the warm starts (configurations that did
        # well on other data, each written as its changes to the textbook model), before the
        # sampler explores on its own.
        textbook = dict(textbook or {})
        self.textbook = self._validated_start(textbook, "textbook")
        if isinstance(warm_starts, Mapping) or any(
            not isinstance(start, Mapping) for start in warm_starts
        ):
            raise SpaceError("warm_starts: must be a list of dicts, one per configuration")
        self.warm_starts = [
            self._validated_start({**textbook, **start}, f"warm_starts[{i}]")
            for i, start in enumerate(warm_starts)
        ]

    # ---------------------------------------------------------------- validation
    def _validated(self, key: str, value: Any) -> Any:
        if key not in vocab.KEYS:
            valid = list(vocab.KEYS) + list(vocab.META_KEYS)
            raise SpaceError(f"dimension '{key}': unknown key{closest(key, valid)}")
        if isinstance(value, Dimension):
            try:
                value.check()
            except SpaceError as exc:
                raise SpaceError(f"dimension '{key}': {exc}") from None
        values = value.values if isinstance(value, Choice) else (value,)
        if isinstance(value, (Integer, Real)):
            values = (value.low, value.high)
        for v in values:
            self._check_value(key, v)
        if isinstance(value, Choice):
            resolved = tuple(self._resolve_alias(key, v) for v in value.values)
            return Choice(values=resolved, when=value.when)
        if isinstance(value, (Integer, Real)):
            return value
        return self._resolve_alias(key, value)

    def _check_value(self, key: str, value: Any) -> None:
        _, names = vocab.KEYS[key]
        if key == "loss" and callable(value) and not isinstance(value, str):
            self.custom_objects[_label(value)] = value
            return
        if key in vocab.BOOLEAN_KEYS:
            if not isinstance(value, bool):
                raise SpaceError(f"dimension '{key}': must be True or False; got {value!r}")
            return
        if names is not None:
            parts = str(value).split("+") if key == "augment" else [value]
            for part in parts:
                part = vocab.INITIALIZER_ALIASES.get(part, part) if key == "initializer" else part
                if part not in names:
                    raise SpaceError(f"dimension '{key}': " + one_of("value", part, names))
            return
        low, high, integral = vocab.BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpaceError(f"dimension '{key}': must be a number; got {value!r}")
        if integral and int(value) != value:
            raise SpaceError(f"dimension '{key}': must be an integer; got {value!r}")
        if not low <= value <= high:
            raise SpaceError(f"dimension '{key}': {value!r} is outside [{low}, {high}]")

    @staticmethod
    def _resolve_alias(key: str, value: Any) -> Any:
        if key == "initializer":
            return vocab.INITIALIZER_ALIASES.get(value, value)
        return value

    def _add_implied_conditions(self) -> None:
        """Make family- and option-specific keys conditional where the space left them open."""
        family = self.entries.get("family")
        for key, entry in list(self.entries.items()):
            if not entry.searched or entry.value.when:
                continue
            when: dict[str, tuple[Any, ...]] = {}
            if family is not None and family.searched:
                owners = tuple(f for f, keys in vocab.FAMILY_KEYS.items() if key in keys)
                if owners:
                    when["family"] = owners
            if key in vocab.IMPLIED_CONDITIONS:
                parent, allowed = vocab.IMPLIED_CONDITIONS[key]
                if parent in self.entries and self.entries[parent].searched:
                    when[parent] = allowed
            if when:
                dim = entry.value
                self.entries[key] = SpaceEntry(key, _with_condition(dim, _condition(when)))

    def _check_conditions(self) -> None:
        for key, entry in self.entries.items():
            if not entry.searched:
                continue
            for parent, allowed in entry.value.when:
                if parent == key:
                    raise SpaceError(f"dimension '{key}': 'when' refers to itself")
                if parent not in self.entries and parent not in vocab.KEYS:
                    raise SpaceError(
                        f"dimension '{key}': 'when' names unknown key '{parent}'"
                        f"{closest(parent, [*self.entries, *vocab.KEYS])}"
                    )
                for value in allowed:
                    self._check_value(parent, value)

    def _validated_start(self, start: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Optuna params of a starting configuration; keys the space fixes are left out."""
        params = {}
        for key, value in start.items():
            if key not in vocab.KEYS:
                raise SpaceError(f"{name}: unknown key '{key}'{closest(key, vocab.KEYS)}")
            entry = self.entries.get(key)
            if entry is None or not entry.searched:
                continue  # fixed in this space: nothing to enqueue
            if not entry.value.contains(value):
                raise SpaceError(
                    f"{name}: '{key}'={value!r} is outside the space's range for '{key}'"
                )
            params[key] = _label(value)
        return params

    def for_task(self, task: str) -> SearchSpace:
        """This space for one task: `loss` keeps only the names that task can train with.

        One space file then serves classification and regression alike, e.g.
        `loss=choice("crossentropy", "focal", "mse", "huber")`; functions always stay. A
        starting configuration whose loss does not fit the task takes the first that does
        (the textbook classifier's cross-entropy becomes MSE for regression).
        """
        valid = {"regression": vocab.REGRESSION_LOSSES}.get(task, vocab.CLASSIFICATION_LOSSES)
        entry = self.entries.get("loss")
        if task == "generation" or entry is None:
            return self
        fits = lambda v: v is None or v in valid or v in self.custom_objects  # noqa: E731
        space = copy.copy(self)
        space.entries = dict(self.entries)
        if not entry.searched:
            if not fits(_label(entry.value)):
                raise SpaceError(
                    f"dimension 'loss': '{entry.value}' cannot train a {task} model; "
                    + one_of("use", entry.value, valid)
                )
            return space
        kept = tuple(v for v in entry.value.values if fits(_label(v)))
        if not kept:
            raise SpaceError(
                f"dimension 'loss': none of {list(entry.value.labels)} can train a {task} model; "
                f"add one of {', '.join(valid)}"
            )
        space.entries["loss"] = SpaceEntry("loss", Choice(values=kept, when=entry.value.when))
        first = _label(kept[0])
        space.textbook, *space.warm_starts = [
            {**start, "loss": first} if "loss" in start and not fits(start["loss"]) else start
            for start in (self.textbook, *self.warm_starts)
        ]
        return space

    # ---------------------------------------------------------------- use
    @property
    def searched(self) -> dict[str, Dimension]:
        return {k: e.value for k, e in self.entries.items() if e.searched}

    @property
    def fixed(self) -> dict[str, Any]:
        return {k: e.value for k, e in self.entries.items() if not e.searched}

    @property
    def families(self) -> tuple[str, ...]:
        family = self.entries.get("family")
        if family is None:
            return ("mlp",)
        return tuple(family.value.values) if family.searched else (family.value,)

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        """Every searched key as its native Optuna distribution (conditional ones included)."""
        return {key: dim.distribution() for key, dim in self.searched.items()}

    def sample(self, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
        """Sample one complete configuration; inactive conditional keys keep their defaults.

        Custom functions (e.g. a loss written in the space file) appear in the result by name;
        `custom_objects` maps the names back.
        """
        config = vocab.defaults()
        config.update({k: _label(v) for k, v in self.fixed.items()})
        pending = dict(self.searched)
        while pending:
            ready = {
                k: d for k, d in pending.items() if all(p not in pending for p, _ in d.when)
            }
            if not ready:  # a cycle: `_check_conditions` lets it through only via mutual whens
                raise SpaceError(f"dimensions {sorted(pending)} depend on each other in a cycle")
            for key, dim in ready.items():
                del pending[key]
                if dim.is_active(config):
                    config[key] = _label(dim.suggest(trial, key))
        return config

    def describe(self) -> list[dict[str, Any]]:
        """Rows for `--dry-run` and reports: key, what is searched, and when."""
        rows = []
        for key, entry in self.entries.items():
            value = entry.value
            if isinstance(value, Choice):
                what = "choice(" + ", ".join(map(repr, value.labels)) + ")"
            elif isinstance(value, (Integer, Real)):
                kind = "integer" if isinstance(value, Integer) else "real"
                what = f"{kind}({value.low}, {value.high}{', log' if value.log else ''})"
            else:
                what = f"fixed {_label(value)!r}"
            when = " and ".join(f"{p} in {list(v)}" for p, v in getattr(value, "when", ()))
            rows.append({"key": key, "values": what, "when": when})
        return rows

    def __repr__(self) -> str:
        keys = ", ".join(self.entries)
        return f"SearchSpace({keys})"


def _with_condition(dim: Dimension, when: tuple[tuple[str, tuple[Any, ...]], ...]) -> Dimension:
    import dataclasses

    return dataclasses.replace(dim, when=when)


Space = SearchSpace
