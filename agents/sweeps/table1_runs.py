"""Table 1's rows of one trial, each kept as a folder that an independent scorer can re-score.

A sweep's trial trains one method for one seed. Besides its metrics it keeps, per row of Table 1 it
gives, a folder ``<row>_seed<k>`` holding ``samples.txt`` (the row's ``n_eval`` final samples, one
sequence of token ids a line, drawn from the run's evaluation stream) and ``summary.json`` (their
NLL-oracle and the generator's NLL-test, the temperature, the oracle's digest, the run's config):

* ``random``: the untrained G_θ (the same for every method of a seed), kept before training starts;
* the method's own row: ``seqgan``, ``pg_bleu`` or ``scheduled_sampling``;
* a SeqGAN trial's two controls: ``mle``, Figure 2's continued MLE, and ``mle_tau``, the same MLE
  generator sampled at the temperature τ whose NLL-test equals SeqGAN's (:func:`matching_temperature`):
  the MLE model at SeqGAN's coverage, so that the two compare at one point of the quality-diversity plane.
  ``mle``'s summary also holds that generator's whole frontier (:func:`temperature_frontier`), against
  which every method's point (NLL-test, NLL-oracle) is placed.

:func:`row_metrics` gives the numbers a trial reports for them (``nll_oracle_<row>``, ``nll_test_<row>``,
``mle_tau``); :func:`write_row` writes a folder (atomically, file by file).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from agents.experiment.config import SeqGANConfig
from agents.experiment.streams import EVAL_STREAM, stream_seed
from seqgan_gym._io import atomic_write_json, atomic_write_text
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import nll_oracle, nll_test
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.rewards import REWARDS

if TYPE_CHECKING:
    from agents.experiment.seqgan import SeqGANTrainer

#: The rows a trial can keep, in Table 1's order (SeqGAN's successors of ``REWARDS`` before SeqGAN).
ROWS: tuple[str, ...] = (
    "random",
    "mle",
    "mle_tau",
    "scheduled_sampling",
    "pg_bleu",
    *(name for name in REWARDS if name != "seqgan"),
    "seqgan",
)
#: The keys of the rows in a trial's metrics (the MLE control's are the trainer summary's).
METRIC_NAMES = {"mle": "mle_continuation"}
#: The temperatures of the MLE control's frontier on the quality-diversity plane (``mle``'s summary).
FRONTIER_TEMPERATURES = (0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.4)
#: The temperatures :func:`matching_temperature` searches, as 1/τ (a grid, then bisection).
INVERSE_TEMPERATURES = tuple(0.5 + 0.05 * i for i in range(31))  # τ from 2 down to 1/2


def run_name(row: str, seed: int) -> str:
    """The folder of ``row`` for ``seed``: ``seqgan_seed0``."""
    if row not in ROWS:
        raise ValueError(f"row must be one of {list(ROWS)}, got {row!r}")
    return f"{row}_seed{seed}"


def final_samples(generator: LSTMGenerator, config: SeqGANConfig, temperature: float = 1.0) -> torch.Tensor:
    """``n_eval`` samples of ``generator`` from the run's evaluation stream (those of ``samples.txt``)."""
    stream = torch.Generator(device=generator.device).manual_seed(stream_seed(config.seed, EVAL_STREAM))
    return generator.sample(config.n_eval, generator=stream, temperature=temperature).cpu()


