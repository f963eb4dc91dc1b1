"""KerasTuner's `HyperParameters` interface on top of an Optuna trial.

A KerasTuner-style build function (`build(hp)` calling `hp.Int`, `hp.Choice`, ...) runs
unchanged: each hyperparameter becomes one Optuna suggestion, so Optuna's samplers, pruners
and importance tools see the space that the build function defines.

    def objective(trial):
        model = build_model(OptunaHyperParameters(trial))
        ...

`keras_tuner` itself is never imported here: only its calling conventions are honoured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from autodl.exceptions import SpaceError, one_of

__all__ = [
    "HyperParameterSpec",
    "OptunaHyperParameters",
    "UnknownHyperParameterError",
    "explore_space",
    "find_build_target",
    "list_space",
]

_logger = logging.getLogger(__name__)

SAMPLINGS = ("linear", "log", "reverse_log")
KINDS = ("int", "float", "choice", "boolean", "fixed")

# One (parent name, accepted parent values) pair per enclosing conditional scope.
Condition = tuple[tuple[str, tuple[Any, ...]], ...]

# Log-step grids are built by repeated multiplication; rounding to 12 significant digits
# turns 0.001 * 10**2 = 0.10000000000000002 back into the 0.1 the user meant.
_GRID_DIGITS = 12


class UnknownHyperParameterError(KeyError, ValueError):
    """`get()` of a name never defined: a KeyError (as in KerasTuner) and a ValueError."""

    def __str__(self) -> str:
        # KeyError would otherwise quote the whole message.
        return str(self.args[0]) if self.args else ""


@dataclasses.dataclass(frozen=True)
class HyperParameterSpec:
    """One hyperparameter as the build function declared it, and the Optuna distribution
    it is sampled from.

    `optuna_name` is the key in `trial.params` (None for `fixed`, which Optuna never sees).
    `values` holds the choices of a `choice`/`boolean`, the grid of a stepped log/reverse_log
    numeric, or the single value of a `fixed`. `condition` is empty for an unconditional
    hyperparameter; otherwise every (parent, parent_values) pair must hold for it to be active.
    """

    name: str
    kind: str
    optuna_name: str | None
    distribution: BaseDistribution | None
    default: Any
    min_value: int | float | None = None
    max_value: int | float | None = None
    step: int | float | None = None
    sampling: str | None = None
    values: tuple[Any, ...] | None = None
    ordered: bool | None = None
    condition: Condition = ()

    @property
    def _reflected(self) -> bool:
        # Unstepped reverse_log is sampled by Optuna as a log-uniform value reflected about
        # the middle of the range (see `OptunaHyperParameters.Int`).
        return self.sampling == "reverse_log" and self.step is None

    def from_optuna(self, raw: Any) -> Any:
        """Map a value from `trial.params[optuna_name]` to the value the build function sees."""
        if self.kind in ("int", "float") and self._reflected:
            assert self.min_value is not None and self.max_value is not None
            value = self.max_value + self.min_value - float(raw)
            value = min(max(value, self.min_value), self.max_value)
            return math.floor(value + 0.5) if self.kind == "int" else float(value)
        if self.kind == "int":
            return int(raw)
        if self.kind == "float":
            return float(raw)
        if self.kind == "boolean":
            return bool(raw)
        return raw

    def to_optuna(self, value: Any) -> Any:
        """Inverse of `from_optuna`: the parameter value to enqueue for `value`."""
        if self.kind in ("int", "float") and self._reflected:
            assert self.min_value is not None and self.max_value is not None
            return float(self.max_value + self.min_value - value)
        return value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the distribution is stored as Optuna's own JSON string."""
        data = dataclasses.asdict(self)
        data["distribution"] = (
            None
            if self.distribution is None
            else optuna.distributions.distribution_to_json(self.distribution)
        )
        data["values"] = None if self.values is None else list(self.values)
        data["condition"] = [[parent, list(values)] for parent, values in self.condition]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HyperParameterSpec:
        fields = dict(data)
        if fields.get("distribution") is not None:
            fields["distribution"] = optuna.distributions.json_to_distribution(
                fields["distribution"]
            )
        if fields.get("values") is not None:
            fields["values"] = tuple(fields["values"])
        fields["condition"] = tuple(
            (parent, tuple(values)) for parent, values in fields.get("condition", ())
        )
        return cls(**fields)


