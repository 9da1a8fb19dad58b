"""MonteCarloRewardWrapper: the paper's Monte Carlo Q_t as per-step rewards, single and vector."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from seqgan_gym import (
    MonteCarloRewardVectorWrapper,
    MonteCarloRewardWrapper,
    TokenGenerationEnv,
    TokenGenerationVectorEnv,
)
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator, TokenLSTM
from seqgan_gym.oracle import OracleLSTM

V, T = 12, 6  # the tiny fixtures of conftest.py
C = 0.375  # exactly representable in float32, so a constant D gives exactly this Q
SMALL_V, SMALL_T = 4, 4  # small enough to enumerate every completion
N_EXACT = 4096


class CompleteSequenceDiscriminator(Discriminator):
    """A test double's base: scores completions by building the complete sequences.

    The doubles below define D through ``prob_real`` alone; the wrapper scores completions with
    ``prob_real_completions`` (which shares the prefix's convolutions in the real CNN, checked
    against ``prob_real`` in test_models.py), so route that through ``prob_real`` here.
    """

    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        n = suffix.shape[0] // prefix.shape[0]
        return self.prob_real(torch.cat([prefix.repeat_interleave(n, dim=0), suffix], dim=1))


class ConstantDiscriminator(CompleteSequenceDiscriminator):
    """A D that calls every sequence real with probability ``c``."""

    def __init__(self, vocab_size: int, seq_len: int, c: float = C) -> None:
        super().__init__(vocab_size, seq_len, emb_dim=2, filter_sizes=(1,), num_filters=(1,))
        self.c = c

    def prob_real(self, tokens: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        tokens = torch.as_tensor(tokens)
        assert tokens.shape[1] == self.seq_len
        assert int(tokens.min()) >= 0 and int(tokens.max()) < self.vocab_size
        return torch.full((tokens.shape[0],), self.c)


class FirstLastDiscriminator(CompleteSequenceDiscriminator):
    """D(Y) = scale[y_1] * value[y_T].

    For a prefix Y_{1:t} with t < T the first token is known and the last one comes from the
    rollout, so E[D | Y_{1:t}] = scale[y_1] * Σ_v P_β(y_T = v | Y_{1:t}) value[v] in closed form.
    The first-token factor makes the estimate depend on the prefix itself (a wrapper that paired a
    completion with another sub-env's prefix would be caught), not only on G_β's state.
    """

    def __init__(self) -> None:
        super().__init__(SMALL_V, SMALL_T, emb_dim=2, filter_sizes=(1,), num_filters=(1,))
        self.scale = torch.tensor(SCALE, dtype=torch.float64)
        self.values = torch.tensor(VALUES, dtype=torch.float64)

    def prob_real(self, tokens: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        tokens = torch.as_tensor(tokens)
        assert tokens.dim() == 2 and tokens.shape[1] == self.seq_len  # complete sequences only
        assert int(tokens.min()) >= 0 and int(tokens.max()) < self.vocab_size
        return (self.scale[tokens[:, 0]] * self.values[tokens[:, -1]]).float()


SCALE = [1.0, 0.45, 0.8, 0.25]
VALUES = [0.05, 0.9, 0.3, 0.65]


def _d(sequence: list[int]) -> float:
    return SCALE[sequence[0]] * VALUES[sequence[-1]]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def small_oracle() -> OracleLSTM:
    return OracleLSTM.seeded(seed=11, vocab_size=SMALL_V, seq_len=SMALL_T, emb_dim=4, hidden_dim=4)


@pytest.fixture
def small_policy() -> LSTMGenerator:
    # A large init_std makes the next-token distributions far from uniform and prefix-dependent.
    return LSTMGenerator(
        SMALL_V, SMALL_T, emb_dim=4, hidden_dim=4, init_std=1.5, generator=torch.Generator().manual_seed(2)
    )


@pytest.fixture
def small_env_kwargs(small_oracle: OracleLSTM) -> dict:
    return {"oracle": small_oracle, "discriminator": FirstLastDiscriminator(), "n_real": 16}


@pytest.fixture
def const_env_kwargs(tiny_oracle: OracleLSTM) -> dict:
    return {"oracle": tiny_oracle, "discriminator": ConstantDiscriminator(V, T), "n_real": 16}


# --------------------------------------------------------------------------------------------
# Exact expectation by enumeration
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def _last_token_distribution(policy: TokenLSTM, prefix: list[int]) -> torch.Tensor:
    """P_β(y_T = v | Y_{1:t}) for every v, by enumerating all completions of ``prefix``."""
    logits, state = policy.step(policy.start_tokens(1), policy.initial_state(1))
    for token in prefix:
        logits, state = policy.step(torch.tensor([token]), state)

    def recurse(logits: torch.Tensor, state: tuple, remaining: int) -> torch.Tensor:
        p = torch.softmax(logits[0].double(), dim=-1)
        if remaining == 1:
            return p
        total = torch.zeros(policy.vocab_size, dtype=torch.float64)
        for v in range(policy.vocab_size):
            next_logits, next_state = policy.step(torch.tensor([v]), state)
            total += p[v] * recurse(next_logits, next_state, remaining - 1)
        return total

    return recurse(logits, state, policy.seq_len - len(prefix))


def _exact_q(policy: TokenLSTM, prefix: list[int]) -> tuple[float, float]:
    """E[D] over completions of ``prefix`` and the Monte Carlo standard error with N_EXACT rollouts."""
    dist = _last_token_distribution(policy, prefix)
    values = SCALE[prefix[0]] * torch.tensor(VALUES, dtype=torch.float64)
    mean = float(dist @ values)
    var = max(float(dist @ values.square()) - mean**2, 0.0)
    return mean, math.sqrt(var / N_EXACT)


def _assert_close_to_exact(q: float, policy: TokenLSTM, prefix: list[int]) -> float:
    mean, se = _exact_q(policy, prefix)
    assert abs(q - mean) <= 5 * se + 1e-6, f"prefix {prefix}: Q={q}, exact {mean} (se {se})"
    return mean


def test_enumeration_helper_is_a_distribution_and_discriminates(small_policy: LSTMGenerator) -> None:
    # Guards the exactness tests below: the exact Q values must differ between prefixes by far more
    # than the Monte Carlo tolerance, or a wrong prefix (off by one token) could still pass.
    means, ses = [], []
    for prefix in ([0], [1], [2], [3], [0, 1], [3, 3], [1, 2, 0], [2, 0, 3]):
        dist = _last_token_distribution(small_policy, prefix)
        assert float(dist.sum()) == pytest.approx(1.0, abs=1e-9)
        mean, se = _exact_q(small_policy, prefix)
        means.append(mean)
        ses.append(se)
    assert max(means) - min(means) > 20 * max(ses)


# --------------------------------------------------------------------------------------------
# Dispatch and constant D
# --------------------------------------------------------------------------------------------


def test_wrapping_a_vector_env_returns_the_vector_wrapper(tiny_env_kwargs: dict, tiny_generator) -> None:
    venv = TokenGenerationVectorEnv(num_envs=2, **tiny_env_kwargs)
    wrapped = MonteCarloRewardWrapper(venv, tiny_generator, n_rollouts=2, reward_mode="q")
    assert isinstance(wrapped, MonteCarloRewardVectorWrapper)
    assert wrapped.num_envs == 2 and wrapped.n_rollouts == 2
    single = MonteCarloRewardWrapper(TokenGenerationEnv(**tiny_env_kwargs), tiny_generator, n_rollouts=2)
    assert type(single) is MonteCarloRewardWrapper
    made = MonteCarloRewardWrapper(gym.make("SeqGAN-Oracle-v0", **tiny_env_kwargs), tiny_generator, 2)
    assert type(made) is MonteCarloRewardWrapper


def test_constant_discriminator_gives_constant_q_single(const_env_kwargs: dict, tiny_generator) -> None:
    env = MonteCarloRewardWrapper(TokenGenerationEnv(**const_env_kwargs), tiny_generator, n_rollouts=8)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    for _episode in range(2):
        for t in range(1, T + 1):
            _, reward, terminated, truncated, info = env.step(int(rng.integers(V)))
            assert reward == C and info["q_value"] == C
            assert terminated == (t == T) and not truncated
        env.reset()


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_constant_discriminator_gives_constant_q_vector(const_env_kwargs: dict, tiny_generator, mode) -> None:
    venv = TokenGenerationVectorEnv(num_envs=3, autoreset_mode=mode, **const_env_kwargs)
    env = MonteCarloRewardWrapper(venv, tiny_generator, n_rollouts=8)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    n_episodes = 3
    for _episode in range(n_episodes):
        for t in range(1, T + 1):
            _, rewards, terminated, truncated, infos = env.step(rng.integers(0, V, size=3))
            assert rewards.shape == (3,) and rewards.dtype == np.float64
            np.testing.assert_array_equal(rewards, np.full(3, C))
            np.testing.assert_array_equal(infos["q_value"], np.full(3, C))
            assert infos["_q_value"].all()
            assert terminated.all() == (t == T) and not truncated.any()
        if mode == AutoresetMode.NEXT_STEP:  # the reset step: reward 0, nothing terminated
            obs, rewards, terminated, _, _ = env.step(rng.integers(0, V, size=3))
            np.testing.assert_array_equal(obs, np.full((3, T), V))
            assert np.all(rewards == 0.0) and not terminated.any()


# --------------------------------------------------------------------------------------------
# Exactness against enumeration
# --------------------------------------------------------------------------------------------


def test_single_wrapper_q_matches_exact_expectation(small_env_kwargs: dict, small_policy: LSTMGenerator) -> None:
    env = MonteCarloRewardWrapper(TokenGenerationEnv(**small_env_kwargs), small_policy, n_rollouts=N_EXACT)
    rng = np.random.default_rng(4)
    env.reset(seed=0)
    for _episode in range(3):
        prefix: list[int] = []
        for t in range(1, SMALL_T + 1):
            action = int(rng.integers(SMALL_V))
            prefix.append(action)
            _, reward, terminated, _, info = env.step(action)
            assert reward == info["q_value"]
            if t < SMALL_T:
                _assert_close_to_exact(reward, small_policy, prefix)
            else:
                assert terminated
                assert reward == pytest.approx(_d(prefix), abs=1e-7)  # Q_T = D(Y), no sampling
        env.reset()


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_wrapper_q_matches_exact_expectation(
    small_env_kwargs: dict, small_policy: LSTMGenerator, mode: AutoresetMode
) -> None:
    num_envs = 3
    venv = TokenGenerationVectorEnv(num_envs=num_envs, autoreset_mode=mode, **small_env_kwargs)
    env = MonteCarloRewardWrapper(venv, small_policy, n_rollouts=N_EXACT)
    rng = np.random.default_rng(5)
    env.reset(seed=1)
    for _episode in range(2):  # the second episode checks the wrapper restarts with the env
        actions = rng.integers(0, SMALL_V, size=(SMALL_T, num_envs))
        actions[0] = rng.permutation(SMALL_V)[:num_envs]  # distinct first tokens: distinct D scales
        for t in range(1, SMALL_T + 1):
            _, rewards, terminated, _, infos = env.step(actions[t - 1])
            np.testing.assert_array_equal(rewards, infos["q_value"])
            for i in range(num_envs):
                if t < SMALL_T:
                    _assert_close_to_exact(float(rewards[i]), small_policy, actions[:t, i].tolist())
                else:
                    assert rewards[i] == pytest.approx(_d(actions[:, i].tolist()), abs=1e-7)
            assert terminated.all() == (t == SMALL_T)
        if mode == AutoresetMode.NEXT_STEP:
            _, rewards, terminated, _, _ = env.step(np.zeros(num_envs, dtype=np.int64))
            assert np.all(rewards == 0.0) and not terminated.any()


# --------------------------------------------------------------------------------------------
# Q_T = D(Y)
# --------------------------------------------------------------------------------------------


def test_terminal_q_is_exactly_d_of_the_sequence_single(tiny_env_kwargs: dict, tiny_generator) -> None:
    disc = tiny_env_kwargs["discriminator"]
    actions = [4, 1, 1, 9, 0, 11]
    plain = TokenGenerationEnv(**tiny_env_kwargs)
    plain.reset()
    for a in actions:
        plain_reward = plain.step(a)[1]
    env = MonteCarloRewardWrapper(TokenGenerationEnv(**tiny_env_kwargs), tiny_generator, n_rollouts=4)
    env.reset(seed=3)
    for a in actions:
        obs, reward, terminated, _, info = env.step(a)
    assert terminated
    np.testing.assert_array_equal(info["sequence"], actions)
    np.testing.assert_array_equal(obs, actions)
    expected = float(disc.prob_real(torch.tensor([actions]))[0])
    assert reward == info["q_value"] == expected == plain_reward


def test_terminal_q_is_exactly_d_of_the_sequence_vector(tiny_env_kwargs: dict, tiny_generator) -> None:
    disc = tiny_env_kwargs["discriminator"]
    actions = np.random.default_rng(6).integers(0, V, size=(T, 4))
    plain = TokenGenerationVectorEnv(num_envs=4, **tiny_env_kwargs)
    plain.reset()
    for a in actions:
        _, plain_rewards, *_ = plain.step(a)
    env = MonteCarloRewardWrapper(TokenGenerationVectorEnv(num_envs=4, **tiny_env_kwargs), tiny_generator, 4)
    env.reset(seed=3)
    for a in actions:
        _, rewards, terminated, _, infos = env.step(a)
    assert terminated.all()
    expected = disc.prob_real(torch.from_numpy(actions.T.copy())).double().numpy()
    np.testing.assert_array_equal(rewards, expected)
    np.testing.assert_array_equal(infos["q_value"], expected)
    np.testing.assert_array_equal(rewards, plain_rewards)


# --------------------------------------------------------------------------------------------
# Seeding, live policy, causality
# --------------------------------------------------------------------------------------------


def _single_rewards(env_kwargs: dict, policy: TokenLSTM, actions: list[int], seed: int, n_episodes: int = 2) -> list:
    env = MonteCarloRewardWrapper(TokenGenerationEnv(**env_kwargs), policy, n_rollouts=4)
    env.reset(seed=seed)
    rewards = []
    for _ in range(n_episodes):
        for a in actions:
            rewards.append(env.step(a)[1])
        env.reset()
    return rewards


def _vector_rewards(env_kwargs: dict, policy: TokenLSTM, actions: np.ndarray, seed: int) -> np.ndarray:
    venv = TokenGenerationVectorEnv(num_envs=actions.shape[1], autoreset_mode="SameStep", **env_kwargs)
    env = MonteCarloRewardWrapper(venv, policy, n_rollouts=4)
    env.reset(seed=seed)
    rewards = [env.step(a)[1] for _ in range(2) for a in actions]
    return np.stack(rewards)


def test_same_seed_same_rewards_single(tiny_env_kwargs: dict, tiny_generator) -> None:
    actions = [3, 3, 7, 0, 2, 5]
    a = _single_rewards(tiny_env_kwargs, tiny_generator, actions, seed=10)
    b = _single_rewards(tiny_env_kwargs, tiny_generator, actions, seed=10)
    c = _single_rewards(tiny_env_kwargs, tiny_generator, actions, seed=11)
    assert a == b
    assert all(0.0 <= r <= 1.0 and math.isfinite(r) for r in a)
    non_terminal = [i for i in range(len(a)) if (i + 1) % T]
    assert any(a[i] != c[i] for i in non_terminal)
    assert a[T - 1] == c[T - 1]  # Q_T = D(Y) involves no sampling


def test_same_seed_same_rewards_vector(tiny_env_kwargs: dict, tiny_generator) -> None:
    actions = np.random.default_rng(7).integers(0, V, size=(T, 3))
    a = _vector_rewards(tiny_env_kwargs, tiny_generator, actions, seed=10)
    b = _vector_rewards(tiny_env_kwargs, tiny_generator, actions, seed=10)
    c = _vector_rewards(tiny_env_kwargs, tiny_generator, actions, seed=11)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a)) and np.all((a >= 0) & (a <= 1))
    assert not np.array_equal(a[: T - 1], c[: T - 1])
    np.testing.assert_array_equal(a[T - 1], c[T - 1])


def test_rollout_policy_is_read_live(small_env_kwargs: dict, small_policy: LSTMGenerator) -> None:
    target = 3
    actions = [0, 1, 2, 0]
    env = MonteCarloRewardWrapper(TokenGenerationEnv(**small_env_kwargs), small_policy, n_rollouts=512)
    env.reset(seed=0)
    q1 = env.step(actions[0])[1]
    assert abs(q1 - _d([0, target])) > 0.02  # before the update, token 3 is not certain
    with torch.no_grad():
        small_policy.b_out[target] += 60.0  # G_β now always ends with token 3
    for a in actions[1:-1]:
        q = env.step(a)[1]
        assert q == pytest.approx(_d([0, target]), abs=1e-3)
    assert env.step(actions[-1])[1] == pytest.approx(_d(actions), abs=1e-7)


def test_rollout_policy_is_read_live_vector(small_env_kwargs: dict, small_policy: LSTMGenerator) -> None:
    target = 1
    venv = TokenGenerationVectorEnv(num_envs=2, **small_env_kwargs)
    env = MonteCarloRewardWrapper(venv, small_policy, n_rollouts=512)
    env.reset(seed=0)
    q1 = env.step(np.array([0, 2]))[1]
    expected = np.array([_d([0, target]), _d([2, target])])
    assert np.all(np.abs(q1 - expected) > 0.02)
    with torch.no_grad():
        small_policy.b_out[target] += 60.0
    q2 = env.step(np.array([3, 3]))[1]
    np.testing.assert_allclose(q2, expected, atol=1e-3)


def test_q_is_causal_single(tiny_env_kwargs: dict, tiny_generator) -> None:
    shared = [5, 2, 8]
    a = _single_rewards(tiny_env_kwargs, tiny_generator, [*shared, 1, 1, 1], seed=4, n_episodes=1)
    b = _single_rewards(tiny_env_kwargs, tiny_generator, [*shared, 10, 0, 6], seed=4, n_episodes=1)
    assert a[: len(shared)] == b[: len(shared)]
    assert a[len(shared) :] != b[len(shared) :]


def test_q_is_causal_vector(tiny_env_kwargs: dict, tiny_generator) -> None:
    actions_a = np.random.default_rng(8).integers(0, V, size=(T, 3))
    actions_b = actions_a.copy()
    k = 2
    actions_b[k:] = (actions_a[k:] + 1) % V
    a = _vector_rewards(tiny_env_kwargs, tiny_generator, actions_a, seed=4)[:T]
    b = _vector_rewards(tiny_env_kwargs, tiny_generator, actions_b, seed=4)[:T]
    np.testing.assert_array_equal(a[:k], b[:k])
    assert not np.array_equal(a[k:], b[k:])


def test_gymnasium_sync_and_async_vector_envs_take_the_wrapper_per_sub_env(
    const_env_kwargs: dict, tiny_env_kwargs: dict
) -> None:
    """Gymnasium's own vector envs hold separate envs: the refusal says so, and ``wrappers=`` is the way."""
    import functools

    bare = gym.make_vec("SeqGAN-Oracle-v0", num_envs=2, vectorization_mode="sync", **const_env_kwargs)
    with pytest.raises(TypeError, match=r"SyncVectorEnv, whose sub-envs are separate envs: wrap each one.*wrappers="):
        MonteCarloRewardWrapper(bare, n_rollouts=2)
    wrap = [functools.partial(MonteCarloRewardWrapper, n_rollouts=4)]
    env = gym.make_vec("SeqGAN-Oracle-v0", 2, vectorization_mode="sync", wrappers=wrap, **const_env_kwargs)
    env.reset(seed=0)
    for t in range(1, T + 1):
        _, rewards, terminated, _, infos = env.step(np.array([t % V, (2 * t) % V]))
        assert rewards.tolist() == [C, C] and infos["q_value"].tolist() == [C, C]  # Q_t at every step
        assert terminated.tolist() == [t == T] * 2
    kwargs = {k: v for k, v in tiny_env_kwargs.items() if k != "discriminator"}  # each worker builds its own D
    env = gym.make_vec("SeqGAN-Oracle-v0", 2, vectorization_mode="async", wrappers=wrap, **kwargs)
    try:
        env.reset(seed=0)
        steps = [env.step(np.array([1, 2])) for _ in range(T)]
        rewards = np.array([step[1] for step in steps])
        assert rewards.shape == (T, 2) and ((rewards > 0) & (rewards < 1)).all()
        assert all(np.allclose(step[4]["q_value"], step[1]) for step in steps)
    finally:
        env.close()


@pytest.mark.parametrize("vector", [False, True])
def test_an_evaluation_env_s_rewards_pass_through(vector: bool) -> None:
    """terminal_reward="oracle_log_likelihood": the return is (1/T) log G_oracle(Y), with or without the wrapper.

    RL Zoo wraps its evaluation env like its training env; rollouts scored by the oracle would add
    the Q_t of a G_β that never trains to the number the evaluation reads.
    """
    sizes = {"vocab_size": V, "seq_len": T, "n_real": 16, "terminal_reward": "oracle_log_likelihood"}
    make = (
        (lambda: gym.make_vec("SeqGAN-Oracle-v0", num_envs=3, **sizes))
        if vector
        else (lambda: gym.make("SeqGAN-Oracle-v0", **sizes))
    )
    bare, wrapped = make(), MonteCarloRewardWrapper(make(), n_rollouts=4)
    assert wrapped.passes_rewards_through
    actions = np.random.default_rng(0).integers(0, V, size=(T, 3) if vector else T)
    returns = []
    for env in (bare, wrapped):
        env.reset(seed=1)
        rewards = [env.step(a)[1] for a in actions]
        returns.append(np.asarray(rewards, dtype=np.float64))
    np.testing.assert_array_equal(returns[0], returns[1])
    tokens = torch.as_tensor(actions.T if vector else actions[None], dtype=torch.long)
    expected = bare.unwrapped.oracle.log_prob(tokens).mean(dim=1).double().numpy()
    assert np.all(returns[1][:-1] == 0)
    np.testing.assert_allclose(returns[1][-1], expected if vector else expected[0], rtol=1e-6)
