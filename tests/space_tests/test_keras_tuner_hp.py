from __future__ import annotations

import math
import types
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FixedTrial

from autodl.exceptions import SpaceError
from autodl.space.keras_tuner import (
    HyperParameterSpec,
    OptunaHyperParameters,
    UnknownHyperParameterError,
    find_build_target,
    list_space,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study() -> optuna.Study:
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))


def _sample(define: Any, n: int = 50) -> list[tuple[Any, optuna.trial.Trial]]:
    """Run `define(hp)` on n fresh trials of one study; return (result, trial) pairs."""
    study = _study()
    results = []
    for _ in range(n):
        trial = study.ask()
        results.append((define(OptunaHyperParameters(trial)), trial))
        study.tell(trial, 0.0)
    return results


# -- Int ------------------------------------------------------------------------------------


def test_int_linear_covers_inclusive_range() -> None:
    values = [v for v, _ in _sample(lambda hp: hp.Int("n", 1, 3))]
    assert all(type(v) is int for v in values)
    assert set(values) == {1, 2, 3}


def test_int_step_grid_shrinks_unreachable_max() -> None:
    results = _sample(lambda hp: hp.Int("n", 6, 13, step=3))
    assert {v for v, _ in results} == {6, 9, 12}
    assert results[0][1].distributions["n"] == IntDistribution(6, 12, step=3)


def test_int_log_step_is_a_multiplier_grid() -> None:
    results = _sample(lambda hp: hp.Int("batch", 2, 32, step=2, sampling="LOG"))
    assert {v for v, _ in results} == {2, 4, 8, 16, 32}
    assert all(type(v) is int for v, _ in results)
    assert results[0][1].distributions["batch"] == CategoricalDistribution((2, 4, 8, 16, 32))


def test_int_log_without_step_uses_log_int_distribution() -> None:
    results = _sample(lambda hp: hp.Int("units", 8, 512, sampling="log"))
    assert all(8 <= v <= 512 and type(v) is int for v, _ in results)
    assert results[0][1].distributions["units"] == IntDistribution(8, 512, log=True)


def test_int_reverse_log_stays_in_range_and_favours_the_top() -> None:
    results = _sample(lambda hp: hp.Int("n", 1, 1000, sampling="reverse_log"), n=200)
    values = [v for v, _ in results]
    assert all(type(v) is int and 1 <= v <= 1000 for v in values)
    # Reflected log-uniform: most of the mass is near max_value.
    assert sum(v > 500 for v in values) > 150
    spec = OptunaHyperParameters(None)
    spec.Int("n", 1, 1000, sampling="reverse_log")
    (n_spec,) = spec.space
    for value, trial in results:
        assert n_spec.from_optuna(trial.params["n"]) == value


def test_int_reverse_log_step_grid_is_reflected() -> None:
    values = {v for v, _ in _sample(lambda hp: hp.Int("n", 1, 10, step=3, sampling="reverse_log"))}
    assert values == {2, 8, 10}


# -- Float ----------------------------------------------------------------------------------


def test_float_linear_range_and_type() -> None:
    values = [v for v, _ in _sample(lambda hp: hp.Float("x", -1, 1))]
    assert all(type(v) is float and -1.0 <= v <= 1.0 for v in values)


def test_float_step_grid_reaches_max() -> None:
    results = _sample(lambda hp: hp.Float("rate", 0, 1, step=0.2), n=80)
    values = {round(v, 9) for v, _ in results}
    assert values == {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}
    assert results[0][1].distributions["rate"] == FloatDistribution(0.0, 1.0, step=0.2)


def test_float_log_step_grid_has_clean_values() -> None:
    results = _sample(lambda hp: hp.Float("lr", 0.001, 10, step=10, sampling="log"))
    assert {v for v, _ in results} == {0.001, 0.01, 0.1, 1.0, 10.0}