@dataclasses.dataclass
class _Entry:
    spec: HyperParameterSpec
    active: bool
    value: Any


class OptunaHyperParameters:
    """KerasTuner's `HyperParameters` for a build function, sampled by an Optuna trial.

    With `trial=None` nothing is sampled: every hyperparameter returns its default (or its
    value in `overrides`, by name, if the value is one it can take) and every condition
    counts as met, so a call of the build function lists the space its values reach.
    """

    def __init__(
        self, trial: optuna.trial.BaseTrial | None, *, overrides: Mapping[str, Any] | None = None
    ) -> None:
        self.trial = trial
        self.overrides = dict(overrides or {})
        self.fixed_values: dict[str, Any] = {}
        self._values: dict[str, Any] = {}
        self._entries: dict[tuple[str, Condition], _Entry] = {}
        self._by_name: dict[str, list[_Entry]] = {}
        self._optuna_names: dict[str, BaseDistribution] = {}
        self._name_scopes: list[str] = []
        self._conditions: list[tuple[str, tuple[Any, ...]]] = []
        self._history: dict[str, list[BaseDistribution]] | None = None

    # -- scopes -------------------------------------------------------------------------

    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[None]:
        """Prefix the names of hyperparameters defined inside with `name/`."""
        self._name_scopes.append(str(name))
        try:
            yield
        finally:
            self._name_scopes.pop()

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Hyperparameters defined inside are active only while `parent_name`'s value is
        one of `parent_values`; inactive ones return None and are not sampled."""
        with self._conditional(parent_name, parent_values, child=None):
            yield

    @contextlib.contextmanager
    def _conditional(
        self, parent_name: str, parent_values: Any, child: str | None
    ) -> Iterator[None]:
        parent = self._resolve_parent(parent_name, child)
        values = _as_tuple(parent_values)
        if not values:
            where = f"Hyperparameter '{child}'" if child else f"conditional_scope('{parent}')"
            raise SpaceError(f"{where}: parent_values must not be empty, got {parent_values!r}.")
        self._conditions.append((parent, values))
        try:
            yield
        finally:
            self._conditions.pop()

    @contextlib.contextmanager
    def _maybe_conditional_scope(
        self, parent_name: str | None, parent_values: Any, child: str
    ) -> Iterator[None]:
        if parent_name is None:
            yield
            return
        with self._conditional(parent_name, parent_values, child=self._full_name(child)):
            yield

    # -- hyperparameter types -------------------------------------------------------------

    def Int(  # noqa: N802 - KerasTuner's method name
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: str | None = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> int | None:
        """Integer in [min_value, max_value] (max inclusive).

        linear+step samples min, min+step, ... <= max; log/reverse_log with a step treat
        it as a multiplier (min, min*step, ...) and sample that list as a categorical.
        Unstepped reverse_log is a log-uniform float r in [min, max] turned into
        round(max + min - r), so values bunch up near max as in KerasTuner; the Optuna
        parameter then holds r (use `HyperParameterSpec.from_optuna` to read it back).
        """
        with self._maybe_conditional_scope(parent_name, parent_values, name):
            full = self._full_name(name)
            spec = _int_spec(full, min_value, max_value, step, sampling, default)
            return self._retrieve(spec)

    def Float(  # noqa: N802 - KerasTuner's method name
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str | None = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> float | None:
        """Float in [min_value, max_value]; `step` and `sampling` as for `Int`."""
        with self._maybe_conditional_scope(parent_name, parent_values, name):
            full = self._full_name(name)
            spec = _float_spec(full, min_value, max_value, step, sampling, default)
            return self._retrieve(spec)

    def Choice(  # noqa: N802 - KerasTuner's method name
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """One of `values` (all int, all float, all str or all bool)."""
        with self._maybe_conditional_scope(parent_name, parent_values, name):
            full = self._full_name(name)
            return self._retrieve(_choice_spec(full, values, ordered, default))

    def Boolean(  # noqa: N802 - KerasTuner's method name
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> bool | None:
        """False or True, sampled as a two-way categorical."""
        with self._maybe_conditional_scope(parent_name, parent_values, name):
            full = self._full_name(name)
            if not isinstance(default, bool):
                raise SpaceError(
                    f"Boolean '{full}': default must be a bool, got default={default!r}."
                )
            spec = HyperParameterSpec(
                name=full,
                kind="boolean",
                optuna_name=None,
                distribution=CategoricalDistribution((False, True)),
                default=default,
                values=(False, True),
            )
            return self._retrieve(spec)

    def Fixed(  # noqa: N802 - KerasTuner's method name
        self,
        name: str,
        value: Any,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """A constant: part of `.values` and `.space`, never sampled by Optuna."""
        with self._maybe_conditional_scope(parent_name, parent_values, name):
            full = self._full_name(name)
            if not isinstance(value, (bool, int, float, str)):
                raise SpaceError(
                    f"Fixed '{full}': value must be an int, float, str or bool, got {value!r}."
                )
            value = _normalise_scalar(value)
            spec = HyperParameterSpec(
                name=full,
                kind="fixed",
                optuna_name=None,
                distribution=None,
                default=value,
                values=(value,),
            )
            return self._retrieve(spec)

    # -- reading values -----------------------------------------------------------------

    def get(self, name: str) -> Any:
        """Current value of an active hyperparameter (name scopes apply)."""
        full = self._full_name(name)
        if full in self._values:
            return self._values[full]
        if full in self._by_name:
            raise ValueError(f"Hyperparameter '{full}' is currently inactive.")
        known = ", ".join(self._by_name) or "none yet"
        raise UnknownHyperParameterError(
            f"Hyperparameter '{full}' does not exist (defined: {known})."
        )

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        try:
            self.get(str(name))
        except ValueError:
            return False
        return True

    @property
    def values(self) -> dict[str, Any]:
        """Name -> value of every active hyperparameter, Fixed ones included (a copy)."""
        return dict(self._values)

    @property
    def space(self) -> list[HyperParameterSpec]:
        """Every hyperparameter defined so far, active or not, in definition order."""
        return [entry.spec for entry in self._entries.values()]

    def defaults(self) -> dict[str, Any]:
        """Optuna name -> default of each active sampled hyperparameter, ready to enqueue."""
        result: dict[str, Any] = {}
        for entry in self._entries.values():
            spec = entry.spec
            if entry.active and spec.optuna_name is not None:
                result.setdefault(spec.optuna_name, spec.to_optuna(spec.default))
        return result

    # -- internals ----------------------------------------------------------------------

    def _full_name(self, name: str) -> str:
        return "/".join([*self._name_scopes, str(name)])

    def _resolve_parent(self, parent_name: str, child: str | None) -> str:
        scoped = self._full_name(parent_name)
        if scoped in self._by_name:
            return scoped
        # A parent defined outside the current name scope is still a valid parent; KerasTuner
        # only looks up the scoped name, which makes that pattern fail for no good reason.
        if str(parent_name) in self._by_name:
            return str(parent_name)
        if child is None:
            raise SpaceError(f"conditional_scope: parent '{scoped}' was never defined.")
        raise SpaceError(f"Hyperparameter '{child}': parent_name '{scoped}' was never defined.")

    def _condition_active(self, condition: Condition) -> bool:
        if self.trial is None:
            return True
        return all(
            parent in self._values and self._values[parent] in values
            for parent, values in condition
        )

    def _retrieve(self, spec: HyperParameterSpec) -> Any:
        condition: Condition = tuple(self._conditions)
        for parent, _ in condition:
            if parent == spec.name:
                raise SpaceError(f"Hyperparameter '{spec.name}' cannot be conditional on itself.")
        key = (spec.name, condition)
        existing = self._entries.get(key)
        if existing is not None:
            # Same name and condition: a loop or a second build() asking again.
            return existing.value if existing.active else None

        if spec.distribution is not None:
            optuna_name = self._pick_optuna_name(spec.name, condition, spec.distribution)
            spec = dataclasses.replace(spec, optuna_name=optuna_name, condition=condition)
            self._optuna_names[optuna_name] = spec.distribution
        else:
            spec = dataclasses.replace(spec, condition=condition)

        active = self._condition_active(condition)
        value: Any = None
        if active:
            if self.trial is None or spec.distribution is None:
                value = self._unsampled_value(spec)
            else:
                assert spec.optuna_name is not None
                value = spec.from_optuna(self._suggest(spec.optuna_name, spec.distribution))
            self._values[spec.name] = value
            if spec.kind == "fixed":
                self.fixed_values[spec.name] = value

        entry = _Entry(spec=spec, active=active, value=value)
        self._entries[key] = entry
        self._by_name.setdefault(spec.name, []).append(entry)
        return value

    def _unsampled_value(self, spec: HyperParameterSpec) -> Any:
        if spec.name not in self.overrides or spec.distribution is None:
            return spec.default
        value = self.overrides[spec.name]
        try:
            internal = spec.distribution.to_internal_repr(spec.to_optuna(value))
            allowed = spec.distribution._contains(internal)
        except (TypeError, ValueError):
            allowed = False
        return value if allowed else spec.default

    def _suggest(self, name: str, distribution: BaseDistribution) -> Any:
        trial = self.trial
        assert trial is not None
        if isinstance(distribution, IntDistribution):
            return trial.suggest_int(
                name,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
        if isinstance(distribution, FloatDistribution):
            return trial.suggest_float(
                name,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
        assert isinstance(distribution, CategoricalDistribution)
        return trial.suggest_categorical(name, list(distribution.choices))

    def _pick_optuna_name(
        self, name: str, condition: Condition, distribution: BaseDistribution
    ) -> str:
        """The hp name, or `name|parent=value` when that name already means another
        distribution; Optuna would otherwise hand back the first one's value."""
        if self._name_fits(name, distribution, conditional=bool(condition)):
            return name
        described = "&".join(
            f"{parent}={','.join(map(str, values))}" for parent, values in condition
        )
        candidate = f"{name}|{described}" if described else name
        counter = 2
        while not self._name_fits(candidate, distribution, conditional=False):
            candidate = f"{name}|{described}#{counter}"
            counter += 1
        _logger.debug("Hyperparameter %r is sampled by Optuna as %r.", name, candidate)
        return candidate

    def _name_fits(self, name: str, distribution: BaseDistribution, conditional: bool) -> bool:
        used = self._optuna_names.get(name)
        if used is not None and used != distribution:
            return False
        if not conditional:
            return True
        # A build function usually guards each branch with `if`, so within one trial only one
        # of two same-named conditional hps is defined. Checking earlier trials keeps each
        # distribution on one Optuna name for the whole study (Optuna rejects a categorical
        # whose choices change, and would blend two numeric ranges into one parameter).
        return all(seen == distribution for seen in self._study_history().get(name, ()))

    def _study_history(self) -> dict[str, list[BaseDistribution]]:
        if self._history is None:
            self._history = {}
            if isinstance(self.trial, optuna.trial.Trial):
                for frozen in self.trial.study.get_trials(deepcopy=False):
                    for param, dist in frozen.distributions.items():
                        seen = self._history.setdefault(param, [])
                        if dist not in seen:
                            seen.append(dist)
        return self._history


