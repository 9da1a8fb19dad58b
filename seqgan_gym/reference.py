"""The plain, slow definitions of G and D, and each unit of training computed the reference code's way.

:class:`~seqgan_gym.generator.TokenLSTM` and :class:`~seqgan_gym.discriminator.Discriminator`
compute what the functions here compute, faster (docs/design.md §4). Here nothing is fused, cached
or rounded: the LSTM runs gate by gate from its parameters, D runs ``F.conv1d`` in float32, the
next token comes from ``torch.multinomial``, the Monte Carlo search re-encodes every prefix from
the start and scores in batches of 64, and the training losses build the full ``[B, T, V]``
logits, as the paper's reference code (and most ports of it) does.

* G: :func:`lstm_step` (one step, the paper's equations), :func:`log_prob` (teacher forcing),
  :func:`multinomial_sample`.
* D: :func:`conv1d_logits`, :func:`conv1d_prob_real`.
* Training: :func:`rollout_rewards` (the paper's Q_t), :func:`plain_weighted_nll`,
  :func:`plain_mle_epoch`, :func:`conv1d_discriminator_epoch`.

``tests/test_reference_paths.py`` checks that the models and these give the same results, and the
benchmarks (``benchmarks/run.py``) time the models against them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMState, TokenLSTM

# ---------------------------------------------------------------------------------------------- G


def lstm_step(model: TokenLSTM, tokens: torch.Tensor, state: LSTMState) -> tuple[torch.Tensor, LSTMState]:
    """One step of the paper's LSTM, gate by gate: what ``model.step(tokens, state)`` computes.

    :param tokens: ``LongTensor[B]``, the previous token of each row.
    :param state: ``(h, c)``, each ``[B, hidden_dim]``.
    :return: ``(logits [B, V] of the next token, (h, c) after the step)``.
    """
    h, c = state
    x = model.embedding[tokens]  # [B, emb]
    w_i, w_f, w_o, w_c = model.w_x.chunk(4, dim=1)  # the fused gates, in the order i, f, o, c
    u_i, u_f, u_o, u_c = model.w_h.chunk(4, dim=1)
    b_i, b_f, b_o, b_c = model.bias.chunk(4)
    i = torch.sigmoid(x @ w_i + h @ u_i + b_i)
    f = torch.sigmoid(x @ w_f + h @ u_f + b_f)
    o = torch.sigmoid(x @ w_o + h @ u_o + b_o)
    c_tilde = torch.tanh(x @ w_c + h @ u_c + b_c)
    c = f * c + i * c_tilde
    h = o * torch.tanh(c)
    return h @ model.w_out + model.b_out, (h, c)


def log_prob(model: TokenLSTM, tokens: torch.Tensor) -> torch.Tensor:
    """Teacher-forced ``log G(y_t | y_1..y_{t-1})`` one :func:`lstm_step` at a time: ``model.log_prob(tokens)``.

    :param tokens: ``LongTensor[B, T']`` with ``T' <= seq_len``. :return: ``Tensor[B, T']`` (differentiable).
    """
    batch = tokens.shape[0]
    previous = torch.full((batch,), model.start_token, dtype=torch.long, device=tokens.device)
    state = (model.embedding.new_zeros(batch, model.hidden_dim), model.embedding.new_zeros(batch, model.hidden_dim))
    out = []
    for t in range(tokens.shape[1]):
        logits, state = lstm_step(model, previous, state)
        out.append(torch.log_softmax(logits, dim=-1).gather(1, tokens[:, t, None]).squeeze(1))
        previous = tokens[:, t]
    return torch.stack(out, dim=1)


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


# ---------------------------------------------------------------------------------------------- D


def conv1d_logits(discriminator: Discriminator, tokens: torch.Tensor) -> torch.Tensor:
    """D's class logits ``[B, 2]`` through ``F.conv1d`` (float32, dropout as ``discriminator.training``).

    :param tokens: ``LongTensor[B, seq_len]``.
    """
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


# ---------------------------------------------------------------------------------------------- training


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

    MLE is ``weights = 1 / (B T)``; the reference code's generator loss is ``weights = Q``. The
    recurrence is torch's LSTM, as in the model: what differs is the output layer and its loss.
    """
    logits = generator.hidden_states(tokens) @ generator.w_out + generator.b_out
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
