"""Soak test: thousands of SeqGAN generator updates with the discriminator loop, watching for NaN and leaks.

A small benchmark (V=64, T=8, a small discriminator, 256 real sequences) runs the paper's
alternation for ``--updates`` generator updates: REINFORCE with Monte Carlo rewards, then one
discriminator round on fresh negatives and the rollout-policy sync after every update. Every
``--report-every`` updates it checks that every parameter and optimiser state is finite, reads
the resident memory (``/proc/self/statm``) and scores NLL-oracle on 1,000 samples. A non-finite
reward, loss or gradient stops the run at once (REINFORCE and the discriminator training check
each update). Writes a markdown report to ``--out`` (``docs/results/soak.md``).

    python benchmarks/soak.py                  # 5,000 updates
    python benchmarks/soak.py --updates 500    # a shorter soak
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from _timing import write_report  # benchmarks/_timing.py (scripts run from their folder)
from stable_baselines3.common.logger import Logger

import seqgan_gym
from agents import REINFORCE
from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from agents.pretraining import discriminator_optimizer
from seqgan_gym._checks import all_finite, non_finite_names
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import nll_oracle
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.sb3 import make_sb3_vec_env

V, T, EMB, HIDDEN = 64, 8, 16, 16
N_REAL, BATCH, N_ROLLOUTS, N_NEGATIVES = 256, 32, 4, 64
FILTER_SIZES, NUM_FILTERS = (1, 2, 3, 4), (16, 16, 16, 16)


def rss_mib() -> float:
    """Resident memory of this process now, MiB (``/proc/self/statm``; peak RSS where there is none)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def build(seed: int) -> tuple[REINFORCE, list[Any], OracleLSTM, Discriminator, LSTMGenerator]:
    torch.manual_seed(seed)
    oracle = OracleLSTM.seeded(seed=seed, vocab_size=V, seq_len=T, emb_dim=EMB, hidden_dim=HIDDEN)
    discriminator = Discriminator(V, T, emb_dim=EMB, filter_sizes=FILTER_SIZES, num_filters=NUM_FILTERS)
    rollout_policy = LSTMGenerator(V, T, EMB, HIDDEN)
    env = make_sb3_vec_env(
        n_envs=BATCH,
        n_rollouts=N_ROLLOUTS,
        rollout_policy=rollout_policy,
        oracle=oracle,
        discriminator=discriminator,
        n_real=N_REAL,
    )
    env.seed(seed)
    model = REINFORCE(
        "LSTMGeneratorPolicy", env, policy_kwargs={"emb_dim": EMB, "hidden_dim": HIDDEN}, seed=seed, device="cpu"
    )
    model.set_logger(Logger(folder=None, output_formats=[]))
    rollout_policy.load_state_dict(model.policy.generator.state_dict())
    callbacks = [
        DiscriminatorTrainingCallback(
            d_steps=1,
            k_epochs=1,
            n_negatives=N_NEGATIVES,
            optimizer=discriminator_optimizer(discriminator),
            seed=seed,
        ),
        RolloutPolicySync(rollout_policy=rollout_policy),
    ]
    return model, callbacks, oracle, discriminator, rollout_policy


