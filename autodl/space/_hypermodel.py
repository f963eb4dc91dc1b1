"""A space that builds its own model: a KerasTuner `build_model(hp)` function or `HyperModel`.

`KerasTunerSpace` gives such a build target the surface the search runner uses for a
`SearchSpace` (`default_data`, `textbook`, `describe`, `custom_objects`, `max_epochs`) and
says `builds_own_model = True`; each trial then trains through
`autodl.train._hypermodel_fit.train_hypermodel` instead of autodl's builders.

A space file may set, next to its build function, what a KerasTuner script passed to
`tuner.search(...)`:

    default_data = "builtin:iris"                 # used when --data is not given
    fit_kwargs = {"epochs": 5, "batch_size": 64}  # extra arguments of model.fit

keras_tuner itself is imported only by the user's file, never here.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from autodl.exceptions import SpaceError, closest
from autodl.space.keras_tuner import (
    HyperParameterSpec,
    OptunaHyperParameters,
    _is_hypermodel_class,
    explore_space,
)

_logger = logging.getLogger(__name__)

DEFAULT_EPOCHS = 10
# autodl feeds the data and the validation split itself; the rest goes to model.fit.
RESERVED_FIT_ARGS = ("x", "y", "validation_data", "validation_split")
FIT_ARGS = (
    "batch_size", "epochs", "verbose", "callbacks", "shuffle", "class_weight",
    "sample_weight", "initial_epoch", "steps_per_epoch", "validation_steps",
    "validation_batch_size", "validation_freq",
)  # fmt: skip


def adapt(loaded: Any) -> Any:
    """`loaded` (a `LoadedSpace`) with a KerasTuner build target wrapped in a
    `KerasTunerSpace`; a `SearchSpace` comes back unchanged."""
    from autodl.space._search_space import SearchSpace

    space = loaded.space
    if isinstance(space, (SearchSpace, KerasTunerSpace)):
        return loaded
    return dataclasses.replace(
        loaded, space=KerasTunerSpace(space, path=loaded.path, module=loaded.module)
    )


@dataclasses.dataclass(frozen=True)
class ModelFacts:
    """What the default build's model says about training: its compile and outputs."""

    compiled: bool
    metrics: tuple[str, ...]  # as fit() logs them, without the val_ prefix


