"""How fast report.html opens in a browser for a big study (target: under 2 s for 500 trials).

    python -m benchmarks.report_open [--trials 500] [--runs 3] [--keep DIR] [--against FILE]

Builds a synthetic in-memory study shaped like an autodl search (conditional parameters,
per-epoch values and autodl's user attributes; complete, pruned and failed trials),
writes report.html with the function `autodl report` uses, and opens it in headless
Chromium (/usr/bin/chromium through Playwright) `--runs` times, each in a fresh page.
Per run it records, in the page's own clock (ms after navigation start):

- first contentful paint, DOMContentLoaded and the load event;
- "leaderboard shown": the first frame with the whole leaderboard table laid out;
- "first chart" and "all charts": when the first and the last chart have drawn their
  traces, while the page is scrolled through, one viewport a step, from its load event
  on (a reader scrolling down; the first screen of a 1400x1000 window holds no chart);
- "charts in view at #importance": the page opened at report.html#importance (a reader
  who follows a link to that section), when the charts on that screen have drawn;
- "longest task": the longest stretch the main thread could not answer a click (the
  start-up of plotly.js), and when it ends; "busy": all tasks over 50 ms up to the
  last chart.

The table shows each run and the median; `--against` adds a second table for another
report.html, opened alternately with the new one so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 1000}
EPOCHS = 30
JUMP = "importance"  # the section a reader jumps to in the second way of opening

# Runs before any page script: record when each chart div has drawn traces, and long tasks.
PROBE = """
(() => {
  const drawn = {};
  window.__bench = { drawn, longTasks: [], leaderboard: null };
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__bench.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  (function poll() {
    const table = document.getElementById("leaderboard");
    if (window.__bench.leaderboard === null && document.getElementById("history")
        && table && table.offsetHeight > 0) {
      window.__bench.leaderboard = performance.now();
    }
    for (const div of document.querySelectorAll("div.chart")) {
      if (!(div.id in drawn) && div.querySelector(".main-svg g.trace, .main-svg g.hm")) {
        drawn[div.id] = performance.now();
      }
    }
    requestAnimationFrame(poll);
  })();
})();
"""


def synthetic_study(n_trials: int, seed: int = 0) -> Any:
    """A maximised val_accuracy study that looks like an MLP/CNN search by autodl."""
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rng = random.Random(seed)
    fixed = {
        "family": CategoricalDistribution(["mlp", "cnn"]),
        "layers": IntDistribution(1, 4),
        "units": IntDistribution(16, 512, log=True),
        "activation": CategoricalDistribution(["relu", "gelu", "swish", "elu"]),
        "initializer": CategoricalDistribution(["he_normal", "glorot_uniform"]),
        "dropout": FloatDistribution(0.0, 0.5),
        "l2": FloatDistribution(1e-6, 1e-2, log=True),
        "batch_norm": CategoricalDistribution([False, True]),
        "optimizer": CategoricalDistribution(["adam", "adamw", "sgd", "rmsprop"]),
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
        "batch_size": CategoricalDistribution([32, 64, 128]),
    }
    conditional = {  # parameter: (the parameter and value it depends on, distribution)
        "momentum": (("optimizer", "sgd"), FloatDistribution(0.8, 0.99)),
        "weight_decay": (("optimizer", "adamw"), FloatDistribution(1e-5, 1e-2, log=True)),
        "kernel_size": (("family", "cnn"), CategoricalDistribution([3, 5])),
    }
    study = optuna.create_study(study_name="bench-500", direction="maximize")
    for key, value in {
        "metric": "val_accuracy",
        "task": "multiclass",
        "data": "builtin:digits",
        "data_description": "digits: 1149 train / 288 val / 360 test, 8x8 images, 10 classes",
        "space": "search_spaces/cnn.py",
        "settings": {"space": "search_spaces/cnn.py", "trials": n_trials, "seed": 0,
                     "sampler": "tpe", "pruner": "hyperband", "val_size": 0.2},
    }.items():  # fmt: skip
        study.set_user_attr(key, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy"])
    clock = datetime(2026, 11, 28, 9, 0, 0)
    for number in range(n_trials):
        params = {name: _sample(rng, dist) for name, dist in fixed.items()}
        distributions = dict(fixed)
        for name, ((parent, value), dist) in conditional.items():
            if params[parent] == value:
                params[name] = _sample(rng, dist)
                distributions[name] = dist
        quality = (
            0.97
            - 0.06 * abs(math.log10(params["learning_rate"]) + 2.5)
            - 0.15 * params["dropout"]
            + 0.01 * (params["family"] == "cnn")
        )
        curve = [
            round(quality * (1 - math.exp(-(e + 1) / 4)) + rng.gauss(0, 0.01), 6)
            for e in range(EPOCHS)
        ]
        roll = rng.random()
        if roll < 0.08:
            state, curve = optuna.trial.TrialState.FAIL, curve[: rng.randint(0, 3)]
        elif roll < 0.45:
            state, curve = optuna.trial.TrialState.PRUNED, curve[: rng.choice([1, 3, 9])]
        else:
            state = optuna.trial.TrialState.COMPLETE
        seconds = round(0.3 + 0.18 * len(curve) + rng.random(), 3)
        attrs: dict[str, Any] = {
            "worker": f"host:{1000 + number % 2}",
            "config": {**params, "epochs": EPOCHS},
        }
        if state == optuna.trial.TrialState.FAIL:
            attrs["fail_reason"] = rng.choice(
                ["loss became nan at epoch 2", "out of memory: OOM when allocating tensor"]
            )
        else:
            attrs.update(
                epochs=len(curve),
                best_epoch=max(range(len(curve)), key=curve.__getitem__),
                seconds=seconds,
                n_params=params["layers"] * params["units"] * 80,
                history={
                    "val_accuracy": curve,
                    "val_loss": [round(1.2 * (1 - v), 6) for v in curve],
                    "loss": [round(1.1 * (1 - v), 6) for v in curve],
                    "accuracy": [round(min(1.0, v + 0.02), 6) for v in curve],
                },
            )
        value = None
        if state == optuna.trial.TrialState.COMPLETE:
            value = max(curve)
        elif state == optuna.trial.TrialState.PRUNED:
            value = curve[-1]
        trial = optuna.trial.create_trial(
            state=state,
            value=value,
            params=params,
            distributions=distributions,
            user_attrs=attrs,
            intermediate_values=dict(enumerate(curve)),
        )
        trial.datetime_start = clock
        clock += timedelta(seconds=seconds)
        trial.datetime_complete = clock
        study.add_trial(trial)
    return study


def _sample(rng: random.Random, dist: Any) -> Any:
    from optuna.distributions import CategoricalDistribution

    if isinstance(dist, CategoricalDistribution):
        return rng.choice(dist.choices)
    if dist.log:
        value = math.exp(rng.uniform(math.log(dist.low), math.log(dist.high)))
    else:
        value = rng.uniform(dist.low, dist.high)
    return int(round(value)) if isinstance(dist.low, int) else value


def open_once(browser: Any, path: Path, jump: str | None = None) -> dict[str, float]:
    """Open `path` in a fresh page and return the timings in ms: scrolled through from the
    top, or, with `jump`, opened at that section (#jump) and left there."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(PROBE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri() + (f"#{jump}" if jump else ""), wait_until="load")
    charts = page.eval_on_selector_all("div.chart", "divs => divs.map(d => d.id)")
    in_view = page.eval_on_selector_all(
        "div.chart",
        """divs => divs.filter(d => {
          const r = d.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight;
        }).map(d => d.id)""",
    )
    if not jump:
        page.evaluate(
            """async () => {
              while (innerHeight + scrollY < document.body.scrollHeight - 1) {
                scrollBy(0, innerHeight);
                await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
              }
            }"""
        )
    page.wait_for_function(
        "ids => ids.every(id => id in window.__bench.drawn)", arg=charts, timeout=120_000
    )
    timings = page.evaluate(
        """() => {
          const nav = performance.getEntriesByType("navigation")[0];
          const fcp = performance.getEntriesByName("first-contentful-paint")[0];
          return { fcp: fcp ? fcp.startTime : NaN, dcl: nav.domContentLoadedEventEnd,
                   load: nav.loadEventEnd, ...window.__bench };
        }"""
    )
    context.close()
    if errors:
        raise SystemExit(f"{path} reported errors: {errors[:3]}")
    if jump:
        seen = max((timings["drawn"][c] for c in in_view), default=math.nan)
        return {f"{len(in_view)} charts in view at #{jump}": seen}
    drawn = sorted(timings["drawn"].values())
    tasks = [(start, d) for start, d in timings["longTasks"] if start < drawn[-1]]
    longest = max(tasks, key=lambda task: task[1], default=(0.0, 0.0))
    return {
        "first contentful paint": timings["fcp"],
        "leaderboard shown": timings["leaderboard"],
        "DOMContentLoaded": timings["dcl"],
        "load event": timings["load"],
        "first chart": drawn[0],
        f"all {len(charts)} charts": drawn[-1],
        "longest task": longest[1],
        "longest task ends": sum(longest),
        "busy (long tasks)": sum(d for _, d in tasks),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report_open", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write report.html into this folder and keep it")
    parser.add_argument(
        "--against",
        type=Path,
        help="another report.html (say, one kept from before a change) to open alternately "
        "with the new one, for a side-by-side comparison",
    )
    args = parser.parse_args(argv)
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from autodl.report.html import write_report

    with tempfile.TemporaryDirectory() as tmp:
        study = synthetic_study(args.trials)
        started = time.perf_counter()
        path = write_report(study, args.keep or Path(tmp), storage="(in memory)")
        render = time.perf_counter() - started
        pages = {"this": path, **({"against": args.against} if args.against else {})}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            version = browser.version
            for page in pages.values():
                open_once(browser, page)  # warm the file cache and the browser process
            for _ in range(args.runs):
                for name, page in pages.items():
                    runs[name].append(
                        open_once(browser, page) | open_once(browser, page, jump=JUMP)
                    )
            browser.close()
        sizes = {name: page.stat().st_size / 2**20 for name, page in pages.items()}
    counts = ", ".join(
        f"{sum(t.state.name == s for t in study.trials)} {s.lower()}"
        for s in ("COMPLETE", "PRUNED", "FAIL")
    )
    print(f"study: {args.trials} trials ({counts}), up to {EPOCHS} epochs each")
    print(f"report.html written in {render:.1f} s; Chromium {version}; window "
          f"{VIEWPORT['width']}x{VIEWPORT['height']}")  # fmt: skip
    for name, results in runs.items():
        print(f"\n{name}: {pages[name]} ({sizes[name]:.2f} MiB)")
        _table(results)
    return 0


def _table(runs: list[dict[str, float]]) -> None:
    names = list(runs[0])
    width = max(map(len, names)) + 2
    header = "".join(f"{f'run {i + 1}':>8}" for i in range(len(runs)))
    print(f"{'ms':<{width}}{header}{'median':>8}")
    for name in names:
        values = [r[name] for r in runs]
        cells = "".join(f"{v:8.0f}" for v in values)
        print(f"{name:<{width}}{cells}{statistics.median(values):8.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
