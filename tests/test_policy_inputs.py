"""The generator policies refuse observations that are not token ids (VecNormalize), with one clear message."""

from __future__ import annotations

import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from agents import REINFORCE, GeneratorPolicy
from agents.policies import token_ids
from seqgan_gym.sb3 import make_sb3_vec_env

V, T = 12, 6


def _env():
    return make_sb3_vec_env("SeqGAN-Oracle-v0", n_envs=4, n_rollouts=2, vocab_size=V, seq_len=T, n_real=16)


def test_token_ids_pass_and_normalised_values_are_refused() -> None:
    assert torch.equal(token_ids(torch.tensor([[3.0, 12.0]]), 12), torch.tensor([[3, 12]]))
    for bad in ([[0.4, 1.0]], [[-1.0, 2.0]], [[13.0, 1.0]], [[float("nan"), 1.0]]):
        with pytest.raises(ValueError, match=r"VecNormalize\(norm_obs=True\)"):
            token_ids(torch.tensor(bad), 12)


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_vec_normalize_on_observations_is_one_clear_error(algorithm: str) -> None:
    env = VecNormalize(_env(), norm_obs=True, norm_reward=False)
    if algorithm == "ppo":
        model = PPO(GeneratorPolicy, env, n_steps=T, batch_size=4 * T, gamma=0.0)
    else:
        model = REINFORCE("LSTMGeneratorPolicy", env, policy_kwargs={"emb_dim": 4, "hidden_dim": 4})
    with pytest.raises(ValueError, match=r"observations must be token ids.*norm_obs=False"):
        model.learn(4 * T)
    ok = VecNormalize(_env(), norm_obs=False, norm_reward=True)  # the reward alone may be normalised
    REINFORCE("LSTMGeneratorPolicy", ok, policy_kwargs={"emb_dim": 4, "hidden_dim": 4}).learn(4 * T)