def test_float_log_and_reverse_log() -> None:
    def define(hp: OptunaHyperParameters) -> tuple[float, float]:
        return hp.Float("lr", 1e-4, 1e-1, sampling="log"), hp.Float(
            "momentum", 0.01, 1.0, sampling="reverse_log"
        )

    results = _sample(define, n=100)
    assert all(1e-4 <= lr <= 1e-1 for (lr, _), _ in results)
    assert all(0.01 <= m <= 1.0 and type(m) is float for (_, m), _ in results)
    # P(m > 0.5) = ln(51) / ln(100) ~ 0.85 for the reflected log; linear would give 0.5.
    assert sum(m > 0.5 for (_, m), _ in results) > 70
    assert results[0][1].distributions["lr"] == FloatDistribution(1e-4, 1e-1, log=True)


# -- Choice / Boolean / Fixed ---------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [[16, 32, 64], [0.1, 0.5], ["relu", "tanh", "gelu"], [True, False]],
)
def test_choice_keeps_value_types(values: list[Any]) -> None:
    results = [v for v, _ in _sample(lambda hp: hp.Choice("c", values))]
    assert set(results) == set(values)
    assert all(type(v) is type(values[0]) for v in results)


def test_boolean_samples_both() -> None:
    results = _sample(lambda hp: hp.Boolean("dropout"))
    assert {v for v, _ in results} == {False, True}
    assert results[0][1].distributions["dropout"] == CategoricalDistribution((False, True))


def test_fixed_is_recorded_but_not_sampled() -> None:
    trial = _study().ask()
    hp = OptunaHyperParameters(trial)
    assert hp.Fixed("epochs", 5) == 5
    assert hp.values == {"epochs": 5}
    assert hp.fixed_values == {"epochs": 5}
    assert "epochs" not in trial.params
    (spec,) = hp.space
    assert spec.kind == "fixed" and spec.distribution is None and spec.optuna_name is None


# -- identity, scopes, conditions ------------------------------------------------------------


def test_same_name_returns_same_value_and_one_param() -> None:
    trial = _study().ask()
    hp = OptunaHyperParameters(trial)
    first = [hp.Int("units", 1, 1000) for _ in range(5)]
    assert len(set(first)) == 1
    assert list(trial.params) == ["units"]
    assert len(hp.space) == 1
    # A second build() on a fresh object for the same trial sees the same values.
    assert OptunaHyperParameters(trial).Int("units", 1, 1000) == first[0]


def test_conditional_scope_activates_only_matching_branch() -> None:
    seen = set()
    study = _study()
    for _ in range(20):
        trial = study.ask()
        hp = OptunaHyperParameters(trial)
        model_type = hp.Choice("model_type", ["mlp", "cnn"])
        with hp.conditional_scope("model_type", ["mlp"]):
            units = hp.Int("units", 8, 64)
        with hp.conditional_scope("model_type", "cnn"):
            filters = hp.Int("filters", 8, 64)
        if model_type == "mlp":
            assert units is not None and filters is None
            assert "units" in trial.params and "filters" not in trial.params
            assert "filters" not in hp
            with pytest.raises(ValueError, match="inactive"):
                hp.get("filters")
        else:
            assert filters is not None and units is None
            assert "filters" in trial.params and "units" not in trial.params
        seen.add(model_type)
    assert seen == {"mlp", "cnn"}


def test_parent_kwargs_and_nested_scopes() -> None:
    hp = OptunaHyperParameters(
        FixedTrial({"model_type": "cnn", "depth": 2, "kernel": 3, "pool": True})
    )
    hp.Choice("model_type", ["mlp", "cnn"])
    with hp.conditional_scope("model_type", ["cnn"]):
        hp.Int("depth", 1, 3)
        with hp.conditional_scope("depth", [2, 3]):
            assert hp.Choice("kernel", [3, 5]) == 3
        with hp.conditional_scope("depth", [1]):
            assert hp.Choice("stride", [1, 2]) is None
    assert hp.Boolean("pool", parent_name="model_type", parent_values=["cnn"]) is True
    assert hp.Boolean("flatten", parent_name="model_type", parent_values="mlp") is None
    by_name = {s.name: s for s in hp.space}
    assert by_name["kernel"].condition == (("model_type", ("cnn",)), ("depth", (2, 3)))
    assert by_name["pool"].condition == (("model_type", ("cnn",)),)
    assert hp.values == {"model_type": "cnn", "depth": 2, "kernel": 3, "pool": True}


