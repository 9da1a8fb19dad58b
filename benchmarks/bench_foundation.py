"""Foundation benchmark: oracle sampling and one Monte Carlo rewarded episode at the paper's sizes.

Prints a table and writes it to ``docs/results/bench_foundation.md``:

* 10,000 oracle samples (V=5000, T=20): our inverse-CDF sampler against ``torch.multinomial``
  (the reference code's way) on the same oracle, in the same run, as a ratio.
* one full episode of ``MonteCarloRewardWrapper`` over ``TokenGenerationVectorEnv`` with 64
  sub-envs, N=16 rollouts and the paper's discriminator, and the share of it spent scoring the
  19 x 1024 + 64 sequences with D.

    python benchmarks/bench_foundation.py [--repeats 3] [--out docs/results/bench_foundation.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from _timing import timed  # benchmarks/_timing.py (scripts run from their folder)
from reference import multinomial_sample

import seqgan_gym  # noqa: F401  (registers SeqGAN-Oracle-v0)
from seqgan_gym import LSTMGenerator, MonteCarloRewardWrapper, OracleLSTM
from seqgan_gym._io import atomic_write_text
from seqgan_gym._malloc import keep_freed_memory


def main() -> None:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions of each unit (>= 1)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/bench_foundation.md"))
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")

    oracle = OracleLSTM.seeded()
    oracle.sample(1024, generator=torch.Generator().manual_seed(0))  # warm-up
    ours = timed(lambda: oracle.sample(10_000, generator=torch.Generator().manual_seed(1)), args.repeats)
    reference = timed(lambda: multinomial_sample(oracle, 10_000, torch.Generator().manual_seed(1)), args.repeats)

    env = gym.make_vec("SeqGAN-Oracle-v0", num_envs=64, vectorization_mode="vector_entry_point", n_real=1000)
    rollout_policy = LSTMGenerator(generator=torch.Generator().manual_seed(0))
    env = MonteCarloRewardWrapper(env, rollout_policy, n_rollouts=16)
    actions = np.random.default_rng(0).integers(0, 5000, size=(20, 64))

    def episode() -> None:
        env.reset(seed=0)
        for t in range(20):
            env.step(actions[t])

    episode_times = timed(episode, args.repeats + 1)[1:]  # the first episode warms up oneDNN and the allocator
    # The episode's scoring alone: 16 completions of 64 prefixes at t = 1..19, then the 64 sequences.
    discriminator = env.unwrapped.discriminator
    gen = torch.Generator().manual_seed(0)
    prefixes = [torch.randint(0, 5000, (64, t), generator=gen) for t in range(1, 20)]
    suffixes = [torch.randint(0, 5000, (64 * 16, 20 - t), generator=gen) for t in range(1, 20)]
    finals = torch.randint(0, 5000, (64, 20), generator=gen)

    def scoring() -> None:
        for prefix, suffix in zip(prefixes, suffixes, strict=True):
            discriminator.prob_real_completions(prefix, suffix)
        discriminator.prob_real(finals)

    def scoring_reference() -> None:  # complete sequences, batches of 64, as the reference code
        for prefix, suffix in zip(prefixes, suffixes, strict=True):
            discriminator.prob_real(torch.cat([prefix.repeat_interleave(16, 0), suffix], 1), batch_size=64)
        discriminator.prob_real(finals, batch_size=64)

    scoring_times = timed(scoring, args.repeats)
    scoring_reference_times = timed(scoring_reference, args.repeats)

    best = min
    rows = [
        ("10k oracle samples (V=5000, T=20), inverse-CDF", best(ours), "<= 1 s", ""),
        (
            "10k oracle samples, torch.multinomial (reference)",
            best(reference),
            "",
            f"{best(reference) / best(ours):.1f}x",
        ),
        ("one MC episode: 64 envs, N=16, paper D", best(episode_times), "<= 5 s", ""),
        ("  of which D scoring 19,520 sequences, shared prefixes", best(scoring_times), "", ""),
        ("  the rest (rollouts, env, wrapper)", best(episode_times) - best(scoring_times), "", ""),
        (
            "D scoring, complete sequences in batches of 64 (reference)",
            best(scoring_reference_times),
            "",
            f"{best(scoring_reference_times) / best(scoring_times):.1f}x",
        ),
    ]
    header = "| unit | seconds (best of runs) | target | speed-up |\n|---|---|---|---|\n"
    table = header + "".join(f"| {u} | {s:.2f} | {t} | {r} |\n" for u, s, t, r in rows)
    cpu = platform.processor() or platform.machine()
    runs = {
        "sampling, ours": ours,
        "sampling, reference": reference,
        "episode": episode_times,
        "D scoring": scoring_times,
        "D scoring, reference": scoring_reference_times,
    }
    detail = "".join(
        f"- {name}: {', '.join(f'{x:.2f}' for x in xs)} s (median {statistics.median(xs):.2f})\n"
        for name, xs in runs.items()
    )
    report = (
        "# Foundation benchmark\n\n"
        f"`python benchmarks/bench_foundation.py --repeats {args.repeats}` on {cpu}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__} "
        f"({torch.backends.cpu.get_cpu_capability()}).\n\n{table}\nAll runs:\n{detail}"
    )
    print(report)
    atomic_write_text(args.out, report)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
