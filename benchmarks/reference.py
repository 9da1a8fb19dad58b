"""The benchmarks' references, from :mod:`seqgan_gym.reference` (the plain definitions of G and D).

Kept so that the benchmark scripts, run from this folder, import them as ``from reference import ...``.
"""

from __future__ import annotations

from seqgan_gym.reference import (
    conv1d_discriminator_epoch,
    conv1d_logits,
    conv1d_prob_real,
    log_prob,
    lstm_step,
    multinomial_sample,
    plain_mle_epoch,
    plain_weighted_nll,
    rollout_rewards,
)

__all__ = [
    "conv1d_discriminator_epoch",
    "conv1d_logits",
    "conv1d_prob_real",
    "log_prob",
    "lstm_step",
    "multinomial_sample",
    "plain_mle_epoch",
    "plain_weighted_nll",
    "rollout_rewards",
]
