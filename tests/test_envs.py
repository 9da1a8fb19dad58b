"""TokenGenerationEnv and TokenGenerationVectorEnv: spaces, rewards, episode ends, autoreset, seeding."""

from __future__ import annotations

import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from seqgan_gym import TokenGenerationEnv, TokenGenerationVectorEnv
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.envs import OracleBenchmark, SequenceGenerationEnv, SequenceGenerationVectorEnv
from seqgan_gym.oracle import OracleLSTM

V, T, N_REAL = 12, 6, 64


def _actions(rng: np.random.Generator, n_steps: int = T, num_envs: int | None = None) -> np.ndarray:
    shape = (n_steps,) if num_envs is None else (n_steps, num_envs)
    return rng.integers(0, V, size=shape, dtype=np.int64)


def _run_single(env: TokenGenerationEnv, actions: np.ndarray) -> tuple[list[float], np.ndarray]:
    env.reset()
    rewards = []
    obs = None
    for a in actions:
        obs, r, *_ = env.step(int(a))
        rewards.append(r)
    return rewards, obs


# --------------------------------------------------------------------------------------------
# Checkers
# --------------------------------------------------------------------------------------------


def test_gymnasium_env_checker_passes_on_single_env(tiny_env_kwargs: dict) -> None:
    gym_check_env(TokenGenerationEnv(**tiny_env_kwargs), skip_render_check=True)
    made = gym.make("SeqGAN-Oracle-v0", **tiny_env_kwargs)
    assert isinstance(made.unwrapped, TokenGenerationEnv)
    gym_check_env(made.unwrapped)


def test_sb3_env_checker_passes_on_single_env(tiny_env_kwargs: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 only warns (e.g. about a non-image integer Box)
        sb3_check_env(TokenGenerationEnv(**tiny_env_kwargs))
        sb3_check_env(gym.make("SeqGAN-Oracle-v0", **tiny_env_kwargs).unwrapped)


# --------------------------------------------------------------------------------------------
# The registered default (V=5000): built once for the module
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_envs() -> tuple[gym.Env, gym.vector.VectorEnv]:
    return gym.make("SeqGAN-Oracle-v0"), gym.make_vec(
        "SeqGAN-Oracle-v0", num_envs=64, vectorization_mode="vector_entry_point"
    )


def test_make_with_no_argument_builds_the_paper_benchmark(default_envs: tuple) -> None:
    env, _ = default_envs
    assert env.observation_space == spaces.Box(0, 5000, (20,), np.int64)
    assert env.action_space == spaces.Discrete(5000)
    base = env.unwrapped
    assert isinstance(base, TokenGenerationEnv)
    assert tuple(base.real_data.shape) == (10_000, 20)
    assert base.real_data.dtype == torch.long
    assert int(base.real_data.min()) >= 0 and int(base.real_data.max()) < 5000
    obs, _ = env.reset(seed=0)
    assert obs.shape == (20,) and np.all(obs == 5000)
    obs, reward, terminated, truncated, _ = env.step(17)
    assert obs[0] == 17 and np.all(obs[1:] == 5000)
    assert (reward, terminated, truncated) == (0.0, False, False)


def test_make_vec_with_no_argument_builds_the_paper_benchmark(default_envs: tuple) -> None:
    _, venv = default_envs
    assert isinstance(venv, TokenGenerationVectorEnv)
    assert venv.num_envs == 64
    assert venv.single_observation_space == spaces.Box(0, 5000, (20,), np.int64)
    assert venv.single_action_space == spaces.Discrete(5000)
    assert venv.observation_space == spaces.Box(0, 5000, (64, 20), np.int64)
    assert venv.action_space == spaces.MultiDiscrete([5000] * 64)
    assert tuple(venv.unwrapped.real_data.shape) == (10_000, 20)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (64, 20) and obs.dtype == np.int64 and np.all(obs == 5000)


def test_default_single_and_vector_envs_share_the_same_benchmark(default_envs: tuple) -> None:
    env, venv = default_envs
    assert torch.equal(env.unwrapped.real_data, venv.unwrapped.real_data)
    for p, q in zip(env.unwrapped.oracle.parameters(), venv.unwrapped.oracle.parameters(), strict=True):
        assert torch.equal(p, q)


# --------------------------------------------------------------------------------------------
# Single env
# --------------------------------------------------------------------------------------------


def test_single_env_observation_is_left_aligned_with_pad_value_v(tiny_env_kwargs: dict) -> None:
    env = TokenGenerationEnv(**tiny_env_kwargs)
    assert env.pad_token == V
    assert env.observation_space == spaces.Box(0, V, (T,), np.int64)
    assert env.action_space == spaces.Discrete(V)
    obs, info = env.reset(seed=1)
    assert obs.dtype == np.int64 and obs.shape == (T,)
    np.testing.assert_array_equal(obs, np.full(T, V))
    assert info == {}
    actions = [3, 0, 11, 5, 5, 1]
    for t, a in enumerate(actions, start=1):
        obs, *_ = env.step(a)
        assert obs.dtype == np.int64
        np.testing.assert_array_equal(obs[:t], actions[:t])
        np.testing.assert_array_equal(obs[t:], np.full(T - t, V))
        assert obs in env.observation_space


def test_single_env_rewards_termination_and_sequence(tiny_env_kwargs: dict) -> None:
    env = TokenGenerationEnv(**tiny_env_kwargs)
    env.reset(seed=0)
    actions = [1, 2, 3, 4, 5, 6]
    for t, a in enumerate(actions, start=1):
        obs, reward, terminated, truncated, info = env.step(np.int64(a))
        assert isinstance(reward, float)
        assert truncated is False
        if t < T:
            assert reward == 0.0
            assert terminated is False
            assert "sequence" not in info
        else:
            assert terminated is True
            expected = float(env.unwrapped.discriminator.prob_real(torch.tensor([actions]))[0])
            assert reward == expected
            assert 0.0 <= reward <= 1.0
            np.testing.assert_array_equal(info["sequence"], actions)
            np.testing.assert_array_equal(obs, actions)


def test_single_env_step_after_termination_raises_until_reset(tiny_env_kwargs: dict) -> None:
    env = TokenGenerationEnv(**tiny_env_kwargs)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    for _ in range(T):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, np.full(T, V))
    _, reward, terminated, *_ = env.step(0)
    assert (reward, terminated) == (0.0, False)