def test_inactive_parent_deactivates_grandchildren() -> None:
    hp = OptunaHyperParameters(FixedTrial({"kind": "a"}))
    hp.Choice("kind", ["a", "b"])
    with hp.conditional_scope("kind", ["b"]):
        hp.Int("depth", 1, 3)
        with hp.conditional_scope("depth", [1, 2, 3]):
            assert hp.Int("width", 1, 3) is None
    assert hp.values == {"kind": "a"}


def test_name_scope_prefixes_names_and_get() -> None:
    trial = _study().ask()
    hp = OptunaHyperParameters(trial)
    with hp.name_scope("block"):
        with hp.name_scope("conv"):
            value = hp.Int("filters", 1, 4)
            assert hp.get("filters") == value
        hp.Boolean("bn")
        with hp.conditional_scope("bn", [True]):
            hp.Float("momentum", 0.5, 0.9)
    assert set(trial.params) >= {"block/conv/filters", "block/bn"}
    assert hp["block/conv/filters"] == value
    momentum = next(s for s in hp.space if s.name == "block/momentum")
    assert momentum.condition == (("block/bn", (True,)),)


def test_same_name_under_two_conditions_gets_two_optuna_names() -> None:
    def define(hp: OptunaHyperParameters) -> tuple[str, int]:
        model_type = hp.Choice("model_type", ["mlp", "cnn"])
        with hp.conditional_scope("model_type", ["mlp"]):
            hp.Int("units", 32, 128)
        with hp.conditional_scope("model_type", ["cnn"]):
            hp.Int("units", 8, 16)
        return model_type, hp.get("units")

    results = _sample(define, n=30)
    names = {name for _, trial in results for name in trial.params}
    assert names == {"model_type", "units", "units|model_type=cnn"}
    for (model_type, units), trial in results:
        if model_type == "mlp":
            assert 32 <= units <= 128 and trial.params["units"] == units
        else:
            assert 8 <= units <= 16 and trial.params["units|model_type=cnn"] == units
            assert "units" not in trial.params


def test_if_guarded_branches_keep_optuna_names_stable_across_trials() -> None:
    # The KerasTuner docs pattern: each branch only defines its hp when it is taken.
    def define(hp: OptunaHyperParameters) -> tuple[str, int]:
        model_type = hp.Choice("model_type", ["mlp", "cnn"])
        with hp.conditional_scope("model_type", ["mlp"]):
            if model_type == "mlp":
                hp.Choice("units", [32, 64])
        with hp.conditional_scope("model_type", ["cnn"]):
            if model_type == "cnn":
                hp.Choice("units", [8, 16])
        return model_type, hp.get("units")

    results = _sample(define, n=30)  # would raise if one name got two categoricals
    distributions: dict[str, set[Any]] = {}
    for _, trial in results:
        for name, dist in trial.distributions.items():
            distributions.setdefault(name, set()).add(dist)
    assert all(len(d) == 1 for d in distributions.values())
    assert len(distributions) == 3


def test_same_name_same_distribution_shares_one_param() -> None:
    trial = _study().ask()
    hp = OptunaHyperParameters(trial)
    hp.Choice("a", ["x", "y"])
    with hp.conditional_scope("a", ["x"]):
        first = hp.Int("units", 1, 9)
    with hp.conditional_scope("a", ["y"]):
        second = hp.Int("units", 1, 9)
    assert {s.optuna_name for s in hp.space if s.name == "units"} == {"units"}
    assert [first, second].count(None) == 1
    assert set(trial.params) == {"a", "units"}


# -- get / values / defaults -----------------------------------------------------------------


def test_get_item_contains_values() -> None:
    hp = OptunaHyperParameters(FixedTrial({"lr": 0.01, "act": "relu"}))
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Choice("act", ["relu", "tanh"])
    assert hp.get("lr") == 0.01 and hp["act"] == "relu"
    assert "lr" in hp and "nope" not in hp
    assert hp.values == {"lr": 0.01, "act": "relu"}
    with pytest.raises(UnknownHyperParameterError, match="'nope' does not exist"):
        hp.get("nope")
    with pytest.raises(KeyError):
        hp["nope"]
    with pytest.raises(ValueError):
        hp["nope"]


