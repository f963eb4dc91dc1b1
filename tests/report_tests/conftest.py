"""Fake studies for the report tests: Optuna trials with autodl's user attributes, no training."""

from __future__ import annotations

import math
import os
import random
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
        {
            "space": "/spaces/fake.py",
            "data": None,
            "trials": n_trials,
            "seed": 0,
            "sampler": "tpe",
            "pruner": "hyperband",
            "val_size": 0.2,
            "target": None,
            "task": None,
        },
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
        quality = (
            0.95 - 0.08 * abs(math.log10(params["learning_rate"]) + 2.5) - 0.2 * params["dropout"]
        )
        curve = [
            quality * (1 - math.exp(-(e + 1) / 2.5)) + rng.gauss(0, 0.01) for e in range(epochs)
        ]
        config = {**params, "epochs": epochs, "batch_size": 32, "family": "mlp"}
        attrs: dict[str, Any] = {
            "config": config,
            "n_params": 100 * params["units"],
            "seconds": 1.0 + rng.random(),
        }
        if number >= n_trials:
            state, curve = optuna.trial.TrialState.RUNNING, curve[: epochs // 2]
            value = None
        elif fail_every and number % fail_every == fail_every - 1:
            state, curve = optuna.trial.TrialState.FAIL, curve[:2]
            attrs["fail_reason"] = (
                "loss became nan at epoch 2"
                if number % 2
                else "out of memory: OOM when allocating"
            )
            value = None
        elif prune_every and number % prune_every == prune_every - 1:
            state, curve = optuna.trial.TrialState.PRUNED, curve[: max(1, epochs // 4)]
            value = curve[-1]
        else:
            state, value = optuna.trial.TrialState.COMPLETE, max(curve)
        attrs.update(
            epochs=len(curve),
            best_epoch=max(range(len(curve)), key=curve.__getitem__),
            history={"val_accuracy": curve},
        )
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


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright; fails in CI when it is missing, skips elsewhere."""
    if not CHROMIUM.is_file():
        if in_ci():
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci():
            pytest.fail("the playwright package is missing (pip install playwright)")
        pytest.skip("the playwright package is missing (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageEvents:
    """What a page did while loading: console messages, errors, requests, dialogs."""

    def __init__(self, page: Any) -> None:
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]


def open_report(browser: Any, path: Path) -> tuple[Any, PageEvents]:
    """Load a report.html and wait until its charts have rendered."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    events = PageEvents(page)
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_selector("body[data-charts=rendered]", state="attached", timeout=90_000)
    return page, events


CHART_STATE = """() => Array.from(document.querySelectorAll("div.chart")).map(div => ({
    id: div.id,
    plotted: div.classList.contains("js-plotly-plot"),
    traces: div.data ? div.data.length : 0,
    points: div.data ? div.data.reduce((n, t) => n + ((t.x || t.z || t.y || []).length), 0) : 0,
    svg: div.querySelectorAll(".main-svg").length,
}))"""
