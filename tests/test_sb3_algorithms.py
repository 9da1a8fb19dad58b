"""Other RL algorithms on the same env, wrapper and callbacks: SB3's PPO and A2C, sb3-contrib's TRPO."""

from __future__ import annotations

import math

import pytest
import torch
from sb3_contrib import TRPO
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

from agents import REINFORCE, GeneratorPolicy, mle_pretrain
from agents.callbacks import DiscriminatorTrainingCallback, OracleNLLCallback, RolloutPolicySync
from agents.policies import GeneratorFeatures
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.sb3 import make_sb3_vec_env

V, T, B = 12, 6, 8  # V, T: the tiny fixtures of conftest.py
ALGORITHMS = {
    "PPO": lambda env, **kw: PPO(GeneratorPolicy, env, n_steps=T, batch_size=B * T, n_epochs=2, gamma=0.0, **kw),
    "A2C": lambda env, **kw: A2C(GeneratorPolicy, env, n_steps=T, gamma=0.0, **kw),
    "TRPO": lambda env, **kw: TRPO(GeneratorPolicy, env, n_steps=T, batch_size=B * T, gamma=0.0, **kw),
}


@pytest.fixture
def env(tiny_oracle: OracleLSTM):
    # the rollout policy is the paper's 32/32 generator, the shape of GeneratorPolicy's default G_θ
    return make_sb3_vec_env(n_envs=B, n_rollouts=2, oracle=tiny_oracle, n_real=64)


