"""BLEU benchmark: our BLEU and Self-BLEU against Texygen's nltk loop, on COCO captions.

Prints a table and writes it to ``docs/results/bench_bleu.md``:

* BLEU-4 of 2,000 generated-like sentences (the first lines of Texygen's ``image_coco.txt``)
  against the 10,000-sentence test set (``test_coco.txt``): ``seqgan_gym.metrics.bleu`` (reference
  tables included) against ``nltk.translate.bleu_score.sentence_bleu`` per hypothesis, Texygen's
  loop;
* Self-BLEU-4 of the same 2,000 sentences, each against the other 1,999: ``self_bleu`` against
  the nltk loop.

The nltk loops take minutes, so by default they run on the first ``--nltk-hypotheses`` sentences
only and their time is extrapolated linearly to all of them (each sentence costs about the same,
whichever others are scored); ``--nltk-hypotheses 2000`` runs them in full. The scores of the
sentences nltk scored are compared with ours.

    python benchmarks/bench_bleu.py [--repeats 3] [--nltk-hypotheses 100] [--out docs/results/bench_bleu.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import nltk
import numpy as np
from _timing import timed, write_report  # benchmarks/_timing.py (scripts run from their folder)
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

import seqgan_gym
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.metrics import BLEUScorer, bleu, self_bleu, self_bleu_scores

MAX_N = 4
_DATA = Path(seqgan_gym.__file__).parent / "data"
# Texygen's names for the package's copies of its caption files.
_TEXYGEN_NAMES = {"coco_train.txt": "image_coco.txt", "coco_test.txt": "test_coco.txt"}


def default_file(packaged: str) -> Path:
    """The package's copy of a Texygen caption file."""
    return _DATA / packaged


def describe(path: Path) -> str:
    """``path``'s name, with Texygen's name for the package's copies."""
    texygen = _TEXYGEN_NAMES.get(path.name) if path.parent == _DATA else None
    return f"`{path.name}`" + (f" (Texygen's `{texygen}`)" if texygen else "")


def read_lines(path: Path, n: int | None = None) -> list[list[str]]:
    """The first ``n`` lines of ``path`` (all when ``None``), whitespace-tokenized."""
    with path.open(encoding="utf-8") as f:
        sentences = [line.split() for line in f]
    return sentences if n is None else sentences[:n]


def nltk_loop(pairs: list[tuple[list[list[str]], list[str]]]) -> tuple[float, list[float]]:
    """Seconds and scores of Texygen's call, ``sentence_bleu`` with method1 smoothing, per (references, hypothesis)."""
    weights = (1 / MAX_N,) * MAX_N
    start = time.perf_counter()
    scores = [sentence_bleu(refs, hyp, weights, smoothing_function=SmoothingFunction().method1) for refs, hyp in pairs]
    return time.perf_counter() - start, scores


