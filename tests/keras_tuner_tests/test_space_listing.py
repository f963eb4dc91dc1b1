"""Listing a build function's space: every branch, not only the one the defaults reach."""

from __future__ import annotations

from typing import Any

import pytest

from autodl.space.keras_tuner import OptunaHyperParameters, explore_space, list_space


def _build(hp: Any) -> None:
    for i in range(hp.Int("layers", 1, 3)):
        hp.Int(f"units_{i}", 8, 64, step=8)
    if hp.Choice("optimizer", ["adam", "sgd"]) == "sgd":
        with hp.conditional_scope("optimizer", "sgd"):
            hp.Float("momentum", 0.5, 0.99)
            if hp.Boolean("nesterov"):
                raise RuntimeError("this branch is broken")
    hp.Fixed("epochs", 3)


def test_defaults_alone_miss_branches() -> None:
    names = [spec.name for spec in list_space(_build)]
    assert names == ["layers", "units_0", "optimizer", "epochs"]


def test_explore_space_finds_every_branch() -> None:
    specs = {spec.name: spec for spec in explore_space(_build)}
    assert set(specs) == {
        "layers", "units_0", "units_1", "units_2", "optimizer", "momentum", "nesterov", "epochs"
    }  # fmt: skip
    assert specs["momentum"].condition == (("optimizer", ("sgd",)),)
    assert specs["units_2"].condition == ()


def test_explore_space_stops_at_max_builds() -> None:
    specs = explore_space(_build, max_builds=1)
    assert [s.name for s in specs] == ["layers", "units_0", "optimizer", "epochs"]


def test_a_failing_default_build_raises() -> None:
    def broken(hp: Any) -> None:
        hp.Int("n", 1, 2)
        raise ValueError("no model")

    with pytest.raises(ValueError, match="no model"):
        explore_space(broken)


def test_overrides_replace_defaults_only_with_valid_values() -> None:
    hp = OptunaHyperParameters(None, overrides={"a": 3, "b": "nope", "c": True})
    assert hp.Int("a", 1, 4) == 3
    assert hp.Choice("b", ["x", "y"]) == "x"  # not a value of b: its default
    assert hp.Boolean("c") is True
    assert hp.Int("d", 1, 4, default=2) == 2
