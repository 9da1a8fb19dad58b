"""The results of a finished text run: BLEU-2..5 and Self-BLEU-2..4 of each generator, and its temperature sweep.

Texygen's definitions, word-level: each generator's samples are decoded and split at whitespace,
BLEU is against the whole test set, Self-BLEU among the samples (lower is more diverse). The
temperature sweep sets BLEU-4 (quality) against Self-BLEU-4 (coverage) for each generator, so that
the method's point can be read against the MLE generators' temperature frontier. ``seqgan-gym
train-text`` (:mod:`agents.cli.train_text`) writes these at the end of a run.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

import seqgan_gym
from agents.experiment.config import SeqGANConfig
from agents.experiment.seqgan import SeqGANTrainer
from agents.experiment.streams import EVAL_STREAM, stream_seed
from agents.experiment.text_runs import BLEU_ORDERS, SELF_BLEU_ORDERS
from seqgan_gym._io import atomic_write_json, atomic_write_text
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import BLEUScorer, FrontierPoint, frontier_at, self_bleu
from seqgan_gym.rewards import get_reward
from seqgan_gym.text import TextCorpus

#: G_θ as MLE pretraining left it, kept in the run folder for the temperature sweep.
PRETRAINED_NAME = "pretrained_generator.pt"


def evaluate(samples: list[list[str]], scorers: dict[int, BLEUScorer]) -> dict[str, float]:
    """BLEU-2..5 of ``samples`` (words) against the test set and Self-BLEU-2..4 among them."""
    row: dict[str, float] = {f"bleu{n}": scorers[n].score(samples) for n in BLEU_ORDERS}
    row.update({f"self_bleu{n}": self_bleu(samples, max_n=n) for n in SELF_BLEU_ORDERS})
    return row


def score(
    trainer: SeqGANTrainer, temperatures: Sequence[float] = (), log: Callable[[str], None] = print
) -> dict[str, Any]:
    """The BLEU table of the finished run in ``trainer`` (and its temperature sweep), written to its folder.

    Writes ``results.json``, ``results.md``, ``samples_<method>.txt`` and ``samples_mle.txt`` (and, with
    ``temperatures``, ``quality_diversity.md``); ``log`` gets each step and the tables.
    """
    corpus, config, out = trainer.corpus, trainer.config, trainer.out_dir
    assert corpus is not None and out is not None and trainer.mle_generator is not None
    started = time.perf_counter()
    references = corpus.bleu_references()
    log(f"scoring {config.n_eval:,} samples of each generator against the {len(references):,} test sentences")
    scorers = {n: BLEUScorer(references, max_n=n) for n in BLEU_ORDERS}
    label = get_reward(config.method).label  # SeqGAN, or the adversarial method that ran
    generators = {label: trainer.generator, "MLE": trainer.mle_generator}
    stream_of = _sample_stream(config)
    samples = {name: g.sample(config.n_eval, generator=stream_of(g)) for name, g in generators.items()}
    words = {name: corpus.bleu_words(s) for name, s in samples.items()}
    rows = torch.randperm(len(corpus.train), generator=torch.Generator().manual_seed(config.seed + 1))
    real = corpus.real_data()[rows[: config.n_eval]]
    words["real (training sentences)"] = corpus.bleu_words(real)
    table = {name: evaluate(sentences, scorers) for name, sentences in words.items()}
    for name, file in ((label, f"samples_{config.method}.txt"), ("MLE", "samples_mle.txt")):
        atomic_write_text(out / file, "\n".join(corpus.decode(samples[name])) + "\n")
    result: dict[str, Any] = {
        "table": table,
        "config": config.to_dict(),
        "vocab_size": config.vocab_size,
        "seq_len": config.seq_len,
        "training_seconds": round(trainer.elapsed_s, 1),
        "scoring_seconds": round(time.perf_counter() - started, 1),
        "seqgan_gym": seqgan_gym.__version__,
        "torch": torch.__version__,
    }
    if temperatures:
        swept = dict(generators)
        if (out / PRETRAINED_NAME).is_file():  # absent if the run was begun without it: the sweep goes on without
            pretrained = copy.deepcopy(trainer.generator)
            pretrained.load_state_dict(torch.load(out / PRETRAINED_NAME, weights_only=True))
            swept = {"pretrained": pretrained, **generators}
        log(f"temperature sweep: τ in {sorted({*temperatures, 1.0})}")
        sweep = temperature_sweep(swept, config, corpus, scorers[4], temperatures)
        result["quality_diversity"] = {name: [p._asdict() for p in points] for name, points in sweep.items()}
        atomic_write_text(out / "quality_diversity.md", quality_diversity_markdown(sweep, label))
        log(quality_diversity_markdown(sweep, label))
    atomic_write_json(out / "results.json", result)
    atomic_write_text(out / "results.md", markdown(result, corpus.name))
    log(markdown(result, corpus.name))
    return result


def _sample_stream(config: SeqGANConfig) -> Any:
    """A fresh sampling stream for a generator, the same for every generator and τ (a fair comparison)."""
    return lambda g: torch.Generator(device=g.device).manual_seed(stream_seed(config.seed, EVAL_STREAM, 1))


def temperature_sweep(
    generators: dict[str, LSTMGenerator],
    config: SeqGANConfig,
    corpus: TextCorpus,
    bleu4: BLEUScorer,
    temperatures: Sequence[float],
) -> dict[str, list[FrontierPoint]]:
    """Each generator at each τ: BLEU-4 against the test set (quality), Self-BLEU-4 (coverage: lower is better)."""
    stream_of = _sample_stream(config)
    sweep: dict[str, list[FrontierPoint]] = {}
    for name, g in generators.items():
        sweep[name] = []
        for tau in sorted({*temperatures, 1.0}):
            words = corpus.bleu_words(g.sample(config.n_eval, generator=stream_of(g), temperature=tau))
            sweep[name].append(FrontierPoint(tau, bleu4.score(words), self_bleu(words, max_n=4)))
    return sweep


def quality_diversity_markdown(sweep: dict[str, list[FrontierPoint]], label: str = "SeqGAN") -> str:
    """The sweep's table, and where the ``label`` generator's τ = 1 point lies against each MLE generator's curve."""
    names = list(sweep)
    lines = [
        "| τ | " + " | ".join(f"{n} BLEU-4 | {n} Self-BLEU-4" for n in names) + " |",
        "|---" * (2 * len(names) + 1) + "|",
    ]
    for i, point in enumerate(sweep[names[0]]):
        cells = " | ".join(f"{sweep[n][i].quality:.3f} | {sweep[n][i].coverage:.3f}" for n in names)
        lines.append(f"| {point.temperature:g} | {cells} |")
    seqgan = next(p for p in sweep[label] if p.temperature == 1.0)
    lines += ["", f"{label} at τ = 1: BLEU-4 {seqgan.quality:.3f} at Self-BLEU-4 {seqgan.coverage:.3f}.", ""]
    for name in ("pretrained", "MLE"):
        if name not in sweep:
            continue
        at = frontier_at(sweep[name], seqgan.coverage)
        if at is None:
            lines.append(f"- {name}: no τ in the sweep reaches that Self-BLEU-4; widen --temperatures.")
            continue
        bleu4, tau = at
        where = "beyond it (higher BLEU-4)" if seqgan.quality > bleu4 else "behind it (lower BLEU-4)"
        lines.append(
            f"- {name}: at that Self-BLEU-4 (τ ≈ {tau:.3f}) its curve has BLEU-4 {bleu4:.3f}; "
            f"{label} is {abs(seqgan.quality - bleu4):.3f} {where}."
        )
    return "\n".join(lines) + "\n"