def _params(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_each_algorithm_learns_with_the_seqgan_callbacks(env, name: str) -> None:
    model = ALGORITHMS[name](env, seed=0, device="cpu")
    generator = model.policy.generator
    assert isinstance(generator, LSTMGenerator)
    theta_before = _params(generator)
    d_before = _params(env.get_attr("discriminator")[0])
    beta_before = _params(env.get_attr("rollout_policy")[0])
    d_train = DiscriminatorTrainingCallback(d_steps=1, k_epochs=1)
    sync = RolloutPolicySync()
    nll = OracleNLLCallback(n_samples=64, n_held_out=64)
    model.learn(3 * B * T, callback=[d_train, sync, nll])
    assert sync.n_updates_seen == 3 and d_train.n_updates_seen == 3 and nll.n_updates_seen == 3
    assert not torch.equal(_params(generator), theta_before)  # the actor is G_θ, and it moved
    assert not torch.equal(_params(env.get_attr("discriminator")[0]), d_before)
    assert not torch.equal(_params(env.get_attr("rollout_policy")[0]), beta_before)
    assert len(nll.history) >= 3 and all(math.isfinite(score) for _, score, _ in nll.history)


def test_the_actor_is_the_generator(env) -> None:
    model = ALGORITHMS["PPO"](env, seed=0, device="cpu")
    policy = model.policy
    gen = policy.generator
    assert policy.action_net.generator is gen and policy.pi_features_extractor.generator is gen
    assert policy.vf_features_extractor.generator is not gen  # the critic's LSTM is its own
    tokens = gen.sample(5, generator=torch.Generator().manual_seed(0))
    obs = torch.full((5, T), V)
    obs[:, :3] = tokens[:, :3]  # prefixes of length 3
    with torch.no_grad():
        logits = policy.get_distribution(obs.float()).distribution.logits
        state = gen.initial_state(5)
        inputs = gen.start_tokens(5)
        for k in range(4):
            step_logits, state = gen.step(inputs, state)
            inputs = obs[:, k]
    torch.testing.assert_close(logits, torch.log_softmax(step_logits, dim=1), rtol=0, atol=1e-5)
    # Every parameter is optimised once: G_θ's head is shared, not duplicated.
    optimised = [p for group in policy.optimizer.param_groups for p in group["params"]]
    assert len(optimised) == len({id(p) for p in optimised}) == len(list(policy.parameters()))


def test_mle_pretraining_moves_the_actor(env) -> None:
    model = ALGORITHMS["A2C"](env, seed=0, device="cpu")
    real = env.get_attr("real_data")[0]
    obs = torch.full((4, T), V).float()
    with torch.no_grad():
        before = model.policy.get_distribution(obs).distribution.logits.clone()
    mle_pretrain(model.policy.generator, real, epochs=2, batch_size=16)
    with torch.no_grad():
        after = model.policy.get_distribution(obs).distribution.logits
    assert not torch.allclose(before, after)


def test_critic_loss_does_not_move_the_generator(env) -> None:
    model = ALGORITHMS["PPO"](env, seed=0, device="cpu")
    obs = torch.full((4, T), V).float()
    values = model.policy.predict_values(obs)
    values.sum().backward()
    assert all(p.grad is None for p in model.policy.generator.parameters())


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_save_load_round_trips_predictions(env, tmp_path, name: str) -> None:
    model = ALGORITHMS[name](env, seed=0, device="cpu")
    model.learn(B * T)
    obs = env.reset()
    path = tmp_path / f"{name}.zip"
    model.save(path)
    loaded = type(model).load(path, env=env, device="cpu")
    assert isinstance(loaded.policy, GeneratorPolicy)
    for deterministic in (True, False):
        torch.manual_seed(3)
        a, _ = model.predict(obs, deterministic=deterministic)
        torch.manual_seed(3)
        b, _ = loaded.predict(obs, deterministic=deterministic)
        assert (a == b).all()
    for p, q in zip(model.policy.parameters(), loaded.policy.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("make", [lambda env: ALGORITHMS["PPO"](env, seed=0, device="cpu"), None])
def test_evaluate_policy_on_the_adapter(env, make) -> None:
    monitored = VecMonitor(env)
    model = make(monitored) if make else REINFORCE("LSTMGeneratorPolicy", monitored, seed=0, device="cpu")
    returns, lengths = evaluate_policy(model, monitored, n_eval_episodes=2 * B, return_episode_rewards=True)
    assert len(returns) == 2 * B and set(lengths) == {T}
    # Every episode's return is the sum of its T Monte Carlo rewards, each a D probability.
    assert all(0.0 <= r <= T for r in returns)


def test_learning_through_vec_normalize_and_vec_monitor(env) -> None:
    """SB3's VecEnv wrappers pass the callbacks' get_attr through to the adapter."""
    wrapped = VecMonitor(VecNormalize(env, norm_obs=False, norm_reward=True, gamma=0.99))
    model = ALGORITHMS["PPO"](wrapped, seed=0, device="cpu")
    d_train = DiscriminatorTrainingCallback(d_steps=1, k_epochs=1)
    model.learn(2 * B * T, callback=[d_train, RolloutPolicySync()])
    assert d_train.n_updates_seen == 2
    assert len(model.ep_info_buffer) == 2 * B  # VecMonitor saw every episode


def test_the_bare_env_with_gamma_one(tiny_oracle: OracleLSTM) -> None:
    """The terminal-reward baseline: no Monte Carlo rewards, γ = 1."""
    bare = make_sb3_vec_env(n_envs=B, n_rollouts=None, oracle=tiny_oracle, n_real=64)
    model = PPO(GeneratorPolicy, bare, n_steps=T, batch_size=B * T, n_epochs=1, gamma=1.0, seed=0, device="cpu")
    before = _params(model.policy.generator)
    model.learn(2 * B * T, callback=DiscriminatorTrainingCallback(d_steps=1, k_epochs=1))
    assert not torch.equal(_params(model.policy.generator), before)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"net_arch": {"pi": [64], "vf": [64]}}, "net_arch"),
        ({"net_arch": [64, 64]}, "net_arch"),
        ({"features_extractor_class": FlattenExtractor}, "features_extractor_class"),
    ],
)
def test_bad_policy_arguments_are_refused(env, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PPO(GeneratorPolicy, env, n_steps=T, batch_size=B * T, policy_kwargs=kwargs, device="cpu")


def test_generator_features_needs_a_token_prefix_space() -> None:
    from gymnasium import spaces

    with pytest.raises(ValueError, match="observation_space"):
        GeneratorFeatures(spaces.Box(0, 1, (2, 3)))
    with pytest.raises(ValueError, match="observation_space"):
        GeneratorFeatures(spaces.Box(0, 1, (6,)))  # V = 1: no vocabulary to generate from
