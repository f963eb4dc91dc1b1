"""Samplers never hand a trial a configuration another trial has, while unseen ones remain."""

from __future__ import annotations

import importlib.util

import optuna
import pytest
from optuna.trial import TrialState

from autodl.space import SearchSpace, choice, real
from autodl.study import _no_repeat
from autodl.study._no_repeat import NoRepeatSampler
from autodl.study._samplers import SAMPLERS, make_sampler

# 3 x 2 x 2 = 12 configurations.
SMALL = SearchSpace(
    units=choice(4, 8, 16), activation=choice("relu", "tanh"), learning_rate=choice(0.001, 0.01)
)
# adam, or sgd with one of two momenta (momentum is implied for sgd only), times two widths: 6.
CONDITIONAL = SearchSpace(
    optimizer=choice("adam", "sgd"), momentum=choice(0.9, 0.99), units=choice(4, 8)
)
NAMES = [n for n in SAMPLERS if n != "grid" and (n != "gp" or importlib.util.find_spec("torch"))]


def _configs(study: optuna.Study, states: tuple[TrialState, ...] = (TrialState.COMPLETE,)) -> list:
    return [frozenset(t.params.items()) for t in study.get_trials(states=states)]


def _search(sampler: optuna.samplers.BaseSampler, space: SearchSpace, n: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda trial: float(len(str(space.sample(trial)))), n_trials=n)
    return study


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [10, 12])
def test_every_sampler_draws_distinct_configurations_until_the_space_is_exhausted(
    name: str, n: int
) -> None:
    configs = _configs(_search(make_sampler(name, seed=0, space=SMALL), SMALL, n))
    assert len(configs) == n and len(set(configs)) == n


def test_the_plain_sampler_would_repeat_in_that_space() -> None:
    """What the tests above guard against: Optuna's random sampler alone repeats."""
    configs = _configs(_search(optuna.samplers.RandomSampler(seed=0), SMALL, 10))
    assert len(set(configs)) < 10


def test_inactive_conditional_keys_do_not_make_a_configuration_new() -> None:
    study = _search(make_sampler("random", seed=1, space=CONDITIONAL), CONDITIONAL, 6)
    configs = _configs(study)
    assert len(set(configs)) == 6
    assert sum("momentum" not in dict(c) for c in configs) == 2  # adam x two widths


def test_the_enumeration_finds_the_last_unseen_configurations(monkeypatch) -> None:
    monkeypatch.setattr(_no_repeat, "RANDOM_WALKS", 0)
    sampler = NoRepeatSampler(optuna.samplers.RandomSampler(seed=0), SMALL, seed=0, attempts=1)
    assert len(set(_configs(_search(sampler, SMALL, 12)))) == 12


def test_a_continuous_key_draws_as_usual() -> None:
    space = SearchSpace(units=choice(4, 8), learning_rate=real(1e-4, 1e-1, log=True))
    configs = _configs(_search(make_sampler("tpe", seed=0, space=space), space, 12))
    assert len(set(configs)) == 12
    assert len({dict(c)["units"] for c in configs}) == 2


def test_enqueued_params_are_kept_and_failed_configurations_are_not_drawn_again() -> None:
    study = optuna.create_study(sampler=make_sampler("random", seed=0, space=SMALL))
    textbook = {"units": 8, "activation": "tanh", "learning_rate": 0.01}
    study.enqueue_trial(textbook)

    def objective(trial: optuna.Trial) -> float:
        SMALL.sample(trial)
        if trial.number == 1:
            raise RuntimeError("this trial fails")
        return 0.0

    study.optimize(objective, n_trials=12, catch=(RuntimeError,))
    assert study.trials[0].params == textbook
    assert len(set(_configs(study, states=tuple(TrialState)))) == 12
    failed = study.trials[1]
    assert failed.state == TrialState.FAIL
    study.enqueue_trial(failed.params)  # a retry, as for a trial whose worker died
    study.optimize(objective, n_trials=1)
    assert study.trials[-1].params == failed.params


def test_same_seed_same_configurations() -> None:
    first, again = (
        _configs(_search(make_sampler("tpe", seed=3, space=SMALL), SMALL, 10)) for _ in "ab"
    )
    assert first == again


def test_a_sampler_error_fails_the_trial_not_study_ask() -> None:
    class Broken(optuna.samplers.RandomSampler):
        def sample_independent(self, *args, **kwargs):
            raise ValueError("broken sampler")

    study = optuna.create_study(sampler=NoRepeatSampler(Broken(), SMALL, seed=0))
    trial = study.ask()  # what autodl's workers call under the claim lock: must not raise
    with pytest.raises(ValueError, match="broken sampler"):
        SMALL.sample(trial)
