"""PG-BLEU's reward: the BLEU of a complete sequence against the real set, in the place of the discriminator.

PG-BLEU, one of the paper's baselines, is SeqGAN's policy gradient with the same Monte Carlo search,
but each completed sequence is scored by BLEU against the real data instead of by D, and nothing
is trained adversarially. :class:`BLEUReward` is a :class:`~seqgan_gym.rewards.SequenceScorer`, so
it goes where D goes: ``gymnasium.make("SeqGAN-Oracle-v0", discriminator=BLEUReward(...))`` gives
the env's terminal reward and the wrapper's Q_t as BLEU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from seqgan_gym._checks import MAX_VOCAB_SIZE, check_int, check_tokens
from seqgan_gym.metrics import BLEUScorer


class BLEUReward:
    """BLEU-``max_n`` (Texygen's sentence BLEU) of each sequence against ``references``.

    :param references: the real set, ``LongTensor[n, T]`` (e.g. ``env.unwrapped.real_data``).
    :param vocab_size: V, the env's number of tokens (``2 <= V <= MAX_VOCAB_SIZE``, as G and D).
    :param max_n: the largest n-gram order (uniform weights over 1..max_n).
    :param eos_token: a token that ends the text (the text envs' ``<eos>``, id 0): references and
        hypotheses are cut before their first ``eos_token``. ``None``: every token counts (the oracle).
    :param smoothing: ``"method1"`` (nltk's, as Texygen) or ``"none"`` (a sequence with no match at
        some order scores 0, as the SeqGAN authors' PG-BLEU code with nltk's default).
    """

    def __init__(
        self,
        references: Any,
        vocab_size: int,
        max_n: int = 4,
        eos_token: int | None = None,
        smoothing: str = "method1",
    ) -> None:
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2, maximum=MAX_VOCAB_SIZE)  # as G and D
        references = check_tokens("references", references, self.vocab_size)
        if references.shape[0] == 0:
            raise ValueError("references must hold at least one sequence")
        self.seq_len = references.shape[1]
        self.max_n = check_int("max_n", max_n, minimum=1)
        self.eos_token = None if eos_token is None else check_int("eos_token", eos_token, 0, self.vocab_size - 1)
        self._device = torch.device("cpu")
        self._scorer = BLEUScorer(self._texts(references), self.max_n, smoothing)

    @property
    def device(self) -> torch.device:
        """Where the scores are returned (BLEU itself is computed on the CPU)."""
        return self._device

    def to(self, device: torch.device | str) -> BLEUReward:
        """Return scores on ``device`` from now on; returns ``self`` (as ``nn.Module.to``)."""
        self._device = torch.device(device)
        return self

    def _texts(self, tokens: torch.Tensor) -> list[list[int]]:
        rows = tokens.cpu().tolist()
        if self.eos_token is None:
            return rows
        return [row[: row.index(self.eos_token)] if self.eos_token in row else row for row in rows]

    def prob_real(self, tokens: torch.Tensor) -> torch.Tensor:
        """BLEU of each sequence: ``LongTensor[n, seq_len]`` -> ``Tensor[n]`` (float32) in [0, 1]."""
        tokens = check_tokens("tokens", tokens, self.vocab_size, exact_len=self.seq_len)
        scores = self._scorer.sentence_scores(self._texts(tokens))
        return torch.from_numpy(np.asarray(scores, dtype=np.float32)).to(self._device)

    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor) -> torch.Tensor:
        """BLEU of N completions of each prefix (the Monte Carlo search's scoring).

        :param prefix: ``LongTensor[B, t]``. :param suffix: ``LongTensor[B * N, seq_len - t]``;
            rows ``b * N .. b * N + N - 1`` complete prefix ``b``.
        :return: ``Tensor[B * N]``.
        """
        prefix = check_tokens("prefix", prefix, self.vocab_size, max_len=self.seq_len - 1)
        suffix = check_tokens("suffix", suffix, self.vocab_size, exact_len=self.seq_len - prefix.shape[1])
        if prefix.shape[0] == 0 or suffix.shape[0] % prefix.shape[0]:
            raise ValueError(
                f"suffix must hold N >= 1 completions per prefix, got {suffix.shape[0]} rows "
                f"for {prefix.shape[0]} prefixes"
            )
        n = suffix.shape[0] // prefix.shape[0]
        return self.prob_real(torch.cat([prefix.repeat_interleave(n, dim=0), suffix], dim=1))
