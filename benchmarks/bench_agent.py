"""Agent benchmark: one MLE epoch and one adversarial generator update at the paper's sizes.

Prints a table and writes it to ``docs/results/bench_agent.md``:

* one MLE epoch of G on 10,000 oracle sequences, batch 64 (``agents.pretraining.mle_epoch``), and
  the same epoch with the plain loss (``cross_entropy`` over the full ``[64, 20, 5000]`` logits)
  that our fused loss (``TokenLSTM.weighted_nll``: the output layer's gradient computed with the
  loss, one block of logits at a time) replaces, as a ratio in the same run;
* one adversarial generator update of ``REINFORCE`` (B=64 sequences, N=16 Monte Carlo
  completions per prefix, the paper's discriminator): episode collection with the Monte Carlo
  rewards, then the policy-gradient step; and the collection and the step alone.

    python benchmarks/bench_agent.py [--repeats 3] [--out docs/results/bench_agent.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
from pathlib import Path

import torch
from _timing import timed, write_report  # benchmarks/_timing.py (scripts run from their folder)
from reference import plain_mle_epoch
from stable_baselines3.common.logger import Logger

import seqgan_gym  # noqa: F401  (registers SeqGAN-Oracle-v0)
from agents import REINFORCE
from agents.pretraining import mle_epoch, mle_optimizer
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.sb3 import make_sb3_vec_env


def main() -> None:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions of each unit (>= 1)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/bench_agent.md"))
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    torch.manual_seed(0)

    env = make_sb3_vec_env("SeqGAN-Oracle-v0", n_envs=64, n_rollouts=16)
    real = env.get_attr("real_data")[0]
    model = REINFORCE("LSTMGeneratorPolicy", env, seed=0)
    model.set_logger(Logger(folder=None, output_formats=[]))
    generator = model.policy.generator

    rows: list[tuple[str, list[float], str]] = []
    optimizer = mle_optimizer(generator)
    mle = timed(lambda: mle_epoch(generator, real, optimizer), args.repeats)
    plain = timed(lambda: plain_mle_epoch(generator, real, optimizer), args.repeats)
    rows.append(("MLE epoch, 10k sequences, batch 64", mle, "<= 2.5 s"))
    rows.append(("  same, plain log-softmax loss (reference)", plain, ""))

    _, callback = model._setup_learn(10**9, None)  # what learn() does first: reset the env, no-op callback

    def collect() -> None:
        model.collect_episodes(callback)

    def update() -> None:
        model.collect_episodes(callback)
        model.train()

    collect_times = timed(collect, args.repeats)
    train_times = timed(model.train, args.repeats)
    update_times = timed(update, args.repeats)
    rows.append(("generator update, B=64, N=16, paper D", update_times, "<= 5 s"))
    rows.append(("  episode collection with MC rewards", collect_times, ""))
    rows.append(("  policy-gradient step", train_times, ""))

    ratio = statistics.median(plain) / statistics.median(mle)
    lines = [
        "# Agent benchmark",
        "",
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"{args.repeats} repeats. `python benchmarks/bench_agent.py`",
        "",
        "| unit | best (s) | median (s) | target |",
        "|---|---|---|---|",
        *(f"| {name} | {min(t):.2f} | {statistics.median(t):.2f} | {target} |" for name, t, target in rows),
        "",
        f"Fused loss against the plain loss, MLE epoch: {ratio:.2f}x faster (medians, same run).",
        "",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
