"""What several test files share: the tiny trainer configuration and the pieces of hostile files."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import torch

from agents.seqgan import SeqGANConfig

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