def test_defaults_are_enqueueable() -> None:
    trial = _study().ask()
    hp = OptunaHyperParameters(trial)
    hp.Int("layers", 1, 4, default=2)
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Float("momentum", 0.5, 0.99, sampling="reverse_log", default=0.9)
    hp.Choice("act", ["relu", "tanh"], default="tanh")
    hp.Boolean("dropout")
    hp.Fixed("epochs", 3)
    defaults = hp.defaults()
    assert defaults == {
        "layers": 2,
        "lr": 1e-4,
        "momentum": pytest.approx(0.59),
        "act": "tanh",
        "dropout": False,
    }
    study = _study()
    study.enqueue_trial(defaults)
    replay = OptunaHyperParameters(study.ask())
    assert replay.Int("layers", 1, 4, default=2) == 2
    assert replay.Float("momentum", 0.5, 0.99, sampling="reverse_log") == pytest.approx(0.9)
    assert replay.Choice("act", ["relu", "tanh"]) == "tanh"


# -- dry run ----------------------------------------------------------------------------------


def _conditional_build(hp: OptunaHyperParameters) -> None:
    hp.Choice("model_type", ["mlp", "cnn"])
    with hp.conditional_scope("model_type", ["cnn"]):
        hp.Int("filters", 16, 64, step=16, default=32)
        hp.Int("units", 2, 8, step=2, sampling="log")
    with hp.conditional_scope("model_type", ["mlp"]):
        hp.Int("units", 10, 100)
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Boolean("dropout", default=True)
    hp.Fixed("epochs", 2)


def test_dry_run_returns_defaults_and_lists_everything() -> None:
    hp = OptunaHyperParameters(None)
    _conditional_build(hp)
    assert hp.values == {
        "model_type": "mlp",
        "filters": 32,
        "units": 10,
        "lr": 1e-4,
        "dropout": True,
        "epochs": 2,
    }
    space = list_space(_conditional_build)
    assert [s.optuna_name for s in space] == [
        "model_type",
        "filters",
        "units",
        "units|model_type=mlp",
        "lr",
        "dropout",
        None,
    ]
    assert [s.kind for s in space] == ["choice", "int", "int", "int", "float", "boolean", "fixed"]
    units = space[2]
    assert units.values == (2, 4, 8) and units.default == 2
    assert units.condition == (("model_type", ("cnn",)),)
    assert space[1].distribution == IntDistribution(16, 64, step=16)


def test_spec_round_trips_through_dict() -> None:
    for spec in list_space(_conditional_build):
        assert HyperParameterSpec.from_dict(spec.to_dict()) == spec


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "define", "fragment"),
    [
        ("bad_range", lambda hp, n: hp.Int(n, 5, 1), "max_value=1"),
        ("bad_range", lambda hp, n: hp.Float(n, 1.0, 0.5), "min_value=1.0"),
        ("bad_log", lambda hp, n: hp.Int(n, 0, 10, sampling="log"), "min_value=0"),
        (
            "bad_log",
            lambda hp, n: hp.Float(n, -1.0, 1.0, sampling="reverse_log"),
            "min_value=-1.0",
        ),
        ("bad_step", lambda hp, n: hp.Int(n, 1, 10, step=0), "step=0"),
        ("bad_step", lambda hp, n: hp.Float(n, 0, 1, step=-0.1), "step=-0.1"),
        ("bad_step", lambda hp, n: hp.Int(n, 1, 10, step=1, sampling="log"), "step=1"),
        ("bad_sampling", lambda hp, n: hp.Int(n, 1, 10, sampling="lgo"), "did you mean 'log'"),
        ("bad_sampling", lambda hp, n: hp.Float(n, 1, 10, sampling="uniform"), "'uniform'"),
        ("not_int", lambda hp, n: hp.Int(n, 1.5, 10), "1.5"),
        ("bad_default", lambda hp, n: hp.Int(n, 1, 10, default=11), "default=11"),
        ("bad_default", lambda hp, n: hp.Int(n, 1, 10, step=3, default=2), "default=2"),
        ("empty", lambda hp, n: hp.Choice(n, []), "[]"),
        ("mixed", lambda hp, n: hp.Choice(n, [1, "a"]), "int, str"),
        ("mixed", lambda hp, n: hp.Choice(n, [1, 2.5]), "float, int"),
        ("bad_default", lambda hp, n: hp.Choice(n, ["a", "b"], default="c"), "default='c'"),
        ("not_bool", lambda hp, n: hp.Boolean(n, default=1), "default=1"),
        ("bad_fixed", lambda hp, n: hp.Fixed(n, [1]), "[1]"),
        ("orphan", lambda hp, n: hp.Int(n, 1, 2, parent_name="ghost", parent_values=[1]), "ghost"),
    ],
)
def test_invalid_definitions_raise_space_error_naming_the_hp(
    name: str, define: Any, fragment: str
) -> None:
    for trial in (None, _study().ask()):
        hp = OptunaHyperParameters(trial)
        with pytest.raises(SpaceError) as info:
            define(hp, name)
        message = str(info.value)
        assert "\n" not in message
        assert fragment in message
        assert f"'{name}'" in message