def markdown(result: dict[str, Any], corpus: str) -> str:
    names = [f"BLEU-{n}" for n in BLEU_ORDERS] + [f"Self-BLEU-{n}" for n in SELF_BLEU_ORDERS]
    keys = [f"bleu{n}" for n in BLEU_ORDERS] + [f"self_bleu{n}" for n in SELF_BLEU_ORDERS]
    lines = ["| generator | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in result["table"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.3f}" for k in keys) + " |")
    cfg = result["config"]
    lines += [
        "",
        f"Corpus `{corpus}` (V={result['vocab_size']}, T={result['seq_len']}): {cfg['mle_epochs']} MLE epochs, "
        f"{cfg['d_pretrain_rounds']} x {cfg['d_pretrain_epochs']} D pretraining rounds, then "
        f"{cfg['adversarial_epochs']} adversarial epochs (B={cfg['batch_size']}, N={cfg['n_rollouts']}, one D round "
        f"of {cfg['n_negatives']:,} negatives each) beside as many MLE epochs from the same start; "
        f"{cfg['n_eval']:,} samples per generator, BLEU (word-level) against the whole test set. "
        f"Training {result['training_seconds']:.0f} s, scoring {result['scoring_seconds']:.0f} s on this machine.",
    ]
    return "\n".join(lines) + "\n"
