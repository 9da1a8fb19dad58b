"""What a generation env reads from its benchmark, and the parts the oracle and text benchmarks build alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

import torch

from seqgan_gym.discriminator import Discriminator
from seqgan_gym.rewards import SequenceScorer


class Benchmark(Protocol):
    """The benchmark behind a generation env (``docs/design.md`` §1 The benchmark).

    :class:`~seqgan_gym.envs.OracleBenchmark` and :class:`~seqgan_gym.envs.TextBenchmark` are the
    two built in; any object with these members can drive
    :class:`~seqgan_gym.envs.SequenceGenerationEnv` and its vector version.

    :ivar discriminator: D; its ``prob_real`` is the terminal reward. Training code trains this very module.
    :ivar real_data: ``LongTensor[n_real, T]``: the sequences D learns to call real.
    """

    discriminator: SequenceScorer
    real_data: torch.Tensor

    @property
    def vocab_size(self) -> int:
        """V: the number of tokens (the actions)."""
        ...

    @property
    def seq_len(self) -> int:
        """T: the length of every sequence (the steps of an episode)."""
        ...

    def decode(self, tokens: Sequence[int]) -> str:
        """One sequence (or prefix) as text, for ``render``."""
        ...


_MEMBERS = ("vocab_size", "seq_len", "discriminator", "real_data", "decode")


def check_benchmark(benchmark: object) -> Benchmark:
    """``benchmark`` if it has every member of :class:`Benchmark`, else a ``TypeError`` naming those missing."""
    missing = [name for name in _MEMBERS if not hasattr(benchmark, name)]
    if missing:
        raise TypeError(
            f"benchmark must be an OracleBenchmark, a TextBenchmark or another object with {list(_MEMBERS)}; "
            f"{type(benchmark).__name__} lacks {missing}"
        )
    return cast(Benchmark, benchmark)


def build_discriminator(
    discriminator: SequenceScorer | None,
    vocab_size: int,
    seq_len: int,
    discriminator_seed: int,
    device: torch.device,
    real_source: str,
) -> SequenceScorer:
    """The env's D on ``device``: ``discriminator`` checked against V and T, or the paper's CNN from a seed.

    Any :class:`~seqgan_gym.rewards.SequenceScorer` may stand in for D (PG-BLEU's ``BLEUReward``).
    :param real_source: what V and T come from, for the error message (``"the oracle"``, a corpus).
    """
    if discriminator is None:
        with torch.random.fork_rng(devices=[]):  # a fixed D for a fixed seed, global RNG untouched
            torch.manual_seed(discriminator_seed)
            discriminator = Discriminator(vocab_size, seq_len)
    elif not isinstance(discriminator, SequenceScorer):
        raise TypeError(
            "discriminator must be a seqgan_gym.discriminator.Discriminator, another SequenceScorer (e.g. BLEUReward) "
            f"or None, got {type(discriminator).__name__}"
        )
    elif (discriminator.vocab_size, discriminator.seq_len) != (vocab_size, seq_len):
        raise ValueError(
            f"discriminator has vocab_size={discriminator.vocab_size}, seq_len={discriminator.seq_len}; "
            f"{real_source} has vocab_size={vocab_size}, seq_len={seq_len}"
        )
    return discriminator.to(device)
