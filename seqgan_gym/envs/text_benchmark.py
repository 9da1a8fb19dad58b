"""The text benchmark: a corpus, its training sentences as real data, and the discriminator."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from seqgan_gym._checks import check_device, check_int
from seqgan_gym.envs.benchmark import build_discriminator
from seqgan_gym.rewards import SequenceScorer
from seqgan_gym.text import TextCorpus
from seqgan_gym.tokenizers import TokenizerSpec


@dataclass
class TextBenchmark:
    """A text corpus, its training set as token ids (the real data) and the discriminator D.

    :ivar corpus: the :class:`~seqgan_gym.text.TextCorpus` (vocabulary, training and test sentences).
    :ivar discriminator: D; its ``prob_real`` is the terminal reward. Train this very module.
    :ivar real_data: ``LongTensor[n_train, T]`` on the CPU: the training sentences padded with ``<eos>``.
    """

    corpus: TextCorpus
    discriminator: SequenceScorer
    real_data: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return self.corpus.vocab_size

    @property
    def seq_len(self) -> int:
        return self.corpus.seq_len

    @classmethod
    def build(
        cls,
        corpus: str | os.PathLike[str] | TextCorpus = "coco",
        seq_len: int | None = None,
        test_corpus: str | os.PathLike[str] | None = None,
        tokenizer: TokenizerSpec | None = None,
        discriminator: SequenceScorer | None = None,
        discriminator_seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> TextBenchmark:
        """The benchmark of these ``SeqGAN-Text-v0`` arguments (see Arguments in ``TextGenerationEnv``)."""
        discriminator_seed = check_int("discriminator_seed", discriminator_seed, minimum=0)
        device = check_device(device)
        if isinstance(corpus, TextCorpus):
            if seq_len is not None or test_corpus is not None or tokenizer is not None:
                raise ValueError("seq_len, test_corpus and tokenizer must be None when corpus is a TextCorpus")
        else:
            corpus = TextCorpus.load(corpus, seq_len=seq_len, test_corpus=test_corpus, tokenizer=tokenizer)
        discriminator = build_discriminator(
            discriminator, corpus.vocab_size, corpus.seq_len, discriminator_seed, device, f"corpus {corpus.name!r}"
        )
        return cls(corpus=corpus, discriminator=discriminator, real_data=corpus.real_data())

    def decode(self, tokens: Sequence[int]) -> str:
        """One sequence as text (the tokens before its first ``<eos>``)."""
        return self.corpus.vocabulary.decode(tokens)
