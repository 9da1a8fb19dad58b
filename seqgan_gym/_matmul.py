"""Float32 matrix products through oneDNN on the CPU, where that is faster than torch's default.

torch multiplies float32 matrices on the CPU with MKL's sgemm, which takes its AVX2 code path on
AMD processors. oneDNN, the CPU kernel library built into every torch CPU wheel, uses AVX-512
there, which is faster at the generator's output-layer shapes (``[B, 33] x [33, 5000]`` and the
two products of its gradient; docs/design.md §4). Both compute float32 products and float32 sums;
only the order of the sums differs, within float32 rounding.

oneDNN's float32 product is reached through ``torch.ops.mkldnn._linear_pointwise``, the op that
torch's own compiler emits for linear layers on the CPU. It is private, so :func:`onednn_available`
checks it once against ``torch.mm`` and every function here falls back to ``torch.mm`` when it is
missing or disagrees, for tensors that need gradients, and off the CPU. Set the environment
variable ``SEQGAN_GYM_ONEDNN_MATMUL=0`` (or :data:`ENABLED` to ``False``) to always use ``torch.mm``.
"""

from __future__ import annotations

import functools

import torch

from seqgan_gym._env import ONEDNN_MATMUL

#: Whether float32 CPU products may go through oneDNN (default: yes, unless
#: ``SEQGAN_GYM_ONEDNN_MATMUL=0``, ``false``, ``no`` or ``off``). Read at every call, so it can be switched at run time.
ENABLED: bool = ONEDNN_MATMUL


@functools.cache
def onednn_available() -> bool:
    """Whether oneDNN's float32 linear exists in this torch and matches ``torch.mm`` (checked once)."""
    linear = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if linear is None or not torch.backends.mkldnn.is_available():
        return False
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(37, 33, generator=gen), torch.randn(33, 301, generator=gen)
    bias = torch.randn(301, generator=gen)
    try:
        with torch.no_grad():
            got = linear(a, b.t(), bias, "none", [], "")
            got_transposed = linear(a.t().contiguous().t(), b.t(), None, "none", [], "")
    except (RuntimeError, TypeError):
        return False
    return (
        got.dtype == torch.float32
        and not got.is_mkldnn
        and torch.allclose(got, torch.addmm(bias, a, b), rtol=1e-5, atol=1e-5)
        and torch.allclose(got_transposed, a @ b, rtol=1e-5, atol=1e-5)
    )


def _use_onednn(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None) -> bool:
    tensors = (a, b) if bias is None else (a, b, bias)
    return (
        ENABLED
        and a.device.type == "cpu"
        and all(x.dtype == torch.float32 for x in tensors)
        and a.dim() == 2
        and b.dim() == 2
        and a.numel() > 0
        and b.numel() > 0
        and not (torch.is_grad_enabled() and any(x.requires_grad for x in tensors))
        and onednn_available()
    )


def mm(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``a @ b (+ bias)``: ``[m, k] x [k, n] (+ [n]) -> [m, n]``, a fresh tensor; no autograd through oneDNN.

    :param a: ``[m, k]``. :param b: ``[k, n]`` (any strides). :param bias: optional ``[n]``, added to every row.
    """
    if _use_onednn(a, b, bias):
        return torch.ops.mkldnn._linear_pointwise(a.contiguous(), b.t(), bias, "none", [], "")
    return a @ b if bias is None else torch.addmm(bias, a, b)
