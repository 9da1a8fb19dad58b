"""MaliGAN's reward (Che et al. 2017, "Maximum-Likelihood Augmented Discrete Generative Adversarial Networks").

For an optimal D, ``r(Y) = D(Y) / (1 - D(Y))`` is ``p_data(Y) / p_θ(Y)``: the importance weight that
turns samples of G_θ into samples of the data. MaliGAN follows the maximum-likelihood gradient that
these weights estimate, normalised over the m sequences of a batch and less a baseline b:

    ∇_θ ≈ Σ_i (r(Y_i) / Σ_j r(Y_j) - b) ∇_θ log p_θ(Y_i)

With Monte Carlo search (its §3.3, as SeqGAN's Eq. 4) a prefix's weight is the mean weight of its N
completions, normalised over the B prefixes of the step. The scorer is the paper's D, trained as
SeqGAN's. Here ``Q_t = B · r_t / Σ_b r_t - 1``: the normalised weights scaled by B (the policy loss
averages over the batch where Che et al. sum over it) less their mean, the baseline TextGAN-PyTorch's
MaliGAN subtracts. D's scores are kept inside [1e-6, 1 - 1e-6] so that no weight is 0 or infinite.
"""

from __future__ import annotations

import torch

from seqgan_gym.rewards import Reward

#: D(Y) is clamped to [EPSILON, 1 - EPSILON] before the weight D / (1 - D).
EPSILON = 1e-6


def maligan_reward(scores: torch.Tensor) -> torch.Tensor:
    """Normalised importance weights less their mean: ``[B, N]`` D scores -> ``[B]`` Q_t (mean 0 over B)."""
    probs = scores.double().clamp(EPSILON, 1.0 - EPSILON)
    weights = (probs / (1.0 - probs)).mean(dim=1)
    return (weights * (weights.numel() / weights.sum()) - 1.0).to(scores.dtype)


MALIGAN = Reward("MaliGAN", maligan_reward)
