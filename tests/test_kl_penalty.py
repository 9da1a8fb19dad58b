"""The KL penalty to a reference policy (seqgan_gym.rewards.kl_penalty) and its place in the Monte Carlo wrappers.

Checked against teacher-forced log-probabilities computed independently (``TokenLSTM.log_prob``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqgan_gym import MonteCarloRewardWrapper, TokenGenerationEnv, TokenGenerationVectorEnv
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.rewards.kl_penalty import KLPenalty

V, T = 12, 6  # the tiny fixtures of conftest.py


def _generator(seed: int) -> LSTMGenerator:
    return LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(seed))


def _expected(policy: LSTMGenerator, reference: LSTMGenerator, tokens: torch.Tensor, coef: float) -> np.ndarray:
    """coef * (log π(y_t | Y_{1:t-1}) - log π_ref(y_t | Y_{1:t-1})), ``[B, T]``, by teacher forcing."""
    with torch.no_grad():
        return coef * (policy.log_prob(tokens) - reference.log_prob(tokens)).double().numpy()


def test_the_penalty_is_the_log_ratio_of_each_token() -> None:
    policy, reference = _generator(1), _generator(2)
    tokens = torch.randint(0, V, (5, T), generator=torch.Generator().manual_seed(0))
    penalty = KLPenalty(policy, 0.3, reference)
    penalty.reset(5)
    got = np.stack([penalty.advance(tokens[:, t]).numpy() for t in range(T)], axis=1)
    np.testing.assert_allclose(got, _expected(policy, reference, tokens, 0.3), rtol=1e-5, atol=1e-6)
    same = KLPenalty(policy, 0.3, policy)  # the start of RL training: π = π_ref, no penalty
    same.reset(5)
    assert all(torch.equal(same.advance(tokens[:, t]), torch.zeros(5, dtype=torch.float64)) for t in range(T))


def test_the_reference_is_a_frozen_copy() -> None:
    policy, other = _generator(1), _generator(2)
    penalty = KLPenalty(policy, 1.0, policy)
    policy.load_state_dict(other.state_dict())  # π moves; π_ref stays where it was
    assert penalty.reference is not policy
    assert not any(p.requires_grad for p in penalty.reference.parameters())
    assert not torch.equal(penalty.reference.w_out, policy.w_out)


def test_its_mean_over_the_policy_s_own_samples_is_the_kl() -> None:
    """E_{y ~ π}[log π(y) - log π_ref(y)] = KL(π || π_ref) >= 0, per token: a sample estimate of it."""
    policy, reference = _generator(1), _generator(2)
    tokens = policy.sample(4000, generator=torch.Generator().manual_seed(3))
    penalty = KLPenalty(policy, 1.0, reference)
    penalty.reset(4000)
    first = penalty.advance(tokens[:, 0])
    with torch.no_grad():  # the exact KL of the first token's two distributions
        p = torch.log_softmax(policy.step(policy.start_tokens(1), policy.initial_state(1))[0], -1)[0]
        q = torch.log_softmax(reference.step(reference.start_tokens(1), reference.initial_state(1))[0], -1)[0]
        kl = float((p.exp() * (p - q)).sum())
    assert kl > 0
    assert abs(float(first.mean()) - kl) < 4 * float(first.std()) / np.sqrt(4000)


@pytest.mark.parametrize("vector", [False, True])
def test_the_wrappers_subtract_it_from_q_and_freeze_g_beta_at_the_first_step(tiny_env_kwargs, vector) -> None:
    start, later = _generator(1), _generator(2)
    n = 3 if vector else 1

    def wrapped(kl_coef: float) -> MonteCarloRewardWrapper:
        env = (
            TokenGenerationVectorEnv(num_envs=n, **tiny_env_kwargs) if vector else TokenGenerationEnv(**tiny_env_kwargs)
        )
        g_beta = _generator(1)
        return MonteCarloRewardWrapper(env, g_beta, n_rollouts=2, kl_coef=kl_coef)

    plain, penalised = wrapped(0.0), wrapped(0.5)
    assert plain.kl_penalty is None and penalised.kl_penalty is not None
    actions = torch.randint(0, V, (2, T, n), generator=torch.Generator().manual_seed(4))
    for episode in range(2):  # the second after G_β has moved: the penalty is then to the first weights
        rewards, penalties, q_values = [], [], []
        for env in (plain, penalised):
            env.reset(seed=episode)
            steps = [env.step(a.numpy() if vector else int(a[0])) for a in actions[episode]]
            rewards.append(np.array([np.atleast_1d(s[1]) for s in steps]))
            q_values.append(np.array([np.atleast_1d(s[4]["q_value"]) for s in steps]))
            if env is penalised:
                penalties = np.array([np.atleast_1d(s[4]["kl_penalty"]) for s in steps])
        np.testing.assert_array_equal(q_values[0], q_values[1])  # the same rollouts: the same Q_t
        np.testing.assert_allclose(rewards[1], q_values[1] - penalties, rtol=0, atol=1e-12)
        g_beta = penalised.rollout_policy
        expected = _expected(g_beta, start, actions[episode].T, 0.5)  # π_ref: G_β as at the first step
        np.testing.assert_allclose(penalties.T, expected, rtol=1e-5, atol=1e-6)
        if episode == 0:
            assert np.abs(penalties).max() == 0  # π = π_ref at the start
            for env in (plain, penalised):  # what RolloutPolicySync does after an update
                env.load_rollout_policy_state(later.state_dict())
        else:
            assert np.abs(penalties).max() > 0


def test_bad_kl_arguments_are_refused(tiny_env_kwargs) -> None:
    env = TokenGenerationEnv(**tiny_env_kwargs)
    for bad in (-0.1, float("nan"), "0.1", None):
        with pytest.raises(ValueError, match="kl_coef"):
            MonteCarloRewardWrapper(env, _generator(1), n_rollouts=2, kl_coef=bad)
    with pytest.raises(ValueError, match=r"reference_policy.*kl_coef > 0"):
        MonteCarloRewardWrapper(env, _generator(1), n_rollouts=2, reference_policy=_generator(2))
    other = LSTMGenerator(V + 1, T, emb_dim=8, hidden_dim=8)
    with pytest.raises(ValueError, match="reference_policy has vocab_size=13"):
        MonteCarloRewardWrapper(env, _generator(1), n_rollouts=2, kl_coef=0.1, reference_policy=other)
    with pytest.raises(TypeError, match=r"reference_policy must be a seqgan_gym\.generator\.TokenLSTM"):
        MonteCarloRewardWrapper(env, _generator(1), n_rollouts=2, kl_coef=0.1, reference_policy="G")
    with pytest.raises(TypeError, match=r"reference must be a seqgan_gym\.generator\.TokenLSTM"):
        KLPenalty(_generator(1), 0.1, reference="G")  # type: ignore[arg-type]


def test_ppo_learns_with_the_penalty_through_make_sb3_vec_env() -> None:
    """PPO on the SB3 adapter with kl_coef: the rewards it sees are Q_t minus the penalty, logged per step."""
    from stable_baselines3 import PPO

    from agents import GeneratorPolicy
    from agents.callbacks import RolloutPolicySync
    from seqgan_gym.sb3 import make_sb3_vec_env

    env = make_sb3_vec_env(n_envs=4, n_rollouts=2, kl_coef=0.2, vocab_size=V, seq_len=T, n_real=16)
    wrapper = env.unwrapped.venv
    assert wrapper.kl_coef == 0.2 and wrapper.kl_penalty is not None and wrapper.kl_penalty.reference is None
    model = PPO(GeneratorPolicy, env, n_steps=T, batch_size=4 * T, n_epochs=2, gamma=0.0, seed=0, device="cpu")
    start = {k: v.clone() for k, v in model.policy.generator.state_dict().items()}
    model.learn(3 * 4 * T, callback=RolloutPolicySync())
    reference = wrapper.kl_penalty.reference  # frozen at the first step: the generator PPO started from
    assert reference is not None and all(torch.equal(v, start[k]) for k, v in reference.state_dict().items())
    assert not torch.equal(reference.w_out, model.policy.generator.w_out)  # PPO moved away from it
    with pytest.raises(ValueError, match="kl_coef: the KL penalty is a part of the Monte Carlo wrapper"):
        make_sb3_vec_env(n_envs=4, n_rollouts=None, kl_coef=0.2, vocab_size=V, seq_len=T, n_real=16)
