"""The SeqGAN training callbacks, with REINFORCE and with SB3's PPO on the same adapted env."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from stable_baselines3 import PPO

from agents import REINFORCE
from agents.callbacks import DiscriminatorTrainingCallback, OracleNLLCallback, RolloutPolicySync, sample_sequences
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.sb3 import make_sb3_vec_env

V, T, B = 12, 6, 8  # V, T: the tiny fixtures of conftest.py
STEPS_PER_UPDATE = B * T


@pytest.fixture
def env(tiny_oracle: OracleLSTM):
    return make_sb3_vec_env(n_envs=B, n_rollouts=2, oracle=tiny_oracle, n_real=64)


def _reinforce(env) -> REINFORCE:
    # the paper's 32/32 generator, the shape of make_sb3_vec_env's default rollout policy
    return REINFORCE("LSTMGeneratorPolicy", env, seed=0, device="cpu")


def _ppo(env) -> PPO:
    return PPO("MlpPolicy", env, n_steps=T, batch_size=B * T, n_epochs=1, gamma=0.0, seed=0, device="cpu")


def _d_params(env) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in env.get_attr("discriminator")[0].parameters()])


def test_rollout_policy_sync_blends_beta_towards_theta(env) -> None:
    model = _reinforce(env)
    beta = env.get_attr("rollout_policy")[0]
    theta = model.policy.generator
    with torch.no_grad():  # start β and θ apart, so the blend is visible
        theta.w_out.add_(1.0)
    beta_before = copy.deepcopy(beta)
    sync = RolloutPolicySync(update_rate=0.8)
    model.learn(STEPS_PER_UPDATE, callback=sync)  # one update, then the sync at the end of training
    assert sync.n_updates_seen == 1
    for (name, b), b0, t in zip(beta.named_parameters(), beta_before.parameters(), theta.parameters(), strict=True):
        expected = t if name == "embedding" else 0.8 * b0 + 0.2 * t
        torch.testing.assert_close(b, expected, rtol=0, atol=1e-6)


def test_rollout_policy_sync_default_copies_theta(env) -> None:
    """Algorithm 1's β ← θ: after every update G_β equals G_θ exactly (the default)."""
    model = _reinforce(env)
    beta = env.get_attr("rollout_policy")[0]
    theta = model.policy.generator
    with torch.no_grad():  # start β and θ apart, so a missing copy is visible
        theta.w_out.add_(1.0)
    sync = RolloutPolicySync()
    assert sync.update_rate == 0.0
    for _ in range(2):
        model.learn(STEPS_PER_UPDATE, callback=sync, reset_num_timesteps=False)
        for b, t in zip(beta.state_dict().values(), theta.state_dict().values(), strict=True):
            assert torch.equal(b, t)


def test_sync_runs_once_per_update(env) -> None:
    sync = RolloutPolicySync()
    _reinforce(env).learn(3 * STEPS_PER_UPDATE, callback=sync)
    assert sync.n_updates_seen == 3


def test_discriminator_training_callback_trains_the_env_discriminator(env) -> None:
    before = _d_params(env)
    rounds = []
    callback = DiscriminatorTrainingCallback(d_steps=2, k_epochs=1, n_negatives=32, seed=0)
    original = callback.after_update
    callback.after_update = lambda: rounds.append(1) or original()  # type: ignore[method-assign]
    _reinforce(env).learn(2 * STEPS_PER_UPDATE, callback=callback)
    assert len(rounds) == 2 and math.isfinite(callback.last_loss)
    assert not torch.equal(before, _d_params(env))  # the very module the env scores with


def test_oracle_nll_callback_logs_the_metric(env, tiny_oracle: OracleLSTM) -> None:
    callback = OracleNLLCallback(eval_every=2, n_samples=200, n_held_out=100)
    model = _reinforce(env)
    model.learn(4 * STEPS_PER_UPDATE, callback=callback)
    assert [row[0] for row in callback.history] == [0, 2 * STEPS_PER_UPDATE, 4 * STEPS_PER_UPDATE]
    first = callback.history[0]
    samples = model.policy.generator.sample(200, generator=torch.Generator().manual_seed(0))
    assert all(math.isfinite(v) for row in callback.history for v in row[1:])
    assert callback.history[-1][1] == pytest.approx(float(tiny_oracle.nll(samples).mean()), rel=1e-6)
    assert first[2] != callback.history[-1][2]  # nll_test follows the training generator


def test_all_callbacks_together_with_reinforce(env) -> None:
    callbacks = [
        DiscriminatorTrainingCallback(d_steps=1, k_epochs=1, seed=0),
        RolloutPolicySync(),
        OracleNLLCallback(n_samples=64, n_held_out=64),
    ]
    _reinforce(env).learn(2 * STEPS_PER_UPDATE, callback=callbacks)
    assert [c.n_updates_seen for c in callbacks] == [2, 2, 2]
    assert len(callbacks[2].history) == 3


def test_callbacks_work_with_ppo(env) -> None:
    before = _d_params(env)
    generator = LSTMGenerator(V, T, generator=torch.Generator().manual_seed(1))
    d_callback = DiscriminatorTrainingCallback(d_steps=1, k_epochs=1, n_negatives=32, seed=0)
    nll_callback = OracleNLLCallback(n_samples=32, n_held_out=32)
    sync = RolloutPolicySync(generator=generator)  # an MLP policy has no LSTM G_θ: name one
    model = _ppo(env)
    model.learn(2 * B * T, callback=[d_callback, nll_callback, sync])
    assert d_callback.n_updates_seen == nll_callback.n_updates_seen == sync.n_updates_seen == 2
    assert not torch.equal(before, _d_params(env))
    assert all(math.isfinite(row[1]) and math.isnan(row[2]) for row in nll_callback.history)  # no G_θ: no NLL-test
    assert sample_sequences(model, 5).shape == (5, T)
    with pytest.raises(TypeError, match="generator"):
        _ppo(env).learn(B * T, callback=RolloutPolicySync())
    small = LSTMGenerator(V, T, emb_dim=8, hidden_dim=8)
    with pytest.raises(ValueError, match="architecture"):
        _ppo(env).learn(B * T, callback=RolloutPolicySync(generator=small))


def test_bad_arguments() -> None:
    bad = [
        ({"d_steps": 0}, "d_steps"),
        ({"k_epochs": -1}, "k_epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"n_negatives": 0}, "n_negatives"),
    ]
    for kwargs, name in bad:
        with pytest.raises(ValueError, match=name):
            DiscriminatorTrainingCallback(**kwargs)
    with pytest.raises(TypeError, match="d_steps"):
        DiscriminatorTrainingCallback(d_steps=2.5)  # type: ignore[arg-type]
    for rate in (1.0, -0.1, "0.8", True):
        with pytest.raises(ValueError, match="update_rate"):
            RolloutPolicySync(update_rate=rate)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rollout_policy"):
        RolloutPolicySync(rollout_policy="beta")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eval_every"):
        OracleNLLCallback(eval_every=0)
    with pytest.raises(ValueError, match="n_samples"):
        OracleNLLCallback(n_samples=0)
