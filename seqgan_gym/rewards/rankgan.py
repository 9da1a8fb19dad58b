"""RankGAN (Lin et al. 2017, "Adversarial Ranking for Language Generation"): a ranker in D's place.

The ranker embeds a sequence s with D's CNN (embedding, convolutions, max over time, highway: the
features y_s) and scores it by its mean cosine similarity to a reference set U of real sequences,
α(s | U) = mean_u cos(y_s, y_u), which equals the dot product of y_s / |y_s| with the mean of the
y_u / |y_u|. A sequence's rank score against a comparison set C is a softmax at temperature 1/γ:

    R(s | U, C) = exp(γ α(s | U)) / Σ_{s' ∈ C ∪ {s}} exp(γ α(s' | U))

The generator's reward is R against real comparison sentences C⁺ (``comparison_size`` drawn from the
real set at every scoring call), averaged over the N completions as in SeqGAN's Eq. 4 (the default
mean reward). The ranker learns to rank real sentences first among generated ones and generated ones
last among real ones, on a batch of both (the paper's Eq. 6):

    loss = - mean_{s real} log R(s | U, C⁻) - mean_{s generated} log(1 - R(s | U, C⁺))

with C⁻ the batch's generated sentences and C⁺ its real ones. U is drawn afresh (``reference_size``
real sentences) for every batch and every scoring call; the draws use torch's global stream, which
the trainer seeds per unit. Sizes as Texygen's RankGAN: |U| = 16, γ = 1; the comparison set of a
reward is a batch's worth of real sentences (63 beside the scored one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqgan_gym._checks import check_float, check_int, check_tokens
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.rewards import Reward


def rank_probability(logits: torch.Tensor, comparison_logits: torch.Tensor) -> torch.Tensor:
    """R(s | U, C) for each ``logits[i] = γ α(s_i | U)`` against the comparison set's ``[|C|]`` logits."""
    return torch.sigmoid(logits - torch.logsumexp(comparison_logits, dim=0))


def ranking_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The ranker's loss on one batch: ``logits[B]`` = γ α(s | U), ``labels[B]`` 1 = real, 0 = generated.

    A real sentence is ranked against the batch's generated ones, a generated one against its real
    ones; a side whose comparison set is empty (a batch of one label) adds nothing.
    """
    real, fake = labels == 1, labels == 0
    terms = []
    if real.any() and fake.any():
        log_fake, log_real = torch.logsumexp(logits[fake], 0), torch.logsumexp(logits[real], 0)
        terms.append(-(logits[real] - torch.logaddexp(logits[real], log_fake)).mean())  # -log R, real
        terms.append(-(log_real - torch.logaddexp(logits[fake], log_real)).mean())  # -log(1 - R), generated
    return torch.stack(terms).sum() if terms else logits.sum() * 0.0


class Ranker(Discriminator):
    """RankGAN's ranker: the paper's D network, its output layer unused, scored by rank (see the module).

    :param real_data: the real set ``LongTensor[n, seq_len]`` that U and C⁺ are drawn from.
    :param reference_size: |U| (16). :param comparison_size: |C⁺| of a reward (63). :param gamma: γ (1).
    :param discriminator_kwargs: :class:`~seqgan_gym.discriminator.Discriminator`'s arguments.
    """

    def __init__(
        self,
        real_data: torch.Tensor,
        reference_size: int = 16,
        comparison_size: int = 63,
        gamma: float = 1.0,
        **discriminator_kwargs: object,
    ) -> None:
        super().__init__(**discriminator_kwargs)  # type: ignore[arg-type]
        self.real_data = check_tokens("real_data", real_data, self.vocab_size, exact_len=self.seq_len).cpu()
        if len(self.real_data) == 0:
            raise ValueError("real_data must hold at least one sequence")
        self.reference_size = check_int("reference_size", reference_size, minimum=1)
        self.comparison_size = check_int("comparison_size", comparison_size, minimum=1)
        self.gamma = check_float("gamma", gamma, 0.0, low_open=True)
        self._reference: torch.Tensor | None = None  # the mean unit feature of U, while scoring
        self._log_comparison: torch.Tensor | None = None  # logsumexp of C⁺'s logits, while scoring

    def _draw_real(self, n: int) -> torch.Tensor:
        rows = torch.randint(len(self.real_data), (n,))
        return self.real_data[rows].to(self.device)

    def _unit_features(self, tokens: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.uses_bfloat16):
            features = self.features(tokens)
        return F.normalize(features.float(), dim=-1)

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """γ α(s | U) for ``LongTensor[B, seq_len]``, U drawn now (dropout on the features while training)."""
        tokens = check_tokens("tokens", tokens, self.vocab_size, exact_len=self.seq_len, device=self.device)
        references = self._dropped(self._unit_features(self._draw_real(self.reference_size)))
        reference = F.normalize(references, dim=-1).mean(dim=0)
        return self.gamma * (F.normalize(self._dropped(self._unit_features(tokens)), dim=-1) @ reference)

    def _dropped(self, features: torch.Tensor) -> torch.Tensor:
        """D's dropout on the features while training (Texygen's ranker drops the references' too)."""
        return F.dropout(features, p=1.0 - self.dropout_keep_prob, training=self.training)

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The ranker's loss (:func:`ranking_loss`) on a batch of real (label 1) and generated (0) sequences."""
        return ranking_loss(self.logits(tokens), labels)

    def _begin_scoring(self) -> None:
        """Draw U and C⁺ for one scoring call: the reference direction and the comparison set's logsumexp."""
        self._reference = self._unit_features(self._draw_real(self.reference_size)).mean(dim=0)
        comparison = self._unit_features(self._draw_real(self.comparison_size)) @ self._reference
        self._log_comparison = torch.logsumexp(self.gamma * comparison, dim=0)

    def _prob_real_from_pooled(
        self, pooled: torch.Tensor, bfloat16_weights: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """R(s | U, C⁺) from the pooled convolutions (the scoring tables' path), ``[B, features] -> [B]``."""
        assert self._reference is not None and self._log_comparison is not None
        features = F.normalize(self._highway(F.relu(pooled), bfloat16_weights).float(), dim=-1)
        return torch.sigmoid(self.gamma * (features @ self._reference) - self._log_comparison)

    @torch.inference_mode()
    def prob_real(self, tokens: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """R(s | U, C⁺) of each sequence, against one draw of U and C⁺: ``[n, seq_len] -> [n]`` in (0, 1)."""
        self._begin_scoring()
        return super().prob_real(tokens, batch_size)

    @torch.inference_mode()
    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """R(s | U, C⁺) of N completions of each prefix (one draw of U and C⁺ for all): ``[B * N]``."""
        self._begin_scoring()
        return super().prob_real_completions(prefix, suffix, batch_size)


def ranker_of(discriminator: Discriminator, real_data: torch.Tensor) -> Ranker:
    """A ranker with ``discriminator``'s sizes and its initial parameters (the same draw as SeqGAN's D)."""
    ranker = Ranker(
        real_data,
        vocab_size=discriminator.vocab_size,
        seq_len=discriminator.seq_len,
        emb_dim=discriminator.embedding.embedding_dim,
        filter_sizes=discriminator.filter_sizes,
        num_filters=discriminator.num_filters,
        dropout_keep_prob=discriminator.dropout_keep_prob,
        l2_reg_lambda=discriminator.l2_reg_lambda,
        precision=discriminator.precision,
    )
    ranker.load_state_dict(discriminator.state_dict())
    return ranker.to(discriminator.device)


RANKGAN = Reward("RankGAN", make_scorer=ranker_of, reports_accuracy=False)
