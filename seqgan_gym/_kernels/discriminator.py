"""D's speed kernels: convolutions as matmuls, scoring from lookup tables, and bfloat16 where it is faster.

Each computes what :class:`seqgan_gym.discriminator.Discriminator` states plainly; why each trick
exists is in docs/design.md §4, and ``seqgan_gym/reference.py`` (D through ``F.conv1d``) plus the
tests hold the plain version they are checked against.

* :func:`conv_window_max`: a convolution and its max over time as one matmul of the unfolded
  windows (training's path).
* :func:`refresh_scoring_tables`, :func:`lookup_window_max`: the same from tables of
  ``E[v] W_j`` (scoring's path), where a window costs ``w`` additions instead of ``64 w``
  multiply-adds per filter.
* :func:`highway_products`: the highway layer's two products, in bfloat16 where scoring runs in
  bfloat16, through oneDNN where it runs in float32.
* :func:`bfloat16_is_faster`: whether D's own products run faster in bfloat16 than in float32 on
  a device, decided by timing them there once per process (CPU flags do not tell: AVX512-BF16
  without AMX multiplies bfloat16 more slowly than float32).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_gym._matmul import mm

#: How much faster D's products must run in bfloat16 than in float32 for ``precision="auto"`` to
#: choose bfloat16. A near tie could flip with timing noise from one process to the next, and with
#: it D's numbers, for no gain.
BFLOAT16_MARGIN: float = 1.2

#: Rows of D's products that the measurement times: a training batch and a scoring batch.
TIMED_ROWS: tuple[int, ...] = (64, 512)

_faster_cache: dict[tuple[str, int | None, int], bool] = {}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def product_seconds(device: torch.device, n_features: int, dtype: torch.dtype, repeats: int = 5) -> float:
    """Seconds of D's highway product ``[rows, F] x [F, F]`` in ``dtype`` as D runs it, summed over :data:`TIMED_ROWS`.

    Each is timed as the model multiplies: float32 through :func:`~seqgan_gym._matmul.mm`;
    bfloat16 with the casts that D makes around it (the input and the weight to bfloat16, the
    product back to float32). Best of ``repeats``, after one untimed call.
    """
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(n_features, n_features, generator=gen).to(device)
    total = 0.0
    for rows in TIMED_ROWS:
        x = torch.randn(rows, n_features, generator=gen).to(device)
        if dtype == torch.float32:
            run: Callable[[], object] = lambda x=x: mm(x, weight.t())  # noqa: E731
        else:
            run = lambda x=x: F.linear(x.to(dtype), weight.to(dtype)).float()  # noqa: E731
        run()
        best = float("inf")
        for _ in range(repeats):
            _synchronize(device)
            start = time.perf_counter()
            run()
            _synchronize(device)
            best = min(best, time.perf_counter() - start)
        total += best
    return total


def choose_bfloat16(float32_seconds: float, bfloat16_seconds: float) -> bool:
    """Whether the measured times call for bfloat16: faster than float32 by :data:`BFLOAT16_MARGIN` at least."""
    return bfloat16_seconds * BFLOAT16_MARGIN <= float32_seconds


def bfloat16_is_faster(device: torch.device, n_features: int) -> bool:
    """Whether D's products (``n_features`` wide) run faster in bfloat16 than in float32 on ``device``.

    Measured once per process, device and width (:func:`product_seconds`, about 0.1 s at the
    paper's 1,720 features), then cached: every D of that width on that device runs in the same
    format for the rest of the process. Where the device cannot multiply bfloat16 at all, float32.
    """
    device = torch.device(device)
    key = (device.type, device.index, n_features)
    if key not in _faster_cache:
        try:
            float32 = product_seconds(device, n_features, torch.float32)
            bfloat16 = product_seconds(device, n_features, torch.bfloat16)
        except RuntimeError:  # no bfloat16 matmul on this device
            _faster_cache[key] = False
        else:
            _faster_cache[key] = choose_bfloat16(float32, bfloat16)
    return _faster_cache[key]


def clear_precision_cache() -> None:
    """Forget every measured choice of :func:`bfloat16_is_faster` (the next D measures again)."""
    _faster_cache.clear()


def conv_window_max(x: torch.Tensor, conv: nn.Conv1d, first: int = 0) -> torch.Tensor:
    """Max over the windows starting at ``first`` or later of ``conv`` (before its ReLU).

    The convolution is one matmul of the unfolded windows ``[B * L, emb * w]`` with the filters
    ``[emb * w, nf]``, which is faster on the CPU than ``conv1d`` at D's sizes.

    :param x: embedded tokens ``[B, t, emb]``. :param conv: a convolution of width ``w`` and ``nf`` filters.
    :return: ``[B, nf]``.
    """
    windows = x[:, first:].unfold(1, conv.kernel_size[0], 1)  # [B, L, emb, w]: window l covers first+l .. +w-1
    batch, n_windows = windows.shape[:2]
    filters = conv.weight.reshape(conv.out_channels, -1).t()  # [emb * w, nf], the same (emb, w) order
    out = torch.addmm(conv.bias, windows.reshape(batch * n_windows, -1), filters)
    return out.view(batch, n_windows, -1).amax(dim=1)


def refresh_scoring_tables(
    tables: list[torch.Tensor], source: list[torch.Tensor], embedding: nn.Embedding, convs: Sequence[nn.Conv1d]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The scoring tables of ``convs`` over ``embedding``, rebuilt only when a parameter changed.

    Per convolution of width w, a table ``[w * V, nf]`` whose row ``j * V + v`` is ``E[v] W_j``
    (plus the bias for j = 0): a window's output is the sum of w rows. ``source`` is the copy of
    the parameters the tables were last built from; when every parameter still equals it, the
    same two lists come back. Otherwise the tables are rebuilt, in place where their device and
    dtype still fit (no fresh allocation of hundreds of MB, whose page faults cost time). Version
    counters would be cheaper than comparing but are not reliable: torch's fused CPU Adam
    updates parameters without bumping them.

    :return: ``(tables, source)``, to keep for the next call.
    """
    params = [embedding.weight, *(p for conv in convs for p in (conv.weight, conv.bias))]
    weight = embedding.weight.detach()  # [V, emb]
    if (
        len(source) == len(params)
        and source[0].device == weight.device
        and source[0].dtype == weight.dtype
        and all(torch.equal(kept, p) for kept, p in zip(source, params, strict=True))
    ):
        return tables, source
    vocab = weight.shape[0]
    if not tables or tables[0].device != weight.device or tables[0].dtype != weight.dtype:
        tables = [weight.new_empty(conv.kernel_size[0] * vocab, conv.out_channels) for conv in convs]
    for conv, table in zip(convs, tables, strict=True):
        filters = conv.weight.detach()  # [nf, emb, w]
        for j in range(conv.kernel_size[0]):
            torch.mm(weight, filters[:, :, j].t(), out=table[j * vocab : (j + 1) * vocab])
        table[:vocab] += conv.bias.detach()
    return tables, [p.detach().clone() for p in params]


def lookup_window_max(table: torch.Tensor, tokens: torch.Tensor, width: int, first: int = 0) -> torch.Tensor:
    """:func:`conv_window_max` from a scoring table: window l sums rows ``j * V + y_{l+j}``, j < w.

    :param table: ``[width * V, nf]`` from :func:`refresh_scoring_tables`. :param tokens: ``LongTensor[B, t]``.
    :param width: the convolution's width w. :param first: the first window's start.
    :return: ``[B, nf]``.
    """
    vocab = table.shape[0] // width
    windows = tokens[:, first:].unfold(1, width, 1)  # [B, L, w]
    batch, n_windows = windows.shape[:2]
    offsets = torch.arange(0, width * vocab, vocab, device=tokens.device)
    rows = (windows + offsets).reshape(batch * n_windows, width)
    out = F.embedding_bag(rows, table, mode="sum")
    return out.view(batch, n_windows, -1).amax(dim=1)


def highway_weights_bfloat16(gate: nn.Linear, lin: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """The highway layer's weights (gate, transform) in bfloat16, cast once per scoring call, not per batch."""
    return gate.weight.bfloat16(), lin.weight.bfloat16()


def highway_products(
    gate: nn.Linear,
    lin: nn.Linear,
    x: torch.Tensor,
    weights: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(gate(x), lin(x))``, each ``[B, features]`` for ``x`` ``[B, features]``, computed where it is fastest.

    With ``weights`` (:func:`highway_weights_bfloat16`) the products run in bfloat16 and the bias is added
    in float32; with gradients enabled (training, under autocast when D runs in bfloat16) through
    the modules; else (scoring in float32) through oneDNN's product.
    """
    if weights is not None:
        return _linear_bfloat16_products(gate, x, weights[0]), _linear_bfloat16_products(lin, x, weights[1])
    if torch.is_grad_enabled():
        return gate(x), lin(x)
    return mm(x, gate.weight.t(), gate.bias), mm(x, lin.weight.t(), lin.bias)


def _linear_bfloat16_products(layer: nn.Linear, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` with the products in bfloat16 (``weight`` is ``layer.weight`` in bfloat16) and the bias in float32.

    Autocast would round the bias and the sum together, a larger error in D for the same speed.
    """
    return F.linear(x.bfloat16(), weight).float().add_(layer.bias)
