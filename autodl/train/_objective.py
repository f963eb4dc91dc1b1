"""The metric a search optimises and its direction (no Keras import: the CLI checks it early)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autodl.exceptions import ConfigError, closest

MAXIMISED = ("accuracy", "acc", "auc", "precision", "recall")
# What each generative family logs per epoch, its default objective first. None includes
# the L1/L2 penalties (Keras' `loss` does): reconstruction is the Bernoulli negative
# log-likelihood per sample in nats, neg_elbo adds the KL term at weight 1 (whatever
# kl_weight trained with, so trials compare), token_loss is per token (or time step).
GENERATION_METRICS: dict[str, tuple[str, ...]] = {
    "autoencoder": ("reconstruction", "mse"),
    "vae": ("neg_elbo", "reconstruction", "kl", "mse"),
    "textgen": ("token_loss",),
}


@dataclass(frozen=True)
class Objective:
    """The per-epoch metric Optuna optimises, e.g. `val_accuracy` (max) or `val_mse` (min)."""

    metric: str
    direction: str  # "maximize" | "minimize"

    @classmethod
    def parse(
        cls,
        text: str | None,
        task: str,
        *,
        metrics: Sequence[str] | None = None,
        families: Sequence[str] | None = None,
    ) -> Objective:
        """`NAME[:min|max]`; None picks accuracy for classification and MSE for regression.

        `metrics`: the names a model logs, when the space compiles its own model (KerasTuner).
        `families`: the space's families; for generation they decide the metrics (the first
        one every family logs is the default: reconstruction, neg_elbo or token_loss).

        Regression selects on `val_mse`, not `val_loss`: Keras adds the L1/L2 penalties to
        the loss, so selecting on it would favour small penalties, not good models.
        """
        if not text and task == "generation":
            return cls(available_metrics(task, families)[0], "minimize")
        if not text:
            return cls("val_accuracy", "maximize") if task != "regression" else cls("val_mse", "minimize")
        name, _, direction = text.partition(":")
        valid = list(metrics) if metrics is not None else available_metrics(task, families)
        if name not in valid:
            raise ConfigError(
                f"--objective: '{name}' is not a metric of a {task} search; "
                f"choose from {', '.join(valid)}{closest(name, valid)}"
            )
        if direction in ("", None):
            direction = "max" if any(name.lower().endswith(m) for m in MAXIMISED) else "min"
        if direction not in ("min", "max", "minimize", "maximize"):
            raise ConfigError(f"--objective: direction must be 'min' or 'max'; got '{direction}'")
        return cls(name, "maximize" if direction.startswith("max") else "minimize")

    def better(self, a: float, b: float | None) -> bool:
        if b is None:
            return True
        return a > b if self.direction == "maximize" else a < b

    def to_dict(self) -> dict[str, str]:
        return {"metric": self.metric, "direction": self.direction}


def available_metrics(task: str, families: Sequence[str] | None = None) -> list[str]:
    if task == "generation":
        logged = [GENERATION_METRICS[f] for f in families or GENERATION_METRICS if f in GENERATION_METRICS]
        common = [n for n in logged[0] if all(n in other for other in logged)] if logged else []
        return [f"val_{n}" for n in common] + ["val_loss"] + common + ["loss"]
    names = ["loss", "accuracy", "auc"] if task != "regression" else ["loss", "mse", "mae"]
    return [f"val_{n}" for n in names] + names
