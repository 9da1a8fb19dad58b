"""Scheduled Sampling (Bengio et al., NeurIPS 2015): one of the paper's baselines, beside MLE and PG-BLEU.

Teacher forcing feeds the true token y_{t-1} when predicting y_t; at generation time the model
reads its own samples instead, so it never learned to recover from its mistakes (exposure bias).
Scheduled Sampling feeds, at every step of every training sequence, the true token with
probability ε_i and the model's own sample with probability 1 - ε_i, and lowers ε_i over the
epochs i (the schedule). The loss is still the NLL of the true next token.

* ε_i over the epochs is :class:`agents.sampling_schedule.SamplingSchedule` (the SeqGAN paper's own
  curriculum by default).
* :func:`scheduled_sampling_loss`: the loss on one batch, batched over sequences (a loop over the
  T time steps only, as sampling itself needs).
* :func:`scheduled_sampling_epoch`: one pass over the real set, with the MLE optimiser and clip.
"""

from __future__ import annotations

import torch

from agents.pretraining import supervised_epoch
from seqgan_gym._checks import check_tokens, check_unit_interval
from seqgan_gym.generator import TokenLSTM
from seqgan_gym.sampling import sample_from_logits


def scheduled_sampling_loss(
    generator: TokenLSTM, tokens: torch.Tensor, truth_prob: float, random: torch.Generator | None = None
) -> torch.Tensor:
    """Mean NLL of the true tokens when each input is the true previous token with probability ``truth_prob``.

    Row b's input at step t is ``tokens[b, t-1]`` with probability ``truth_prob`` and otherwise
    a token sampled from the model's own prediction at step t-1 (no gradient flows through the
    sample, as in Bengio et al.). ``truth_prob = 1`` is teacher forcing (the MLE loss).

    :param generator: G_θ (any ``TokenLSTM``). :param tokens: ``LongTensor[B, T']``, ``T' <= seq_len``.
    :param truth_prob: ε, the probability of feeding the true token.
    :param random: the random stream of the coin flips and samples (on the generator's device).
    :return: a scalar tensor, the mean per-token NLL (differentiable).
    """
    tokens = check_tokens("tokens", tokens, generator.vocab_size, max_len=generator.seq_len, device=generator.device)
    truth_prob = check_unit_interval("truth_prob", truth_prob)
    if random is not None and not isinstance(random, torch.Generator):
        raise TypeError(f"random must be a torch.Generator or None, got {type(random).__name__}")
    weights = torch.full(tokens.shape, 1.0 / tokens.numel(), device=generator.device)
    if truth_prob == 1.0:
        return generator.weighted_nll(tokens, weights)
    batch, length = tokens.shape
    state = generator.initial_state(batch)
    inputs = generator.start_tokens(batch)
    hidden = []
    for t in range(length):
        logits, state = generator.step(inputs, state)
        hidden.append(state[0])
        if t + 1 < length:
            sampled = sample_from_logits(logits.detach(), random)
            use_truth = torch.rand(batch, generator=random, device=generator.device) < truth_prob
            inputs = torch.where(use_truth, tokens[:, t], sampled)
    return generator.weighted_nll(tokens, weights, hidden=torch.stack(hidden, dim=1))


def scheduled_sampling_epoch(
    generator: TokenLSTM,
    real_data: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    truth_prob: float,
    batch_size: int = 64,
    max_grad_norm: float = 5.0,
    random: torch.Generator | None = None,
) -> float:
    """One epoch of Scheduled Sampling on ``real_data``, batches in data order (as MLE pretraining).

    :param real_data: ``LongTensor[n, T]``, ``n >= batch_size`` (the last partial batch is dropped).
    :param optimizer: over ``generator``'s parameters (the MLE optimiser, Adam 0.01).
    :param truth_prob: ε_i of this epoch (e.g. ``SamplingSchedule().truth_prob(i)``).
    :return: the mean of the batch losses (nats per token).
    """
    truth_prob = check_unit_interval("truth_prob", truth_prob)
    return supervised_epoch(
        generator,
        real_data,
        optimizer,
        lambda batch: scheduled_sampling_loss(generator, batch, truth_prob, random),
        batch_size,
        max_grad_norm,
    )
