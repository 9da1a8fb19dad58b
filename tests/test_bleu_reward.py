"""PG-BLEU's reward: BLEU against the real set where D would score, in the env, the wrapper and REINFORCE."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

from agents import REINFORCE
from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from seqgan_gym.bleu_reward import BLEUReward
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import BLEUScorer
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.rewards import SequenceScorer
from seqgan_gym.sb3 import make_sb3_vec_env

V, T = 12, 6


@pytest.fixture
def real(tiny_oracle: OracleLSTM) -> torch.Tensor:
    return tiny_oracle.sample(64, generator=torch.Generator().manual_seed(0))


def test_scores_are_sentence_bleu_against_the_real_set(real: torch.Tensor) -> None:
    reward = BLEUReward(real, V, max_n=3)
    assert isinstance(reward, SequenceScorer)
    fake = torch.randint(0, V, (20, T), generator=torch.Generator().manual_seed(1))
    expected = BLEUScorer(real.tolist(), max_n=3).sentence_scores(fake.tolist())
    scores = reward.prob_real(fake)
    assert scores.shape == (20,) and scores.dtype == torch.float32
    torch.testing.assert_close(scores, torch.tensor(expected, dtype=torch.float32))
    assert torch.equal(reward.prob_real(real[:5]), torch.ones(5))  # a real sequence is its own reference
    assert 0 < float(scores.min()) and float(scores.max()) < 1


def test_eos_token_cuts_the_text(real: torch.Tensor) -> None:
    reward = BLEUReward(real, V, max_n=2, eos_token=0)
    hyp = torch.tensor([[5, 6, 0, 9, 9, 9]])
    refs = [row[: row.index(0)] if 0 in row else row for row in real.tolist()]
    assert float(reward.prob_real(hyp)[0]) == pytest.approx(BLEUScorer(refs, 2).sentence_scores([[5, 6]])[0], rel=1e-6)


def test_completions_are_scored_as_whole_sequences(real: torch.Tensor) -> None:
    reward = BLEUReward(real, V)
    prefix = real[:3, :2]
    suffix = torch.randint(0, V, (3 * 4, T - 2), generator=torch.Generator().manual_seed(2))
    whole = torch.cat([prefix.repeat_interleave(4, 0), suffix], 1)
    assert torch.equal(reward.prob_real_completions(prefix, suffix), reward.prob_real(whole))


def test_env_and_wrapper_reward_bleu_and_reinforce_learns(tiny_oracle: OracleLSTM, real: torch.Tensor) -> None:
    """PG-BLEU: REINFORCE with Monte Carlo Q_t, BLEU where D would be; the D callback refuses it by name."""
    reward = BLEUReward(real, V, max_n=2)
    env = gym.make("SeqGAN-Oracle-v0", oracle=tiny_oracle, n_real=64, discriminator=reward)
    env.reset(seed=0)
    for token in real[0].tolist():
        _, r, terminated, *_ = env.step(token)
    assert terminated and r == 1.0

    rollout_policy = LSTMGenerator(V, T, emb_dim=8, hidden_dim=8)
    venv = make_sb3_vec_env(
        n_envs=8, n_rollouts=2, rollout_policy=rollout_policy, oracle=tiny_oracle, n_real=64, discriminator=reward
    )
    model = REINFORCE("LSTMGeneratorPolicy", venv, seed=0, policy_kwargs={"emb_dim": 8, "hidden_dim": 8})
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(2 * 8 * T, callback=RolloutPolicySync())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))
    with pytest.raises(TypeError, match="scores with a BLEUReward, which has nothing to train"):
        model.learn(8 * T, callback=DiscriminatorTrainingCallback())


def test_bad_arguments(real: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"max_n must be in \[1, inf\]"):
        BLEUReward(real, V, max_n=0)
    with pytest.raises(ValueError, match=r"eos_token must be in \[0, 11\]"):
        BLEUReward(real, V, eos_token=12)
    with pytest.raises(ValueError, match="references must hold at least one sequence"):
        BLEUReward(real[:0], V)
    with pytest.raises(ValueError, match="references must hold token ids"):
        BLEUReward(real, 5)
    reward = BLEUReward(real, V)
    with pytest.raises(ValueError, match=r"tokens must have length 6"):
        reward.prob_real(real[:, :4])
    with pytest.raises(ValueError, match="suffix must hold N >= 1 completions per prefix"):
        reward.prob_real_completions(real[:3, :2], real[:4, 2:])
    with pytest.raises(TypeError, match="another SequenceScorer"):
        gym.make("SeqGAN-Oracle-v0", vocab_size=V, seq_len=T, discriminator="bleu")


def test_vocab_size_has_the_bound_of_g_and_d() -> None:
    """The same [2, 10,000,000] as the generator and the discriminator, not [2, inf]."""
    real = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=r"vocab_size must be in \[2, 10000000\], got 100000000"):
        BLEUReward(real, 10**8)
    with pytest.raises(ValueError, match=r"vocab_size must be in \[2, 10000000\], got 1"):
        LSTMGenerator(1, 3)