def soak(updates: int, report_every: int, seed: int) -> dict[str, Any]:
    """Run ``updates`` generator updates; a row of measurements every ``report_every`` updates."""
    rss_start = rss_mib()
    model, callbacks, oracle, discriminator, rollout_policy = build(seed)
    rss_built = rss_mib()
    eval_stream = torch.Generator().manual_seed(seed + 1)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    done = 0
    while done < updates:
        chunk = min(report_every, updates - done)
        model.learn(chunk * BATCH * T, callback=callbacks, reset_num_timesteps=False)
        done += chunk
        state = {
            "generator": model.policy.state_dict(),
            "generator_optimizer": model.policy.optimizer.state_dict(),
            "discriminator": discriminator.state_dict(),
            "discriminator_optimizer": callbacks[0].optimizer.state_dict(),
            "rollout_policy": rollout_policy.state_dict(),
            "last_stats": model.last_stats,
        }
        if not all_finite(state):
            raise FloatingPointError(f"non-finite values in {non_finite_names(state)} after update {done}")
        eval_stream.manual_seed(seed + 1)  # the same sample stream at every evaluation
        rows.append(
            {
                "updates": done,
                "wall_s": time.perf_counter() - started,
                "rss_mib": rss_mib(),
                "mean_reward": model.last_stats["mean_reward"],
                "d_loss": callbacks[0].last_loss,
                "nll_oracle": nll_oracle(oracle, model.policy.generator.sample(1000, generator=eval_stream)),
            }
        )
        r = rows[-1]
        print(
            f"update {done:6d}  {r['wall_s']:7.1f} s  RSS {r['rss_mib']:7.1f} MiB  reward {r['mean_reward']:.3f}  "
            f"d_loss {r['d_loss']:.3f}  nll_oracle {r['nll_oracle']:.3f}",
            flush=True,
        )
    assert model._n_updates == updates, (model._n_updates, updates)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "rows": rows,
        "rss_start": rss_start,
        "rss_built": rss_built,
        "updates": updates,
        "seed": seed,
        "load": load,
    }


def markdown(result: dict[str, Any], command: str) -> list[str]:
    rows = result["rows"]
    first, last = rows[0], rows[-1]
    growth = last["rss_mib"] - first["rss_mib"]
    lines = [
        "# Soak test",
        "",
        f"`{command}`: {result['updates']:,} generator updates of SeqGAN's loop on a small benchmark "
        f"(V={V}, T={T}, generator and oracle {EMB}/{HIDDEN}, discriminator filters {list(FILTER_SIZES)} x "
        f"{list(NUM_FILTERS)}, {N_REAL} real sequences): REINFORCE on {BATCH} sequences with N={N_ROLLOUTS} Monte "
        f"Carlo completions per prefix, then one discriminator epoch on {N_NEGATIVES} fresh negatives and the "
        "rollout-policy sync, after every update.",
        "",
        f"torch {torch.__version__}, seqgan-gym {seqgan_gym.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; load average "
        f"{result['load']:.1f} on {os.cpu_count()} CPUs at the end (the wall time includes any other work).",
        "",
        "| | value |",
        "|---|---|",
        f"| generator updates | {last['updates']:,} |",
        f"| wall time | {last['wall_s']:.0f} s ({1000 * last['wall_s'] / last['updates']:.1f} ms per update) |",
        "| non-finite values | none (every update's rewards, loss and gradient norm checked; every parameter and "
        f"optimiser state every {first['updates']} updates) |",
        f"| resident memory, before building | {result['rss_start']:.1f} MiB |",
        f"| resident memory, built | {result['rss_built']:.1f} MiB |",
        f"| resident memory, after {first['updates']} updates | {first['rss_mib']:.1f} MiB |",
        f"| resident memory, at the end | {last['rss_mib']:.1f} MiB ({growth:+.1f} MiB since update "
        f"{first['updates']}) |",
        f"| NLL-oracle (1,000 samples) | {first['nll_oracle']:.3f} after {first['updates']} updates, "
        f"{last['nll_oracle']:.3f} at the end |",
        "",
        "| updates | wall (s) | RSS (MiB) | mean reward | D loss | NLL-oracle |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['updates']:,} | {r['wall_s']:.0f} | {r['rss_mib']:.1f} | {r['mean_reward']:.3f} | "
            f"{r['d_loss']:.3f} | {r['nll_oracle']:.3f} |"
        )
    return [*lines, ""]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=5000, help="generator updates (5,000)")
    parser.add_argument("--report-every", type=int, default=250, help="updates between checks and rows (250)")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything (0)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/soak.md"), help="the markdown report")
    args = parser.parse_args(argv)
    for name in ("updates", "report_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    result = soak(args.updates, args.report_every, args.seed)
    command = "python benchmarks/soak.py" + ("" if args.updates == 5000 else f" --updates {args.updates}")
    write_report(markdown(result, command), args.out)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
