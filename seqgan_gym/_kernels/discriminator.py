"""D's speed kernels: convolutions as matmuls, scoring from lookup tables, and bfloat16 where it is native.

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
* :func:`native_bfloat16`: whether the device multiplies bfloat16 faster than float32 (CPU
  feature detection from ``/proc/cpuinfo``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_gym._matmul import mm


@functools.cache
def cpu_has_bfloat16_dot() -> bool:
    """Whether this CPU has bfloat16 dot-product instructions (x86 AVX512-BF16 or AMX, Arm BF16).

    Without them oneDNN emulates bfloat16 and its matmuls are slower than float32 ones, so
    ``precision="auto"`` stays in float32.
    """
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            return bool({"avx512_bf16", "amx_bf16", "bf16"} & set(line.partition(":")[2].split()))
    return False


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices natively, i.e. faster than float32 ones."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bfloat16_dot()


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