def test_single_env_accepts_numpy_and_torch_scalar_actions(tiny_env_kwargs: dict) -> None:
    env = TokenGenerationEnv(**tiny_env_kwargs)
    env.reset()
    for a in (np.int64(4), np.array(5), torch.tensor(6), np.int32(7)):
        obs, *_ = env.step(a)
    np.testing.assert_array_equal(obs[:4], [4, 5, 6, 7])


def test_single_env_render_ansi(tiny_env_kwargs: dict) -> None:
    env = TokenGenerationEnv(**tiny_env_kwargs, render_mode="ansi")
    env.reset()
    assert env.render() == "<empty>"
    env.step(3)
    env.step(10)
    text = env.render()
    assert isinstance(text, str) and text == "3 10"
    assert TokenGenerationEnv(**tiny_env_kwargs).render() is None


def test_make_passes_kwargs_and_exposes_benchmark(tiny_env_kwargs: dict) -> None:
    env = gym.make("SeqGAN-Oracle-v0", **tiny_env_kwargs)
    base = env.unwrapped
    assert base.oracle is tiny_env_kwargs["oracle"]
    assert base.discriminator is tiny_env_kwargs["discriminator"]
    assert tuple(base.real_data.shape) == (N_REAL, T)
    assert env.observation_space == spaces.Box(0, V, (T,), np.int64)


# --------------------------------------------------------------------------------------------
# Vector env
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_envs", [1, 5])
def test_vector_env_spaces_shapes_and_dtypes(tiny_env_kwargs: dict, num_envs: int) -> None:
    venv = TokenGenerationVectorEnv(num_envs=num_envs, **tiny_env_kwargs)
    assert venv.single_observation_space == spaces.Box(0, V, (T,), np.int64)
    assert venv.single_action_space == spaces.Discrete(V)
    assert venv.observation_space == spaces.Box(0, V, (num_envs, T), np.int64)
    assert venv.action_space == spaces.MultiDiscrete([V] * num_envs)
    obs, info = venv.reset(seed=0)
    assert obs.shape == (num_envs, T) and obs.dtype == np.int64
    assert np.all(obs == V) and obs in venv.observation_space
    assert isinstance(info, dict)
    actions = venv.action_space.sample()
    obs, rewards, terminated, truncated, _ = venv.step(actions)
    assert obs.shape == (num_envs, T) and obs.dtype == np.int64
    np.testing.assert_array_equal(obs[:, 0], actions)
    assert np.all(obs[:, 1:] == V)
    assert rewards.shape == (num_envs,) and rewards.dtype == np.float64
    assert terminated.shape == (num_envs,) and terminated.dtype == np.bool_
    assert truncated.shape == (num_envs,) and truncated.dtype == np.bool_
    assert not terminated.any() and not truncated.any() and np.all(rewards == 0.0)


