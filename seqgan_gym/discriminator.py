"""The paper's CNN discriminator D (Kim 2014, as in the reference code), and what may stand in its place.

For a sequence ``Y = y_1 .. y_T`` with embeddings ``x_1 .. x_T`` (docs/design.md §1)::

    for each width w and each of its filters:  p = max_l relu(b + Σ_{j<w} x_{l+j} W_j)   (max over time)
    z = [p for every filter]                           (1,720 features at the paper's sizes)
    t = σ(z H_t + b_t)   z' = t ⊙ relu(z H + b) + (1 - t) ⊙ z                  (one highway layer)
    D(Y) = softmax(dropout(z') W_out + b_out)[1]                                  (class 1 = real)

Read top to bottom: the paper's settings, then :class:`Discriminator` (a
:class:`~seqgan_gym.rewards.SequenceScorer`, what the environments ask of D): its layers, the
training pass (:meth:`~Discriminator.forward`, :meth:`~Discriminator.loss`) and the scoring pass
(:meth:`~Discriminator.prob_real`, :meth:`~Discriminator.prob_real_completions`). The faster
kernels these call (convolutions as matmuls, lookup tables, bfloat16) are in
:mod:`seqgan_gym._kernels.discriminator` (docs/design.md §4); ``seqgan_gym/reference.py`` computes D through
``F.conv1d``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_gym._checks import (
    D_PRECISIONS,
    MAX_SEQ_LEN,
    MAX_VOCAB_SIZE,
    check_filters,
    check_float,
    check_int,
    check_memory,
    check_tokens,
)
from seqgan_gym._kernels import chunks
from seqgan_gym._kernels.discriminator import (
    bfloat16_is_faster,
    conv_window_max,
    highway_products,
    highway_weights_bfloat16,
    lookup_window_max,
    refresh_scoring_tables,
)

#: Filter widths and filter counts of the paper's discriminator.
PAPER_FILTER_SIZES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
PAPER_NUM_FILTERS: tuple[int, ...] = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


class Discriminator(nn.Module):
    """The paper's CNN discriminator D (Kim 2014), as in the reference code.

    Embedding (64) → for every filter width w a convolution over w tokens + ReLU + max over time →
    concatenation (1,720 features) → one highway layer (ReLU, gate bias 0) → dropout (keep 0.75
    while training) → linear to 2 classes (class 1 = real). ``loss`` adds L2 ``l2_reg_lambda`` on
    the output layer's weight and bias (sum of squares / 2, as ``tf.nn.l2_loss``).
    About 7.05 M parameters at V=5000.

    Scoring (:meth:`prob_real`, :meth:`prob_real_completions`) reads each convolution from lookup
    tables instead of multiplying: a window's output is ``b + Σ_j E[y_{l+j}] W_j``, and the tables
    ``E W_j`` (``[V, filters]`` for every width and offset, V x 12,500 floats: 250 MB at the paper's
    sizes) turn its 64 x w multiply-adds per filter into w additions. They are rebuilt, in place,
    whenever the embedding or a filter has changed (an optimiser step, ``load_state_dict``).

    :param vocab_size: V (``2 <= V <= MAX_VOCAB_SIZE``, 10,000,000).
    :param seq_len: T (``<= MAX_SEQ_LEN``, 10,000); every filter must fit (``max(filter_sizes) <= seq_len``).
        The parameters and scoring tables must fit in the memory available.
    :param emb_dim: embedding size (paper: 64).
    :param filter_sizes: convolution widths; ``None``: the paper's (1..10, 15, 20) that fit in ``seq_len``.
    :param num_filters: filters per width; ``None``: the paper's (100, 200 x4, 100 x5, 160, 160)
        for those widths.
    :param dropout_keep_prob: keep probability while training (paper: 0.75).
    :param l2_reg_lambda: L2 weight on the output layer (paper: 0.2).
    :param precision: the matmuls' number format. ``"float32"``; ``"bfloat16"``: training's
        convolutions and highway layer run under bfloat16 autocast, and scoring's highway layer
        multiplies in bfloat16 (weights, gradients, the optimiser, the scoring tables and the
        output layer stay float32); ``"auto"`` (default): ``"bfloat16"`` where D's own products
        are measured to run faster in it on the device at hand
        (:func:`~seqgan_gym._kernels.discriminator.bfloat16_is_faster`, timed once per process,
        device and width), else ``"float32"``. Name the format itself for the same numbers on
        every machine. ``benchmarks/bench_precision.py`` measures what it changes.
    """

    def __init__(
        self,
        vocab_size: int = 5000,
        seq_len: int = 20,
        emb_dim: int = 64,
        filter_sizes: Sequence[int] | None = None,
        num_filters: Sequence[int] | None = None,
        dropout_keep_prob: float = 0.75,
        l2_reg_lambda: float = 0.2,
        precision: str = "auto",
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2, maximum=MAX_VOCAB_SIZE)
        self.seq_len = check_int("seq_len", seq_len, minimum=1, maximum=MAX_SEQ_LEN)
        emb_dim = check_int("emb_dim", emb_dim, minimum=1)
        if filter_sizes is None and num_filters is None:
            paper = [(w, nf) for w, nf in zip(PAPER_FILTER_SIZES, PAPER_NUM_FILTERS, strict=True) if w <= self.seq_len]
            filter_sizes, num_filters = (tuple(x) for x in zip(*paper, strict=True))
        elif filter_sizes is None or num_filters is None:
            raise ValueError("filter_sizes and num_filters must be given together (or both None for the paper's)")
        self.filter_sizes, self.num_filters = check_filters(filter_sizes, num_filters, self.seq_len)
        self.dropout_keep_prob = check_float("dropout_keep_prob", dropout_keep_prob, 0.0, 1.0, low_open=True)
        self.l2_reg_lambda = check_float("l2_reg_lambda", l2_reg_lambda, 0.0)
        if precision not in D_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(map(repr, D_PRECISIONS))}, got {precision!r}")
        self.precision = precision
        n_features = sum(self.num_filters)
        # Parameters, then the scoring tables (V x sum(w * nf)) that prob_real builds: float32 each.
        v, widths = self.vocab_size, zip(self.filter_sizes, self.num_filters, strict=True)
        n_floats = v * emb_dim + 2 * n_features * (n_features + 1) + 2 * (n_features + 1)
        n_floats += sum(w * nf * (emb_dim + v) + nf for w, nf in widths)
        check_memory(
            f"Discriminator(vocab_size={v}, emb_dim={emb_dim}, {n_features} filters) ({n_floats:,} float32 "
            "parameters and scoring tables)",
            4 * n_floats,
        )

        self.embedding = nn.Embedding(self.vocab_size, emb_dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(emb_dim, nf, w) for w, nf in zip(self.filter_sizes, self.num_filters, strict=True)
        )
        self.highway_lin = nn.Linear(n_features, n_features)
        self.highway_gate = nn.Linear(n_features, n_features)
        self.output = nn.Linear(n_features, 2)
        with torch.no_grad():  # the reference code's initialisers
            nn.init.uniform_(self.embedding.weight, -1.0, 1.0)
            for conv in self.convs:
                nn.init.trunc_normal_(conv.weight, std=0.1, a=-0.2, b=0.2)
                nn.init.constant_(conv.bias, 0.1)
            nn.init.trunc_normal_(self.output.weight, std=0.1, a=-0.2, b=0.2)
            nn.init.constant_(self.output.bias, 0.1)
        self._tables: list[torch.Tensor] = []  # the scoring tables, [w * V, nf] per width
        self._tables_source: list[torch.Tensor] = []  # the parameters they were built from

    @property
    def device(self) -> torch.device:
        return self.embedding.weight.device

    def __getstate__(self) -> dict[str, Any]:
        # The scoring tables are a cache of the parameters: not copied, pickled or saved.
        state = super().__getstate__()
        state["_tables"], state["_tables_source"] = [], []
        return state

    @property
    def uses_bfloat16(self) -> bool:
        """Whether the matmuls run in bfloat16 now (``precision``, resolved on the current device)."""
        if self.precision == "auto":
            return bfloat16_is_faster(self.device, self.highway_lin.in_features)
        return self.precision == "bfloat16"

    # ------------------------------------------------------------------ training pass

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        """Pooled convolution features after the highway layer: ``LongTensor[B, T]`` -> ``[B, sum(num_filters)]``."""
        x = self.embedding(tokens)  # [B, T, emb]
        # max over time of relu(conv) = relu of the max over time: the ReLU runs on [B, features] only.
        pooled = [conv_window_max(x, conv) for conv in self.convs]
        return self._highway(F.relu(torch.cat(pooled, dim=1)))

    def _highway(
        self, x: torch.Tensor, bfloat16_weights: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """``t ⊙ relu(x H + b) + (1 - t) ⊙ x`` with ``t = σ(x H_t + b_t)``: ``[B, features]`` -> ``[B, features]``.

        :param bfloat16_weights: the highway weights in bfloat16 (scoring in bfloat16), else ``None``.
        """
        gate, lin = highway_products(self.highway_gate, self.highway_lin, x, bfloat16_weights)
        transform = torch.sigmoid(gate)  # gate bias 0, as in the reference
        # Written as x + t * (relu(lin) - x): fewer passes over [B, features].
        return torch.addcmul(x, transform, F.relu(lin) - x)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, 2]`` (class 1 = real), float32; dropout only in training mode.

        :param tokens: ``LongTensor[B, seq_len]``.
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, exact_len=self.seq_len, device=self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.uses_bfloat16):
            features = self.features(tokens)
        h = F.dropout(features.float(), p=1.0 - self.dropout_keep_prob, training=self.training)
        return self.output(h)

    def l2_penalty(self) -> torch.Tensor:
        """``l2_reg_lambda * (‖W_out‖² + ‖b_out‖²) / 2``, the reference code's output-layer L2."""
        return self.l2_reg_lambda * 0.5 * (self.output.weight.square().sum() + self.output.bias.square().sum())

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The paper's D objective: mean cross-entropy + output-layer L2.

        :param tokens: ``LongTensor[B, seq_len]``. :param labels: ``LongTensor[B]``, 1 = real, 0 = generated.
        """
        return F.cross_entropy(self(tokens), labels) + self.l2_penalty()

    # ------------------------------------------------------------------ scoring pass

    def _scoring_tables(self) -> list[torch.Tensor]:
        """The lookup tables of the convolutions, ``[w * V, nf]`` per width, rebuilt when a parameter changed."""
        self._tables, self._tables_source = refresh_scoring_tables(
            self._tables, self._tables_source, self.embedding, self.convs
        )
        return self._tables

    def _scoring_weights(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The highway weights in bfloat16 when scoring multiplies in bfloat16, else ``None``."""
        return highway_weights_bfloat16(self.highway_gate, self.highway_lin) if self.uses_bfloat16 else None

    def _prob_real_from_pooled(
        self, pooled: torch.Tensor, bfloat16_weights: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """D from the pooled convolutions (before their ReLU), ``[B, features] -> [B]``, no dropout.

        With the convolutions read from tables, the highway layer's two square matmuls are nearly
        all of scoring's arithmetic: with bfloat16 ``precision`` they run in bfloat16. The output
        layer stays float32: it costs little, and rounding the features it reads would add to D's
        error.
        """
        features = self._highway(F.relu(pooled), bfloat16_weights)
        return torch.softmax(self.output(features), dim=-1)[:, 1]

    @torch.inference_mode()
    def prob_real(self, tokens: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """D(Y): softmax probability of the real class, with no dropout (keep 1.0), whatever the mode.

        :param tokens: ``LongTensor[n, seq_len]``.
        :param batch_size: sequences scored at once (bounds memory).
        :return: ``Tensor[n]`` in ``[0, 1]``, float32.
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, exact_len=self.seq_len, device=self.device)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        tables, weights = self._scoring_tables(), self._scoring_weights()
        out = []
        for rows in chunks(tokens.shape[0], batch_size):
            batch = tokens[rows]
            pooled = [lookup_window_max(table, batch, w) for table, w in zip(tables, self.filter_sizes, strict=True)]
            out.append(self._prob_real_from_pooled(torch.cat(pooled, dim=1), weights))
        return torch.cat(out) if out else torch.zeros(0, device=self.device)

    @torch.inference_mode()
    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """D of N completions of each prefix, sharing the prefix's convolution windows.

        Equal to ``prob_real(cat([prefix.repeat_interleave(N, 0), suffix], 1))``, but every
        convolution window that lies inside the prefix is computed once per prefix instead of once
        per completion (max-over-time pooling splits into the max over those windows and the max
        over the windows that reach into the suffix). This is the Monte Carlo search's scoring.

        :param prefix: ``LongTensor[B, t]``, ``1 <= t < seq_len``.
        :param suffix: ``LongTensor[B * N, seq_len - t]``; rows ``b * N .. b * N + N - 1`` complete prefix ``b``.
        :param batch_size: completions scored at once (bounds memory).
        :return: ``Tensor[B * N]`` in ``[0, 1]``, float32.
        """
        prefix = check_tokens("prefix", prefix, self.vocab_size, max_len=self.seq_len - 1, device=self.device)
        t = prefix.shape[1]
        suffix = check_tokens("suffix", suffix, self.vocab_size, exact_len=self.seq_len - t, device=self.device)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        n_prefixes, n_completions = prefix.shape[0], suffix.shape[0]
        if n_prefixes == 0 or n_completions % n_prefixes:
            raise ValueError(
                f"suffix must hold N >= 1 completions per prefix, got {n_completions} rows for {n_prefixes} prefixes"
            )
        n = n_completions // n_prefixes
        tables, weights = self._scoring_tables(), self._scoring_weights()
        # Max over the windows that lie inside the prefix, [B, nf] per width (None if none fits);
        # the ReLU commutes with the max, so it is applied once to the pooled features.
        prefix_max = [
            lookup_window_max(table, prefix, w) if t >= w else None
            for table, w in zip(tables, self.filter_sizes, strict=True)
        ]
        out = []
        for rows in chunks(n_prefixes, max(1, batch_size // n)):
            tokens = torch.cat([prefix[rows].repeat_interleave(n, dim=0), suffix[rows.start * n : rows.stop * n]], 1)
            pooled = []
            for table, w, inside in zip(tables, self.filter_sizes, prefix_max, strict=True):
                reaching = lookup_window_max(table, tokens, w, first=max(0, t - w + 1))  # reaching the suffix
                pooled.append(
                    reaching if inside is None else torch.maximum(reaching, inside[rows].repeat_interleave(n, 0))
                )
            out.append(self._prob_real_from_pooled(torch.cat(pooled, dim=1), weights))
        return torch.cat(out)