def list_space(build_fn: Callable[[Any], object]) -> list[HyperParameterSpec]:
    """Call `build_fn` once with defaults (nothing sampled) and return the space it defines.

    Like KerasTuner's `search_space_summary`, this runs the build function, so a Keras model
    is built; only branches that the default values reach can be listed.
    """
    hp = OptunaHyperParameters(None)
    build_fn(hp)
    return hp.space


def explore_space(
    build_fn: Callable[[Any], object], *, max_builds: int = 64
) -> list[HyperParameterSpec]:
    """Every hyperparameter `build_fn` can define, found by building it with other values.

    The first build uses the defaults, as `list_space`. Then each Choice and Boolean value,
    and each Int's largest value, is tried once on top of the values that first revealed
    it, so hyperparameters behind `if hp.Choice(...) == ...` or inside
    `range(hp.Int(...))` are listed too (KerasTuner only re-builds to enter conditional
    scopes). A failing default build raises; other failing builds are skipped, keeping what
    they defined before failing.
    """
    found: dict[tuple[Any, ...], HyperParameterSpec] = {}
    tried: set[tuple[str, Any]] = set()
    queue: list[dict[str, Any]] = [{}]
    builds = 0
    while queue and builds < max_builds:
        overrides = queue.pop(0)
        hp = OptunaHyperParameters(None, overrides=overrides)
        builds += 1
        try:
            build_fn(hp)
        except Exception:
            if not overrides:
                raise
            _logger.debug("build with %s failed while listing the space", overrides, exc_info=True)
        for spec in hp.space:
            found.setdefault((spec.name, spec.condition, spec.distribution, spec.kind), spec)
            tried.add((spec.name, _hashable(overrides.get(spec.name, spec.default))))
        for spec in hp.space:
            for value in _alternatives(spec):
                if (spec.name, _hashable(value)) not in tried:
                    tried.add((spec.name, _hashable(value)))
                    queue.append({**overrides, spec.name: value})
    if queue:
        _logger.info("listing the space stopped after %d builds", max_builds)
    return list(found.values())


