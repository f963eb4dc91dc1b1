"""`NoRepeatSampler`: any Optuna sampler, minus the configurations the study already has.

Parallel workers, and TPE's random start-up trials, otherwise spend trials on a configuration
that already ran or is running; in a small discrete space that is a large share of them.
A configuration is what a trial's params are once its objective has run: the searched keys
that are active under its conditions (`momentum` only for SGD), so two SGD trials differ
by momentum but two Adam trials do not.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

_logger = logging.getLogger(__name__)

RESERVED = "autodl:params"  # system attr: the configuration a running trial was handed
RANDOM_WALKS = 100  # random configurations tried before enumerating them all
ENUMERATION_LIMIT = 100_000  # configurations enumerated at most (about 80 us each)
_CONTINUOUS = object()  # stands for any value of a continuous key: such configurations are new

Pick = Callable[[str, BaseDistribution], Any]


class NoRepeatSampler(BaseSampler):
    """Delegates to `inner`, but hands no trial a configuration another trial has.

    The whole configuration is drawn in `before_trial`, which `study.ask()` calls; autodl's
    workers call that under the study's claim lock, so no two workers draw at once, and the
    draw is recorded on the trial (system attr `RESERVED`) before the lock is released, so
    the next worker sees it before any param is set. Each key is drawn as the trial would
    draw it (the inner sampler's relative params, else its `sample_independent`); a draw
    another trial has is redrawn up to `attempts` times, then replaced by a random
    configuration no trial has, if any is left. Params a trial already holds (an enqueued
    textbook trial, a retry) are kept as they are.

    Failed trials count too: were they left out, the sampler would steer towards a
    configuration that failed (a NaN loss) once few are left, and run it until the search
    stops on consecutive failures. A retry still runs, its params being given.
    """

    def __init__(
        self, inner: BaseSampler, space: Any, *, seed: int | None, attempts: int = 3
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, but got {attempts=}.")
        self.inner = inner
        self.space = space  # an autodl SearchSpace: its `sample` knows the conditions
        self._attempts = attempts
        self._rng = random.Random(seed)
        self._drawn: dict[int, _Draw | Exception] = {}  # by trial id, until the trial ends
        # Finished trials' configurations, kept: a trial's params never change once it ends.
        self._finished_ids: set[int] = set()
        self._finished_keys: set[frozenset[tuple[str, Any]]] = set()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.inner.before_trial(study, trial)
        try:
            draw = self._draw(study, trial)
        except Exception as exc:  # raised where the trial samples: the trial fails, not the worker
            self._drawn[trial._trial_id] = exc
            return
        study._storage.set_trial_system_attr(trial._trial_id, RESERVED, draw.params)
        self._drawn[trial._trial_id] = draw

    def _draw(self, study: Study, trial: FrozenTrial) -> _Draw:
        given = {**trial.system_attrs.get("fixed_params", {}), **trial.params}
        # `study` may be a Hyperband bracket's view of the study: repeats count across all of it.
        others = study._storage.get_all_trials(study._study_id, deepcopy=False)
        taken = self._taken(others, trial)
        relative_space = self.inner.infer_relative_search_space(study, trial)

        def independent(name: str, dist: BaseDistribution) -> Any:
            return self.inner.sample_independent(study, trial, name, dist)

        for _ in range(self._attempts):
            relative = self.inner.sample_relative(study, trial, relative_space)
            draw = self._walk(given, relative, relative_space, independent)
            if _key(draw.params) not in taken or draw.params.keys() <= given.keys():
                break  # new, or wholly given (a retry runs what it retries)
        else:
            unseen = self._unseen(given, taken)
            if unseen is not None:
                draw = self._walk(given, unseen.params, unseen.distributions, independent)
            else:
                _logger.debug(
                    "trial %d: every configuration has been tried; repeating one", trial.number
                )
        return draw

    def _taken(self, trials: Sequence[FrozenTrial], trial: FrozenTrial) -> set[frozenset[tuple[str, Any]]]:
        """The configurations of `trials` other than `trial`; finished ones' are computed once."""
        taken = set(self._finished_keys)
        for t in trials:
            if t._trial_id in self._finished_ids or t.number == trial.number:
                continue
            key = _key(params_of(t))
            taken.add(key)
            if t.state.is_finished():
                self._finished_ids.add(t._trial_id)
                self._finished_keys.add(key)
        return taken

    def _unseen(
        self, given: dict[str, Any], taken: set[frozenset[tuple[str, Any]]]
    ) -> _Draw | None:
        """A random configuration no trial has (continuous keys as `_CONTINUOUS`), or None.

        Random walks first (cheap, and they find one unless nearly all are taken); the
        enumeration after them, which only a nearly exhausted, hence small, space reaches.
        """

        def uniform(name: str, dist: BaseDistribution) -> Any:
            options = _options(dist)
            return _CONTINUOUS if options is None else self._rng.choice(options)

        for _ in range(RANDOM_WALKS):
            draw = self._walk(given, {}, {}, uniform)
            if _key(draw.params) not in taken:
                return draw
        unseen = [d for d in _configurations(self.space, given) if _key(d.params) not in taken]
        return self._rng.choice(unseen) if unseen else None

    def _walk(
        self,
        given: dict[str, Any],
        preset: dict[str, Any],
        preset_space: dict[str, BaseDistribution],
        draw_one: Pick,
    ) -> _Draw:
        """Walk the space: `given` values as they are, `preset` ones where their distribution
        is the key's, the rest from `draw_one` (one-value keys as Optuna sets them, unasked)."""

        def pick(name: str, dist: BaseDistribution) -> Any:
            if name in given:
                return given[name]
            if dist.single():
                return _options(dist)[0]  # type: ignore[index]
            value = preset.get(name, _CONTINUOUS)  # _CONTINUOUS: missing, or any value will do
            if value is not _CONTINUOUS and preset_space.get(name) == dist:
                return value
            return draw_one(name, dist)

        draw = _Draw(pick)
        self.space.sample(draw)
        return draw

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        draw = self._drawn.get(trial._trial_id)
        if isinstance(draw, Exception):
            raise draw
        return dict(draw.distributions) if draw else {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        draw = self._drawn.get(trial._trial_id)
        return (
            {k: v for k, v in draw.params.items() if k in search_space}
            if isinstance(draw, _Draw)
            else {}
        )

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        # Only keys the space does not declare get here (its own keys are all drawn above).
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._drawn.pop(trial._trial_id, None)
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()
        self._rng.seed()


def params_of(trial: FrozenTrial) -> dict[str, Any]:
    """The configuration a trial has, or will have once its objective has suggested it."""
    if trial.state.is_finished():
        return trial.params
    return trial.system_attrs.get(RESERVED) or {
        **trial.system_attrs.get("fixed_params", {}),
        **trial.params,
    }


def _key(params: dict[str, Any]) -> frozenset[tuple[str, Any]]:
    return frozenset(params.items())


class _Draw:
    """Stands in for an `optuna.Trial` while `SearchSpace.sample` walks the space.

    Each suggestion comes from `pick`, so a conditional key is drawn exactly when the
    trial's objective will suggest it, and the walk records what a trial would hold.
    """

    def __init__(self, pick: Pick) -> None:
        self._pick = pick
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, BaseDistribution] = {}

    def _suggest(self, name: str, dist: BaseDistribution) -> Any:
        self.params[name] = value = self._pick(name, dist)
        self.distributions[name] = dist
        return value

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._suggest(name, CategoricalDistribution(choices))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        return self._suggest(name, IntDistribution(low, high, log=log, step=step))

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return self._suggest(name, FloatDistribution(low, high, log=log, step=step))


def _options(dist: BaseDistribution) -> list[Any] | None:
    """Every value of a discrete distribution; None for a continuous one."""
    if dist.single():
        return [dist.choices[0] if isinstance(dist, CategoricalDistribution) else dist.low]
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution):
        return list(range(dist.low, dist.high + 1, dist.step))
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        n = int(round((dist.high - dist.low) / dist.step))
        return [dist.low + i * dist.step for i in range(n + 1)]
    return None


def _configurations(
    space: Any, given: dict[str, Any], limit: int = ENUMERATION_LIMIT
) -> Iterator[_Draw]:
    """Every configuration of `space` that keeps `given`, continuous keys as `_CONTINUOUS`.

    An odometer over the discrete choices the walk meets: after each walk the last digit
    that can still turn turns, and the digits after it start again from their first value.
    """
    digits: list[int] = []
    for _ in range(limit):
        draw, sizes = _walk_digits(space, given, digits)
        yield draw
        while digits and digits[-1] + 1 == sizes[len(digits) - 1]:
            digits.pop()
        if not digits:
            return
        digits[-1] += 1


def _walk_digits(space: Any, given: dict[str, Any], digits: list[int]) -> tuple[_Draw, list[int]]:
    """One walk taking the `digits`-th value of each discrete choice (0 past their end)."""
    sizes: list[int] = []

    def pick(name: str, dist: BaseDistribution) -> Any:
        if name in given:
            return given[name]
        options = _options(dist)
        if options is None:
            return _CONTINUOUS
        if len(sizes) == len(digits):
            digits.append(0)
        sizes.append(len(options))
        return options[digits[len(sizes) - 1]]

    draw = _Draw(pick)
    space.sample(draw)
    return draw, sizes
