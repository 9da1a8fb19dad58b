"""What several test files share: the tiny trainer configuration, the pieces of hostile files, a chi-square test."""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path
from typing import Any

import torch

from agents.experiment.seqgan import SeqGANConfig

#: The trainer at toy sizes: 3 MLE epochs, 2 D pretraining rounds, 3 adversarial epochs of 2 d-steps.
TINY_CONFIG = SeqGANConfig(
    vocab_size=12,
    seq_len=6,
    emb_dim=8,
    hidden_dim=8,
    oracle_seed=3,
    n_real=64,
    discriminator_emb_dim=8,
    discriminator_filter_sizes=(1, 2, 3),
    discriminator_num_filters=(4, 4, 4),
    mle_epochs=3,
    d_pretrain_rounds=2,
    d_pretrain_epochs=1,
    adversarial_epochs=3,
    batch_size=8,
    n_rollouts=2,
    d_steps=2,
    k_epochs=1,
    n_negatives=32,
    n_eval=48,
    seed=11,
)


def tiny_config(**changes: Any) -> SeqGANConfig:
    """:data:`TINY_CONFIG` with ``changes``."""
    return dataclasses.replace(TINY_CONFIG, **changes)


class Exploit:
    """Unpickling this opens (creates) ``target``: a file that runs code when loaded unsafely."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return (open, (str(self.target), "w"))


def torch_bytes(obj: object) -> bytes:
    """``obj`` as ``torch.save`` writes it."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def chi2_critical(df: int, z: float = 4.75) -> float:
    """Wilson-Hilferty upper quantile of chi-square(df); z=4.75 is a tail probability of about 1e-6."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def chi2_statistic(counts: torch.Tensor, probs: torch.Tensor, n: int, min_expected: float = 10.0) -> tuple[float, int]:
    """Pearson's statistic, pooling consecutive low-expectation cells until each has ``min_expected``."""
    expected = probs.double() * n
    observed = counts.double()
    cells_e: list[float] = []
    cells_o: list[float] = []
    acc_e = acc_o = 0.0
    for e, o in zip(expected.tolist(), observed.tolist(), strict=True):
        acc_e += e
        acc_o += o
        if acc_e >= min_expected:
            cells_e.append(acc_e)
            cells_o.append(acc_o)
            acc_e = acc_o = 0.0
    if cells_e:
        cells_e[-1] += acc_e
        cells_o[-1] += acc_o
    stat = sum((o - e) ** 2 / e for o, e in zip(cells_o, cells_e, strict=True))
    return stat, len(cells_e) - 1