def test_conditional_scope_on_undefined_parent() -> None:
    hp = OptunaHyperParameters(None)
    with pytest.raises(SpaceError, match="parent 'missing' was never defined"):
        with hp.conditional_scope("missing", ["x"]):
            pass
    hp.Choice("kind", ["a", "b"])
    with pytest.raises(SpaceError, match="'depth': parent_values must not be empty"):
        hp.Int("depth", 1, 3, parent_name="kind", parent_values=[])


# -- find_build_target --------------------------------------------------------------------------


def test_find_build_target_prefers_build_model() -> None:
    module = types.ModuleType("space_file")

    def build_model(hp: Any) -> None:
        hp.Int("n", 1, 2)

    module.build_model = build_model  # type: ignore[attr-defined]
    assert find_build_target(module) is build_model
    assert find_build_target(types.ModuleType("empty")) is None


# -- compatibility with real KerasTuner --------------------------------------------------------


def _readme_build(hp: Any) -> Any:
    import keras

    model = keras.Sequential([keras.Input(shape=(8,))])
    activation = hp.Choice("activation", ["relu", "tanh"])
    for i in range(hp.Int("num_layers", 1, 3, default=2)):
        model.add(
            keras.layers.Dense(
                units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                activation=activation,
            )
        )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    return model


def test_matches_keras_tuner_space_for_readme_build() -> None:
    kt = pytest.importorskip("keras_tuner")
    kt_hp = kt.HyperParameters()
    _readme_build(kt_hp)
    ours = OptunaHyperParameters(None)
    _readme_build(ours)

    assert ours.values == kt_hp.values
    kinds = {"Int": "int", "Float": "float", "Choice": "choice", "Boolean": "boolean"}
    theirs = {hp.name: hp for hp in kt_hp.space}
    mine = {spec.name: spec for spec in ours.space}
    assert list(mine) == list(theirs)
    for name, spec in mine.items():
        reference = theirs[name]
        assert spec.kind == kinds[type(reference).__name__], name
        for attr in ("min_value", "max_value", "step", "sampling"):
            if hasattr(reference, attr):
                expected, got = getattr(reference, attr), getattr(spec, attr)
                assert got == expected and type(got) is type(expected), (name, attr)
        if spec.kind == "choice":
            assert list(spec.values or ()) == list(reference.values)
            assert spec.ordered == reference.ordered
        assert spec.default == reference.default, name


def test_matches_keras_tuner_log_step_grid() -> None:
    kt = pytest.importorskip("keras_tuner")
    kt_hp = kt.HyperParameters()
    kt_hp.Int("batch", 2, 40, step=2, sampling="log")
    kt_hp.Float("lr", 0.001, 10, step=10, sampling="log")
    ours = OptunaHyperParameters(None)
    ours.Int("batch", 2, 40, step=2, sampling="log")
    ours.Float("lr", 0.001, 10, step=10, sampling="log")
    for reference, spec in zip(kt_hp.space, ours.space, strict=True):
        expected = list(reference.values)
        assert all(
            math.isclose(a, b, rel_tol=1e-9) for a, b in zip(spec.values, expected, strict=True)
        )
