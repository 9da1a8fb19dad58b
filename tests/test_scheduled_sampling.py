"""Scheduled Sampling: the schedules of Bengio et al., the loss on partly sampled inputs, the epoch."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch

from agents.experiment.config import PRESETS
from agents.pretraining import mle_epoch, mle_optimizer
from agents.sampling_schedule import SamplingSchedule
from agents.scheduled_sampling import scheduled_sampling_epoch, scheduled_sampling_loss
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM

V, T = 12, 6


def _generator(seed: int = 5) -> LSTMGenerator:
    return LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(seed))


def _grads(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters()]


def test_schedules_follow_bengio_et_al() -> None:
    inv = SamplingSchedule("inverse_sigmoid", k=10.0)
    assert inv.truth_prob(0) == pytest.approx(10 / 11)
    assert inv.truth_prob(30) == pytest.approx(10 / (10 + math.exp(3)))
    assert inv.truth_prob(10**6) == 0.0  # no overflow far along the schedule
    assert SamplingSchedule("exponential", k=0.9).truth_prob(3) == pytest.approx(0.729)
    linear = SamplingSchedule("linear", k=0.1, minimum=0.25)
    assert [linear.truth_prob(i) for i in (0, 5, 9)] == pytest.approx([1.0, 0.5, 0.25])
    assert SamplingSchedule("constant", k=0.3).truth_prob(7) == 0.3
    probs = [inv.truth_prob(i) for i in range(100)]
    assert all(a > b for a, b in itertools.pairwise(probs))  # decays


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_follows_the_papers_curriculum(preset: str) -> None:
    """SeqGAN's "Compared Baselines": the rate of true tokens falls by 0.002 every training epoch."""
    config = dataclasses.replace(PRESETS[preset], method="scheduled_sampling")
    schedule = config.schedule()
    expected = [1.0 - 0.002 * (i + 1) for i in range(config.adversarial_epochs)]
    assert [schedule.truth_prob(i) for i in range(config.adversarial_epochs)] == pytest.approx(expected, abs=1e-12)
    assert schedule.truth_prob(0) == pytest.approx(0.998) and schedule.truth_prob(49) == pytest.approx(0.9)
    assert SamplingSchedule().truth_prob(499) == 0.0 and SamplingSchedule().truth_prob(10**6) == 0.0  # floored


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "seqgan_paper", "k": 1.5}, "k must satisfy 0 < k <= 1"),
        ({"kind": "cosine"}, "kind must be one of"),
        ({"kind": "inverse_sigmoid", "k": 0.5}, "k must satisfy k >= 1"),
        ({"kind": "exponential", "k": 1.0}, "k must satisfy 0 < k < 1"),
        ({"kind": "linear", "k": -0.1}, "k must satisfy k > 0"),
        ({"kind": "constant", "k": float("nan")}, "k must be a finite number"),
        ({"minimum": 2}, r"minimum must be a number in \[0, 1\]"),
    ],
)
def test_bad_schedules(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SamplingSchedule(**kwargs)
    with pytest.raises((TypeError, ValueError), match="epoch"):
        SamplingSchedule().truth_prob(-1)


def test_truth_prob_one_is_the_mle_loss() -> None:
    tokens = torch.randint(0, V, (16, T), generator=torch.Generator().manual_seed(0))
    a, b = _generator(), _generator()
    scheduled_sampling_loss(a, tokens, 1.0).backward()
    mle = -a.log_prob(tokens).mean()  # value check on the same model
    b_loss = -b.log_prob(tokens).mean()
    b_loss.backward()
    assert float(scheduled_sampling_loss(a, tokens, 1.0).detach()) == pytest.approx(float(mle.detach()), rel=1e-6)
    for ga, gb in zip(_grads(a), _grads(b), strict=True):
        torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-6)


def test_truth_prob_zero_feeds_the_models_own_samples() -> None:
    """A generator that always samples token 3: with ε = 0 its inputs are start, 3, 3, ... whatever the data."""
    model = _generator()
    with torch.no_grad():
        model.b_out[3] = 25.0  # every sample is 3 (each other token has probability < e^-24)
    tokens = torch.randint(0, V, (8, T), generator=torch.Generator().manual_seed(1))
    loss = scheduled_sampling_loss(model, tokens, 0.0, torch.Generator().manual_seed(0))
    # The same loss by hand: the NLL of the data's tokens along the input path start, 3, 3, ...
    with torch.no_grad():
        state, inputs, nll = model.initial_state(8), model.start_tokens(8), []
        for t in range(T):
            logits, state = model.step(inputs, state)
            nll.append(-torch.log_softmax(logits, -1).gather(1, tokens[:, t : t + 1]).squeeze(1))
            inputs = torch.full((8,), 3)
        expected = torch.stack(nll, 1).mean()
    loss = loss.detach()
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    teacher_forced = float(-model.log_prob(tokens).mean().detach())
    assert abs(float(loss) - teacher_forced) > 1e-3  # not teacher forcing


def test_same_seed_same_loss_and_epoch_trains(tiny_oracle: OracleLSTM) -> None:
    real = tiny_oracle.sample(256, generator=torch.Generator().manual_seed(0))
    losses = [
        float(scheduled_sampling_loss(_generator(), real[:32], 0.5, torch.Generator().manual_seed(9)).detach())
        for _ in "ab"
    ]
    assert losses[0] == losses[1]
    model = _generator()
    optimizer = mle_optimizer(model)
    before = float(model.nll(real).mean())
    epochs = [
        scheduled_sampling_epoch(model, real, optimizer, 0.75, batch_size=32, random=torch.Generator())
        for _ in range(5)
    ]
    assert all(math.isfinite(e) for e in epochs)
    assert float(model.nll(real).mean()) < before - 0.1  # it learns the data


def test_epoch_with_truth_prob_one_is_an_mle_epoch(tiny_oracle: OracleLSTM) -> None:
    real = tiny_oracle.sample(128, generator=torch.Generator().manual_seed(0))
    a, b = _generator(), _generator()
    loss_a = scheduled_sampling_epoch(a, real, mle_optimizer(a), 1.0, batch_size=32)
    loss_b = mle_epoch(b, real, mle_optimizer(b), batch_size=32)
    assert loss_a == loss_b
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_bad_arguments(tiny_oracle: OracleLSTM) -> None:
    model = _generator()
    real = tiny_oracle.sample(64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"truth_prob must be a probability in \[0, 1\]"):
        scheduled_sampling_loss(model, real, 1.5)
    with pytest.raises(ValueError, match=r"truth_prob must be a probability in \[0, 1\]"):
        scheduled_sampling_epoch(model, real, mle_optimizer(model), True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="real_data must hold at least batch_size=128"):
        scheduled_sampling_epoch(model, real, mle_optimizer(model), 0.5, batch_size=128)
    with pytest.raises(TypeError, match="generator must be a TokenLSTM"):
        scheduled_sampling_epoch("G", real, mle_optimizer(model), 0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"random must be a torch\.Generator"):
        scheduled_sampling_loss(model, real, 0.5, random=7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tokens must hold token ids"):
        scheduled_sampling_loss(model, real + V, 0.5)