def test_vector_env_next_step_autoreset(tiny_env_kwargs: dict) -> None:
    venv = TokenGenerationVectorEnv(num_envs=3, autoreset_mode=AutoresetMode.NEXT_STEP, **tiny_env_kwargs)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    rng = np.random.default_rng(0)
    acts = _actions(rng, num_envs=3)
    venv.reset(seed=0)
    for t in range(T):
        obs, rewards, terminated, truncated, infos = venv.step(acts[t])
        if t < T - 1:
            assert not terminated.any() and np.all(rewards == 0.0)
    final = acts.T
    np.testing.assert_array_equal(obs, final)  # step T returns the final observation
    assert terminated.all() and not truncated.any()
    np.testing.assert_array_equal(infos["sequence"], final)
    expected = venv.unwrapped.discriminator.prob_real(torch.from_numpy(final)).double().numpy()
    np.testing.assert_array_equal(rewards, expected)
    # The next step only resets: actions are ignored.
    obs, rewards, terminated, truncated, infos = venv.step(np.array([1, 2, 3]))
    np.testing.assert_array_equal(obs, np.full((3, T), V))
    assert np.all(rewards == 0.0) and not terminated.any() and not truncated.any()
    assert "sequence" not in infos
    # And the episode after it runs normally.
    obs, *_ = venv.step(np.array([4, 5, 6]))
    np.testing.assert_array_equal(obs[:, 0], [4, 5, 6])
    assert np.all(obs[:, 1:] == V)


@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, "SameStep"])
def test_vector_env_same_step_autoreset(tiny_env_kwargs: dict, mode: AutoresetMode | str) -> None:
    venv = TokenGenerationVectorEnv(num_envs=3, autoreset_mode=mode, **tiny_env_kwargs)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    rng = np.random.default_rng(1)
    for episode in range(2):
        acts = _actions(rng, num_envs=3)
        if episode == 0:
            venv.reset(seed=0)
        for t in range(T):
            obs, rewards, terminated, truncated, infos = venv.step(acts[t])
            if t < T - 1:
                np.testing.assert_array_equal(obs[:, : t + 1], acts[: t + 1].T)
                assert not terminated.any()
        final = acts.T
        np.testing.assert_array_equal(obs, np.full((3, T), V))  # already the reset observation
        assert terminated.all() and not truncated.any()
        np.testing.assert_array_equal(infos["final_obs"], final)
        assert infos["_final_obs"].all()
        np.testing.assert_array_equal(infos["final_info"]["sequence"], final)
        np.testing.assert_array_equal(infos["sequence"], final)
        expected = venv.unwrapped.discriminator.prob_real(torch.from_numpy(final)).double().numpy()
        np.testing.assert_array_equal(rewards, expected)


def test_vector_rewards_equal_single_env_rewards(tiny_env_kwargs: dict) -> None:
    single = TokenGenerationEnv(**tiny_env_kwargs)
    venv = TokenGenerationVectorEnv(num_envs=4, **tiny_env_kwargs)
    assert single.discriminator is venv.discriminator
    acts = _actions(np.random.default_rng(2), num_envs=4)
    venv.reset(seed=0)
    for t in range(T):
        _, vrewards, *_ = venv.step(acts[t])
    assert np.unique(vrewards).size > 1  # a real D tells these sequences apart
    for i in range(4):
        rewards, _ = _run_single(single, acts[:, i])
        assert rewards[:-1] == [0.0] * (T - 1)
        assert rewards[-1] == pytest.approx(vrewards[i], abs=1e-6)