class KerasTunerSpace:
    """A KerasTuner build function or HyperModel, driven by Optuna through `hp`."""

    builds_own_model = True

    def __init__(self, target: Any, *, path: Path, module: ModuleType) -> None:
        self.target = target
        self.path = Path(path)
        self.custom_objects: dict[str, Any] = {}
        self.is_hypermodel = _is_hypermodel_class(type(target))
        self.default_data = _module_setting(module, "default_data", str, self.path)
        self.fit_kwargs = _fit_kwargs(module, self.path)
        self._listing: OptunaHyperParameters | None = None
        self._explored: list[HyperParameterSpec] | None = None
        self._facts: ModelFacts | None = None
        self._dry_failure: str | None = None

    # -- what the user's code is -------------------------------------------------------

    @property
    def kind(self) -> str:
        """How messages name the build, e.g. `build_model(hp)` or `MyHyperModel.build(hp)`."""
        if self.is_hypermodel:
            return f"{type(self.target).__name__}.build(hp)"
        return f"{getattr(self.target, '__name__', 'build_model')}(hp)"

    @property
    def fit_kind(self) -> str:
        if self.overrides_fit:
            return f"{type(self.target).__name__}.fit(hp, model, ...)"
        return "model.fit(...)"

    @property
    def overrides_fit(self) -> bool:
        """True if a HyperModel subclass defines its own `fit` (KerasTuner's base does not count)."""
        if not self.is_hypermodel:
            return False
        for cls in type(self.target).__mro__:
            if cls.__name__ == "HyperModel" and cls.__module__.startswith("keras_tuner"):
                return False
            if "fit" in vars(cls):
                return True
        return False

    # -- one trial -----------------------------------------------------------------------

    def sample(self, trial: Any) -> dict[str, Any]:
        """Nothing up front: a build function samples while it builds (see `train_hypermodel`)."""
        return {}

    def build(self, hp: OptunaHyperParameters) -> Any:
        """The user's model for `hp`; `InvalidHyperModel` if the build returns no keras.Model."""
        from autodl.train._hypermodel_fit import check_model

        model = self.target.build(hp) if self.is_hypermodel else self.target(hp)
        return check_model(model, f"{self.path}: {self.kind}")

    def fit(self, hp: OptunaHyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """KerasTuner's contract: `HyperModel.fit(hp, model, *args, **kwargs)`, else model.fit."""
        if self.is_hypermodel:
            return self.target.fit(hp, model, *args, **kwargs)
        return model.fit(*args, **kwargs)

    def fit_arguments(self, reporter: Any) -> dict[str, Any]:
        """Keyword arguments for one trial's fit: the file's `fit_kwargs` plus autodl's callback.

        A fit override gets only what the file asked for (as `tuner.search(...)` passed it),
        so that its own `batch_size=hp.Choice(...)` or `epochs=` do not clash with ours.
        """
        kwargs = dict(self.fit_kwargs)
        user_callbacks = list(kwargs.pop("callbacks", None) or [])
        try:
            # Callbacks keep state between fits (as in KerasTuner, each trial gets a copy).
            user_callbacks = copy.deepcopy(user_callbacks)
        except Exception:
            _logger.debug("fit_kwargs callbacks cannot be copied; sharing them", exc_info=True)
        kwargs["callbacks"] = [*user_callbacks, reporter]
        kwargs.setdefault("verbose", 0)
        if not self.overrides_fit:
            kwargs.setdefault("epochs", DEFAULT_EPOCHS)
        return kwargs

    @property
    def max_epochs(self) -> int:
        """Epochs a trial trains at most, for the pruner's budget."""
        return int(self.fit_kwargs.get("epochs", DEFAULT_EPOCHS))

    # -- the space, listed by one build with the default values ---------------------------

    def listing(self) -> OptunaHyperParameters:
        """The `hp` of one build with every default (nothing sampled, every condition met)."""
        if self._listing is None:
            self._dry_build()
        assert self._listing is not None
        return self._listing

    def model_facts(self) -> ModelFacts | None:
        """What the default model says about its compile; None if the default build failed."""
        self.listing()
        return self._facts

    def _dry_build(self) -> None:
        from autodl.train._fit import release_memory
        from autodl.train._hypermodel_fit import (
            InvalidHyperModel,
            SearchStopped,
            compiled_metric_names,
            translate_user_error,
        )

        hp = OptunaHyperParameters(None)
        self._listing = hp
        try:
            model = self.build(hp)
        except InvalidHyperModel:
            raise
        except SpaceError as exc:
            raise SpaceError(f"{self.path}:{self._user_line(exc)}: {exc}") from None
        except Exception as exc:
            translated = translate_user_error(exc, f"{self.path}: {self.kind} with default values")
            if isinstance(translated, SearchStopped):
                raise translated from exc
            self._dry_failure = (
                f"{self.path}:{self._user_line(exc)}: {self.kind} with its default values raised "
                f"{type(exc).__name__}: {_first_line(exc)}"
            )
            _logger.info("%s", self._dry_failure)
            return
        compiled = bool(getattr(model, "compiled", False))
        metrics = tuple(compiled_metric_names(model)) if compiled else ()
        self._facts = ModelFacts(compiled=compiled, metrics=metrics)
        del model
        release_memory()

    def explored(self) -> list[HyperParameterSpec]:
        """All hyperparameters the build can define, its branches included (`explore_space`)."""
        if self._explored is None:
            from autodl.train._fit import release_memory

            self.listing()  # a failing default build is reported the usual way first
            try:
                self._explored = explore_space(self.build)
            except Exception:
                self._explored = self.listing().space
            release_memory()
        return self._explored

    def _user_line(self, exc: BaseException) -> int | str:
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(self.path)
        ]
        return frames[-1].lineno if frames else "?"

    @property
    def textbook(self) -> dict[str, Any]:
        """Optuna params of the user's defaults, so the first trial is the model as written.

        Only hyperparameters active under the defaults are included; the dry build marks
        every conditional one active to list it.
        """
        chosen: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for spec in self.listing().space:
            if not all(p in chosen and chosen[p] in values for p, values in spec.condition):
                continue
            chosen.setdefault(spec.name, spec.default)
            if spec.optuna_name is not None:
                params.setdefault(spec.optuna_name, spec.to_optuna(spec.default))
        return params

    @property
    def searched(self) -> dict[str, Any]:
        """Sampled hyperparameters as autodl dimensions by Optuna name (for `--sampler grid`)."""
        from optuna.distributions import CategoricalDistribution, IntDistribution

        from autodl.space._dimensions import Choice, Integer, Real

        dims: dict[str, Any] = {}
        for spec in self.explored():
            dist = spec.distribution
            if spec.optuna_name is None or dist is None:
                continue
            if isinstance(dist, CategoricalDistribution):
                dims[spec.optuna_name] = Choice(values=tuple(dist.choices))
            elif isinstance(dist, IntDistribution):
                dims[spec.optuna_name] = Integer(
                    low=dist.low, high=dist.high, log=dist.log, step=dist.step
                )
            else:
                dims[spec.optuna_name] = Real(
                    low=dist.low, high=dist.high, log=dist.log, step=dist.step
                )
        return dims

    def describe(self) -> list[dict[str, Any]]:
        """Rows for `--dry-run`: name, type and range (with default), and its condition."""
        rows = []
        for spec in self.explored():
            what = describe_spec(spec)
            if spec.optuna_name not in (None, spec.name):
                what += f"  (Optuna name '{spec.optuna_name}')"
            when = " and ".join(f"{p} in {list(v)}" for p, v in spec.condition)
            rows.append({"key": spec.name, "values": what, "when": when})
        return rows

    @property
    def notes(self) -> list[str]:
        """Lines `--dry-run` prints under the space: how trials will train."""
        lines = [f"{self.kind} sampled by Optuna; the model's own compile() is kept"]
        if self.overrides_fit:
            lines.append(
                f"{self.fit_kind} runs each trial; hyperparameters it defines are not listed"
            )
        args = self.fit_arguments(reporter=None)
        args.pop("callbacks")
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
        lines.append(f"fit arguments: {shown}")
        if self._dry_failure:
            lines.append(self._dry_failure)
        return lines

    # -- the objective -------------------------------------------------------------------

    def infer_objective(self, text: str | None, task: str) -> Any:
        """`--objective` checked against the metrics the model logs, or inferred: the model's
        accuracy metric if it has one, else val_loss (KerasTuner's default)."""
        from autodl.train._hypermodel_fit import default_metrics
        from autodl.train._objective import Objective

        facts = self.model_facts()
        if facts is None:
            if text is None:
                raise SpaceError(f"{self._dry_failure}; pass --objective NAME to search anyway")
            return Objective.parse(
                text, task, metrics=_with_val(["loss", *default_metrics(task)], extra=text)
            )
        metrics = list(facts.metrics) if facts.compiled else default_metrics(task)
        if text is not None:
            return Objective.parse(text, task, metrics=_with_val(["loss", *metrics]))
        if not facts.compiled:
            return Objective.parse(None, task)  # autodl compiles it: its usual metric
        accuracy = next((m for m in metrics if "acc" in m.lower()), None)
        if accuracy is not None:
            return Objective(f"val_{accuracy}", "maximize")
        return Objective("val_loss", "minimize")

    def __repr__(self) -> str:
        return f"KerasTunerSpace({self.kind} from {self.path})"


