"""SB3 benchmark: our VecEnv adapter over the batched env against SB3's DummyVecEnv, and PPO's speed.

Prints a table and writes it to ``docs/results/bench_sb3.md``:

* env steps per second (steps x sub-envs / s) with random actions, 64 sub-envs: ``SB3VecEnv`` over
  the natively batched ``SeqGAN-Oracle-v0`` against SB3's ``DummyVecEnv`` over 64 single envs,
  with the same Monte Carlo reward wrapper (N=16, the paper's D), sharing one oracle, D and
  rollout policy; and the same for the bare env (terminal reward only);
* training steps per second of ``PPO(GeneratorPolicy, env, gamma=0.0)`` with the Monte Carlo rewards;
* the most env steps per second that the Monte Carlo rewards' arithmetic allows on this machine
  (their matmuls at the matmul peaks measured in the same run, plus one ``exp2`` of every rollout
  logit at its measured rate), and so the largest ratio that any batched implementation could show
  against the DummyVecEnv rate measured here: both sides compute the same rollouts and scores.

    python benchmarks/bench_sb3.py [--episodes 2] [--out docs/results/bench_sb3.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from _timing import timed, write_report  # benchmarks/_timing.py (scripts run from their folder)
from run import HIGHWAY_FLOP, peak_matmul_gflops  # benchmarks/run.py
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import seqgan_gym  # noqa: F401  (registers SeqGAN-Oracle-v0)
from agents import GeneratorPolicy
from seqgan_gym import Discriminator, LSTMGenerator, OracleLSTM
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym._matmul import mm
from seqgan_gym.sb3 import make_sb3_vec_env
from seqgan_gym.wrappers import MonteCarloRewardWrapper

N_ENVS, N_ROLLOUTS = 64, 16


def steps_per_second(env: VecEnv, episodes: int, seq_len: int) -> float:
    """Env steps (x sub-envs) per second over ``episodes`` full episodes of random actions."""
    rng = np.random.default_rng(0)
    env.seed(0)
    env.reset()
    n_steps = episodes * seq_len
    actions = rng.integers(0, env.action_space.n, size=(n_steps, env.num_envs))
    start = time.perf_counter()
    for t in range(n_steps):
        env.step(actions[t])
    return n_steps * env.num_envs / (time.perf_counter() - start)


def arithmetic_floor_per_step(oracle: OracleLSTM, discriminator: Discriminator, n_rollouts: int) -> tuple[float, str]:
    """Seconds per env step (per sub-env) that the Monte Carlo rewards' arithmetic takes at least, and how.

    Per episode of T steps, one sub-env rolls out ``N (T - t)`` tokens after step t < T (each a
    ``[hidden] x [hidden, V]`` product and one ``exp2`` per logit to sample from them) and D scores
    ``N`` completions after each step t < T and the finished sequence (D's convolutions are table
    look-ups; its highway layer is two ``1720 x 1720`` products per sequence).
    """
    vocab, seq_len, hidden = oracle.vocab_size, oracle.seq_len, oracle.hidden_dim
    device = torch.device("cpu")
    fp32 = peak_matmul_gflops(torch.float32, device, mm)
    d_rate = peak_matmul_gflops(torch.bfloat16 if discriminator.uses_bfloat16 else torch.float32, device, mm)
    logits = torch.randn(1024, vocab)
    exp2_rate = 1024 * vocab / min(timed(logits.exp2_, 5)) / 1e9  # G logits per second
    tokens = n_rollouts * sum(seq_len - t for t in range(1, seq_len)) / seq_len
    scored = (n_rollouts * (seq_len - 1) + 1) / seq_len
    rollout_gflop, scoring_gflop = tokens * 2 * hidden * vocab / 1e9, scored * HIGHWAY_FLOP / 1e9
    floor = rollout_gflop / fp32 + scoring_gflop / d_rate + tokens * vocab / 1e9 / exp2_rate
    how = (
        f"per env step {tokens:.0f} rollout tokens ({rollout_gflop * 1e3:.0f} MFLOP at {fp32:.0f} GFLOP/s float32, "
        f"and {tokens * vocab / 1e6:.2f} M exp2 at {exp2_rate:.1f} G/s) and {scored:.2f} scored sequences "
        f"({scoring_gflop * 1e3:.0f} MFLOP at {d_rate:.0f} GFLOP/s "
        f"{'bfloat16' if discriminator.uses_bfloat16 else 'float32'}): at least {floor * 1e3:.2f} ms"
    )
    return floor, how


def main() -> None:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2, help="episodes timed per env (>= 1)")
    parser.add_argument("--ppo-updates", type=int, default=3, help="PPO updates timed (>= 1)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/bench_sb3.md"))
    args = parser.parse_args()
    for name in ("episodes", "ppo_updates"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    torch.manual_seed(0)

    oracle = OracleLSTM.seeded(seed=2017)
    discriminator = Discriminator()
    rollout_policy = LSTMGenerator(generator=torch.Generator().manual_seed(0))
    shared = {"oracle": oracle, "discriminator": discriminator, "n_real": 64}  # real data is not stepped on
    seq_len = oracle.seq_len

    def single(n_rollouts: int | None):
        def make() -> gym.Env:
            env = gym.make("SeqGAN-Oracle-v0", **shared)
            return env if n_rollouts is None else MonteCarloRewardWrapper(env, rollout_policy, n_rollouts)

        return make

    rows: list[tuple[str, float, float]] = []
    for label, n_rollouts in (("Monte Carlo rewards, N=16", N_ROLLOUTS), ("bare env (terminal reward)", None)):
        ours = make_sb3_vec_env(n_envs=N_ENVS, n_rollouts=n_rollouts, rollout_policy=rollout_policy, **shared)
        dummy = DummyVecEnv([single(n_rollouts)] * N_ENVS)
        # DummyVecEnv over the Monte Carlo wrapper is slow: one episode is enough to time it.
        dummy_rate = steps_per_second(dummy, 1 if n_rollouts else args.episodes, seq_len)
        rows.append((label, steps_per_second(ours, args.episodes, seq_len), dummy_rate))

    env = make_sb3_vec_env(n_envs=N_ENVS, n_rollouts=N_ROLLOUTS, rollout_policy=rollout_policy, **shared)
    model = PPO(GeneratorPolicy, env, n_steps=seq_len, batch_size=N_ENVS * seq_len // 4, gamma=0.0, seed=0)
    model.set_logger(Logger(folder=None, output_formats=[]))
    start = time.perf_counter()
    model.learn(args.ppo_updates * N_ENVS * seq_len)
    ppo_rate = model.num_timesteps / (time.perf_counter() - start)

    floor, how = arithmetic_floor_per_step(oracle, discriminator, N_ROLLOUTS)
    dummy_mc = rows[0][2]
    lines = [
        "# SB3 benchmark",
        "",
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"{N_ENVS} sub-envs, V={oracle.vocab_size}, T={seq_len}, the paper's D. `python benchmarks/bench_sb3.py`",
        "",
        "| env steps per second (x sub-envs) | SB3VecEnv, batched | DummyVecEnv, 64 single envs | ratio | target |",
        "|---|---|---|---|---|",
        *(f"| {label} | {ours:,.0f} | {dummy:,.1f} | {ours / dummy:.1f}x | >= 10x |" for label, ours, dummy in rows),
        "",
        f"The Monte Carlo rewards' arithmetic, {how}. So at most {1 / floor:,.0f} env steps per second, "
        f"{1 / floor / dummy_mc:.1f}x the DummyVecEnv rate above, for any implementation that computes them "
        f"on this machine; the batched adapter reaches {rows[0][1] * floor:.0%} of that.",
        "",
        f"PPO(GeneratorPolicy, gamma=0.0) with Monte Carlo rewards (N={N_ROLLOUTS}), n_steps={seq_len}, "
        f"{model.n_steps * N_ENVS // model.batch_size} minibatches x {model.n_epochs} epochs: "
        f"{ppo_rate:,.0f} training steps per second "
        f"({args.ppo_updates} updates of {N_ENVS * seq_len} steps).",
        "",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
