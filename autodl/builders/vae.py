"""Variational autoencoder: the autoencoder's encoder and decoder, with a Gaussian code.

The encoder gives a mean and a log-variance per latent dimension; training samples a code
from them and adds the KL divergence to the standard normal prior (weighted by
`kl_weight`), which `autodl.train._generative` computes. The saved decoder maps codes
drawn from that prior to new samples in the data's units.
"""

from __future__ import annotations

from typing import Any

from autodl.builders import autoencoder
from autodl.builders._generative import GenerativeModel


def build(config: dict[str, Any], data: Any) -> GenerativeModel:
    return autoencoder.build(config, data, variational=True)
