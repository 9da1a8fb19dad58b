"""Straightforward references for the benchmarks: the same computations, done the reference code's way.

Each function computes what one of our optimised paths computes, as the paper's reference code
(and most ports of it) does: ``torch.multinomial`` sampling, Monte Carlo rollouts that re-encode
every prefix from the start, the discriminator as ``conv1d`` layers scoring in batches of 64 in
float32, the full ``[B, T, V]`` logits for the training loss, and torch's default Adam.
``tests/test_reference_paths.py`` checks that ours and these give the same results.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_gym.models import Discriminator, TokenLSTM


@torch.no_grad()
def multinomial_sample(model: TokenLSTM, n: int, generator: torch.Generator, batch_size: int = 1024) -> torch.Tensor:
    """``n`` sequences from ``model``: softmax + ``torch.multinomial``, one token at a time. ``LongTensor[n, T]``."""
    out = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        tokens, state = model.start_tokens(b), model.initial_state(b)
        rows = []
        for _ in range(model.seq_len):
            logits, state = model.step(tokens, state)
            tokens = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(1)
            rows.append(tokens)
        out.append(torch.stack(rows, dim=1))
    return torch.cat(out)


def conv1d_logits(discriminator: Discriminator, tokens: torch.Tensor) -> torch.Tensor:
    """D's class logits ``[B, 2]`` through ``F.conv1d`` (float32, dropout as ``discriminator.training``)."""
    x = discriminator.embedding(tokens).transpose(1, 2)  # [B, emb, T]
    pooled = torch.cat([F.relu(conv(x)).amax(dim=2) for conv in discriminator.convs], dim=1)
    gate = torch.sigmoid(discriminator.highway_gate(pooled))
    features = gate * F.relu(discriminator.highway_lin(pooled)) + (1.0 - gate) * pooled
    features = F.dropout(features, p=1.0 - discriminator.dropout_keep_prob, training=discriminator.training)
    return discriminator.output(features)


@torch.no_grad()
def conv1d_prob_real(discriminator: Discriminator, tokens: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """D(Y) of complete sequences in batches of ``batch_size``, no dropout. ``Tensor[n]``."""
    training = discriminator.training
    discriminator.eval()
    try:
        return torch.cat(
            [
                torch.softmax(conv1d_logits(discriminator, tokens[i : i + batch_size]), dim=-1)[:, 1]
                for i in range(0, len(tokens), batch_size)
            ]
        )
    finally:
        discriminator.train(training)


@torch.no_grad()
def rollout_rewards(
    rollout_policy: TokenLSTM,
    discriminator: Discriminator,
    sequences: torch.Tensor,
    n_rollouts: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """The paper's Q_t for ``sequences`` ``[B, T]``, as the reference code's ``get_reward``: ``[B, T]``.

    For every rollout and every prefix length t < T, G_β reads the prefix again from the start,
    samples the rest with ``torch.multinomial``, and D scores the complete sequences in batches
    of 64; Q_T = D(Y).
    """
    batch, seq_len = sequences.shape
    rewards = torch.zeros(batch, seq_len)
    for _ in range(n_rollouts):
        for t in range(1, seq_len):
            tokens, state = rollout_policy.start_tokens(batch), rollout_policy.initial_state(batch)
            for s in range(t):  # re-encode the prefix
                _, state = rollout_policy.step(tokens, state)
                tokens = sequences[:, s]
            completion = [sequences[:, :t]]
            for _ in range(t, seq_len):
                logits, state = rollout_policy.step(tokens, state)
                tokens = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(1)
                completion.append(tokens[:, None])
            rewards[:, t - 1] += conv1d_prob_real(discriminator, torch.cat(completion, dim=1))
        rewards[:, seq_len - 1] += conv1d_prob_real(discriminator, sequences)
    return rewards / n_rollouts


def plain_weighted_nll(generator: TokenLSTM, tokens: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``-Σ weights · log G(tokens)`` through the full ``[B, T, V]`` logits (``TokenLSTM.weighted_nll``'s value).

    MLE is ``weights = 1 / (B T)``; the reference code's generator loss is ``weights = Q``.
    """
    logits = generator._hidden_states(tokens) @ generator.w_out + generator.b_out
    nll = F.cross_entropy(logits.flatten(0, 1), tokens.flatten(), reduction="none")
    return (nll * weights.flatten()).sum()


def plain_mle_epoch(generator: TokenLSTM, data: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    """One MLE epoch with :func:`plain_weighted_nll`: batches of 64 in data order, clip 5, as ``mle_epoch``."""
    for start in range(0, len(data) - 63, 64):
        batch = data[start : start + 64]
        loss = plain_weighted_nll(generator, batch, torch.full(batch.shape, 1.0 / batch.numel(), device=batch.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(generator.parameters(), 5.0)
        optimizer.step()


def conv1d_discriminator_epoch(
    discriminator: Discriminator,
    tokens: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    order: torch.Tensor,
    batch_size: int = 64,
) -> list[float]:
    """One epoch of the paper's D loss through :func:`conv1d_logits`, float32, in the given ``order``.

    :return: every batch's loss.
    """
    discriminator.train()
    losses = []
    for start in range(0, len(tokens), batch_size):
        rows = order[start : start + batch_size]
        loss = F.cross_entropy(conv1d_logits(discriminator, tokens[rows]), labels[rows]) + discriminator.l2_penalty()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    discriminator.eval()
    return losses
