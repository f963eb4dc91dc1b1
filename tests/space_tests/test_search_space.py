"""The declarative space API: distributions, conditions, defaults, validation."""

from __future__ import annotations

import optuna
import pytest

from autodl.exceptions import SpaceError
from autodl.space import (
    SearchSpace,
    boolean,
    builtin_space_names,
    choice,
    integer,
    load_space,
    real,
)


def _study() -> optuna.Study:
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))


def test_dimensions_map_to_native_optuna_distributions() -> None:
    space = SearchSpace(
        layers=integer(1, 4),
        units=integer(16, 256, log=True),
        dropout=real(0.0, 0.5),
        learning_rate=real(1e-4, 1e-1, log=True),
        activation=choice("relu", "gelu"),
        batch_norm=boolean(),
        epochs=7,
    )
    dists = space.distributions()
    assert dists["layers"] == optuna.distributions.IntDistribution(1, 4)
    assert dists["units"] == optuna.distributions.IntDistribution(16, 256, log=True)
    assert dists["learning_rate"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["activation"] == optuna.distributions.CategoricalDistribution(("relu", "gelu"))
    assert "epochs" not in dists  # fixed values are not searched


def test_sample_gives_complete_config_within_ranges() -> None:
    space = SearchSpace(layers=integer(1, 3), units=integer(8, 32), activation=choice("relu", "tanh"), epochs=5)
    study = _study()
    for _ in range(20):
        trial = study.ask()
        config = space.sample(trial)
        assert 1 <= config["layers"] <= 3 and 8 <= config["units"] <= 32
        assert config["epochs"] == 5
        assert config["optimizer"] == "adam"  # unlisted keys keep their defaults
        assert set(trial.params) == {"layers", "units", "activation"}
        study.tell(trial, 0.0)


def test_momentum_is_conditional_on_sgd() -> None:
    space = SearchSpace(optimizer=choice("adam", "sgd"), momentum=real(0.8, 0.99))
    assert space.searched["momentum"].when == (("optimizer", ("sgd",)),)
    study = _study()
    seen = {"adam": 0, "sgd": 0}
    for _ in range(30):
        trial = study.ask()
        config = space.sample(trial)
        seen[config["optimizer"]] += 1
        assert ("momentum" in trial.params) == (config["optimizer"] == "sgd")
        study.tell(trial, 0.0)
    assert seen["adam"] and seen["sgd"]


def test_family_keys_become_conditional_in_a_cross_family_space() -> None:
    space = SearchSpace(family=choice("mlp", "rnn"), units=integer(8, 64), cell=choice("lstm", "gru"))
    study = _study()
    for _ in range(20):
        trial = study.ask()
        config = space.sample(trial)
        assert ("cell" in trial.params) == (config["family"] == "rnn")
        assert ("units" in trial.params) == (config["family"] == "mlp")
        study.tell(trial, 0.0)


def test_explicit_when_and_custom_loss_function() -> None:
    def my_loss(y_true, y_pred):  # noqa: ANN001
        return (y_true - y_pred) ** 2

    space = SearchSpace(
        loss=choice("mse", my_loss),
        l2=real(1e-6, 1e-2, log=True, when={"batch_norm": False}),
        batch_norm=boolean(),
    )
    assert space.custom_objects == {"my_loss": my_loss}
    trial = optuna.trial.FixedTrial({"loss": "my_loss", "batch_norm": True})
    config = space.sample(trial)
    assert config["loss"] == "my_loss" and config["l2"] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": integer(64, 8)}, "low > high"),
        ({"learning_rate": real(0.0, 0.1, log=True)}, "log range needs low > 0"),
        ({"activation": choice()}, "at least one value"),
        ({"activation": choice("relu", "rleu")}, "did you mean 'relu'"),
        ({"optimizer": "adamm"}, "did you mean 'adam'"),
        ({"initializer": "he_norml"}, "did you mean 'he_normal'"),
        ({"loss": "crossentropi"}, "did you mean 'crossentropy'"),
        ({"dropuot": 0.1}, "did you mean 'dropout'"),
        ({"dropout": 1.5}, "outside"),
        ({"layers": 2.5}, "must be an integer"),
        ({"momentum": real(0.8, 0.9, when={"optimiser": "sgd"})}, "did you mean 'optimizer'"),
        ({"textbook": {"units": 999}, "units": integer(8, 64)}, "outside the space's range"),
        ({"warm_starts": [{"units": 8}, {"unitz": 8}], "units": integer(8, 64)}, r"warm_starts\[1\]: unknown key 'unitz'"),
        ({"warm_starts": {"units": 8}, "units": integer(8, 64)}, "must be a list of dicts"),
    ],
)
def test_invalid_spaces_name_the_dimension_and_value(kwargs: dict, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        SearchSpace(**kwargs)


def test_xavier_is_an_alias_for_glorot() -> None:
    space = SearchSpace(initializer=choice("xavier_uniform", "he_normal"))
    assert space.searched["initializer"].labels == ("glorot_uniform", "he_normal")


@pytest.mark.parametrize("name", ["mlp", "cnn", "rnn", "autoencoder", "vae", "textgen"])
def test_builtin_spaces_load_and_enqueue_their_textbook_model(name: str) -> None:
    loaded = load_space(name)
    space = loaded.space
    assert name in builtin_space_names()
    assert space.default_data.startswith("builtin:")
    assert space.textbook, "every built-in space starts from the article's textbook model"
    for start in (space.textbook, *space.warm_starts):  # complete: the sampler adds nothing
        config = space.sample(optuna.trial.FixedTrial(start))
        for key, value in start.items():
            assert config[key] == value


def test_builtin_spaces_cover_every_dimension_the_product_promises() -> None:
    keys = set()
    for name in ("mlp", "cnn", "rnn"):
        keys |= set(load_space(name).space.entries)
    promised = {
        "family", "layers", "units", "blocks", "filters", "kernel_size", "cell", "bidirectional",
        "activation", "initializer", "l1", "l2", "dropout", "batch_norm", "loss", "optimizer",
        "momentum", "nesterov", "learning_rate", "schedule", "warmup_epochs", "batch_size",
        "epochs", "patience", "scaling", "outliers", "augment", "ema", "embedding_dim",
    }  # fmt: skip
    assert promised <= keys, promised - keys


def test_for_task_keeps_only_the_losses_a_task_trains_with() -> None:
    space = SearchSpace(
        loss=choice("crossentropy", "focal", "mse", "huber"),
        textbook={"loss": "crossentropy"},
        warm_starts=[{"loss": "focal"}, {"loss": "huber"}],
    )
    regression = space.for_task("regression")
    assert regression.searched["loss"].labels == ("mse", "huber")
    # starting configurations keep a loss that fits, else take the task's first
    assert regression.textbook == {"loss": "mse"}
    assert regression.warm_starts == [{"loss": "mse"}, {"loss": "huber"}]
    assert space.for_task("binary").warm_starts == [{"loss": "focal"}, {"loss": "crossentropy"}]
    assert space.textbook == {"loss": "crossentropy"}, "the original is untouched"
    assert space.for_task("binary").searched["loss"].labels == ("crossentropy", "focal")
    assert space.searched["loss"].labels == ("crossentropy", "focal", "mse", "huber"), "the original is untouched"
    with pytest.raises(SpaceError, match="dimension 'loss'.*cannot train a regression model"):
        SearchSpace(loss="focal").for_task("regression")
    with pytest.raises(SpaceError, match="none of .* can train a multiclass model"):
        SearchSpace(loss=choice("mse", "mae")).for_task("multiclass")


def test_the_builtin_mlp_space_trains_regression_too(tmp_path) -> None:
    import autodl

    result = autodl.search("mlp", data="builtin:diabetes", trials=1, seed=0, out=str(tmp_path / "out"))
    assert result.summary["trials"]["complete"] == 1
    assert result.best_config["loss"] in ("mse", "mae", "huber", None)
