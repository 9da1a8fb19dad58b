"""The generator policies refuse observations that are not token ids (VecNormalize), with one clear message;
settings that do not fit episodes of T tokens (MlpPolicy, γ, n_steps) are one warning each, naming the setting."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.vec_env import VecNormalize

from agents import REINFORCE, GeneratorPolicy
from agents.callbacks import RolloutPolicySync, unfit_settings
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


def test_token_ids_skip_the_device_wait_only_for_replayed_minibatches() -> None:
    """Off the CPU, a batch with autograd (a training minibatch, checked when collected) is not re-read."""
    with pytest.raises(ValueError, match="token ids"):
        token_ids(torch.tensor([[0.4, -1.0]]), 12)  # CPU, autograd on: checked
    on_device = torch.empty(1, 2, device="meta")  # a device tensor whose values cannot be read
    assert token_ids(on_device, 12).dtype == torch.long  # autograd on: not read, so no wait
    with torch.no_grad(), pytest.raises(RuntimeError, match="meta"):
        token_ids(on_device, 12)  # collection (no_grad): the check reads the values


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


def _bare_env():
    return make_sb3_vec_env("SeqGAN-Oracle-v0", n_envs=4, n_rollouts=None, vocab_size=V, seq_len=T, n_real=16)


def test_settings_that_do_not_fit_the_episodes_are_named() -> None:
    env = _env()
    assert unfit_settings(PPO(GeneratorPolicy, env, n_steps=T, batch_size=4 * T, gamma=0.0), env) == []
    assert unfit_settings(REINFORCE("LSTMGeneratorPolicy", env), env) == []
    assert unfit_settings(A2C(GeneratorPolicy, _bare_env(), n_steps=T, gamma=1.0), _bare_env()) == []
    found = unfit_settings(PPO(GeneratorPolicy, env, n_steps=2048, batch_size=64, gamma=0.99), env)
    assert [m.split(" ")[0] for m in found] == ["gamma=0.99:", "n_steps=2048"]
    assert "use gamma=0.0" in found[0] and f"use n_steps={T}" in found[1]
    (policy,) = unfit_settings(PPO("MlpPolicy", env, n_steps=T, batch_size=4 * T, gamma=0.0), env)
    assert policy.startswith("policy: ActorCriticPolicy is not the generator") and "'GeneratorPolicy'" in policy
    bare = _bare_env()
    (gamma,) = unfit_settings(A2C(GeneratorPolicy, bare, n_steps=T, gamma=0.0), bare)
    assert gamma.startswith("gamma=0: without Monte Carlo rewards") and "use gamma=1.0" in gamma


def test_setup_and_callbacks_warn_once_per_setting() -> None:
    env = _env()
    callbacks = [RolloutPolicySync(), RolloutPolicySync()]  # two callbacks ask too: still one warning each
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PPO(GeneratorPolicy, env, n_steps=2 * T + 1, batch_size=4, gamma=0.5)
        model.learn(4 * (2 * T + 1), callback=callbacks)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert sum(m.startswith("gamma=0.5") for m in messages) == 1
    assert sum(m.startswith(f"n_steps={2 * T + 1}") for m in messages) == 1


def test_plain_sb3_without_our_callbacks_is_not_silent() -> None:
    """PPO, A2C and REINFORCE warn as they are built, at the user's line, on a SeqGAN env and only there."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PPO("MlpPolicy", _env(), n_steps=2048, batch_size=64, gamma=0.99)
        A2C("GeneratorPolicy", _bare_env(), n_steps=T, gamma=0.9)
        REINFORCE("LSTMGeneratorPolicy", _env(), gamma=0.5)
        A2C("MlpPolicy", "CartPole-v1", n_steps=7, gamma=0.9)  # not a SeqGAN env: nothing to say
    found = [(str(w.message).split(" ")[0], Path(w.filename).name) for w in caught if w.category is UserWarning]
    here = Path(__file__).name  # each warning points to the line that built the model
    assert found == [
        ("policy:", here),  # PPO(MlpPolicy, ...)
        ("gamma=0.99:", here),
        ("n_steps=2048", here),  # 2048 % T != 0
        ("gamma=0.9:", here),  # A2C without Monte Carlo rewards
        ("gamma=0.5:", here),  # REINFORCE with them
    ], found