def _alternatives(spec: HyperParameterSpec) -> tuple[Any, ...]:
    """Values worth one extra build when listing: they may reveal more hyperparameters."""
    if spec.kind in ("choice", "boolean"):
        return tuple(spec.values or ())
    if spec.kind == "int":
        if spec.values:
            return (spec.values[-1],)
        dist = spec.distribution
        return (dist.high if isinstance(dist, IntDistribution) else spec.max_value,)
    return ()


def _hashable(value: Any) -> Any:
    # Keep True and 1 apart (they hash alike) in the set of values already tried.
    return (type(value).__name__, value)


def find_build_target(module: ModuleType) -> Any | None:
    """The KerasTuner-style search space a space file defines, or None.

    That is a `build_model(hp)` function, else a KerasTuner `HyperModel` instance, else a
    `HyperModel` subclass defined in the file (instantiated without arguments). Classes are
    recognised by name so that keras_tuner need not be installed to load the file.
    """
    build = getattr(module, "build_model", None)
    if callable(build) and not isinstance(build, type):
        return build
    for value in vars(module).values():
        if not isinstance(value, type) and _is_hypermodel_class(type(value)):
            return value
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and value.__module__ == module.__name__
            and _is_hypermodel_class(value)
        ):
            try:
                return value()
            except TypeError as exc:
                raise SpaceError(
                    f"HyperModel '{value.__name__}' cannot be created without arguments "
                    f"({exc}); create an instance in the file instead."
                ) from None
    return None


