"""A short tour of SeqGAN-Oracle-v0: the oracle benchmark, NLL-oracle and Monte Carlo rewards.

1. Build the paper's synthetic benchmark (oracle LSTM, 10,000 real sequences, CNN discriminator).
2. Score NLL-oracle for the oracle's own samples, uniform random tokens and an untrained
   generator, and NLL-test of that generator on held-out oracle samples.
3. Run Monte Carlo rewarded episodes: the generator G_θ picks the tokens of 64 sequences, a copy
   G_β completes every prefix N times, and the discriminator scores the completions (Q_t).
4. Write a summary (JSON) and sample sequences to ``--out``.

    python examples/oracle_demo.py --out results/demo
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import seqgan_gym
from agents.cli.common import OneLineParser, int_at_least, new_output_dir, seed
from seqgan_gym import LSTMGenerator, MonteCarloRewardWrapper, nll_oracle, nll_test
from seqgan_gym._io import atomic_write_json, atomic_write_text
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.sampling import sample_from_logits


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(prog="oracle_demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=new_output_dir, default="results/demo", help="a new or empty output folder")
    parser.add_argument("--num-envs", type=int_at_least(1), default=64, help="sequences per batch (paper: 64)")
    parser.add_argument("--n-rollouts", type=int_at_least(1), default=16, help="Monte Carlo completions N (paper: 16)")
    parser.add_argument("--episodes", type=int_at_least(1), default=1, help="Monte Carlo rewarded episodes to run")
    parser.add_argument("--n-real", type=int_at_least(1), default=10_000, help="real data set size (paper: 10,000)")
    parser.add_argument("--n-eval", type=int_at_least(1), default=10_000, help="samples scored by NLL-oracle")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the generator and the rollouts, 0 to 2**32 - 1")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, flush=True)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    args = parse_args(argv)
    start = time.perf_counter()
    log(f"seqgan-gym {seqgan_gym.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads")

    log("[1/4] building SeqGAN-Oracle-v0: oracle LSTM (V=5000, T=20), real data, paper discriminator")
    env = gym.make_vec(
        "SeqGAN-Oracle-v0", num_envs=args.num_envs, vectorization_mode="vector_entry_point", n_real=args.n_real
    )
    bench = env.unwrapped
    oracle, discriminator = bench.oracle, bench.discriminator
    n_params = sum(p.numel() for p in discriminator.parameters())
    log(f"      {bench.real_data.shape[0]} real sequences, discriminator {n_params:,} parameters")

    log(f"[2/4] NLL-oracle on {args.n_eval} sequences each (nats per token; paper's oracle: real ~5.75)")
    generator = LSTMGenerator(generator=torch.Generator().manual_seed(args.seed))
    held_out = oracle.sample(args.n_eval, generator=torch.Generator().manual_seed(10_000 + args.seed))
    uniform = torch.randint(0, oracle.vocab_size, held_out.shape, generator=torch.Generator().manual_seed(args.seed))
    gen_samples = generator.sample(args.n_eval, generator=torch.Generator().manual_seed(args.seed))
    scores = {
        "nll_oracle_real": nll_oracle(oracle, bench.real_data[: args.n_eval]),
        "nll_oracle_uniform": nll_oracle(oracle, uniform),
        "nll_oracle_untrained_generator": nll_oracle(oracle, gen_samples),
        "nll_test_untrained_generator": nll_test(generator, held_out),
    }
    for name, value in scores.items():
        log(f"      {name:32s} {value:8.3f}")

    log(f"[3/4] {args.episodes} Monte Carlo rewarded episode(s): {args.num_envs} sequences, N={args.n_rollouts}")
    rollout_policy = copy.deepcopy(generator)  # G_β: a copy of G_θ (in training, β ← θ after every update)
    env = MonteCarloRewardWrapper(env, rollout_policy, n_rollouts=args.n_rollouts)
    env.reset(seed=args.seed)
    action_stream = torch.Generator().manual_seed(args.seed)
    q_means, episode_times, final_sequences = [], [], None
    for episode in range(args.episodes):
        tokens, state = generator.start_tokens(args.num_envs), generator.initial_state(args.num_envs)
        episode_start = time.perf_counter()
        with torch.inference_mode():
            for t in range(1, oracle.seq_len + 1):
                logits, state = generator.step(tokens, state)
                tokens = sample_from_logits(logits, action_stream)
                *_, infos = env.step(tokens.numpy())
                q_means.append(float(np.mean(infos["q_value"])))
                kind = "D(Y)" if t == oracle.seq_len else f"mean of {args.n_rollouts} rollouts"
                log(
                    f"      episode {episode + 1} step {t:2d}/{oracle.seq_len}: mean Q_t = {q_means[-1]:.4f} "
                    f"({kind}), {time.perf_counter() - episode_start:6.2f} s"
                )
        episode_times.append(time.perf_counter() - episode_start)
        final_sequences = infos["sequence"]
        if episode + 1 < args.episodes:  # NEXT_STEP autoreset: one step that starts the next episodes
            env.step(np.zeros(args.num_envs, dtype=np.int64))

    log(f"[4/4] writing results to {args.out}/")
    summary = {
        "env": "SeqGAN-Oracle-v0",
        "num_envs": args.num_envs,
        "n_rollouts": args.n_rollouts,
        "episodes": args.episodes,
        "seed": args.seed,
        "discriminator_parameters": n_params,
        **scores,
        "mean_q_per_step": q_means,
        "seconds_per_episode": episode_times,
        "seconds_total": time.perf_counter() - start,
    }
    atomic_write_json(args.out / "summary.json", summary)
    lines = [" ".join(map(str, row)) for row in final_sequences]
    atomic_write_text(args.out / "samples.txt", "\n".join(lines) + "\n")
    log(f"      summary.json, samples.txt ({len(lines)} sequences); {summary['seconds_total']:.1f} s in all")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
