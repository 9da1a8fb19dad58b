"""Every speed unit of the SeqGAN loop, ours against the reference code's way, in one run.

    python benchmarks/run.py [--repeats 3] [--device cpu|cuda|auto] [--out docs/results/benchmarks.md]

For each unit the table gives our time (best of ``--repeats``), the time of the straightforward
reference in ``benchmarks/reference.py`` (one run: it is slow), their ratio, the target, and the
FLOP floor: the unit's matmul arithmetic at this machine's matmul peak, measured in the same run
(a 2048³ float32 and bfloat16 matmul, the bfloat16 one at 512³ on a CPU without bfloat16 dot
products; float32 as our models multiply, through ``seqgan_gym._matmul.mm``, and torch's default
``a @ b`` for comparison). Also: the peak
resident memory after each unit, and the ``paper`` preset's schedule estimated from the units
(120 MLE epochs, 50 x 3 discriminator pretraining epochs, 200 adversarial epochs of one generator
update and 5 x 3 discriminator epochs, 10,000 fresh negatives per discriminator round).
"""

from __future__ import annotations

import argparse
import copy
import platform
import resource
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from _timing import timed, write_report  # benchmarks/_timing.py (scripts run from their folder)
from reference import (
    conv1d_discriminator_epoch,
    multinomial_sample,
    plain_mle_epoch,
    plain_weighted_nll,
    rollout_rewards,
)
from stable_baselines3.common.logger import Logger

import seqgan_gym  # noqa: F401  (registers SeqGAN-Oracle-v0)
from agents import REINFORCE
from agents.pretraining import discriminator_optimizer, mle_epoch, mle_optimizer, train_discriminator
from seqgan_gym import _matmul as matmul
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym._matmul import mm
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.sb3 import make_sb3_vec_env

V, T, EMB, HIDDEN = 5000, 20, 32, 32
B, N = 64, 16  # sequences per generator update, Monte Carlo completions per prefix
FILTER_MACS = 118_600  # Σ_w (T - w + 1) w nf_w: a sequence's convolution multiply-adds per embedding dimension
HIGHWAY_FLOP = 2 * 2 * 1720 * 1720  # the highway layer's two matmuls, per sequence