def _is_hypermodel_class(cls: type) -> bool:
    return any(
        base.__name__ == "HyperModel" and base.__module__.startswith("keras_tuner")
        for base in cls.__mro__
    )


# -- spec builders ------------------------------------------------------------------------


def _as_tuple(values: Any) -> tuple[Any, ...]:
    if isinstance(values, (list, tuple, set, frozenset)):
        return tuple(values)
    return (values,)


def _normalise_scalar(value: Any) -> Any:
    # numpy scalars and str subclasses become the plain Python types Optuna stores.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _check_sampling(kind: str, name: str, sampling: Any) -> str:
    if sampling is None:
        return "linear"
    if isinstance(sampling, str) and sampling.lower() in SAMPLINGS:
        return sampling.lower()
    raise SpaceError(f"{kind} '{name}': {one_of('sampling', sampling, SAMPLINGS)}.")


def _check_range(kind: str, name: str, low: float, high: float, sampling: str) -> None:
    if low > high:
        raise SpaceError(f"{kind} '{name}': min_value={low} is greater than max_value={high}.")
    if sampling != "linear" and low <= 0:
        raise SpaceError(
            f"{kind} '{name}': sampling='{sampling}' needs min_value > 0, got min_value={low}."
        )


def _check_step(kind: str, name: str, step: float, sampling: str) -> None:
    if step <= 0:
        raise SpaceError(f"{kind} '{name}': step must be positive, got step={step}.")
    if sampling != "linear" and step <= 1:
        # With log sampling the step multiplies; a multiplier <= 1 never reaches max_value.
        raise SpaceError(
            f"{kind} '{name}': with sampling='{sampling}' step is a multiplier and must be "
            f"> 1, got step={step}."
        )


