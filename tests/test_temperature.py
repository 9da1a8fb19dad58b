"""Sampling at a temperature τ: every sampler of the LSTM draws from softmax(logits / τ), exactly."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from helpers import chi2_critical, chi2_statistic

from seqgan_gym.generator import LSTMGenerator

V, T = 6, 2


@pytest.fixture
def spread_generator() -> LSTMGenerator:
    """A tiny G whose next-token distributions are far from uniform (so τ changes them visibly)."""
    return LSTMGenerator(V, T, emb_dim=4, hidden_dim=4, init_std=1.0, generator=torch.Generator().manual_seed(11))


def _exact_joint(gen: LSTMGenerator, temperature: float) -> torch.Tensor:
    """``P(y1, y2)`` at τ for all V² sequences, in float64, from plain softmaxes of the step logits."""
    with torch.no_grad():
        logits1, state = gen.step(gen.start_tokens(V), gen.initial_state(V))  # V identical rows
        logits2, _ = gen.step(torch.arange(V), state)  # row y1: logits of y2 after y1
    p1 = torch.softmax(logits1[0].double() / temperature, dim=0)
    p2 = torch.softmax(logits2.double() / temperature, dim=1)
    return (p1[:, None] * p2).flatten()  # index y1 * V + y2


def _counts(tokens: torch.Tensor) -> torch.Tensor:
    return torch.bincount(tokens[:, 0] * V + tokens[:, 1], minlength=V * V)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 1.7])
def test_samples_follow_the_tempered_softmax(spread_generator: LSTMGenerator, temperature: float) -> None:
    n = 120_000
    exact = _exact_joint(spread_generator, temperature)
    tokens = spread_generator.sample(n, generator=torch.Generator().manual_seed(1), temperature=temperature)
    stat, df = chi2_statistic(_counts(tokens), exact, n)
    assert df >= 5
    # Fixed seed, so deterministic; a correct sampler fails this with probability about 1e-6.
    assert stat < chi2_critical(df), (stat, df)


def test_temperature_changes_the_distribution_the_test_can_see(spread_generator: LSTMGenerator) -> None:
    """The chi-square test above would catch a sampler that ignored τ."""
    n = 120_000
    tokens = spread_generator.sample(n, generator=torch.Generator().manual_seed(1), temperature=0.5)
    stat, df = chi2_statistic(_counts(tokens), _exact_joint(spread_generator, 1.0), n)
    assert stat > 10 * chi2_critical(df)


@pytest.mark.parametrize("temperature", [0.5, 1.7])
def test_complete_draws_from_the_same_tempered_distribution(
    spread_generator: LSTMGenerator, temperature: float
) -> None:
    gen = spread_generator
    n = 120_000
    with torch.no_grad():
        logits, state = gen.step(gen.start_tokens(n // 8), gen.initial_state(n // 8))
    tokens = gen.complete(
        logits, state, T, torch.Generator().manual_seed(2), completions_per_row=8, temperature=temperature
    )
    stat, df = chi2_statistic(_counts(tokens), _exact_joint(gen, temperature), n)
    assert stat < chi2_critical(df), (stat, df)
    # From the start state, completing is sampling: the same stream gives the same sequences.
    with torch.no_grad():
        logits, state = gen.step(gen.start_tokens(50), gen.initial_state(50))
    rolled = gen.complete(logits, state, T, torch.Generator().manual_seed(3), temperature=temperature)
    sampled = gen.sample(50, generator=torch.Generator().manual_seed(3), temperature=temperature)
    assert torch.equal(rolled, sampled)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 1.7])
def test_log_prob_and_nll_score_the_tempered_distribution(spread_generator: LSTMGenerator, temperature: float) -> None:
    gen = spread_generator
    every_sequence = torch.tensor(list(itertools.product(range(V), repeat=T)))
    with torch.no_grad():
        log_prob = gen.log_prob(every_sequence, temperature=temperature).double()
        nll = gen.nll(every_sequence, temperature=temperature).double()
    exact = _exact_joint(gen, temperature)
    torch.testing.assert_close(log_prob.sum(dim=1).exp(), exact, rtol=1e-5, atol=1e-7)
    assert math.isclose(float(log_prob.sum(dim=1).exp().sum()), 1.0, rel_tol=1e-5)
    torch.testing.assert_close(nll, -log_prob.mean(dim=1), rtol=1e-5, atol=1e-6)


def test_log_prob_at_a_temperature_is_differentiable(spread_generator: LSTMGenerator) -> None:
    tokens = torch.tensor([[1, 2], [3, 4]])
    spread_generator.log_prob(tokens, temperature=0.7).sum().backward()
    assert spread_generator.w_out.grad is not None and torch.isfinite(spread_generator.w_out.grad).all()


def test_temperature_one_is_the_model_itself(spread_generator: LSTMGenerator) -> None:
    gen = spread_generator
    default = gen.sample(200, generator=torch.Generator().manual_seed(4))
    at_one = gen.sample(200, generator=torch.Generator().manual_seed(4), temperature=1.0)
    assert torch.equal(default, at_one)
    assert torch.equal(gen.nll(default), gen.nll(default, temperature=1.0))


def test_a_very_low_temperature_is_greedy_without_overflow(spread_generator: LSTMGenerator) -> None:
    gen = spread_generator
    tokens = gen.sample(2000, generator=torch.Generator().manual_seed(5), temperature=1e-3)
    with torch.no_grad():
        logits, _ = gen.step(gen.start_tokens(1), gen.initial_state(1))
    assert torch.all(tokens[:, 0] == logits.argmax())
    assert torch.isfinite(gen.nll(tokens, temperature=1e-3)).all()


@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), float("inf"), "1", True, None])
def test_bad_temperature_is_refused_by_name(spread_generator: LSTMGenerator, bad: object) -> None:
    gen = spread_generator
    with torch.no_grad():
        logits, state = gen.step(gen.start_tokens(2), gen.initial_state(2))
    calls = [
        lambda: gen.sample(3, temperature=bad),
        lambda: gen.nll(torch.zeros(2, T, dtype=torch.long), temperature=bad),
        lambda: gen.log_prob(torch.zeros(2, T, dtype=torch.long), temperature=bad),
        lambda: gen.complete(logits, state, 1, temperature=bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="temperature"):
            call()
