"""RL Baselines3 Zoo drives seqgan-gym from our yaml files: training, REINFORCE, and --optimize on NLL-oracle."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agents import REINFORCE, load_model
from agents.zoo import ALGORITHMS, hyperparams_file

ROOT = Path(__file__).resolve().parents[1]
ENV = "SeqGAN-Oracle-v0"
ENV_KWARGS = ["--env-kwargs", "vocab_size:20", "seq_len:4", "n_real:64"]
N_ENVS, T = 4, 4


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_shipped_files_name_what_exists(algo: str) -> None:
    hyper = yaml.safe_load(hyperparams_file(algo).read_text())[ENV]
    assert hyper["gamma"] == 0.0 and hyper["n_envs"] == 64
    names = [next(iter(c)) if isinstance(c, dict) else c for c in hyper["callback"]]
    assert names[:2] == ["agents.callbacks.PretrainingCallback", "agents.callbacks.RolloutPolicySync"]
    for name in names + [next(iter(w)) for w in hyper["env_wrapper"]]:
        module, _, attribute = name.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), name


def _toy(algo: str, folder: Path) -> Path:
    """The shipped file of ``algo`` at toy sizes (V=20, T=4, 4 sub-envs, 4 updates)."""
    hyper = yaml.safe_load(hyperparams_file(algo).read_text())[ENV]
    hyper.update(n_envs=N_ENVS, n_timesteps=4 * N_ENVS * T)
    hyper.update({k: v for k, v in (("n_steps", T), ("batch_size", N_ENVS * T)) if k in hyper})
    hyper["env_wrapper"] = [{"seqgan_gym.wrappers.MonteCarloRewardWrapper": {"n_rollouts": 2}}]
    sizes = {
        "agents.callbacks.PretrainingCallback": {"mle_epochs": 2, "d_rounds": 1, "n_negatives": 32},
        "agents.callbacks.DiscriminatorTrainingCallback": {"n_negatives": 32},
        "agents.callbacks.OracleNLLCallback": {"eval_every": 1, "n_samples": 64, "n_held_out": 64},
    }
    for entry in hyper["callback"]:
        if isinstance(entry, dict):
            ((name, kwargs),) = entry.items()
            kwargs.update(sizes.get(name, {}))
    path = folder / f"{algo}.yml"
    path.write_text(yaml.safe_dump({ENV: hyper}))
    return path


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_zoo_itself_trains_ppo_and_logs_nll_oracle(tmp_path: Path) -> None:
    conf = _toy("ppo", tmp_path)
    _run(
        "rl_zoo3.train", "--algo", "ppo", "--env", ENV, "--gym-packages", "seqgan_gym", "--conf-file", str(conf),
        *ENV_KWARGS, "-f", str(tmp_path / "logs"), "--tensorboard-log", str(tmp_path / "tb"), "--seed", "0",
        "--eval-freq", "16", "--eval-episodes", "16", "--n-eval-envs", "4",
    )  # fmt: skip
    # best_model.zip is chosen by the evaluation env's return: the oracle's mean log-probability per token
    # of each sampled sequence (< 0), not Q_t from a D of the evaluation env's own that never trains (> 0).
    (run,) = (tmp_path / "logs" / "ppo").iterdir()
    rewards = np.load(run / "evaluations.npz")["results"]
    assert rewards.shape == (4, 16) and np.all(rewards < 0) and np.all(rewards > -3 * np.log(20)), rewards
    assert (run / "best_model.zip").is_file()
    (events,) = (tmp_path / "tb").rglob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events.parent))
    accumulator.Reload()
    nll = [event.value for event in accumulator.Scalars("eval/nll_oracle")]
    assert len(nll) >= 3 and all(0 < v < 2 * np.log(20) for v in nll)  # one per update, nats per token
    assert accumulator.Scalars("discriminator/loss")  # D trained after the updates
    (saved,) = (tmp_path / "logs" / "ppo").rglob(f"{ENV}.zip")
    model = load_model(saved)  # the Zoo's file, loaded without unpickling
    assert type(model).__name__ == "PPO" and model.num_timesteps == 4 * N_ENVS * T


def test_reinforce_in_the_zoo_and_an_evaluation_on_the_oracle(tmp_path: Path) -> None:
    conf = _toy("reinforce", tmp_path)
    _run(
        "agents.zoo", "--algo", "reinforce", "--env", ENV, "--conf-file", str(conf), *ENV_KWARGS,
        "-f", str(tmp_path / "logs"), "--eval-freq", "32", "--eval-episodes", "16", "--n-eval-envs", "4",
    )  # fmt: skip
    run = next((tmp_path / "logs" / "reinforce").iterdir())
    assert isinstance(REINFORCE.load(run / f"{ENV}.zip"), REINFORCE) and (run / "best_model.zip").is_file()
    rewards = np.load(run / "evaluations.npz")["results"]
    # The evaluation env's return is the oracle's mean log-probability per token: minus NLL-oracle.
    assert rewards.shape == (2, 16) and np.all(rewards < 0) and np.all(rewards > -3 * np.log(20))


def test_optimize_with_optuna_on_nll_oracle(tmp_path: Path) -> None:
    conf = _toy("a2c", tmp_path)
    _run(
        "agents.zoo", "--algo", "a2c", "--env", ENV, "--conf-file", str(conf), *ENV_KWARGS,
        "-f", str(tmp_path / "logs"), "-optimize", "--n-trials", "2", "--n-evaluations", "1", "--eval-episodes", "16",
        "--n-eval-envs", "4", "--pruner", "none", "--sampler", "random", "--seed", "0", "--no-optim-plots",
    )  # fmt: skip
    (report,) = (tmp_path / "logs" / "a2c").glob("report_*.csv")
    trials = pd.read_csv(report)
    assert list(trials["state"]) == ["COMPLETE", "COMPLETE"]
    assert np.all(trials["value"] < 0) and np.all(trials["value"] > -3 * np.log(20))  # minus NLL-oracle
    assert {"params_learning_rate", "params_use_rms_prop"} <= set(trials.columns)  # our sampler's space