def test_vector_env_same_seed_same_trajectory(tiny_env_kwargs: dict) -> None:
    def run(seed: int) -> tuple[list, list]:
        venv = TokenGenerationVectorEnv(num_envs=4, **tiny_env_kwargs)
        venv.reset(seed=seed)
        venv.action_space.seed(seed)
        observations, rewards = [], []
        for _ in range(2 * T + 1):
            obs, r, *_ = venv.step(venv.action_space.sample())
            observations.append(obs)
            rewards.append(r)
        return observations, rewards

    obs_a, rew_a = run(3)
    obs_b, rew_b = run(3)
    obs_c, _ = run(4)
    for a, b in zip(obs_a, obs_b, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(rew_a, rew_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(obs_a, obs_c, strict=True))


def test_vector_env_exposes_benchmark(tiny_env_kwargs: dict) -> None:
    venv = TokenGenerationVectorEnv(num_envs=2, **tiny_env_kwargs)
    base = venv.unwrapped
    assert base.oracle is tiny_env_kwargs["oracle"]
    assert base.discriminator is tiny_env_kwargs["discriminator"]
    assert tuple(base.real_data.shape) == (N_REAL, T)
    assert base.real_data.dtype == torch.long


def test_vector_env_render_ansi(tiny_env_kwargs: dict) -> None:
    venv = TokenGenerationVectorEnv(num_envs=2, render_mode="ansi", **tiny_env_kwargs)
    venv.reset()
    assert venv.render() == ("<empty>", "<empty>")
    venv.step(np.array([1, 2]))
    venv.step(np.array([3, 4]))
    assert venv.render() == ("1 3", "2 4")


@pytest.mark.parametrize("vector", [False, True])
def test_env_scores_with_the_very_discriminator_passed_in(tiny_env_kwargs: dict, vector: bool) -> None:
    disc = tiny_env_kwargs["discriminator"]
    acts = np.array([2, 7, 7, 1, 0, 9])

    def terminal_reward() -> float:
        if vector:
            venv = TokenGenerationVectorEnv(num_envs=1, **tiny_env_kwargs)
            venv.reset()
            for a in acts:
                _, r, *_ = venv.step(np.array([a]))
            return float(r[0])
        env = TokenGenerationEnv(**tiny_env_kwargs)
        env.reset()
        for a in acts:
            _, r, *_ = env.step(int(a))
        return r

    env = TokenGenerationVectorEnv(num_envs=1, **tiny_env_kwargs) if vector else TokenGenerationEnv(**tiny_env_kwargs)
    assert env.unwrapped.discriminator is disc
    before = terminal_reward()
    with torch.no_grad():
        disc.output.bias[1] += 5.0  # push D towards "real"
    after = terminal_reward()
    assert after > before
    assert after == pytest.approx(float(disc.prob_real(torch.from_numpy(acts[None]))[0]), abs=1e-6)


def test_real_data_depends_on_real_data_seed_only(tiny_oracle: OracleLSTM) -> None:
    a = TokenGenerationEnv(oracle=tiny_oracle, n_real=N_REAL, real_data_seed=5)
    b = TokenGenerationVectorEnv(num_envs=2, oracle=tiny_oracle, n_real=N_REAL, real_data_seed=5)
    c = TokenGenerationEnv(oracle=tiny_oracle, n_real=N_REAL, real_data_seed=6)
    assert torch.equal(a.real_data, b.real_data)
    assert not torch.equal(a.real_data, c.real_data)
    assert tuple(c.real_data.shape) == (N_REAL, T)


def test_default_discriminator_depends_on_discriminator_seed(tiny_oracle: OracleLSTM) -> None:
    torch.manual_seed(123)
    a = TokenGenerationEnv(oracle=tiny_oracle, n_real=8, discriminator_seed=1)
    torch.manual_seed(456)  # the global RNG must not matter
    b = TokenGenerationEnv(oracle=tiny_oracle, n_real=8, discriminator_seed=1)
    c = TokenGenerationEnv(oracle=tiny_oracle, n_real=8, discriminator_seed=2)
    assert isinstance(a.discriminator, Discriminator)
    assert (a.discriminator.vocab_size, a.discriminator.seq_len) == (V, T)
    sa, sb, sc = (env.discriminator.state_dict() for env in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_building_an_env_leaves_global_torch_rng_untouched(tiny_oracle: OracleLSTM) -> None:
    torch.manual_seed(99)
    expected = torch.rand(3)
    torch.manual_seed(99)
    TokenGenerationEnv(oracle=tiny_oracle, n_real=8)
    assert torch.equal(torch.rand(3), expected)


# --------------------------------------------------------------------------------------------
# One MDP over a benchmark: the oracle env is SequenceGenerationEnv over an OracleBenchmark
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", [False, True])
def test_generic_env_over_the_oracle_benchmark_matches_the_oracle_env(tiny_env_kwargs: dict, vector: bool) -> None:
    benchmark = OracleBenchmark.build(**tiny_env_kwargs)
    generic: gym.Env | gym.vector.VectorEnv
    if vector:
        generic = SequenceGenerationVectorEnv(num_envs=3, benchmark=benchmark)
        oracle_env = TokenGenerationVectorEnv(num_envs=3, **tiny_env_kwargs)
    else:
        generic, oracle_env = SequenceGenerationEnv(benchmark=benchmark), TokenGenerationEnv(**tiny_env_kwargs)
    assert isinstance(oracle_env, SequenceGenerationVectorEnv if vector else SequenceGenerationEnv)
    assert generic.observation_space == oracle_env.observation_space
    assert generic.action_space == oracle_env.action_space
    assert torch.equal(generic.real_data, oracle_env.real_data)
    assert oracle_env.oracle is tiny_env_kwargs["oracle"] and oracle_env.benchmark.oracle is oracle_env.oracle
    assert not hasattr(generic, "oracle")  # the generic env exposes only what every benchmark has
    generic.reset(seed=0)
    oracle_env.reset(seed=0)
    for a in _actions(np.random.default_rng(3), num_envs=3 if vector else None):
        action = a if vector else int(a)
        for x, y in zip(generic.step(action), oracle_env.step(action), strict=True):
            if isinstance(x, dict):
                assert sorted(x) == sorted(y)
                for key in x:
                    np.testing.assert_array_equal(x[key], y[key])
            else:
                np.testing.assert_array_equal(x, y)


@dataclass
class _PlainBenchmark:
    """A benchmark of one's own: any object with V, T, a scorer, real data and a decoder drives the env."""

    discriminator: Discriminator
    real_data: torch.Tensor
    vocab_size: int = V
    seq_len: int = T

    def decode(self, tokens: Sequence[int]) -> str:
        return "-".join(str(int(t)) for t in tokens)


def test_generic_env_runs_any_benchmark_and_refuses_what_is_not_one(tiny_discriminator: Discriminator) -> None:
    benchmark = _PlainBenchmark(tiny_discriminator, torch.zeros(2, T, dtype=torch.long))
    env = SequenceGenerationEnv(benchmark=benchmark, render_mode="ansi")
    env.reset(seed=0)
    for a in [1, 2, 3, 4, 5, 6]:
        _, reward, terminated, *_ = env.step(a)
    assert terminated and reward == float(tiny_discriminator.prob_real(torch.tensor([[1, 2, 3, 4, 5, 6]]))[0])
    assert env.render() == "1-2-3-4-5-6"
    venv = SequenceGenerationVectorEnv(num_envs=2, benchmark=benchmark)
    assert venv.observation_space == spaces.Box(0, V, (2, T), np.int64)
    with pytest.raises(AttributeError, match="has no oracle"):
        _ = env.oracle
    with pytest.raises(TypeError, match=r"benchmark must be .*lacks \['decode'\]"):
        SequenceGenerationEnv(benchmark=types.SimpleNamespace(vocab_size=V, seq_len=T, discriminator=None, real_data=0))
    with pytest.raises(TypeError, match="benchmark must be"):
        SequenceGenerationVectorEnv(num_envs=2, benchmark=object())
    with pytest.raises(TypeError, match="benchmark must be"):
        SequenceGenerationEnv()  # the generic env builds no benchmark of its own
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['n_real'\]"):
        SequenceGenerationEnv(n_real=8)


def test_oracle_env_takes_a_benchmark_already_built(tiny_env_kwargs: dict) -> None:
    benchmark = OracleBenchmark.build(**tiny_env_kwargs)
    env = TokenGenerationEnv(benchmark=benchmark)
    venv = gym.make_vec("SeqGAN-Oracle-v0", num_envs=2, vectorization_mode="vector_entry_point", benchmark=benchmark)
    assert env.benchmark is benchmark and venv.unwrapped.benchmark is benchmark
    assert env.oracle is tiny_env_kwargs["oracle"] and venv.unwrapped.oracle is env.oracle
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['n_real'\] beside benchmark="):
        TokenGenerationEnv(benchmark=benchmark, n_real=8)


def test_num_envs_is_bounded_and_checked_against_memory(tiny_env_kwargs: dict) -> None:
    """A typo in num_envs fails at once with the numbers, not after the batched spaces filled the memory."""
    with pytest.raises(ValueError, match=r"num_envs must be in \[1, 10000000\], got 1000000000"):
        TokenGenerationVectorEnv(num_envs=10**9, **tiny_env_kwargs)
    with pytest.raises(ValueError, match=r"num_envs=10000000 needs [\d,.]+ GiB, more than the"):
        TokenGenerationVectorEnv(num_envs=10**7, oracle=None, vocab_size=12, seq_len=10_000, n_real=16)
