"""The paper's Table 1 on the synthetic oracle: Random, MLE, Scheduled Sampling, PG-BLEU and SeqGAN.

Three runs of the same schedule (``agents.experiment.seqgan``), identical up to the end of MLE pretraining:
SeqGAN (with Figure 2's MLE control beside it), PG-BLEU and Scheduled Sampling, each trained for
the preset's adversarial epochs after pretraining. Every final generator then draws ``--n-eval``
samples (10,000, as the paper), the oracle scores each sequence, and the table reports the mean
NLL-oracle and the p-value of SeqGAN against each method (Welch's t-test over the per-sequence
NLLs). Random is the untrained generator.

    python examples/table1.py   # the fast preset: under an hour on 2 CPU cores
    python examples/table1.py --preset quick --out results/table1_quick

Writes to --out: one folder per run (``seqgan/``, ``pg_bleu/``, ``scheduled_sampling/``: the
trainer's outputs and checkpoint; an interrupted table resumes each run where it stopped),
``results.md`` (the table beside the paper's), ``table1.json`` and ``nll_oracle.png``. Measured times
and results: docs/results/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from agents.cli.common import (
    OneLineParser,
    bad_input,
    folder_contents,
    int_at_least,
    output_dir,
    seed,
)
from agents.experiment.records import RUN_FILES
from agents.experiment.seqgan import PRESETS, CheckpointError, RunFolderError, SeqGANConfig, SeqGANTrainer, stream_seed
from agents.sweeps.seed_table import PAPER_TABLE1
from seqgan_gym._io import FolderInUseError, atomic_write_json, atomic_write_png, atomic_write_text, folder_lock
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import nll_test

METHODS = ("seqgan", "pg_bleu", "scheduled_sampling")
_FINAL_EVAL_STREAM = 7  # the final samples' stream: independent of the training and evaluation streams


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="table1.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="fast", help="schedule of every run (fast)")
    parser.add_argument("--out", type=output_dir, default=None, help="output folder (default: results/table1_<preset>)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the runs, 0 to 2**32 - 1 (default 0)")
    parser.add_argument(
        "--n-eval", type=int_at_least(2), default=10_000, help="final samples per method for the table (10,000)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def welch_p_value(a: torch.Tensor, b: torch.Tensor) -> float:
    """Two-sided p-value of Welch's t-test (unequal variances) between two samples."""
    from scipy import stats  # Student's t distribution: scipy's, not ours

    return float(stats.ttest_ind(a.double().numpy(), b.double().numpy(), equal_var=False).pvalue)


