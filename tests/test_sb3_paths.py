"""The standard SB3 and Gymnasium paths: SB3's make_vec_env, worker processes, VecMonitor, file names, aliases."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from agents import REINFORCE, GeneratorPolicy
from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from seqgan_gym.envs.sequence_generation import UnsupportedRenderMode
from seqgan_gym.sb3 import SB3VecEnv, make_sb3_vec_env
from seqgan_gym.wrappers import MonteCarloRewardWrapper

TOY = {"vocab_size": 12, "seq_len": 4, "n_real": 64}
N_ENVS = 3


def _flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.state_dict().values()]).clone()


def test_sb3_make_vec_env_builds_the_env() -> None:
    # SB3 asks for render_mode="rgb_array" and retries without it on TypeError only.
    with pytest.raises(TypeError, match="render_mode must be None or one of"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium warns that rgb_array is not among the render modes
        gym.make("SeqGAN-Oracle-v0", render_mode="rgb_array", **TOY)
    assert issubclass(UnsupportedRenderMode, ValueError)  # what it was, for callers catching that
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium warns that rgb_array is not among the render modes
        env = make_vec_env("SeqGAN-Oracle-v0", n_envs=2, env_kwargs=TOY)
    assert env.reset().shape == (2, TOY["seq_len"])
    assert env.get_attr("render_mode") == [None, None]


def test_every_sub_env_of_make_vec_env_scores_with_the_trained_discriminator() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = make_vec_env(
            "SeqGAN-Oracle-v0",
            n_envs=N_ENVS,
            env_kwargs=TOY,
            wrapper_class=MonteCarloRewardWrapper,
            wrapper_kwargs={"n_rollouts": 2},
            vec_env_cls=DummyVecEnv,
        )
    discriminators = env.get_attr("discriminator")
    assert len({id(d) for d in discriminators}) == N_ENVS  # one env, so one D, per sub-env
    start = _flat(discriminators[0])
    model = REINFORCE("LSTMGeneratorPolicy", env, gamma=0.0, seed=0)
    callbacks = [RolloutPolicySync(), DiscriminatorTrainingCallback(d_steps=1, k_epochs=1, n_negatives=32, seed=0)]
    model.learn(2 * N_ENVS * TOY["seq_len"], callback=callbacks)
    trained = [_flat(d) for d in env.get_attr("discriminator")]
    assert not torch.equal(trained[0], start)
    assert all(torch.equal(t, trained[0]) for t in trained[1:])
    theta = _flat(model.policy.generator)
    assert all(torch.equal(_flat(beta), theta) for beta in env.get_attr("rollout_policy"))


WORKERS = """
import sys
import torch
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv
import gymnasium as gym
from agents import REINFORCE
from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from seqgan_gym.wrappers import MonteCarloRewardWrapper

def flat(module):
    return torch.cat([p.detach().flatten() for p in module.state_dict().values()])

if __name__ == "__main__":
    torch.set_num_threads(2)
    (torch.randn(256, 256) @ torch.randn(256, 256)).sum()  # the parent's OpenMP pool is running
    toy = {toy!r}
    if sys.argv[1] == "async":
        env = gym.make_vec("SeqGAN-Oracle-v0", num_envs=2, vectorization_mode="async", **toy)
        env.reset(seed=0)
        for _ in range(toy["seq_len"]):
            rewards = env.step(env.action_space.sample())[1]
        env.close()
        print("rewards", rewards.tolist())
        sys.exit(0)
    env = make_vec_env("SeqGAN-Oracle-v0", n_envs=2, env_kwargs=toy, wrapper_class=MonteCarloRewardWrapper,
                       wrapper_kwargs={{"n_rollouts": 2}}, vec_env_cls=SubprocVecEnv,
                       vec_env_kwargs={{"start_method": sys.argv[1]}})
    start = flat(env.get_attr("discriminator")[0])
    model = REINFORCE("LSTMGeneratorPolicy", env, gamma=0.0, seed=0)
    model.learn(2 * 2 * toy["seq_len"], callback=[RolloutPolicySync(), DiscriminatorTrainingCallback(
        d_steps=1, k_epochs=1, n_negatives=32, seed=0)])
    trained = [flat(d) for d in env.get_attr("discriminator")]
    betas = [flat(b) for b in env.get_attr("rollout_policy")]
    env.close()
    assert not torch.equal(trained[0], start), "D did not train"
    assert all(torch.equal(t, trained[0]) for t in trained), "the workers' D differ"
    assert all(torch.equal(b, flat(model.policy.generator)) for b in betas), "a worker's G_beta is not G_theta"
    print("workers agree")
