"""G's speed kernels: the output layer's fused losses, its base-2 sampling head and torch's fused LSTM.

Each computes what :class:`seqgan_gym.generator.TokenLSTM` states plainly; why each trick exists
is in docs/design.md §4, and ``seqgan_gym/reference.py`` plus the tests hold the plain versions
they are checked against.

* :class:`OutputLogProb`, :class:`WeightedNLL`: ``log softmax(h W + b)[y]`` and the weighted
  loss without materialising the ``[B*T, V]`` logits.
* :class:`Log2Head`: the output layer scaled to base 2, so that sampling exponentiates with
  ``exp2`` and, where a bound allows, skips the max-shift.
* :func:`fused_lstm`: the teacher-forced recurrence in one call of torch's fused LSTM.
* :func:`token_nll_`: the NLL of the target tokens from a block of logits it may overwrite.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch.autograd.function import once_differentiable

from seqgan_gym._kernels import chunks
from seqgan_gym._matmul import mm
from seqgan_gym.sampling import LOG2_E, sample_from_log2_logits

#: Rows of ``[*, V]`` logits per block in :class:`OutputLogProb`: a block that stays in cache.
HEAD_ROWS = 128
#: Rows per block in :class:`WeightedNLL` (its blocks also hold their gradient while in cache).
WEIGHTED_NLL_ROWS = 256
#: A bound on ``|base-2 logit|`` below which ``exp2`` needs no shift in float32 (V * 2**100 << 2**128).
EXP2_SAFE = 100.0
_LN_2 = math.log(2.0)


class OutputLogProb(torch.autograd.Function):
    """``log softmax(h W + b)[y]`` per row, and its gradient, a few rows of logits at a time.

    The ``[B*T, V]`` logits are never materialised: each block of :data:`HEAD_ROWS` rows is
    computed (forward), then recomputed in backward. A small block stays in cache and memory stays
    flat. When the weights of the rows are known before the forward pass, :class:`WeightedNLL` is
    faster.

    ``apply(hidden [n, H], w_out [H, V], b_out [V], targets LongTensor[n]) -> Tensor[n]``.
    """

    @staticmethod
    def forward(
        ctx: Any, hidden: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        n = hidden.shape[0]
        out = hidden.new_empty(n)
        log_norm = hidden.new_empty(n)
        for rows in chunks(n, HEAD_ROWS):
            logits = mm(hidden[rows], w_out, b_out)
            log_norm[rows] = torch.logsumexp(logits, dim=1)
            out[rows] = logits.gather(1, targets[rows, None]).squeeze(1) - log_norm[rows]
        ctx.save_for_backward(hidden, w_out, b_out, targets, log_norm)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        hidden, w_out, b_out, targets, log_norm = ctx.saved_tensors
        n = hidden.shape[0]
        grad_hidden = torch.empty_like(hidden)
        grad_w, grad_b = torch.zeros_like(w_out), torch.zeros_like(b_out)
        for rows in chunks(n, HEAD_ROWS):
            # d log p_y / d logits = onehot(y) - softmax(logits), times the incoming gradient.
            g = mm(hidden[rows], w_out, b_out)
            g.sub_(log_norm[rows, None]).exp_().mul_(-grad[rows, None])
            g.scatter_add_(1, targets[rows, None], grad[rows, None])
            grad_hidden[rows] = mm(g, w_out.t())
            grad_w += mm(hidden[rows].t(), g)
            grad_b.add_(g.sum(dim=0))
        return grad_hidden, grad_w, grad_b, None


class WeightedNLL(torch.autograd.Function):
    """``-Σ_r weights_r · log softmax(h_r W + b)[y_r]``, a scalar, with its gradient computed in the forward pass.

    MLE (every weight ``1 / (B T)``) and the policy gradient (weights ``Q_t``) both have this
    form with weights known in advance, so each block of logits is computed, exponentiated and
    turned into its gradient ``weights_r (softmax_r - onehot(y_r))`` while it is in cache: one
    matmul and one exponential per logit instead of two of each (:class:`OutputLogProb`). Backward
    only scales the stored gradients by the incoming scalar.

    ``apply(hidden [n, H], w_out [H, V], b_out [V], targets LongTensor[n], weights [n]) -> Tensor[]``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        w_out: torch.Tensor,
        b_out: torch.Tensor,
        targets: torch.Tensor,
        weights: torch.Tensor,
    ) -> torch.Tensor:
        n = hidden.shape[0]
        # [h, 1] @ [W; b]: the bias rides in the matmuls, and base-2 logits go straight to exp2
        # (faster than exp on the CPU); softmax and its gradient do not depend on the base.
        hidden1 = torch.cat([hidden, hidden.new_ones(n, 1)], dim=1)
        log2_head = torch.cat([w_out, b_out[None]]).mul_(LOG2_E)
        # |z_rj| <= Σ_k |h1_rk| max_j |head_kj|: rows within the bound skip the max-shift (two passes).
        logit_bound = hidden1.abs() @ log2_head.abs().amax(dim=1)
        grad_hidden = torch.empty_like(hidden)
        grad_head = torch.zeros_like(log2_head)
        log_probs = hidden.new_empty(n)
        for rows in chunks(n, WEIGHTED_NLL_ROWS):
            z = mm(hidden1[rows], log2_head)
            target = z.gather(1, targets[rows, None])
            if bool(logit_bound[rows].max() <= EXP2_SAFE):
                z_max = z.new_zeros(())  # exp2 neither overflows nor underflows unshifted
            else:
                z_max = z.amax(dim=1, keepdim=True)
                z.sub_(z_max)
            total = z.exp2_().sum(dim=1, keepdim=True)  # z is now softmax * total
            log_probs[rows] = ((target - z_max) * _LN_2 - total.log()).squeeze(1)
            # The softmax part of the gradient, weights_r softmax_r: the per-row scale goes on the
            # small factors of the two matmuls, not on the [rows, V] block.
            scale = weights[rows, None] / total
            grad_hidden[rows] = mm(z, w_out.t()).mul_(scale)
            grad_head += mm((hidden1[rows] * scale).t(), z)
        # The one-hot part, -weights_r onehot(y_r), for all rows at once.
        grad_hidden.sub_(w_out.t()[targets] * weights[:, None])
        grad_head.index_add_(1, targets, (hidden1 * weights[:, None]).t(), alpha=-1)
        ctx.save_for_backward(grad_hidden, grad_head)
        return -(weights * log_probs).sum()

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None, None]:
        grad_hidden, grad_head = ctx.saved_tensors
        return grad_hidden * grad, grad_head[:-1] * grad, grad_head[-1] * grad, None, None


