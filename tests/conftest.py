"""Shared fixtures: tiny configurations so the whole suite runs in minutes on 2 CPU cores."""

from __future__ import annotations

import os

import pytest
import torch

import seqgan_gym  # noqa: F401  (registers SeqGAN-Oracle-v0)
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM

TINY_VOCAB = 12
TINY_SEQ_LEN = 6
TINY_N_REAL = 64

if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    # pytest-xdist workers share the cores: torch's default (every core, in every worker and in the
    # commands the tests start) would oversubscribe them and spin.
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    os.environ.update(OMP_NUM_THREADS=_threads, MKL_NUM_THREADS=_threads)
    torch.set_num_threads(int(_threads))


@pytest.fixture
def tiny_oracle() -> OracleLSTM:
    return OracleLSTM.seeded(seed=3, vocab_size=TINY_VOCAB, seq_len=TINY_SEQ_LEN, emb_dim=8, hidden_dim=8)


@pytest.fixture
def tiny_generator() -> LSTMGenerator:
    return LSTMGenerator(TINY_VOCAB, TINY_SEQ_LEN, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(5))


@pytest.fixture
def tiny_discriminator() -> Discriminator:
    torch.manual_seed(7)
    # float32: the exactness tests compare scoring paths to 1e-6 on any CPU (see test_models for bfloat16).
    return Discriminator(
        TINY_VOCAB, TINY_SEQ_LEN, emb_dim=8, filter_sizes=(1, 2, 3), num_filters=(4, 4, 4), precision="float32"
    )


@pytest.fixture
def tiny_env_kwargs(tiny_oracle: OracleLSTM, tiny_discriminator: Discriminator) -> dict:
    return {"oracle": tiny_oracle, "discriminator": tiny_discriminator, "n_real": TINY_N_REAL}
