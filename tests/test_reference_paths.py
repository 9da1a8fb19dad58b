"""Our optimised paths against the plain definitions and references the benchmarks time them against.

``seqgan_gym/reference.py`` defines G and D plainly and computes each unit the reference code's
way; here both give the same results: the same scores and losses within float32 rounding (stated
per test), Monte Carlo rewards within Monte Carlo error (the samplers differ, so the draws cannot
be the same).
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import torch

from agents.pretraining import mle_epoch, mle_optimizer, train_discriminator
from seqgan_gym import reference
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.rollout import MonteCarloQEstimator

V, T = 12, 6


def _tokens(n: int, seed: int, length: int = T) -> torch.Tensor:
    return torch.randint(0, V, (n, length), generator=torch.Generator().manual_seed(seed))


def _discriminator(precision: str = "float32", keep: float = 0.75) -> Discriminator:
    torch.manual_seed(0)
    return Discriminator(
        V,
        T,
        emb_dim=8,
        filter_sizes=(1, 2, 3, 6),
        num_filters=(5, 4, 3, 2),
        dropout_keep_prob=keep,
        precision=precision,
    )


def test_the_plain_lstm_is_the_generator() -> None:
    """``reference.lstm_step`` (gate by gate) and ``reference.log_prob`` are what TokenLSTM computes."""
    generator = LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, init_std=0.5, generator=torch.Generator().manual_seed(1))
    tokens = _tokens(9, 2)
    state = (torch.randn(9, 8, generator=torch.Generator().manual_seed(3)), torch.randn(9, 8))
    with torch.no_grad():
        plain_logits, (plain_h, plain_c) = reference.lstm_step(generator, tokens[:, 0], state)
        logits, (h, c) = generator.step(tokens[:, 0], state)
    torch.testing.assert_close(logits, plain_logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(h, plain_h, rtol=0, atol=1e-6)
    torch.testing.assert_close(c, plain_c, rtol=0, atol=1e-6)
    plain = reference.log_prob(generator, tokens)
    ours = generator.log_prob(tokens)
    torch.testing.assert_close(ours, plain, rtol=0, atol=1e-5)
    grads = torch.autograd.grad(ours.sum(), list(generator.parameters()))
    plain_grads = torch.autograd.grad(plain.sum(), list(generator.parameters()))
    for got, want in zip(grads, plain_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_the_plain_discriminator_is_the_discriminator() -> None:
    """``reference.conv1d_logits`` (``F.conv1d``, float32) is what ``Discriminator.forward`` computes."""
    disc = _discriminator()
    disc.eval()
    tokens = _tokens(50, 12)
    torch.testing.assert_close(disc(tokens), reference.conv1d_logits(disc, tokens), rtol=0, atol=1e-5)


def test_the_benchmarks_reference_module_is_the_package_one() -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "reference.py"
    spec = importlib.util.spec_from_file_location("benchmarks_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in module.__all__:
        assert getattr(module, name) is getattr(reference, name), name


def test_scoring_equals_conv1d_in_batches_of_64() -> None:
    disc = _discriminator()
    tokens = _tokens(200, 1)
    expected = reference.conv1d_prob_real(disc, tokens)
    torch.testing.assert_close(disc.prob_real(tokens), expected, rtol=0, atol=1e-6)
    prefix, suffix = tokens[:10, :2], _tokens(10 * 7, 2, length=T - 2)
    whole = torch.cat([prefix.repeat_interleave(7, 0), suffix], dim=1)
    torch.testing.assert_close(
        disc.prob_real_completions(prefix, suffix), reference.conv1d_prob_real(disc, whole), rtol=0, atol=1e-6
    )
    disc.precision = "bfloat16"
    assert (disc.prob_real(tokens) - expected).abs().max() <= 1e-2


def test_monte_carlo_rewards_agree_with_re_encoded_multinomial_rollouts() -> None:
    # Both estimate the same Q_t; with 4,000 completions each, they must agree within a few
    # standard errors (D's scores lie in [0, 1]: standard error <= 0.5 / sqrt(4000) = 0.008).
    disc = _discriminator()
    with torch.no_grad():
        disc.output.weight.mul_(10.0)  # a more decided D: its scores spread over [0, 1], so Q_t differs by prefix
    rollout_policy = LSTMGenerator(
        V, T, emb_dim=8, hidden_dim=8, init_std=1.0, generator=torch.Generator().manual_seed(2)
    )
    sequences = _tokens(3, 3)
    n = 4000
    # With one rollout per row, n copies of each sequence, averaged, give the reference's n-rollout
    # estimate in one batched pass instead of n Python passes.
    expected = (
        reference.rollout_rewards(rollout_policy, disc, sequences.repeat(n, 1), 1, torch.Generator().manual_seed(4))
        .view(n, 3, T)
        .mean(dim=0)
    )
    estimator = MonteCarloQEstimator(rollout_policy, disc, n_rollouts=n)
    estimator.reset(3)
    stream = torch.Generator().manual_seed(5)
    ours = torch.stack([estimator.advance(sequences[:, t], stream) for t in range(T - 1)], dim=1)
    torch.testing.assert_close(ours, expected[:, : T - 1], rtol=0, atol=0.04)
    assert (ours - expected[:, : T - 1]).abs().mean() < 0.015
    # Q_T = D(Y): the reference averages 4,000 equal float32 scores, hence 1e-4.
    torch.testing.assert_close(disc.prob_real(sequences), expected[:, T - 1], rtol=0, atol=1e-4)
    assert expected[:, : T - 1].std() > 0.05  # the Q-values do vary: the comparison has something to check


def test_fused_training_loss_and_mle_epoch_equal_the_plain_loss() -> None:
    generator = LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(6))
    data = _tokens(64 * 4, 7)
    weights = torch.rand(64, T, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(
        generator.weighted_nll(data[:64], weights), reference.plain_weighted_nll(generator, data[:64], weights)
    )
    plain = copy.deepcopy(generator)
    mle_epoch(generator, data, mle_optimizer(generator))
    reference.plain_mle_epoch(plain, data, torch.optim.Adam(plain.parameters(), lr=0.01))
    for ours, theirs in zip(generator.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)  # fused and plain Adam: float32 rounding


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_discriminator_epoch_equals_conv1d_training(precision: str) -> None:
    # keep probability 1: dropout draws nothing, so the two epochs see exactly the same batches.
    disc = _discriminator(precision, keep=1.0)
    plain = copy.deepcopy(disc)
    plain.precision = "float32"
    real, fake = _tokens(96, 9), _tokens(96, 10)
    ours = train_discriminator(
        disc,
        real,
        fake,
        torch.optim.Adam(disc.parameters(), lr=1e-3),
        epochs=1,
        generator=torch.Generator().manual_seed(11),
    )
    tokens, labels = (
        torch.cat([real, fake]),
        torch.cat([torch.ones(96, dtype=torch.long), torch.zeros(96, dtype=torch.long)]),
    )
    order = torch.randperm(192, generator=torch.Generator().manual_seed(11))
    losses = reference.conv1d_discriminator_epoch(
        plain, tokens, labels, torch.optim.Adam(plain.parameters(), lr=1e-3), order
    )
    # bfloat16 products (~3 significant digits): measured 1.2e-5 on the loss, 1.4e-4 on D, whose scores
    # here spread 0.06 around 0.5.
    loss_tolerance, score_tolerance = (1e-5, 1e-5) if precision == "float32" else (1e-3, 5e-3)
    assert ours == pytest.approx(sum(losses) / len(losses), abs=loss_tolerance)
    torch.testing.assert_close(disc.prob_real(real), plain.prob_real(real), rtol=0, atol=score_tolerance)