def main() -> None:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hypotheses", type=int, default=2000, help="sentences scored (>= 2)")
    parser.add_argument("--nltk-hypotheses", type=int, default=100, help="sentences nltk scores (1..--hypotheses)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions of ours (>= 1)")
    parser.add_argument("--hypotheses-file", type=Path, default=default_file("coco_train.txt"))
    parser.add_argument("--references-file", type=Path, default=default_file("coco_test.txt"))
    parser.add_argument("--out", type=Path, default=Path("docs/results/bench_bleu.md"))
    args = parser.parse_args()
    if args.hypotheses < 2:
        parser.error(f"--hypotheses must be >= 2, got {args.hypotheses}")
    if not 1 <= args.nltk_hypotheses <= args.hypotheses:
        parser.error(f"--nltk-hypotheses must be in [1, {args.hypotheses}], got {args.nltk_hypotheses}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")

    hyps = read_lines(args.hypotheses_file, args.hypotheses)
    refs = read_lines(args.references_file)
    if len(hyps) < args.hypotheses:
        parser.error(f"{args.hypotheses_file} has {len(hyps)} lines, fewer than --hypotheses {args.hypotheses}")
    n_hyp, n_nltk = len(hyps), args.nltk_hypotheses
    full = n_nltk == n_hyp

    # Ours: the whole call, reference tables included; and its two parts.
    bleu_times = timed(lambda: bleu(hyps, refs, MAX_N), args.repeats)
    build_times = timed(lambda: BLEUScorer(refs, MAX_N), args.repeats)
    scorer = BLEUScorer(refs, MAX_N)
    score_times = timed(lambda: scorer.sentence_scores(hyps), args.repeats)
    self_times = timed(lambda: self_bleu(hyps, MAX_N), args.repeats)
    bleu_value, self_value = bleu(hyps, refs, MAX_N), self_bleu(hyps, MAX_N)

    # nltk, Texygen's loops, on the first n_nltk sentences.
    nltk_bleu_s, nltk_bleu = nltk_loop([(refs, hyp) for hyp in hyps[:n_nltk]])
    nltk_self_s, nltk_self = nltk_loop([(hyps[:i] + hyps[i + 1 :], hyps[i]) for i in range(n_nltk)])
    bleu_diff = float(np.max(np.abs(scorer.sentence_scores(hyps[:n_nltk]) - nltk_bleu)))
    self_diff = float(np.max(np.abs(self_bleu_scores(hyps, MAX_N, range(n_nltk)) - nltk_self)))
    scale = n_hyp / n_nltk

    how = "measured on all sentences" if full else f"extrapolated from the first {n_nltk:,} of {n_hyp:,} sentences"
    rows = [
        (f"BLEU-{MAX_N}: {n_hyp:,} hypotheses vs {len(refs):,} references", min(bleu_times), nltk_bleu_s * scale),
        (
            f"Self-BLEU-{MAX_N}: {n_hyp:,} samples, each vs the other {n_hyp - 1:,}",
            min(self_times),
            nltk_self_s * scale,
        ),
    ]
    options = [f"--{name} {getattr(args, name.replace('-', '_'))}" for name in ("repeats", "nltk-hypotheses")]
    command = " ".join(["python benchmarks/bench_bleu.py", *options])
    lines = [
        "# BLEU benchmark",
        "",
        f"`{command}` on {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, "
        f"nltk {nltk.__version__}, one process. Texygen's definitions: nltk's `sentence_bleu` with uniform weights "
        f"and `SmoothingFunction().method1`, averaged. Hypotheses: the first {n_hyp:,} lines of "
        f"{describe(args.hypotheses_file)}; references: the {len(refs):,} lines of {describe(args.references_file)}; "
        "whitespace-tokenized.",
        "",
        f"| metric | ours (s, best of {args.repeats}) | nltk loop (s, {'measured' if full else 'extrapolated'}) "
        "| ratio | target |",
        "|---|---|---|---|---|",
        *(f"| {label} | {ours:.3f} | {ref:,.1f} | {ref / ours:,.0f}x | >= 100x |" for label, ours, ref in rows),
        "",
        f"nltk times {how}" + ("" if full else f" (times {scale:g})") + f": {nltk_bleu_s:.1f} s for BLEU "
        f"({nltk_bleu_s / n_nltk * 1e3:.0f} ms a hypothesis) and {nltk_self_s:.1f} s for Self-BLEU "
        f"({nltk_self_s / n_nltk * 1e3:.0f} ms a sample).",
        "",
        f"Ours, BLEU-{MAX_N}: the reference tables take {min(build_times):.3f} s to build, then the {n_hyp:,} "
        f"hypotheses {min(score_times):.3f} s to score ({min(score_times) / n_hyp * 1e6:.0f} µs a hypothesis). "
        f"All runs of the whole call: {', '.join(f'{t:.3f}' for t in bleu_times)} s "
        f"(median {statistics.median(bleu_times):.3f}); of Self-BLEU: {', '.join(f'{t:.3f}' for t in self_times)} s "
        f"(median {statistics.median(self_times):.3f}).",
        "",
        f"Values: BLEU-{MAX_N} = {bleu_value:.6f}, Self-BLEU-{MAX_N} = {self_value:.6f}. On the {n_nltk:,} sentences "
        f"nltk scored, the largest difference from ours is {bleu_diff:.1e} (BLEU) and {self_diff:.1e} (Self-BLEU).",
        "",
    ]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