def _as_int(name: str, arg: str, value: Any) -> int:
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise SpaceError(f"Int '{name}': {arg} must be an integer, got {value!r}.") from None
    if isinstance(value, bool) or as_int != value:
        raise SpaceError(f"Int '{name}': {arg} must be an integer, got {value!r}.")
    return as_int


def _as_float(name: str, arg: str, value: Any) -> float:
    if isinstance(value, bool):
        raise SpaceError(f"Float '{name}': {arg} must be a number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpaceError(f"Float '{name}': {arg} must be a number, got {value!r}.") from None


def _multiplier_grid(low: float, high: float, step: float, sampling: str) -> list[float]:
    grid = []
    value = low
    # The tolerance keeps max_value in the grid when low * step**k lands just above it.
    while value <= high * (1 + 1e-9):
        grid.append(value)
        value *= step
    if sampling == "reverse_log":
        grid = sorted(high + low - v for v in grid)
    return grid


def _grid_default(
    kind: str, name: str, grid: Sequence[float], default: float | None, low: float
) -> float:
    wanted = low if default is None else default
    for value in grid:
        if math.isclose(value, wanted, rel_tol=1e-9, abs_tol=1e-12):
            return value
    if default is None:
        # reverse_log grids need not contain min_value; the smallest value stands in for it.
        return grid[0]
    raise SpaceError(
        f"{kind} '{name}': default={default} is not one of the values it can take "
        f"({', '.join(map(str, grid))})."
    )


def _int_spec(
    name: str,
    min_value: Any,
    max_value: Any,
    step: Any,
    sampling: Any,
    default: Any,
) -> HyperParameterSpec:
    low = _as_int(name, "min_value", min_value)
    high = _as_int(name, "max_value", max_value)
    sampling = _check_sampling("Int", name, sampling)
    _check_range("Int", name, low, high, sampling)
    if step is not None:
        step = _as_int(name, "step", step)
        _check_step("Int", name, step, sampling)
    elif sampling == "linear":
        step = 1
    if default is not None:
        default = _as_int(name, "default", default)
        if not low <= default <= high:
            raise SpaceError(f"Int '{name}': default={default} is outside [{low}, {high}].")

    values: tuple[Any, ...] | None = None
    distribution: BaseDistribution
    if sampling == "linear":
        # Optuna needs (high - low) divisible by step; the last reachable value is the top.
        distribution = IntDistribution(low, low + (high - low) // step * step, step=step)
        if default is not None and (default - low) % step:
            raise SpaceError(
                f"Int '{name}': default={default} is not min_value + a multiple of step={step}."
            )
        default = low if default is None else default
    elif step is not None:
        values = tuple(int(v) for v in _multiplier_grid(low, high, step, sampling))
        distribution = CategoricalDistribution(values)
        default = int(_grid_default("Int", name, values, default, low))
    elif sampling == "log":
        distribution = IntDistribution(low, high, log=True)
        default = low if default is None else default
    else:
        distribution = FloatDistribution(float(low), float(high), log=True)
        default = low if default is None else default

    return HyperParameterSpec(
        name=name,
        kind="int",
        optuna_name=None,
        distribution=distribution,
        default=default,
        min_value=low,
        max_value=high,
        step=step,
        sampling=sampling,
        values=values,
    )


def _float_spec(
    name: str,
    min_value: Any,
    max_value: Any,
    step: Any,
    sampling: Any,
    default: Any,
) -> HyperParameterSpec:
    low = _as_float(name, "min_value", min_value)
    high = _as_float(name, "max_value", max_value)
    sampling = _check_sampling("Float", name, sampling)
    _check_range("Float", name, low, high, sampling)
    if step is not None:
        step = _as_float(name, "step", step)
        _check_step("Float", name, step, sampling)
    if default is not None:
        default = _as_float(name, "default", default)
        if not low <= default <= high:
            raise SpaceError(f"Float '{name}': default={default} is outside [{low}, {high}].")

    values: tuple[Any, ...] | None = None
    distribution: BaseDistribution
    if step is None:
        distribution = FloatDistribution(low, high, log=sampling != "linear")
        default = low if default is None else default
    elif sampling == "linear":
        # Decimal arithmetic so that e.g. 0.1 steps from 0.0 to 1.0 reach 1.0 exactly.
        d_low, d_step = decimal.Decimal(str(low)), decimal.Decimal(str(step))
        n_steps = int((decimal.Decimal(str(high)) - d_low) // d_step)
        distribution = FloatDistribution(low, float(d_low + n_steps * d_step), step=step)
        if default is not None:
            position = (default - low) / step
            if not math.isclose(position, round(position), abs_tol=1e-9):
                raise SpaceError(
                    f"Float '{name}': default={default} is not min_value + a multiple of "
                    f"step={step}."
                )
        default = low if default is None else default
    else:
        grid = [
            float(f"{v:.{_GRID_DIGITS}g}") for v in _multiplier_grid(low, high, step, sampling)
        ]
        values = tuple(grid)
        distribution = CategoricalDistribution(values)
        default = _grid_default("Float", name, values, default, low)

    return HyperParameterSpec(
        name=name,
        kind="float",
        optuna_name=None,
        distribution=distribution,
        default=default,
        min_value=low,
        max_value=high,
        step=step,
        sampling=sampling,
        values=values,
    )


def _choice_spec(name: str, values: Any, ordered: bool | None, default: Any) -> HyperParameterSpec:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise SpaceError(f"Choice '{name}': values must be a non-empty list, got {values!r}.")
    choices = tuple(_normalise_scalar(v) for v in values)
    kinds = {type(v) for v in choices}
    if len(kinds) > 1:
        found = ", ".join(sorted(k.__name__ for k in kinds))
        raise SpaceError(
            f"Choice '{name}': values must all have one type, got {list(values)!r} ({found})."
        )
    (kind,) = kinds
    if kind not in (int, float, str, bool):
        raise SpaceError(
            f"Choice '{name}': values must be int, float, str or bool, got {kind.__name__}."
        )
    numeric = kind in (int, float)
    if ordered and not numeric:
        raise SpaceError(
            f"Choice '{name}': ordered=True needs numeric values, got {kind.__name__}."
        )
    if default is None:
        default = choices[0]
    elif _normalise_scalar(default) not in choices or type(_normalise_scalar(default)) is not kind:
        raise SpaceError(f"Choice '{name}': default={default!r} is not one of {list(choices)!r}.")
    return HyperParameterSpec(
        name=name,
        kind="choice",
        optuna_name=None,
        distribution=CategoricalDistribution(choices),
        default=_normalise_scalar(default),
        values=choices,
        ordered=numeric if ordered is None else bool(ordered),
    )
