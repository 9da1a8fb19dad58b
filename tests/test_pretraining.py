"""MLE pretraining of G and supervised training of D (the reference code's recipes)."""

from __future__ import annotations

import copy

import pytest
import torch

from agents.pretraining import (
    discriminator_optimizer,
    mle_epoch,
    mle_optimizer,
    mle_pretrain,
    pretrain_discriminator,
    train_discriminator,
)
from seqgan_gym import nll_test
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM

V, T = 12, 6  # the tiny fixtures of conftest.py


@pytest.fixture
def real(tiny_oracle: OracleLSTM) -> torch.Tensor:
    return tiny_oracle.sample(512, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def held_out(tiny_oracle: OracleLSTM) -> torch.Tensor:
    return tiny_oracle.sample(512, generator=torch.Generator().manual_seed(1))


def test_mle_pretraining_fits_the_real_data(tiny_generator: LSTMGenerator, real, held_out) -> None:
    before = nll_test(tiny_generator, held_out)
    seen = []
    losses = mle_pretrain(tiny_generator, real, epochs=15, on_epoch_end=lambda e, loss: seen.append((e, loss)))
    after = nll_test(tiny_generator, held_out)
    print(f"NLL-test before {before:.3f}, after 15 MLE epochs {after:.3f}")
    assert seen == list(enumerate(losses)) and len(losses) == 15
    assert losses[-1] < losses[0] - 0.3
    assert after < before - 0.3


def test_mle_epoch_loss_is_the_mean_token_nll_and_updates_in_data_order(tiny_generator: LSTMGenerator, real) -> None:
    batch = real[:64]
    expected = float(-tiny_generator.log_prob(batch).detach().mean())
    optimizer = torch.optim.SGD(tiny_generator.parameters(), lr=0.0)  # lr 0: the loss is the untouched model's
    assert mle_epoch(tiny_generator, real[:100], optimizer, batch_size=64) == pytest.approx(expected, rel=1e-6)


def test_mle_epoch_clips_the_global_gradient_norm(tiny_generator: LSTMGenerator, real) -> None:
    before = torch.cat([p.detach().flatten().clone() for p in tiny_generator.parameters()])
    lr, max_norm = 1.0, 0.01
    mle_epoch(tiny_generator, real[:64], torch.optim.SGD(tiny_generator.parameters(), lr=lr), 64, max_norm)
    after = torch.cat([p.detach().flatten() for p in tiny_generator.parameters()])
    step = float((after - before).norm())
    assert 0 < step <= lr * max_norm * (1 + 1e-4)  # an unclipped step would be far longer


def test_mle_is_reproducible(tiny_generator: LSTMGenerator, real) -> None:
    twin = copy.deepcopy(tiny_generator)
    assert mle_pretrain(tiny_generator, real, epochs=2) == mle_pretrain(twin, real, epochs=2)
    for a, b in zip(tiny_generator.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)


def test_discriminator_learns_to_tell_real_from_generated(tiny_oracle: OracleLSTM, real) -> None:
    torch.manual_seed(0)
    disc = Discriminator(V, T, emb_dim=16, filter_sizes=(1, 2, 3), num_filters=(16, 16, 16))
    fake = torch.randint(0, V, real.shape, generator=torch.Generator().manual_seed(2))  # uniform tokens
    gap_before = float(disc.prob_real(real).mean() - disc.prob_real(fake).mean())
    optimizer = discriminator_optimizer(disc, lr=1e-3)
    losses = [train_discriminator(disc, real, fake, optimizer, epochs=3, generator=torch.Generator().manual_seed(3))]
    losses += [train_discriminator(disc, real, fake, optimizer, epochs=3) for _ in range(4)]
    gap_after = float(disc.prob_real(real).mean() - disc.prob_real(fake).mean())
    print(f"mean D(real) - D(fake): before {gap_before:.3f}, after {gap_after:.3f}; losses {losses}")
    assert losses[-1] < losses[0]
    assert gap_after > gap_before + 0.2
    assert not disc.training  # left in eval mode


def test_discriminator_pretraining_is_reproducible(tiny_generator: LSTMGenerator, real) -> None:
    torch.manual_seed(0)
    disc_a = Discriminator(V, T, emb_dim=8, filter_sizes=(1, 2), num_filters=(4, 4))
    disc_b = copy.deepcopy(disc_a)
    rounds = []
    runs = []
    for d in (disc_a, disc_b):
        torch.manual_seed(4)  # dropout draws from torch's global stream
        runs.append(
            pretrain_discriminator(
                d,
                tiny_generator,
                real[:128],
                rounds=2,
                epochs=1,
                sample_generator=torch.Generator().manual_seed(9),
                on_round_end=lambda r, loss: rounds.append(r),
            )
        )
    assert runs[0] == runs[1] and len(runs[0]) == 2 and rounds == [0, 1, 0, 1]
    for a, b in zip(disc_a.parameters(), disc_b.parameters(), strict=True):
        assert torch.equal(a, b)


def test_bad_arguments(tiny_generator: LSTMGenerator, tiny_discriminator: Discriminator, real) -> None:
    optimizer = mle_optimizer(tiny_generator)
    with pytest.raises(ValueError, match="batch_size"):
        mle_epoch(tiny_generator, real, optimizer, batch_size=0)
    with pytest.raises(ValueError, match="real_data"):
        mle_epoch(tiny_generator, real[:10], optimizer, batch_size=64)
    with pytest.raises(ValueError, match="real_data"):
        mle_epoch(tiny_generator, torch.full((64, T), V), optimizer)
    with pytest.raises(ValueError, match="real_data"):
        mle_epoch(tiny_generator, real[:, :3], optimizer)
    with pytest.raises(ValueError, match="max_grad_norm"):
        mle_epoch(tiny_generator, real, optimizer, max_grad_norm=float("nan"))
    with pytest.raises(TypeError, match="generator"):
        mle_epoch(torch.nn.Linear(2, 2), real, optimizer)  # type: ignore[arg-type]
    for lr in (0, -1.0, float("inf"), "0.01"):
        with pytest.raises(ValueError, match="lr"):
            mle_optimizer(tiny_generator, lr)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs"):
        mle_pretrain(tiny_generator, real, epochs=-1)
    d_opt = discriminator_optimizer(tiny_discriminator)
    with pytest.raises(ValueError, match="fake"):
        train_discriminator(tiny_discriminator, real, real[:, :2], d_opt)
    with pytest.raises(ValueError, match="epochs"):
        train_discriminator(tiny_discriminator, real, real, d_opt, epochs=0)
    with pytest.raises(TypeError, match="discriminator"):
        train_discriminator(tiny_generator, real, real, d_opt)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rounds"):
        pretrain_discriminator(tiny_discriminator, tiny_generator, real, rounds=-2)
    with pytest.raises(TypeError, match="generator"):
        pretrain_discriminator(tiny_discriminator, "G", real)  # type: ignore[arg-type]