"""


@pytest.mark.parametrize("start_method", ["fork", "spawn", "async"])
def test_worker_processes_start_and_train_the_same_discriminator(tmp_path: Path, start_method: str) -> None:
    # A fork after torch's OpenMP pool started once hung for ever; a timeout turns that into a failure.
    script = tmp_path / "workers.py"
    script.write_text(textwrap.dedent(WORKERS.format(toy=TOY)))
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(script), start_method],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=root,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert ("rewards" if start_method == "async" else "workers agree") in done.stdout


def test_make_sb3_vec_env_is_monitored(tiny_oracle) -> None:
    env = make_sb3_vec_env(n_envs=4, n_rollouts=2, oracle=tiny_oracle, n_real=32)
    assert isinstance(env, VecMonitor) and isinstance(env.unwrapped, SB3VecEnv)
    assert isinstance(make_sb3_vec_env(n_envs=4, n_rollouts=2, oracle=tiny_oracle, n_real=32, monitor=False), SB3VecEnv)
    seq_len = tiny_oracle.seq_len
    model = A2C("GeneratorPolicy", env, n_steps=seq_len, gamma=0.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SB3 warns when no Monitor records the episodes
        model.learn(2 * 4 * seq_len)
    assert len(model.ep_info_buffer) == 2 * 4  # every episode's return, for rollout/ep_rew_mean


def test_generator_policy_by_name_and_save_adds_zip(tmp_path: Path, tiny_oracle) -> None:
    env = make_sb3_vec_env(n_envs=2, n_rollouts=None, oracle=tiny_oracle, n_real=32)
    assert isinstance(PPO("GeneratorPolicy", env, n_steps=4, batch_size=8).policy, GeneratorPolicy)
    model = REINFORCE("LSTMGeneratorPolicy", env, seed=0)
    model.save(tmp_path / "m")
    assert (tmp_path / "m.zip").is_file() and not (tmp_path / "m").exists()
    loaded = REINFORCE.load(tmp_path / "m")  # SB3's convention: "m" finds "m.zip"
    assert torch.equal(_flat(loaded.policy.generator), _flat(model.policy.generator))


def test_an_evaluation_env_scored_by_the_oracle(tiny_oracle) -> None:
    from seqgan_gym.metrics import nll_oracle

    env = gym.make_vec(
        "SeqGAN-Oracle-v0", num_envs=64, vectorization_mode="vector_entry_point", oracle=tiny_oracle, n_real=16,
        terminal_reward="oracle_log_likelihood",
    )  # fmt: skip
    env.reset(seed=0)
    for _ in range(tiny_oracle.seq_len):
        _, rewards, terminated, _, info = env.step(env.action_space.sample())
    assert terminated.all()
    # Averaged over the sequences, the terminal reward is minus the paper's NLL-oracle of those sequences.
    assert rewards.mean() == pytest.approx(-nll_oracle(tiny_oracle, torch.as_tensor(info["sequence"])), rel=1e-5)
    with pytest.raises(
        ValueError, match=r"terminal_reward must be one of \['discriminator', 'oracle_log_likelihood'\]"
    ):
        gym.make("SeqGAN-Oracle-v0", oracle=tiny_oracle, n_real=16, terminal_reward="bleu")
    with pytest.raises(ValueError, match="discriminator must be None with terminal_reward='oracle_log_likelihood'"):
        gym.make(
            "SeqGAN-Oracle-v0", oracle=tiny_oracle, n_real=16, terminal_reward="oracle_log_likelihood",
            discriminator=env.unwrapped.discriminator,
        )  # fmt: skip


@pytest.mark.parametrize("algorithm", ["PPO", "REINFORCE"])
def test_deterministic_decoding_sample_draws_from_the_generator(tiny_oracle, algorithm: str) -> None:
    env = make_sb3_vec_env(n_envs=64, n_rollouts=None, oracle=tiny_oracle, n_real=16)
    policy, build = ("GeneratorPolicy", PPO) if algorithm == "PPO" else ("LSTMGeneratorPolicy", REINFORCE)
    obs = env.reset()
    greedy = build(policy, env, seed=0).predict(obs, deterministic=True)[0]
    assert len(set(greedy.tolist())) == 1  # 64 empty prefixes, one most likely token
    sampled = build(policy, env, seed=0, policy_kwargs={"deterministic_decoding": "sample"})
    assert len(set(sampled.predict(obs, deterministic=True)[0].tolist())) > 1
    with pytest.raises(ValueError, match=r"deterministic_decoding must be one of \['greedy', 'sample'\]"):
        build(policy, env, policy_kwargs={"deterministic_decoding": "beam"})
