"""Fake studies for the report tests: Optuna trials with autodl's user attributes, no training."""

from __future__ import annotations

import math
import os
import random
import shutil
from pathlib import Path
from typing import Any

import optuna
import pytest

from autodl.study import make_storage

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
XSS = "<script>alert(1)</script>"

optuna.logging.set_verbosity(optuna.logging.ERROR)

DISTRIBUTIONS = {
    "learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
    "units": optuna.distributions.IntDistribution(16, 256, log=True),
    "optimizer": optuna.distributions.CategoricalDistribution(["adam", "sgd", "rmsprop"]),
    "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
}
MOMENTUM = optuna.distributions.FloatDistribution(0.8, 0.99)  # only when optimizer == "sgd"


def fake_study(
    storage: Any = None,
    *,
    name: str = "fake-iris",
    n_trials: int = 30,
    epochs: int = 8,
    fail_every: int = 7,
    prune_every: int = 3,
    running: int = 1,
    seed: int = 0,
    extra_choice: str | None = None,
) -> optuna.Study:
    """A maximised val_accuracy study with complete, pruned, failed and running trials.

    Values follow a smooth function of the parameters plus noise, so importance has
    something to find; `extra_choice` adds a categorical parameter holding that string.
    """
    rng = random.Random(seed)
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    study.set_user_attr("metric", "val_accuracy")
    study.set_user_attr("task", "multiclass")
    study.set_user_attr("data", "builtin:iris")
    study.set_user_attr("data_description", "iris: 120 train / 30 val, 4 features, 3 classes")
    study.set_user_attr("space", "/spaces/fake.py")
    study.set_user_attr(
        "settings",
        {"space": "/spaces/fake.py", "data": None, "trials": n_trials, "seed": 0, "sampler": "tpe",
         "pruner": "hyperband", "val_size": 0.2, "target": None, "task": None},
    )
    study.set_metric_names(["val_accuracy"])
    choices = ["plain", extra_choice] if extra_choice else None
    for number in range(n_trials + running):
        params: dict[str, Any] = {
            "learning_rate": 10 ** rng.uniform(-4, -1),
            "units": int(2 ** rng.uniform(4, 8)),
            "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
            "dropout": rng.uniform(0.0, 0.5),
        }
        distributions = dict(DISTRIBUTIONS)
        if params["optimizer"] == "sgd":
            params["momentum"] = rng.uniform(0.8, 0.99)
            distributions["momentum"] = MOMENTUM
        if choices:
            params["head"] = choices[number % 2]
            distributions["head"] = optuna.distributions.CategoricalDistribution(choices)
        distributions = {k: v for k, v in distributions.items() if k in params}
        quality = 0.95 - 0.08 * abs(math.log10(params["learning_rate"]) + 2.5) - 0.2 * params["dropout"]
        curve = [quality * (1 - math.exp(-(e + 1) / 2.5)) + rng.gauss(0, 0.01) for e in range(epochs)]
        config = {**params, "epochs": epochs, "batch_size": 32, "family": "mlp"}
        attrs: dict[str, Any] = {"config": config, "n_params": 100 * params["units"], "seconds": 1.0 + rng.random()}
        if number >= n_trials:
            state, curve = optuna.trial.TrialState.RUNNING, curve[: epochs // 2]
            value = None
        elif fail_every and number % fail_every == fail_every - 1:
            state, curve = optuna.trial.TrialState.FAIL, curve[:2]
            attrs["fail_reason"] = "loss became nan at epoch 2" if number % 2 else "out of memory: OOM when allocating"
            value = None
        elif prune_every and number % prune_every == prune_every - 1:
            state, curve = optuna.trial.TrialState.PRUNED, curve[: max(1, epochs // 4)]
            value = curve[-1]
        else:
            state, value = optuna.trial.TrialState.COMPLETE, max(curve)
        attrs.update(epochs=len(curve), best_epoch=max(range(len(curve)), key=curve.__getitem__),
                     history={"val_accuracy": curve})
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=value,
                params=params,
                distributions=distributions,
                user_attrs=attrs,
                intermediate_values=dict(enumerate(curve)),
            )
        )
    return study


@pytest.fixture
def journal_study(tmp_path: Path):
    """Build a fake study in TMP/out/study.journal; returns (study, journal path)."""

    def build(**kwargs: Any) -> tuple[optuna.Study, Path]:
        path = tmp_path / "out" / "study.journal"
        study = fake_study(make_storage(str(path)), **kwargs)
        return study, path

    return build


@pytest.fixture
def browser():
    """A headless Chromium page factory; fails in CI when Chromium is missing, skips elsewhere."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api") if os.environ.get("CI", "").lower() != "true" else None
    if sync_api is None:
        import playwright.sync_api as sync_api
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            browser.close()