def peak_matmul_gflops(
    dtype: torch.dtype,
    device: torch.device,
    product: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = torch.mm,
    size: int = 2048,
) -> float:
    """GFLOP/s of a ``size``³ ``product`` in ``dtype`` (best of 5)."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    product(a, b)
    best = min(timed(lambda: _sync(product(a, b), device), 5))
    return 2 * size**3 / best / 1e9


def _sync(x: object, device: torch.device) -> object:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return x


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> None:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each of our units, best taken (>= 1)")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu", help="auto: CUDA when available")
    parser.add_argument("--out", type=Path, default=Path("docs/results/benchmarks.md"), help="the report (markdown)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here (try --device auto or cpu)")
    device = torch.device(
        "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    )
    torch.manual_seed(0)

    def sync(fn: Callable[[], object]) -> Callable[[], object]:
        return lambda: _sync(fn(), device)

    fp32 = peak_matmul_gflops(torch.float32, device, mm)  # as the models multiply (oneDNN where it is faster)
    fp32_default = peak_matmul_gflops(torch.float32, device)
    # Where bfloat16 is emulated a 2048³ product takes a long time: a 512³ one shows that rate in
    # seconds, and a slow rate there is enough to know.
    bf16_size = 512
    bf16 = peak_matmul_gflops(torch.bfloat16, device, size=bf16_size)
    if bf16 >= fp32 / 4:
        bf16_size, bf16 = 2048, peak_matmul_gflops(torch.bfloat16, device)
    # D's format as precision="auto" picks it on this device: by timing D's own products.
    d_bfloat16 = Discriminator(V, T).to(device).uses_bfloat16
    d_rate = bf16 if d_bfloat16 else fp32
    rows: list[tuple[str, float, float | None, str, float, float]] = []  # unit, ours, ref, target, floor, rss

    # 1. 10,000 oracle samples: inverse-CDF against torch.multinomial.
    oracle = OracleLSTM.seeded().to(device)
    oracle.sample(1024, generator=torch.Generator(device).manual_seed(0))  # warm-up
    ours = timed(sync(lambda: oracle.sample(10_000, generator=torch.Generator(device).manual_seed(1))), args.repeats)
    ref = timed(sync(lambda: multinomial_sample(oracle, 10_000, torch.Generator(device).manual_seed(1))), 1)
    sample_flop = 10_000 * T * (HIDDEN + 1) * V * 2
    rows.append(
        ("10k oracle samples, V=5000, T=20", min(ours), ref[0], "<= 0.5 s", sample_flop / fp32 / 1e9, peak_rss_mb())
    )
    print(f"sampling: ours {min(ours):.2f} s, reference {ref[0]:.2f} s", file=sys.stderr)

    # 2. One MLE epoch on 10,000 sequences, batch 64: the fused loss against full logits + cross_entropy.
    real = oracle.sample(10_000, generator=torch.Generator(device).manual_seed(2))
    generator = LSTMGenerator(generator=torch.Generator().manual_seed(0)).to(device)
    plain = copy.deepcopy(generator)
    ours = timed(sync(lambda: mle_epoch(generator, real, mle_optimizer(generator))), args.repeats)
    ref = timed(sync(lambda: plain_mle_epoch(plain, real, torch.optim.Adam(plain.parameters(), lr=0.01))), 1)
    mle_flop = 3 * (len(real) // 64 * 64) * T * (HIDDEN + 1) * V * 2  # logits, and the two gradient matmuls
    rows.append(
        ("MLE epoch, 10k sequences, batch 64", min(ours), ref[0], "<= 1.5 s", mle_flop / fp32 / 1e9, peak_rss_mb())
    )
    print(f"MLE epoch: ours {min(ours):.2f} s, reference {ref[0]:.2f} s", file=sys.stderr)

    # 3. One adversarial generator update: B=64 sequences, N=16 completions per prefix, the paper's D.
    rollout_policy = LSTMGenerator(generator=torch.Generator().manual_seed(1)).to(device)
    env = make_sb3_vec_env("SeqGAN-Oracle-v0", B, N, rollout_policy, device=device, n_real=1000)
    model = REINFORCE("LSTMGeneratorPolicy", env, seed=0, device=device)
    model.set_logger(Logger(folder=None, output_formats=[]))
    _, callback = model._setup_learn(10**9, None)  # what learn() does first: reset the env, no-op callback

    def update() -> None:
        model.collect_episodes(callback)
        model.train()

    update()  # warm-up: builds D's scoring tables once, as the first update of a run does
    ours = timed(sync(update), args.repeats)
    discriminator = env.get_attr("discriminator")[0]
    reference_generator = copy.deepcopy(model.policy.generator)
    reference_optimizer = torch.optim.Adam(reference_generator.parameters(), lr=0.01)

    def reference_update() -> None:
        stream = torch.Generator(device).manual_seed(3)
        sequences = multinomial_sample(reference_generator, B, stream)
        rewards = rollout_rewards(rollout_policy, discriminator, sequences, N, stream)
        loss = plain_weighted_nll(reference_generator, sequences, rewards)
        reference_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference_generator.parameters(), 5.0)
        reference_optimizer.step()

    ref = timed(sync(reference_update), 1)
    completions = sum(T - t for t in range(1, T)) * B * N  # sampled tokens of the rollouts
    scored = (T - 1) * B * N + B
    update_flop_fp32 = completions * (HIDDEN + 1) * V * 2 + 3 * B * T * (HIDDEN + 1) * V * 2
    update_floor = (update_flop_fp32 / fp32 + scored * HIGHWAY_FLOP / d_rate) / 1e9  # convolutions: table lookups
    rows.append(("generator update, B=64, N=16, paper D", min(ours), ref[0], "<= 1.5 s", update_floor, peak_rss_mb()))
    print(f"generator update: ours {min(ours):.2f} s, reference {ref[0]:.2f} s", file=sys.stderr)

    # 4. One discriminator epoch on 20,000 sequences (10k real + 10k generated), batch 64.
    disc = Discriminator(V, T).to(device)
    reference_disc = copy.deepcopy(disc)
    reference_disc.precision = "float32"
    fake = generator.sample(10_000, generator=torch.Generator(device).manual_seed(4))
    optimizer = discriminator_optimizer(disc)
    ours = timed(sync(lambda: train_discriminator(disc, real, fake, optimizer, epochs=1)), args.repeats)
    tokens = torch.cat([real, fake])
    labels = torch.cat([torch.ones(10_000, dtype=torch.long), torch.zeros(10_000, dtype=torch.long)]).to(device)
    order = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(5)).to(device)
    reference_optimizer = torch.optim.Adam(reference_disc.parameters(), lr=1e-4)
    ref = timed(sync(lambda: conv1d_discriminator_epoch(reference_disc, tokens, labels, reference_optimizer, order)), 1)
    d_flop = 3 * len(tokens) * (2 * FILTER_MACS * 64 + HIGHWAY_FLOP)  # forward, and backward's two matmuls
    rows.append(
        (
            "D epoch, 20k sequences, paper D, batch 64",
            min(ours),
            ref[0],
            "<= 10 s",
            d_flop / d_rate / 1e9,
            peak_rss_mb(),
        )
    )
    print(f"D epoch: ours {min(ours):.2f} s, reference {ref[0]:.2f} s", file=sys.stderr)
    # What no product can hide: the epoch's optimiser steps, a pass over D's 7 M parameters and
    # their Adam state each (memory-bound, no FLOP floor counts them).
    n_steps = -(-len(tokens) // 64)
    adam_s = min(timed(sync(lambda: [optimizer.step() for _ in range(n_steps)]), 1))

    # 5. The paper preset, estimated from the units above (evaluation of 10k samples each epoch included).
    sample_s, mle_s, update_s, d_s = (r[1] for r in rows)
    sample_ref, mle_ref, update_ref, d_ref = (r[2] for r in rows)
    d_round, d_round_ref = sample_s + 3 * d_s, sample_ref + 3 * d_ref
    paper = 120 * (mle_s + sample_s) + 50 * d_round + 200 * (update_s + 5 * d_round + sample_s)
    paper_ref = 120 * (mle_ref + sample_ref) + 50 * d_round_ref + 200 * (update_ref + 5 * d_round_ref + sample_ref)
    rows.append(("`paper` preset, estimated from the units above", paper, paper_ref, "measured and reported", 0.0, 0.0))

    def cell(x: float | None) -> str:
        return "" if x is None else f"{x:,.2f}"

    lines = [
        "# Benchmarks: our implementation against the reference code's way",
        "",
        f"`python benchmarks/run.py --repeats {args.repeats}` on {cpu_model()} ({device.type}), "
        f"{torch.get_num_threads()} threads, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}); "
        f"measured matmul peak {fp32:.0f} GFLOP/s float32 as our models multiply "
        f"(oneDNN: {device.type == 'cpu' and matmul.ENABLED and matmul.onednn_available()}; "
        f"torch's default `a @ b`: {fp32_default:.0f}), {bf16:.{0 if bf16 >= 10 else 2}f} GFLOP/s bfloat16"
        f"{'' if bf16_size == 2048 else f' (a {bf16_size}³ product)'}; "
        f'D\'s precision as `precision="auto"` measured it: {"bfloat16" if d_bfloat16 else "float32"}.',
        "",
        "| unit | ours (s) | reference (s) | speed-up on the reference | target | FLOP floor (s) "
        "| ours / floor | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {unit} | {cell(o)} | {cell(r)} | {cell(r / o if r else None)}x | {target} | "
            f"{cell(floor) if floor else ''} | {f'{o / floor:.2f}x' if floor else ''} | "
            f"{f'{rss:,.0f}' if rss else ''} |"
            for unit, o, r, target, floor, rss in rows
        ),
        "",
        "Ours: best of the repeats. Reference: one run of `benchmarks/reference.py` (multinomial sampling; "
        "rollouts that re-encode each prefix; D as conv1d layers in float32, scoring in batches of 64; full logits "
        "for the losses; torch's default Adam). The `paper` row is an estimate (120 x (MLE epoch + evaluation) + "
        "50 x (10k negatives + 3 D epochs) + 200 x (generator update + 5 x (10k negatives + 3 D epochs) + "
        "evaluation)), not a run. Peak RSS is the process's high-water mark after each unit.",
        "",
        f"Of the D epoch, its {n_steps} Adam steps alone (fused, over D's "
        f"{sum(p.numel() for p in disc.parameters()) / 1e6:.2f} M parameters, no product) take {adam_s:.2f} s: "
        f"{adam_s / rows[3][4]:.2f}x the FLOP floor by themselves.",
        "",
        "The `paper` preset run end to end, beside the `fast` preset: [presets.md](presets.md).",
        "",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
