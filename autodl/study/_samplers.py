"""Samplers and pruners by the names `--sampler` and `--pruner` accept."""

from __future__ import annotations

import importlib.util
from typing import Any

from autodl.exceptions import ConfigError, one_of

SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc", "grid")
PRUNERS = ("hyperband", "median", "sha", "percentile", "patient", "wilcoxon", "none")
_EXTRAS = {"gp": ("torch", "gp"), "cmaes": ("cmaes", "cmaes")}


def check_sampler_name(name: str) -> None:
    if name not in SAMPLERS:
        raise ConfigError("--sampler: " + one_of("sampler", name, SAMPLERS))
    if name in _EXTRAS:
        module, extra = _EXTRAS[name]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"--sampler {name} needs the '{module}' package: pip install 'autodl[{extra}]'"
            )


def check_pruner_name(name: str) -> None:
    if name not in PRUNERS:
        raise ConfigError("--pruner: " + one_of("pruner", name, PRUNERS))


def make_sampler(name: str, *, seed: int | None, space: Any = None) -> Any:
    """The sampler `--sampler name` means; on an autodl `SearchSpace` it never repeats a
    configuration another trial has (see `NoRepeatSampler`); `grid` visits each point once anyway."""
    from autodl.space import SearchSpace
    from autodl.study._no_repeat import NoRepeatSampler

    sampler = _optuna_sampler(name, seed=seed, space=space)
    if name == "grid" or not isinstance(space, SearchSpace):
        return sampler  # a KerasTuner space's conditions are known only while it builds
    return NoRepeatSampler(sampler, space, seed=seed)


def _optuna_sampler(name: str, *, seed: int | None, space: Any) -> Any:
    import optuna

    check_sampler_name(name)
    if name == "tpe":
        # multivariate+group model the conditional structure (per-family keys, momentum
        # only for SGD); constant_liar keeps parallel workers from sampling the same point.
        return optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=True,
            constant_liar=True,
            n_startup_trials=8,
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.GridSampler(grid_of(space), seed=seed)


def grid_of(space: Any) -> dict[str, list[Any]]:
    """The search space as a grid; every searched dimension must be discrete."""
    from autodl.space import Choice, Integer

    grid: dict[str, list[Any]] = {}
    for key, dim in space.searched.items():
        if isinstance(dim, Choice):
            grid[key] = list(dim.labels)
        elif isinstance(dim, Integer):
            grid[key] = list(range(dim.low, dim.high + 1, dim.step))
        else:
            raise ConfigError(
                f"--sampler grid needs discrete dimensions; '{key}' is continuous "
                "(make it a choice(...) or use another sampler)"
            )
    return grid


def make_pruner(name: str, *, max_epochs: int) -> Any:
    import optuna

    check_pruner_name(name)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    if name == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "percentile":
        return optuna.pruners.PercentilePruner(25.0, n_startup_trials=3, n_warmup_steps=2)
    if name == "patient":
        return optuna.pruners.PatientPruner(optuna.pruners.MedianPruner(n_startup_trials=3), patience=2)
    if name == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=0.1)
    return optuna.pruners.NopPruner()