class Log2Head(NamedTuple):
    """The output layer in base 2 for sampling, with a bound on its logits.

    Every base-2 logit of a hidden state ``h`` is at most ``|h| · weight_bound + bias_bound`` in
    absolute value; where that bound is within :data:`EXP2_SAFE`, sampling skips the max-shift.
    """

    weight: torch.Tensor
    """``W_out log2(e) / τ``, ``[hidden_dim, V]``."""
    bias: torch.Tensor
    """``b_out log2(e) / τ``, ``[V]``."""
    weight_bound: torch.Tensor
    """``max_v |weight|[:, v]``, ``[hidden_dim]``."""
    bias_bound: torch.Tensor
    """``max_v |bias|_v``, a scalar tensor."""

    @classmethod
    def of(cls, w_out: torch.Tensor, b_out: torch.Tensor, temperature: float = 1.0) -> Log2Head:
        """The head of ``logits = (h w_out + b_out) / temperature`` (``[hidden_dim, V]``, ``[V]``).

        The temperature is folded into the weights, so the bound below holds for the tempered
        logits and sampling at any temperature costs what sampling at 1 does.
        """
        scale = LOG2_E / temperature  # exactly LOG2_E at temperature 1
        weight, bias = w_out * scale, b_out * scale
        return cls(weight, bias, weight.abs().amax(dim=1), bias.abs().max())

    def sample(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """One token per row of ``h`` (``[B, hidden_dim]``) from ``softmax((h W_out + b_out) / τ)``.

        :return: ``LongTensor[B]``.
        """
        # Base-2 logits go straight to exp2; oneDNN adds the bias as it writes the product.
        log2_logits = mm(h, self.weight, self.bias)
        bound = (h.abs() @ self.weight_bound).max() + self.bias_bound
        return sample_from_log2_logits(log2_logits, generator, overwrite=True, shift=bool(bound > EXP2_SAFE))


def fused_lstm(
    embedded: torch.Tensor, w_x: torch.Tensor, w_h: torch.Tensor, bias: torch.Tensor, training: bool
) -> torch.Tensor:
    """The LSTM of :class:`~seqgan_gym.generator.TokenLSTM` over whole sequences, from the zero state.

    torch's fused LSTM runs the recurrence in one C++ loop instead of a Python step per token,
    forward and backward; it wants the gates in the order i, f, c̃, o (ours: i, f, o, c̃) and the
    weights as ``[4 * hidden_dim, in_features]``.

    :param embedded: ``[B, T, emb_dim]``, the embedded inputs.
    :param w_x: ``[emb_dim, 4 * hidden_dim]``. :param w_h: ``[hidden_dim, 4 * hidden_dim]``.
    :param bias: ``[4 * hidden_dim]``. :param training: the module's mode (passed on to torch).
    :return: the hidden states ``[B, T, hidden_dim]``; row t is the output after input t.
    """
    order = [0, 1, 3, 2]
    w_ih = torch.cat([w_x.chunk(4, dim=1)[k] for k in order], dim=1).t()
    w_hh = torch.cat([w_h.chunk(4, dim=1)[k] for k in order], dim=1).t()
    b_ih = torch.cat([bias.chunk(4)[k] for k in order])
    if embedded.is_cuda:  # cuDNN wants contiguous weights; the CPU kernel takes the transposed views as they are
        w_ih, w_hh = w_ih.contiguous(), w_hh.contiguous()
    batch, hidden_dim = embedded.shape[0], w_h.shape[0]
    zeros = torch.zeros(1, batch, hidden_dim, device=embedded.device, dtype=embedded.dtype)
    params = [w_ih, w_hh, b_ih, torch.zeros_like(b_ih)]
    has_biases, num_layers, dropout, bidirectional, batch_first = True, 1, 0.0, False, True
    hidden, _, _ = torch.lstm(
        embedded, (zeros, zeros.clone()), params, has_biases, num_layers, dropout, training, bidirectional, batch_first
    )
    return hidden


def token_nll_(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``-log softmax(logits)[targets]`` per row, in float64; ``logits`` (``[B, V]``) is overwritten.

    :param targets: ``LongTensor[B]``. :return: ``Tensor[B]``, float64.
    """
    target = logits.gather(1, targets[:, None]).squeeze(1)
    row_max = logits.amax(dim=1)
    log_total = logits.sub_(row_max[:, None]).exp_().sum(dim=1).log_()
    return (log_total + row_max - target).double()