def run_table(
    base: SeqGANConfig,
    out: Path,
    n_eval: int = 10_000,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run (or resume) the three trainings of ``base``'s schedule and score every method's final generator.

    :param base: the schedule; its ``method`` and ``mle_continuation_epochs`` are set per run.
    :param n_eval: final samples per method.
    :return: ``{"rows": [...], "config": ...}``, each row a method with ``nll_oracle`` and ``p_value``.
    """
    trainers: dict[str, SeqGANTrainer] = {}
    for method in METHODS:
        config = dataclasses.replace(base, method=method, mle_continuation_epochs=None if method == "seqgan" else 0)
        run_dir = out / method
        if (run_dir / "checkpoint.pt").is_file():
            trainer = SeqGANTrainer.resume(run_dir)
            if trainer.config != config:
                raise SystemExit(f"table1.py: error: {run_dir}/ holds another configuration; choose another --out")
        else:
            if run_dir.is_dir() and set(folder_contents(run_dir)) <= {*RUN_FILES, "tensorboard"}:
                shutil.rmtree(run_dir)  # this table's run, stopped before its first checkpoint: it starts over
            trainer = SeqGANTrainer(config, run_dir)
        log(f"{method}: unit {trainer.units_done} of {len(trainer.units)} -> {run_dir}/")
        started = time.perf_counter()
        trainer.run(progress=progress)
        final = trainer.summary()[f"nll_oracle_{method}"]
        log(f"{method}: done in {time.perf_counter() - started:.0f} s, NLL-oracle {final:.4f}")
        trainers[method] = trainer

    seqgan = trainers["seqgan"]
    untrained = LSTMGenerator(base.vocab_size, base.seq_len, base.emb_dim, base.hidden_dim)
    untrained.load_state_dict(_initial_generator_state(base))
    assert seqgan.mle_generator is not None
    generators = {
        "Random": untrained,
        "MLE": seqgan.mle_generator,
        "Scheduled Sampling": trainers["scheduled_sampling"].generator,
        "PG-BLEU": trainers["pg_bleu"].generator,
        "SeqGAN": seqgan.generator,
    }
    oracle = seqgan.oracle
    per_sequence = {}
    for name, generator in generators.items():
        stream = torch.Generator(device=generator.device).manual_seed(stream_seed(base.seed, _FINAL_EVAL_STREAM))
        per_sequence[name] = oracle.nll(generator.sample(n_eval, generator=stream)).cpu()
    rows = []
    for name, nll in per_sequence.items():
        p_value = None if name == "SeqGAN" else welch_p_value(per_sequence["SeqGAN"], nll)
        rows.append(
            {
                "method": name,
                "nll_oracle": float(nll.mean()),
                "p_value": p_value,
                # A generator that collapses onto the oracle's likeliest sequences scores a low
                # NLL-oracle and a high NLL-test: the two together tell quality from collapse.
                "nll_test": nll_test(generators[name], seqgan.held_out),
                "paper": PAPER_TABLE1[name],
                "training_seconds": _training_seconds(name, trainers),
            }
        )
    return {"rows": rows, "n_eval": n_eval, "config": base.to_dict()}


def _initial_generator_state(config: SeqGANConfig) -> dict[str, torch.Tensor]:
    """G_θ before any training: a fresh trainer's generator (built from the run's seed)."""
    return SeqGANTrainer(dataclasses.replace(config, method="seqgan")).generator.state_dict()


def _training_seconds(name: str, trainers: dict[str, SeqGANTrainer]) -> float | None:
    key = {"SeqGAN": "seqgan", "PG-BLEU": "pg_bleu", "Scheduled Sampling": "scheduled_sampling"}.get(name)
    return None if key is None else round(trainers[key].elapsed_s, 1)


def markdown(table: dict[str, Any], preset: str) -> str:
    """The table beside the paper's, with how it was made."""
    lines = [
        "| method | NLL-oracle (ours) | p-value, SeqGAN vs method (Welch) | NLL-oracle (paper) | NLL-test (ours) "
        "| training time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for row in table["rows"]:
        p = "-" if row["p_value"] is None else f"{row['p_value']:.2e}" if row["p_value"] > 0 else "< 1e-300"
        seconds = "-" if row["training_seconds"] is None else f"{row['training_seconds']:.0f}"
        lines.append(
            f"| {row['method']} | {row['nll_oracle']:.3f} | {p} | {row['paper']:.3f} | {row['nll_test']:.3f} "
            f"| {seconds} |"
        )
    cfg = table["config"]
    lines += [
        "",
        f"Preset `{preset}`: {cfg['mle_epochs']} MLE epochs, then {cfg['adversarial_epochs']} epochs of each "
        f"method; SeqGAN with {cfg['d_pretrain_rounds']} x {cfg['d_pretrain_epochs']} D pretraining rounds and "
        f"{cfg['d_steps']} x {cfg['k_epochs']} d-steps per update; PG-BLEU with BLEU-{cfg['bleu_max_n']} against "
        f"the {cfg['n_real']:,} real sequences; Scheduled Sampling with the {cfg['sampling_schedule']} schedule, "
        f"k = {cfg['sampling_k']}. MLE is Figure 2's control: MLE continued from the same pretrained generator "
        f"for as many epochs. Each NLL-oracle is the mean over {table['n_eval']:,} final samples; the p-value "
        "compares SeqGAN's per-sequence NLL-oracle with the method's. NLL-test: the generator's NLL of "
        f"{cfg['n_eval']:,} held-out oracle samples (lower: it covers more of the real distribution). "
        "Training time: each run's wall time "
        "on this machine, pretraining and evaluations included (SeqGAN's run also trains the MLE control).",
    ]
    return "\n".join(lines) + "\n"


def plot(out: Path) -> Path:
    """NLL-oracle over epochs of every run, as in Figure 2, from the runs' metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    styles = {
        ("seqgan", "adversarial"): ("SeqGAN", "tab:red"),
        ("seqgan", "mle_continuation"): ("MLE", "tab:blue"),
        ("pg_bleu", "pg_bleu"): ("PG-BLEU", "tab:green"),
        ("scheduled_sampling", "scheduled_sampling"): ("Scheduled Sampling", "tab:purple"),
    }
    pre: list[tuple[int, float]] = []
    for (method, phase), (label, color) in styles.items():
        rows = _rows(out / method / "metrics.csv")
        if not pre:  # the runs share their pretraining: draw it once
            pre = [(r["step"], r["nll_oracle"]) for r in rows if r["phase"] == "mle" and r["nll_oracle"] is not None]
            ax.plot(*zip(*pre, strict=True), color="0.35", label="MLE pretraining")
        points = [(r["step"], r["nll_oracle"]) for r in rows if r["phase"] == phase and r["nll_oracle"] is not None]
        if points:  # each curve starts where pretraining ended
            ax.plot(*zip(pre[-1], *points, strict=True), color=color, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL-oracle (nats per token)")
    ax.set_title("Table 1's methods on the synthetic benchmark")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return atomic_write_png(out / "nll_oracle.png", fig)


def _rows(path: Path) -> list[dict[str, Any]]:
    import csv

    with path.open(encoding="utf-8") as f:
        return [
            {
                "phase": r["phase"],
                "step": int(r["step"]),
                "nll_oracle": float(r["nll_oracle"]) if r["nll_oracle"] else None,
            }
            for r in csv.DictReader(f)
        ]


def main(argv: Sequence[str] | None = None, base: SeqGANConfig | None = None) -> dict[str, Any]:
    """Run the table. ``base`` replaces the preset's config (the tests' tiny benchmark)."""
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    args = parse_args(argv)
    try:
        import scipy  # noqa: F401
    except ImportError:
        raise SystemExit("table1.py: error: the p-values need scipy: pip install -e '.[experiments]'") from None
    out = args.out if args.out is not None else Path("results") / f"table1_{args.preset}"
    config = base if base is not None else dataclasses.replace(PRESETS[args.preset], seed=args.seed)
    print(f"Table 1 with the {args.preset} preset, seed {config.seed}; results go to {out}/", flush=True)
    try:
        with folder_lock(out):  # one table at a time in a folder (each run's folder is locked by its trainer too)
            table = run_table(
                config, out, args.n_eval, progress=not args.no_progress, log=lambda s: print(s, flush=True)
            )
            _write_table(table, out, args.preset)
    except (FolderInUseError, RunFolderError) as err:
        bad_input("table1.py", f"--out: {err}")
    except CheckpointError as err:
        raise SystemExit(f"table1.py: error: --out {str(out)!r}: {err}") from None
    except OSError as err:  # e.g. no space left: each run's last checkpoint is intact
        raise SystemExit(f"table1.py: error: {err}; run the same command again to continue") from None
    except FloatingPointError as err:
        raise SystemExit(f"table1.py: error: training stopped: {err}") from None
    except KeyboardInterrupt:
        sys.stderr.write("table1.py: interrupted; run the same command again to continue where each run stopped\n")
        raise SystemExit(130) from None
    print(markdown(table, args.preset), flush=True)
    print(f"wrote {out}/results.md, table1.json, nll_oracle.png", flush=True)
    return table


def _write_table(table: dict[str, Any], out: Path, preset: str) -> None:
    atomic_write_text(out / "results.md", markdown(table, preset))
    atomic_write_json(out / "table1.json", table)
    plot(out)


if __name__ == "__main__":
    main(sys.argv[1:])