def score_row(
    generator: LSTMGenerator,
    config: SeqGANConfig,
    oracle: OracleLSTM | None,
    held_out: torch.Tensor,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """The row of ``generator`` at ``temperature``: its final samples and their scores.

    :return: ``(LongTensor[n_eval, T], {"nll_oracle", "nll_test", "temperature", "n_samples"})``;
        ``nll_oracle`` is ``None`` on a corpus (no oracle).
    """
    samples = final_samples(generator, config, temperature)
    scores = {
        "nll_oracle": None if oracle is None else nll_oracle(oracle, samples),
        "nll_test": nll_test(generator, held_out, temperature),
        "temperature": temperature,
        "n_samples": int(samples.shape[0]),
    }
    return samples, scores


def matching_temperature(generator: LSTMGenerator, held_out: torch.Tensor, target: float) -> float:
    """The τ at which ``generator``'s NLL-test equals ``target`` (the one nearest τ = 1), or its best τ.

    NLL-test is convex in 1/τ (a log-sum-exp minus a linear term), so ``target`` is met at most twice:
    the grid :data:`INVERSE_TEMPERATURES` brackets the crossing nearest τ = 1 and bisection refines it
    (to 1e-3 in 1/τ). When no τ on the grid reaches ``target`` (it lies below the curve's minimum), the
    grid's minimiser is returned.
    """
    if not math.isfinite(target):
        raise ValueError(f"target must be a finite NLL-test, got {target!r}")

    def gap(beta: float) -> float:
        return nll_test(generator, held_out, 1.0 / beta) - target

    betas = INVERSE_TEMPERATURES
    gaps = [gap(b) for b in betas]
    crossings = [i for i in range(len(betas) - 1) if (gaps[i] <= 0) != (gaps[i + 1] <= 0)]
    if not crossings:
        return 1.0 / betas[min(range(len(betas)), key=gaps.__getitem__)]
    i = min(crossings, key=lambda j: abs(betas[j] + betas[j + 1] - 2.0))
    low, high, low_gap = betas[i], betas[i + 1], gaps[i]
    while high - low > 1e-3:
        middle = (low + high) / 2
        middle_gap = gap(middle)
        if (middle_gap <= 0) == (low_gap <= 0):
            low, low_gap = middle, middle_gap
        else:
            high = middle
    return 1.0 / ((low + high) / 2)


def temperature_frontier(
    generator: LSTMGenerator, config: SeqGANConfig, oracle: OracleLSTM, held_out: torch.Tensor
) -> list[dict[str, float]]:
    """``generator`` at each of :data:`FRONTIER_TEMPERATURES`: ``{"temperature", "nll_oracle", "nll_test"}``."""
    points = []
    for tau in FRONTIER_TEMPERATURES:
        _, scores = score_row(generator, config, oracle, held_out, tau)
        points.append({"temperature": tau, "nll_oracle": scores["nll_oracle"], "nll_test": scores["nll_test"]})
    return points


def write_row(folder: Path, samples: torch.Tensor, summary: dict[str, Any]) -> None:
    """``folder/samples.txt`` (one sequence of token ids a line) and ``folder/summary.json``, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "samples.txt", "\n".join(" ".join(map(str, row)) for row in samples.tolist()) + "\n")
    atomic_write_json(folder / "summary.json", summary)


def read_samples(path: Path) -> torch.Tensor:
    """``samples.txt`` back as ``LongTensor[n, T]`` (for re-scoring)."""
    rows = [[int(token) for token in line.split()] for line in path.read_text().splitlines() if line.strip()]
    return torch.tensor(rows, dtype=torch.long)


def row_metrics(row: str, scores: dict[str, Any]) -> dict[str, Any]:
    """What a trial reports of ``row``: ``nll_oracle_<row>``, ``nll_test_<row>`` (and ``mle_tau``)."""
    name = METRIC_NAMES.get(row, row)
    metrics = {f"nll_oracle_{name}": scores["nll_oracle"], f"nll_test_{name}": scores["nll_test"]}
    if row == "mle_tau":
        metrics["mle_tau"] = scores["temperature"]
    return metrics


def _summary(trainer: SeqGANTrainer, row: str, scores: dict[str, Any]) -> dict[str, Any]:
    config = trainer.config.to_dict()
    trained_by = {"trial_method": config["method"]}
    if row == "random":  # the untrained G_θ is every method's of the seed: its folder says the same in all
        config.pop("method")
        trained_by = {}
    # What precision="auto" chose, by timing on this machine (it may differ between machines).
    uses_bfloat16 = getattr(trainer.discriminator, "uses_bfloat16", None)
    precision = {"d_precision_used": "bfloat16" if uses_bfloat16 else "float32"} if uses_bfloat16 is not None else {}
    return {
        "row": row,
        "seed": trainer.config.seed,
        **trained_by,
        **scores,
        **precision,
        "oracle_file_sha256": trainer.oracle_sha256,
        "config": config,
    }


def keep_random_row(trainer: SeqGANTrainer, folder: Path) -> None:
    """Keep the ``random`` row (the untrained G_θ) in ``folder``: call before the first unit runs."""
    if trainer.units_done:
        raise ValueError("the random row is the untrained G_θ: keep it before the first unit")
    samples, scores = score_row(trainer.generator, trainer.config, trainer.oracle, trainer.held_out)
    write_row(folder / run_name("random", trainer.config.seed), samples, _summary(trainer, "random", scores))


def keep_final_rows(trainer: SeqGANTrainer, folder: Path) -> dict[str, Any]:
    """Keep the finished trial's rows in ``folder`` and return every kept row's metrics, with ``runs``.

    The method's own row; for SeqGAN (which trains the MLE control) ``mle`` and ``mle_tau`` too.
    ``runs`` names the folders in ``folder``, space-separated (a sweep's merge copies them).
    """
    if not trainer.finished:
        raise ValueError("a trial's final rows need its whole schedule run")
    config = trainer.config
    generators = {config.method: (trainer.generator, 1.0)}
    if config.method == "seqgan" and config.continuation_epochs > 0:
        assert trainer.mle_generator is not None
        target = nll_test(trainer.generator, trainer.held_out)
        tau = matching_temperature(trainer.mle_generator, trainer.held_out, target)
        generators.update(mle=(trainer.mle_generator, 1.0), mle_tau=(trainer.mle_generator, tau))
    for row, (generator, temperature) in generators.items():
        samples, scores = score_row(generator, config, trainer.oracle, trainer.held_out, temperature)
        summary = _summary(trainer, row, scores)
        if row == "mle" and trainer.oracle is not None:
            summary["frontier"] = temperature_frontier(generator, config, trainer.oracle, trainer.held_out)
        write_row(folder / run_name(row, config.seed), samples, summary)
    metrics: dict[str, Any] = {}
    names = []
    for row in ROWS:
        name = run_name(row, config.seed)
        if (folder / name / "summary.json").is_file():
            metrics.update(row_metrics(row, json.loads((folder / name / "summary.json").read_text())))
            names.append(name)
    metrics["runs"] = " ".join(names)
    return metrics
