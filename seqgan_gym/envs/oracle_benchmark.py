"""What every SeqGAN oracle env holds: the oracle, the real data it generated and the discriminator."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from seqgan_gym._checks import check_int
from seqgan_gym.models import Discriminator, SequenceScorer
from seqgan_gym.oracle import DEFAULT_ORACLE_SEED, OracleLSTM

DEFAULT_VOCAB_SIZE = 5000
DEFAULT_SEQ_LEN = 20
DEFAULT_N_REAL = 10_000


@dataclass
class OracleBenchmark:
    """The oracle G_oracle, its ``n_real`` samples (the "real" training set) and the discriminator D.

    :ivar oracle: the ``OracleLSTM`` that defines the real distribution (scores NLL-oracle).
    :ivar discriminator: D; its ``prob_real`` is the terminal reward. Train this very module.
    :ivar real_data: ``LongTensor[n_real, T]`` on the CPU, sampled from the oracle with ``real_data_seed``.
    """

    oracle: OracleLSTM
    discriminator: SequenceScorer
    real_data: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return self.oracle.vocab_size

    @property
    def seq_len(self) -> int:
        return self.oracle.seq_len

    @classmethod
    def build(
        cls,
        vocab_size: int | None = None,
        seq_len: int | None = None,
        oracle: OracleLSTM | str | os.PathLike[str] | None = None,
        discriminator: SequenceScorer | None = None,
        n_real: int = DEFAULT_N_REAL,
        real_data_seed: int = 0,
        discriminator_seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> OracleBenchmark:
        """Resolve the env arguments (see ``TokenGenerationEnv``) into an :class:`OracleBenchmark`."""
        if vocab_size is not None:
            vocab_size = check_int("vocab_size", vocab_size, minimum=2)
        if seq_len is not None:
            seq_len = check_int("seq_len", seq_len, minimum=1)
        n_real = check_int("n_real", n_real, minimum=1)
        real_data_seed = check_int("real_data_seed", real_data_seed, minimum=0)
        discriminator_seed = check_int("discriminator_seed", discriminator_seed, minimum=0)
        device = check_device(device)

        if oracle is None:
            oracle = OracleLSTM.seeded(
                DEFAULT_ORACLE_SEED,
                vocab_size=DEFAULT_VOCAB_SIZE if vocab_size is None else vocab_size,
                seq_len=DEFAULT_SEQ_LEN if seq_len is None else seq_len,
            )
        elif isinstance(oracle, (str, os.PathLike)):
            oracle = OracleLSTM.from_paper_file(oracle, seq_len=DEFAULT_SEQ_LEN if seq_len is None else seq_len)
        elif not isinstance(oracle, OracleLSTM):
            raise TypeError(
                "oracle must be an OracleLSTM, the path of the paper's oracle file, or None; "
                f"got {type(oracle).__name__}"
            )
        for name, value, actual in (
            ("vocab_size", vocab_size, oracle.vocab_size),
            ("seq_len", seq_len, oracle.seq_len),
        ):
            if value is not None and value != actual:
                raise ValueError(f"{name}={value} does not match the oracle's {name}={actual}")
        # The real set is drawn where the oracle lives (the CPU for the built-in ones), so it is the
        # same on every machine whatever ``device`` the env then runs on.
        real_data = sample_real_data(oracle, n_real, real_data_seed)
        oracle = oracle.to(device)

        discriminator = build_discriminator(
            discriminator, oracle.vocab_size, oracle.seq_len, discriminator_seed, device, "the oracle"
        )
        return cls(oracle=oracle, discriminator=discriminator, real_data=real_data)

    def decode(self, tokens: Sequence[int]) -> str:
        """One sequence as text: its token ids separated by spaces."""
        return " ".join(str(int(t)) for t in tokens)


def sample_real_data(oracle: OracleLSTM, n_real: int, real_data_seed: int = 0) -> torch.Tensor:
    """The real set: ``n_real`` oracle samples drawn with ``real_data_seed``, ``LongTensor[n_real, T]`` on the CPU."""
    generator = torch.Generator(device=oracle.device).manual_seed(real_data_seed)
    return oracle.sample(n_real, generator=generator).cpu()


def check_device(device: torch.device | str) -> torch.device:
    """``device`` as a ``torch.device``, or a ``ValueError`` naming ``device``."""
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from err


def build_discriminator(
    discriminator: SequenceScorer | None,
    vocab_size: int,
    seq_len: int,
    discriminator_seed: int,
    device: torch.device,
    real_source: str,
) -> SequenceScorer:
    """The env's D on ``device``: ``discriminator`` checked against V and T, or the paper's CNN from a seed.

    Any :class:`~seqgan_gym.models.SequenceScorer` may stand in for D (PG-BLEU's ``BLEUReward``).
    """
    if discriminator is None:
        with torch.random.fork_rng(devices=[]):  # a fixed D for a fixed seed, global RNG untouched
            torch.manual_seed(discriminator_seed)
            discriminator = Discriminator(vocab_size, seq_len)
    elif not isinstance(discriminator, SequenceScorer):
        raise TypeError(
            "discriminator must be a seqgan_gym.models.Discriminator, another SequenceScorer (e.g. BLEUReward) "
            f"or None, got {type(discriminator).__name__}"
        )
    elif (discriminator.vocab_size, discriminator.seq_len) != (vocab_size, seq_len):
        raise ValueError(
            f"discriminator has vocab_size={discriminator.vocab_size}, seq_len={discriminator.seq_len}; "
            f"{real_source} has vocab_size={vocab_size}, seq_len={seq_len}"
        )
    return discriminator.to(device)


class OracleBenchmarkEnv:
    """What training code reads from ``env.unwrapped``: the benchmark's oracle, D and real data."""

    benchmark: Any  # OracleBenchmark, or TextBenchmark for the text envs (which have no oracle)

    @property
    def oracle(self) -> OracleLSTM:
        try:
            return self.benchmark.oracle
        except AttributeError:
            raise AttributeError(
                f"{type(self).__name__} has no oracle: NLL-oracle applies to SeqGAN-Oracle-v0 only"
            ) from None

    @property
    def discriminator(self) -> SequenceScorer:
        return self.benchmark.discriminator

    @property
    def real_data(self) -> torch.Tensor:
        """``LongTensor[n_real, seq_len]``: the oracle's samples that D learns to call real."""
        return self.benchmark.real_data
