"""Training generative families: autoencoders, VAEs and next-step sequence models.

The per-epoch objective goes to Optuna through the same `EpochReporter` as for the
other tasks, so pruning, early stopping and best-weight restoring work unchanged:

- autoencoder: `val_reconstruction`, the Bernoulli negative log-likelihood of the
  validation inputs (scaled to [0, 1]) in nats per sample;
- vae: `val_neg_elbo`, reconstruction plus the KL divergence of the code from the prior
  at weight 1 (training weights the KL by `kl_weight`, but trials are compared on the
  true bound, which a small `kl_weight` cannot game);
- textgen: `val_token_loss`, cross-entropy per token (perplexity is its exp) or, for
  real-valued sequences, the mean squared error per step.

None of them includes the L1/L2 penalties, which Keras adds to `loss`.
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np
from keras import ops

from autodl.builders._generative import GenerativeModel
from autodl.train._callbacks import EpochLearningRate, EpochReporter, TrialFailure
from autodl.train._compile import make_optimizer
from autodl.train._objective import Objective

# Log-variances outside this range overflow exp() long before they mean anything.
LOG_VAR_LIMIT = 20.0
# Decoder outputs are clipped this far from 0 and 1 so the log-likelihood stays finite.
PROBABILITY_EPSILON = 1e-6


class AutoencoderTrainer(keras.Model):
    """Wraps an encoder and a decoder with the reconstruction (and KL) losses.

    Never saved: what is exported are the plain functional encoder, decoder and the
    model that chains them. `x` is the raw input; `low` and `span` scale it to [0, 1].
    """

    def __init__(
        self,
        encoder: Any,
        decoder: Any,
        *,
        low: Any,
        span: Any,
        variational: bool,
        kl_weight: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(name="autoencoder_trainer")
        self.encoder = encoder
        self.decoder = decoder
        self.low = np.asarray(low, dtype="float32")
        self.span = np.asarray(span, dtype="float32")
        self.variational = variational
        self.kl_weight = float(kl_weight)
        self.noise = keras.random.SeedGenerator(seed)
        # Keras tracks metric attributes itself: a plain autoencoder gets no KL trackers.
        self.trackers = {"reconstruction": keras.metrics.Mean(name="reconstruction")}
        self.trackers["mse"] = keras.metrics.Mean(name="mse")
        if variational:
            self.trackers["kl"] = keras.metrics.Mean(name="kl")
            self.trackers["neg_elbo"] = keras.metrics.Mean(name="neg_elbo")

    def call(self, x: Any, training: bool = False) -> Any:
        codes = self.encoder(x, training=training)
        if not self.variational:
            return self.decoder(codes, training=training), None, None
        mean, log_var = codes
        log_var = ops.clip(log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT)
        # The reparameterisation trick: the noise is an input, so gradients reach mean/var.
        noise = keras.random.normal(ops.shape(mean), seed=self.noise)
        z = mean + ops.exp(0.5 * log_var) * noise
        return self.decoder(z, training=training), mean, log_var

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        reconstruction, mean, log_var = y_pred
        target = ops.clip((ops.cast(x, "float32") - self.low) / self.span, 0.0, 1.0)
        p = ops.clip(
            (reconstruction - self.low) / self.span, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON
        )
        axes = tuple(range(1, len(target.shape)))
        nll = -ops.sum(target * ops.log(p) + (1 - target) * ops.log(1 - p), axis=axes)
        self.trackers["reconstruction"].update_state(nll)
        self.trackers["mse"].update_state(ops.mean(ops.square(p - target), axis=axes))
        total = ops.mean(nll)
        if self.variational:
            kl = -0.5 * ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
            self.trackers["kl"].update_state(kl)
            self.trackers["neg_elbo"].update_state(nll + kl)
            total = total + self.kl_weight * ops.mean(kl)
        penalties = self.losses
        if penalties:
            total = total + ops.sum([ops.sum(p) for p in penalties])
        return total

    @property
    def metrics(self) -> list[Any]:
        own = list(self.trackers.values())
        inherited = [m for m in super().metrics if all(m is not o for o in own)]
        return inherited + own


def trainer_of(parts: GenerativeModel, config: dict[str, Any], seed: int | None = None) -> Any:
    """The model `fit` trains: the family's own, or the autoencoder wrapper."""
    if parts.trainer is not None:
        return parts.trainer
    return AutoencoderTrainer(
        parts.encoder,
        parts.decoder,
        low=parts.low,
        span=parts.span,
        variational=parts.family == "vae",
        kl_weight=float(config.get("kl_weight", 1.0)),
        seed=seed,
    )


def compile_generative(trainer: Any, parts: GenerativeModel, config: dict[str, Any]) -> None:
    from autodl.train import _compile

    trainer.compile(
        optimizer=make_optimizer(config),
        loss=parts.loss,
        metrics=list(parts.metrics) or None,
        jit_compile=_compile._JIT_COMPILE,
    )


def train_generative(
    config: dict[str, Any],
    prepared: Any,
    objective: Objective,
    *,
    trial: Any = None,
    extra_callbacks: list[Any] | None = None,
) -> Any:
    """Build and fit a generative `config`; raise `TrialFailure` if it cannot train."""
    from autodl.builders import build_generative
    from autodl.train._fit import _first_line, trained_outcome

    start = time.perf_counter()
    data = prepared.data
    try:
        parts = build_generative(config, data)
    except (ValueError, TypeError) as exc:
        raise TrialFailure(f"invalid for {data.describe()}: {_first_line(exc)}") from exc
    # The sampling noise draws from Keras' global seed, which the runner sets per trial.
    trainer = trainer_of(parts, config)
    compile_generative(trainer, parts, config)
    reporter = EpochReporter(
        trial,
        objective,
        patience=int(config.get("patience", 0)),
        restore_best=not config.get("ema"),
    )
    callbacks = [reporter, EpochLearningRate(config), *(extra_callbacks or [])]
    if config.get("schedule") == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=objective.metric,
                mode="min" if objective.direction == "minimize" else "max",
                factor=float(config["decay_rate"]),
                patience=max(1, int(config.get("patience", 4)) // 2),
            )
        )
    validation = (parts.x_val,) if parts.y_val is None else (parts.x_val, parts.y_val)
    trainer.fit(
        parts.x_train,
        parts.y_train,
        validation_data=validation,
        epochs=int(config["epochs"]),
        batch_size=int(config["batch_size"]),
        callbacks=callbacks,
        verbose=0,
    )
    return trained_outcome(reporter, config, objective, trainer, parts.export_model, validation, start)