def describe_spec(spec: HyperParameterSpec) -> str:
    """One hyperparameter as text, e.g. `int(1, 3, step=1) default=1`."""
    default = f" default={spec.default!r}"
    if spec.kind in ("int", "float"):
        extras = []
        if spec.step is not None:
            extras.append(f"step={'x' if spec.sampling != 'linear' else ''}{spec.step}")
        if spec.sampling != "linear":
            extras.append(str(spec.sampling))
        inner = ", ".join([repr(spec.min_value), repr(spec.max_value), *extras])
        return f"{spec.kind}({inner}){default}"
    if spec.kind == "choice":
        ordered = ", ordered" if spec.ordered else ""
        return f"choice({', '.join(map(repr, spec.values or ()))}{ordered}){default}"
    if spec.kind == "boolean":
        return f"boolean{default}"
    return f"fixed {spec.default!r}"


def _with_val(names: list[str], extra: str | None = None) -> list[str]:
    names = list(dict.fromkeys(names))
    valid = [f"val_{n}" for n in names] + names
    if extra is not None:
        # The model could not be built to list its metrics: trust the name given.
        name = extra.partition(":")[0]
        valid += [name] if name not in valid else []
    return valid


def _module_setting(module: ModuleType, name: str, kind: type, path: Path) -> Any:
    value = getattr(module, name, None)
    if value is not None and not isinstance(value, kind):
        raise SpaceError(f"{path}: `{name}` must be a {kind.__name__}; got {value!r}")
    return value


def _fit_kwargs(module: ModuleType, path: Path) -> dict[str, Any]:
    kwargs = _module_setting(module, "fit_kwargs", dict, path) or {}
    for key, value in kwargs.items():
        if key in RESERVED_FIT_ARGS:
            raise SpaceError(
                f"{path}: fit_kwargs['{key}']: autodl passes the data and its validation split "
                "itself (use --data and --val-size)"
            )
        if key not in FIT_ARGS:
            raise SpaceError(
                f"{path}: fit_kwargs['{key}'] is not a model.fit argument{closest(key, FIT_ARGS)}"
            )
        if key == "epochs" and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise SpaceError(
                f"{path}: fit_kwargs['epochs'] must be a positive integer; got {value!r}"
            )
    return dict(kwargs)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else "(no message)"
