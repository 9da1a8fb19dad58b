"""The SB3 adapter: same trajectories as the Gymnasium vector env, and SB3 algorithms run on it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecMonitor

from seqgan_gym import MonteCarloRewardWrapper, TokenGenerationVectorEnv
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.sb3 import SB3VecEnv, make_sb3_vec_env

V, T, B = 12, 6, 4  # the tiny fixtures of conftest.py


@pytest.fixture
def oracle(tiny_oracle: OracleLSTM) -> OracleLSTM:
    return tiny_oracle


@pytest.fixture
def rollout_policy(tiny_generator: LSTMGenerator) -> LSTMGenerator:
    return tiny_generator


def _actions(n_steps: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, V, size=(n_steps, B))


@pytest.mark.parametrize("n_rollouts", [None, 3])
def test_adapter_matches_the_gymnasium_vector_env(
    oracle: OracleLSTM, rollout_policy: LSTMGenerator, n_rollouts
) -> None:
    kwargs = {"oracle": oracle, "n_real": 32, "discriminator_seed": 1}
    policy_a, policy_b = rollout_policy, copy.deepcopy(rollout_policy)
    sb3_env = make_sb3_vec_env(n_envs=B, n_rollouts=n_rollouts, rollout_policy=policy_a, **kwargs)
    gym_env = TokenGenerationVectorEnv(num_envs=B, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
    if n_rollouts is not None:
        gym_env = MonteCarloRewardWrapper(gym_env, policy_b, n_rollouts=n_rollouts)

    sb3_env.seed(7)
    obs_a = sb3_env.reset()
    obs_b, _ = gym_env.reset(seed=7)
    np.testing.assert_array_equal(obs_a, obs_b)
    for step, actions in enumerate(_actions(3 * T)):  # three episodes, across two autoresets
        obs_a, rew_a, dones, infos = sb3_env.step(actions)
        obs_b, rew_b, terminated, truncated, infos_b = gym_env.step(actions)
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_allclose(rew_a, rew_b.astype(np.float32), rtol=0, atol=0)
        assert rew_a.dtype == np.float32 and dones.dtype == np.bool_ and len(infos) == B
        np.testing.assert_array_equal(dones, terminated | truncated)
        assert dones.all() == ((step + 1) % T == 0)
        if n_rollouts is not None:
            np.testing.assert_allclose([info["q_value"] for info in infos], rew_b)
        if dones.all():
            for i, info in enumerate(infos):
                np.testing.assert_array_equal(info["terminal_observation"], infos_b["final_obs"][i])
                assert info["TimeLimit.truncated"] is False
            np.testing.assert_array_equal(obs_a, np.full((B, T), V))  # already the next episode's start
        else:
            assert all("terminal_observation" not in info for info in infos)


def test_same_seed_same_rewards(oracle: OracleLSTM, rollout_policy: LSTMGenerator) -> None:
    env = make_sb3_vec_env(n_envs=B, n_rollouts=2, rollout_policy=rollout_policy, oracle=oracle, n_real=32)

    def run(seed: int) -> np.ndarray:
        env.seed(seed)
        env.reset()
        return np.stack([env.step(a)[1] for a in _actions(T)])

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_ppo_learns_and_evaluate_policy_runs_on_the_adapter(oracle: OracleLSTM) -> None:
    env = VecMonitor(make_sb3_vec_env(n_envs=B, n_rollouts=2, oracle=oracle, n_real=32))
    model = PPO("MlpPolicy", env, n_steps=2 * T, batch_size=2 * T, n_epochs=1, gamma=0.0, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=2 * 2 * T * B)
    assert model.num_timesteps == 2 * 2 * T * B
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))
    mean_reward, std_reward = evaluate_policy(model, env, n_eval_episodes=B)
    assert 0.0 <= mean_reward <= T  # the sum of T rewards, each a probability
    assert np.isfinite(std_reward)


def test_attributes_and_methods_reach_the_batched_env(oracle: OracleLSTM) -> None:
    env = make_sb3_vec_env(n_envs=B, n_rollouts=2, oracle=oracle, n_real=32)
    discriminators = env.get_attr("discriminator")
    assert len(discriminators) == B and all(d is env.unwrapped.venv.unwrapped.discriminator for d in discriminators)
    assert env.get_attr("n_rollouts", indices=[0, 2]) == [2, 2]
    assert env.has_attr("real_data") and not env.has_attr("no_such_attribute")
    env.set_attr("n_rollouts", 5)
    assert env.unwrapped.venv.n_rollouts == 5
    assert env.env_method("render") == [None] * B  # render_mode None renders nothing
    assert env.env_is_wrapped(MonteCarloRewardWrapper) == [False] * B  # the vector wrapper is its own class
    env.close()


def test_bad_arguments(oracle: OracleLSTM) -> None:
    with pytest.raises(ValueError, match="SAME_STEP"):
        SB3VecEnv(TokenGenerationVectorEnv(num_envs=B, oracle=oracle, n_real=8))  # NEXT_STEP by default
    with pytest.raises(TypeError, match="venv"):
        SB3VecEnv("SeqGAN-Oracle-v0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_envs"):
        make_sb3_vec_env(n_envs=0, oracle=oracle, n_real=8)
    with pytest.raises(TypeError, match="n_envs"):
        make_sb3_vec_env(n_envs=2.5, oracle=oracle, n_real=8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_rollouts"):
        make_sb3_vec_env(n_envs=B, n_rollouts=0, oracle=oracle, n_real=8)
    with pytest.raises(ValueError, match="autoreset_mode"):
        make_sb3_vec_env(n_envs=B, oracle=oracle, n_real=8, autoreset_mode="NextStep")
    with pytest.raises(ValueError, match="reward_mode"):
        make_sb3_vec_env(n_envs=B, oracle=oracle, n_real=8, reward_mode="difference")
