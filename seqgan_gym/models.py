"""The paper's two networks: the LSTM language model G and the CNN discriminator D.

``TokenLSTM`` holds the LSTM equations of the paper's oracle and generator (design §1); the
oracle (``seqgan_gym.oracle.OracleLSTM``) and the generator (``LSTMGenerator``) are the same
module with different initialisation. ``Discriminator`` is the Kim-2014 style CNN of the
reference code.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from seqgan_gym._checks import check_int, check_tokens
from seqgan_gym._matmul import mm
from seqgan_gym.sampling import LOG2_E, sample_from_log2_logits, sample_from_logits

LSTMState = tuple[torch.Tensor, torch.Tensor]
"""``(h, c)``, each of shape ``[B, hidden_dim]``."""

#: Filter widths and filter counts of the paper's discriminator.
PAPER_FILTER_SIZES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
PAPER_NUM_FILTERS: tuple[int, ...] = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)

_EVAL_BATCH = 1024  # sequences per chunk when scoring many sequences: bounds memory at V=5000
_HEAD_ROWS = 128  # rows of [*, V] logits per block in the training loss (a 2.5 MB block at V=5000)
_WEIGHTED_NLL_ROWS = 256  # rows per block in the fused loss (a 5 MB block at V=5000: ~7% faster than 512 with AVX-512)
_LN_2 = math.log(2.0)
_EXP2_SAFE = 100.0  # |base-2 logit| below which exp2 needs no shift in float32 (V * 2**100 << 2**128)


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class _OutputLogProb(torch.autograd.Function):
    """``log softmax(h W + b)[y]`` per row, and its gradient, a few rows of logits at a time.

    The ``[B*T, V]`` logits are never materialised: each block of ``_HEAD_ROWS`` rows is computed
    (forward), then recomputed in backward. A small block stays in cache and memory stays flat. When the
    weights of the rows are known before the forward pass, :class:`_WeightedNLL` is faster.
    """

    @staticmethod
    def forward(
        ctx: Any, hidden: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        n = hidden.shape[0]
        out = hidden.new_empty(n)
        log_norm = hidden.new_empty(n)
        for rows in _chunks(n, _HEAD_ROWS):
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
        for rows in _chunks(n, _HEAD_ROWS):
            # d log p_y / d logits = onehot(y) - softmax(logits), times the incoming gradient.
            g = mm(hidden[rows], w_out, b_out)
            g.sub_(log_norm[rows, None]).exp_().mul_(-grad[rows, None])
            g.scatter_add_(1, targets[rows, None], grad[rows, None])
            grad_hidden[rows] = mm(g, w_out.t())
            grad_w += mm(hidden[rows].t(), g)
            grad_b.add_(g.sum(dim=0))
        return grad_hidden, grad_w, grad_b, None


class _WeightedNLL(torch.autograd.Function):
    """``-Σ_r weights_r · log softmax(h_r W + b)[y_r]``, a scalar, with its gradient computed in the forward pass.

    MLE (every weight ``1 / (B T)``) and the policy gradient (weights ``Q_t``) both have this
    form with weights known in advance, so each block of logits is computed, exponentiated and
    turned into its gradient ``weights_r (softmax_r - onehot(y_r))`` while it is in cache: one
    matmul and one exponential per logit instead of two of each (``_OutputLogProb``). Backward only
    scales the stored gradients by the incoming scalar.
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
        for rows in _chunks(n, _WEIGHTED_NLL_ROWS):
            z = mm(hidden1[rows], log2_head)
            target = z.gather(1, targets[rows, None])
            if bool(logit_bound[rows].max() <= _EXP2_SAFE):
                z_max = z.new_zeros(())  # |z| <= 100: exp2 neither overflows nor underflows unshifted
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


class TokenLSTM(nn.Module):
    """An LSTM language model with the paper's exact equations.

    Per step, with ``x`` the embedding of the previous token and ``(h, c)`` the state::

        i = σ(x W_i + h U_i + b_i)   f = σ(x W_f + h U_f + b_f)   o = σ(x W_o + h U_o + b_o)
        c̃ = tanh(x W_c + h U_c + b_c)   c = f ⊙ c + i ⊙ c̃   h = o ⊙ tanh(c)
        logits = h W_out + b_out

    The four gates are stored fused (gate order i, f, o, c) so a step is two matmuls.
    The first input is ``start_token``; the initial state is zero.

    :param vocab_size: V, number of tokens (``>= 2``).
    :param seq_len: T, tokens per sequence (``>= 1``).
    :param emb_dim: embedding size.
    :param hidden_dim: LSTM state size.
    :param start_token: the token fed as the first input (the paper's 0).
    """

    def __init__(
        self,
        vocab_size: int = 5000,
        seq_len: int = 20,
        emb_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2)
        self.seq_len = check_int("seq_len", seq_len, minimum=1)
        self.emb_dim = check_int("emb_dim", emb_dim, minimum=1)
        self.hidden_dim = check_int("hidden_dim", hidden_dim, minimum=1)
        self.start_token = check_int("start_token", start_token, minimum=0, maximum=self.vocab_size - 1)
        v, e, h = self.vocab_size, self.emb_dim, self.hidden_dim
        # Zeros here; OracleLSTM and LSTMGenerator draw the paper's initial values.
        self.embedding = nn.Parameter(torch.zeros(v, e))
        self.w_x = nn.Parameter(torch.zeros(e, 4 * h))
        self.w_h = nn.Parameter(torch.zeros(h, 4 * h))
        self.bias = nn.Parameter(torch.zeros(4 * h))
        self.w_out = nn.Parameter(torch.zeros(h, v))
        self.b_out = nn.Parameter(torch.zeros(v))

    @property
    def device(self) -> torch.device:
        return self.embedding.device

    def initial_state(self, batch_size: int) -> LSTMState:
        """The zero state ``(h, c)``, each ``[batch_size, hidden_dim]``."""
        zeros = torch.zeros(batch_size, self.hidden_dim, device=self.device, dtype=self.embedding.dtype)
        return zeros, zeros.clone()

    def start_tokens(self, batch_size: int) -> torch.Tensor:
        """``LongTensor[batch_size]`` filled with ``start_token``."""
        return torch.full((batch_size,), self.start_token, dtype=torch.long, device=self.device)

    def step(
        self, tokens: torch.Tensor, state: LSTMState, logits_out: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        """Feed one token per row and advance the state by one step.

        :param tokens: ``LongTensor[B]``, the previous token of each row.
        :param state: ``(h, c)``, each ``[B, hidden_dim]``.
        :param logits_out: optional ``[B, V]`` buffer to write the logits into (no autograd):
            reusing one buffer avoids a fresh ``B x V`` allocation per step, which costs page
            faults on the CPU.
        :return: ``(logits [B, V] of the next token, new state)``.
        """
        h, c = self._cell(tokens, state)
        if logits_out is not None:
            return torch.addmm(self.b_out, h, self.w_out, out=logits_out), (h, c)
        return mm(h, self.w_out, self.b_out), (h, c)

    def _cell(self, tokens: torch.Tensor, state: LSTMState) -> LSTMState:
        return self._recur(F.embedding(tokens, self.embedding) @ self.w_x + self.bias, state)

    def _recur(self, x_proj: torch.Tensor, state: LSTMState) -> LSTMState:
        """One LSTM step from the input projection ``x W + b`` (``[B, 4 * hidden_dim]``)."""
        h, c = state
        i, f, o, c_tilde = (x_proj + h @ self.w_h).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(c_tilde)
        return torch.sigmoid(o) * torch.tanh(c), c

    def _log2_head(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The output layer in base 2 for sampling, and a bound on its logits.

        :return: ``(W log2(e) [hidden_dim, V], b log2(e) [V], max_v |W log2(e)|[:, v] [hidden_dim],
            max_v |b log2(e)|_v [])``: every base-2 logit of a hidden state ``h`` is at most
            ``|h| . third + fourth`` in absolute value.
        """
        weight, bias = self.w_out * LOG2_E, self.b_out * LOG2_E
        return weight, bias, weight.abs().amax(dim=1), bias.abs().max()

    def _sample_next(
        self,
        h: torch.Tensor,
        log2_head: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        weight, bias, weight_bound, bias_bound = log2_head
        # Base-2 logits go straight to exp2; oneDNN adds the bias as it writes the product.
        log2_logits = mm(h, weight, bias)
        # Within the bound (every |logit| <= 100), sampling skips the max-shift.
        bound = (h.abs() @ weight_bound).max() + bias_bound
        return sample_from_log2_logits(log2_logits, generator, overwrite=True, shift=bool(bound > _EXP2_SAFE))

    def _hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced hidden states ``[B, T, hidden_dim]``: row t predicts ``tokens[:, t]``."""
        batch = tokens.shape[0]
        inputs = torch.cat([self.start_tokens(batch)[:, None], tokens[:, :-1]], dim=1)
        # torch's fused LSTM runs the recurrence in one C++ loop (3x faster than a step at a time
        # from Python, forward and backward); it wants the gates in the order i, f, c̃, o, and
        # weights as [4 * hidden_dim, in_features].
        order = [0, 1, 3, 2]
        w_ih = torch.cat([self.w_x.chunk(4, dim=1)[k] for k in order], dim=1).t()
        w_hh = torch.cat([self.w_h.chunk(4, dim=1)[k] for k in order], dim=1).t()
        b_ih = torch.cat([self.bias.chunk(4)[k] for k in order])
        h0, c0 = (s[None] for s in self.initial_state(batch))
        params = [w_ih, w_hh, b_ih, torch.zeros_like(b_ih)]
        has_biases, num_layers, dropout, bidirectional, batch_first = True, 1, 0.0, False, True
        hidden, _, _ = torch.lstm(
            # F.embedding, not self.embedding[inputs]: the indexing's backward accumulates rows
            # from several threads in a varying order (results differ run to run); this one does not.
            F.embedding(inputs, self.embedding),
            (h0, c0),
            params,
            has_biases,
            num_layers,
            dropout,
            self.training,
            bidirectional,
            batch_first,
        )
        return hidden

    def log_prob(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log-probability of every token.

        :param tokens: ``LongTensor[B, T']`` with ``T' <= seq_len``.
        :return: ``Tensor[B, T']``, ``log G(y_t | y_1..y_{t-1})`` (differentiable).
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, max_len=self.seq_len, device=self.device)
        hidden = self._hidden_states(tokens)
        return _OutputLogProb.apply(hidden.flatten(0, 1), self.w_out, self.b_out, tokens.flatten()).view_as(tokens)

    def weighted_nll(
        self, tokens: torch.Tensor, weights: torch.Tensor, hidden: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The teacher-forced loss ``-Σ_{b,t} weights[b, t] · log G(tokens[b, t] | tokens[b, :t])``.

        MLE is ``weights = 1 / (B T)`` (the mean NLL); the paper's policy gradient is ``weights = Q``.
        Same value and gradient as ``-(log_prob(tokens) * weights).sum()``, faster: the gradient
        of the output layer is computed in the same pass as the loss.

        :param tokens: ``LongTensor[B, T']`` with ``T' <= seq_len``.
        :param weights: ``Tensor[B, T']``, constants (no gradient flows into them).
        :param hidden: ``Tensor[B, T', hidden_dim]``, the LSTM outputs that predict ``tokens``;
            ``None``: teacher forcing on ``tokens``. Scheduled Sampling passes the states it reached
            on partly sampled inputs.
        :return: a scalar tensor (differentiable with respect to the parameters).
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, max_len=self.seq_len, device=self.device)
        weights = torch.as_tensor(weights)
        if weights.shape != tokens.shape:
            raise ValueError(f"weights must have the shape of tokens {tuple(tokens.shape)}, got {tuple(weights.shape)}")
        if not weights.is_floating_point():
            raise TypeError(f"weights must be a floating-point tensor, got dtype {weights.dtype}")
        if hidden is None:
            hidden = self._hidden_states(tokens)
        elif hidden.shape != (*tokens.shape, self.hidden_dim):
            raise ValueError(
                f"hidden must have shape {(*tokens.shape, self.hidden_dim)} (tokens' shape, hidden_dim), "
                f"got {tuple(hidden.shape)}"
            )
        hidden = hidden.flatten(0, 1)
        weights = weights.detach().to(device=self.device, dtype=hidden.dtype).flatten()
        return _WeightedNLL.apply(hidden, self.w_out, self.b_out, tokens.flatten(), weights)

    @torch.no_grad()
    def nll(self, tokens: torch.Tensor, batch_size: int = _EVAL_BATCH) -> torch.Tensor:
        """Mean per-token negative log-likelihood of each sequence, in nats.

        :param tokens: ``LongTensor[n, T']`` (or anything ``torch.as_tensor`` takes).
        :param batch_size: sequences scored at once (bounds memory).
        :return: ``Tensor[n]``.
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, max_len=self.seq_len, device=self.device)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        out = [self._nll_batch(tokens[rows]) for rows in _chunks(tokens.shape[0], batch_size)]
        return torch.cat(out) if out else torch.zeros(0, device=self.device)

    def _nll_batch(self, tokens: torch.Tensor) -> torch.Tensor:
        # log_prob without autograd: NLL = logsumexp - target logit.
        batch, length = tokens.shape
        total = torch.zeros(batch, device=self.device, dtype=torch.float64)
        inputs, state = self.start_tokens(batch), self.initial_state(batch)
        for t in range(length):
            logits, state = self.step(inputs, state)
            inputs = tokens[:, t]
            target = logits.gather(1, inputs[:, None]).squeeze(1)
            row_max = logits.amax(dim=1)
            log_total = logits.sub_(row_max[:, None]).exp_().sum(dim=1).log_()
            total += (log_total + row_max - target).double()
        return (total / length).to(self.embedding.dtype)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        batch_size: int = 1024,
    ) -> torch.Tensor:
        """Sample ``n`` sequences of ``seq_len`` tokens (inverse-CDF sampling, batched).

        :param n: number of sequences (``>= 0``).
        :param generator: random stream on this module's device; ``None`` uses torch's global one.
        :param batch_size: sequences sampled at once (bounds memory).
        :return: ``LongTensor[n, seq_len]``.
        """
        n = check_int("n", n, minimum=0)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        out = [self._sample_batch(rows.stop - rows.start, generator) for rows in _chunks(n, batch_size)]
        if not out:
            return torch.zeros(0, self.seq_len, dtype=torch.long, device=self.device)
        return torch.cat(out)

    def _sample_batch(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        tokens = self.start_tokens(n)
        state = self.initial_state(n)
        samples = torch.empty(n, self.seq_len, dtype=torch.long, device=self.device)
        log2_head = self._log2_head()
        for t in range(self.seq_len):
            state = self._cell(tokens, state)
            tokens = self._sample_next(state[0], log2_head, generator)
            samples[:, t] = tokens
        return samples

    @torch.no_grad()
    def complete(
        self,
        logits: torch.Tensor,
        state: LSTMState,
        n_tokens: int,
        generator: torch.Generator | None = None,
        completions_per_row: int = 1,
    ) -> torch.Tensor:
        """Sample ``n_tokens`` more tokens for each row of a prefix already fed to the model.

        This is the Monte Carlo rollout: the caller keeps the state of each prefix, so nothing
        is re-encoded.

        :param logits: ``[B, V]``, the next-token logits the last :meth:`step` returned; used as
            scratch space (overwritten) for the first token.
        :param state: ``(h, c)`` after the prefix, each ``[B, hidden_dim]``.
        :param n_tokens: how many tokens to sample (``>= 0``).
        :param completions_per_row: independent completions of each row (``>= 1``). The same
            tokens as completing ``logits`` and ``state`` repeated row-wise that many times
            (``repeat_interleave``), without copying the ``[B, V]`` logits: the first token of
            all of a row's completions is drawn from its one row of logits.
        :return: ``LongTensor[B * completions_per_row, n_tokens]``; rows ``b * completions_per_row``
            to ``(b + 1) * completions_per_row - 1`` complete row ``b``.
        """
        n_tokens = check_int("n_tokens", n_tokens, minimum=0)
        repeats = check_int("completions_per_row", completions_per_row, minimum=1)
        if logits.dim() != 2 or logits.shape[1] != self.vocab_size:
            raise ValueError(f"logits must have shape [B, {self.vocab_size}], got {tuple(logits.shape)}")
        out = torch.empty(logits.shape[0] * repeats, n_tokens, dtype=torch.long, device=logits.device)
        if n_tokens == 0:
            return out
        out[:, 0] = sample_from_logits(logits, generator, overwrite=True, draws_per_row=repeats)
        if repeats > 1:
            state = (state[0].repeat_interleave(repeats, dim=0), state[1].repeat_interleave(repeats, dim=0))
        log2_head = self._log2_head()
        for k in range(1, n_tokens):
            state = self._cell(out[:, k - 1], state)
            out[:, k] = self._sample_next(state[0], log2_head, generator)
        return out


class LSTMGenerator(TokenLSTM):
    """The generator G_θ: the oracle's shape, every parameter drawn from N(0, ``init_std``²).

    :param vocab_size: V (``>= 2``). :param seq_len: T (``>= 1``).
    :param emb_dim: embedding size (paper: 32). :param hidden_dim: state size (paper: 32).
    :param start_token: first input token (paper: 0).
    :param init_std: standard deviation of the initial parameters (paper: 0.1).
    :param generator: random stream for the initial parameters (``None``: torch's global one).
    """

    def __init__(
        self,
        vocab_size: int = 5000,
        seq_len: int = 20,
        emb_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
        init_std: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(vocab_size, seq_len, emb_dim, hidden_dim, start_token)
        if not (isinstance(init_std, (int, float)) and math.isfinite(init_std) and init_std > 0):
            raise ValueError(f"init_std must be a positive finite number, got {init_std!r}")
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0.0, float(init_std), generator=generator)


def check_filters(
    filter_sizes: Sequence[int], num_filters: Sequence[int], seq_len: int, prefix: str = ""
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The discriminator's filter widths and counts as tuples, or an error naming ``prefix + "filter_sizes"``."""
    filter_sizes, num_filters = tuple(filter_sizes), tuple(num_filters)
    if not filter_sizes or len(filter_sizes) != len(num_filters):
        raise ValueError(
            f"{prefix}filter_sizes and {prefix}num_filters must be non-empty and of equal length, got "
            f"{len(filter_sizes)} and {len(num_filters)}"
        )
    for width in filter_sizes:
        check_int(f"each of {prefix}filter_sizes", width, minimum=1, maximum=seq_len)
    for count in num_filters:
        check_int(f"each of {prefix}num_filters", count, minimum=1)
    return filter_sizes, num_filters


@runtime_checkable
class SequenceScorer(Protocol):
    """What scores a complete sequence in [0, 1] for the env's terminal reward and the Monte Carlo search.

    The paper's :class:`Discriminator` (D(Y), trained against the generator) is one; PG-BLEU's
    :class:`~seqgan_gym.bleu_reward.BLEUReward` (BLEU against the real set, fixed) is another.
    """

    vocab_size: int
    seq_len: int

    @property
    def device(self) -> torch.device: ...

    def to(self, device: torch.device | str) -> SequenceScorer: ...

    def prob_real(self, tokens: torch.Tensor) -> torch.Tensor:
        """``Tensor[n]`` in [0, 1] for ``LongTensor[n, seq_len]``."""
        ...

    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor) -> torch.Tensor:
        """The score of N completions of each prefix: ``[B, t]`` and ``[B * N, seq_len - t]`` -> ``Tensor[B * N]``."""
        ...


#: What ``Discriminator(precision=...)`` accepts.
D_PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")


@functools.cache
def _cpu_has_bfloat16_dot() -> bool:
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
    return device.type == "cpu" and _cpu_has_bfloat16_dot()


def _linear_bfloat16_products(layer: nn.Linear, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` with the products in bfloat16 (``weight`` is ``layer.weight`` in bfloat16) and the bias in float32.

    Autocast would round the bias and the sum together: about 1.5x the error in D (7e-3 against
    5e-3 at most over 20,000 sequences of the paper's untrained D) for the same speed.
    """
    return F.linear(x.bfloat16(), weight).float().add_(layer.bias)


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

    :param vocab_size: V (``>= 2``).
    :param seq_len: T; every filter must fit (``max(filter_sizes) <= seq_len``).
    :param emb_dim: embedding size (paper: 64).
    :param filter_sizes: convolution widths; ``None``: the paper's (1..10, 15, 20) that fit in ``seq_len``.
    :param num_filters: filters per width; ``None``: the paper's (100, 200 x4, 100 x5, 160, 160)
        for those widths.
    :param dropout_keep_prob: keep probability while training (paper: 0.75).
    :param l2_reg_lambda: L2 weight on the output layer (paper: 0.2).
    :param precision: the matmuls' number format. ``"float32"``; ``"bfloat16"``: training's
        convolutions and highway layer run under bfloat16 autocast, and scoring's highway layer
        multiplies in bfloat16 (weights, gradients, the optimiser, the scoring tables and the
        output layer stay float32); ``"auto"`` (default):
        ``"bfloat16"`` where the device multiplies bfloat16 natively (:func:`native_bfloat16`:
        CUDA, or a CPU with AVX512-BF16 or AMX, where it is about 4x faster), else ``"float32"``.
        ``benchmarks/bench_precision.py`` measures what it changes.
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
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2)
        self.seq_len = check_int("seq_len", seq_len, minimum=1)
        emb_dim = check_int("emb_dim", emb_dim, minimum=1)
        if filter_sizes is None and num_filters is None:
            paper = [(w, nf) for w, nf in zip(PAPER_FILTER_SIZES, PAPER_NUM_FILTERS, strict=True) if w <= self.seq_len]
            filter_sizes, num_filters = (tuple(x) for x in zip(*paper, strict=True))
        elif filter_sizes is None or num_filters is None:
            raise ValueError("filter_sizes and num_filters must be given together (or both None for the paper's)")
        filter_sizes, num_filters = check_filters(filter_sizes, num_filters, self.seq_len)
        if not (isinstance(dropout_keep_prob, (int, float)) and 0.0 < dropout_keep_prob <= 1.0):
            raise ValueError(f"dropout_keep_prob must be in (0, 1], got {dropout_keep_prob!r}")
        if not (isinstance(l2_reg_lambda, (int, float)) and math.isfinite(l2_reg_lambda) and l2_reg_lambda >= 0):
            raise ValueError(f"l2_reg_lambda must be a finite number >= 0, got {l2_reg_lambda!r}")
        if precision not in D_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(map(repr, D_PRECISIONS))}, got {precision!r}")
        self.filter_sizes, self.num_filters = filter_sizes, num_filters
        self.dropout_keep_prob = float(dropout_keep_prob)
        self.l2_reg_lambda = float(l2_reg_lambda)
        self.precision = precision
        n_features = sum(num_filters)

        self.embedding = nn.Embedding(self.vocab_size, emb_dim)
        self.convs = nn.ModuleList(nn.Conv1d(emb_dim, nf, w) for w, nf in zip(filter_sizes, num_filters, strict=True))
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
        return self.precision == "bfloat16" or (self.precision == "auto" and native_bfloat16(self.device))

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.uses_bfloat16)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        """Pooled convolution features after the highway layer, ``[B, sum(num_filters)]``."""
        x = self.embedding(tokens)
        # max over time of relu(conv) = relu of the max over time: the ReLU runs on [B, features] only.
        pooled = [self._window_max(x, k) for k in range(len(self.convs))]
        return self._highway(F.relu(torch.cat(pooled, dim=1)))

    def _window_max(self, x: torch.Tensor, k: int, first: int = 0) -> torch.Tensor:
        """Max over the windows starting at ``first`` or later of convolution ``k`` (before its ReLU).

        The convolution is one matmul of the unfolded windows ``[B * L, emb * w]`` with the filters
        ``[emb * w, nf]``: about 1.3x faster on the CPU than ``conv1d`` at these sizes.

        :param x: embedded tokens ``[B, t, emb]``. :return: ``[B, nf]``.
        """
        conv, width = self.convs[k], self.filter_sizes[k]
        windows = x[:, first:].unfold(1, width, 1)  # [B, L, emb, w]: window l covers tokens first+l .. +w-1
        batch, n_windows = windows.shape[:2]
        filters = conv.weight.reshape(conv.out_channels, -1).t()  # [emb * w, nf], the same (emb, w) order
        out = torch.addmm(conv.bias, windows.reshape(batch * n_windows, -1), filters)
        return out.view(batch, n_windows, -1).amax(dim=1)

    def _scoring_tables(self) -> list[torch.Tensor]:
        """Per width w, ``[w * V, nf]``: row ``j * V + v`` is ``E[v] W_j`` (plus the bias for j = 0).

        Built again, in place, only when the embedding or a filter differs from the copy kept at
        the last build (1.1 M floats, compared in about half a millisecond). Version counters
        would be cheaper but are not reliable: torch's fused CPU Adam updates parameters without
        bumping them.
        """
        params = [self.embedding.weight, *(p for conv in self.convs for p in (conv.weight, conv.bias))]
        source = self._tables_source
        if (
            len(source) == len(params)
            and source[0].device == self.device
            and source[0].dtype == params[0].dtype
            and all(torch.equal(kept, p) for kept, p in zip(source, params, strict=True))
        ):
            return self._tables
        embedding, vocab = self.embedding.weight.detach(), self.vocab_size
        if not self._tables or self._tables[0].device != self.device or self._tables[0].dtype != embedding.dtype:
            sizes = zip(self.filter_sizes, self.num_filters, strict=True)
            self._tables = [embedding.new_empty(w * vocab, nf) for w, nf in sizes]
        for conv, width, table in zip(self.convs, self.filter_sizes, self._tables, strict=True):
            weight = conv.weight.detach()  # [nf, emb, w]
            for j in range(width):  # written in place: no fresh 250 MB allocation (page faults) per rebuild
                torch.mm(embedding, weight[:, :, j].t(), out=table[j * vocab : (j + 1) * vocab])
            table[:vocab] += conv.bias.detach()
        self._tables_source = [p.detach().clone() for p in params]
        return self._tables

    def _window_max_lookup(
        self, tables: list[torch.Tensor], tokens: torch.Tensor, k: int, first: int = 0
    ) -> torch.Tensor:
        """:meth:`_window_max` from the scoring tables: window l sums rows ``j * V + y_{l+j}``, j < w.

        :param tables: :meth:`_scoring_tables`. :param tokens: ``LongTensor[B, t]``. :return: ``[B, nf]``.
        """
        width = self.filter_sizes[k]
        windows = tokens[:, first:].unfold(1, width, 1)  # [B, L, w]
        batch, n_windows = windows.shape[:2]
        offsets = torch.arange(0, width * self.vocab_size, self.vocab_size, device=tokens.device)
        rows = (windows + offsets).reshape(batch * n_windows, width)
        out = F.embedding_bag(rows, tables[k], mode="sum")
        return out.view(batch, n_windows, -1).amax(dim=1)

    def _highway(
        self, pooled: torch.Tensor, bfloat16_weights: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The highway layer; with ``bfloat16_weights`` (:meth:`_scoring_weights`) its products run in bfloat16."""
        if bfloat16_weights is not None:
            gate = _linear_bfloat16_products(self.highway_gate, pooled, bfloat16_weights[0])
            lin = _linear_bfloat16_products(self.highway_lin, pooled, bfloat16_weights[1])
        elif torch.is_grad_enabled():  # training (under autocast when D runs in bfloat16)
            gate, lin = self.highway_gate(pooled), self.highway_lin(pooled)
        else:  # scoring in float32: oneDNN's product
            gate = mm(pooled, self.highway_gate.weight.t(), self.highway_gate.bias)
            lin = mm(pooled, self.highway_lin.weight.t(), self.highway_lin.bias)
        # t * relu(W x) + (1 - t) * x, written as x + t * (relu(W x) - x): fewer passes over [B, features].
        transform = torch.sigmoid(gate)  # gate bias 0, as in the reference
        return torch.addcmul(pooled, transform, F.relu(lin) - pooled)

    def _scoring_weights(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The highway weights (gate, transform) in bfloat16 when scoring multiplies in bfloat16, else ``None``.

        Cast once per scoring call, not once per batch: each cast reads 3 M floats.
        """
        if not self.uses_bfloat16:
            return None
        return self.highway_gate.weight.bfloat16(), self.highway_lin.weight.bfloat16()

    def _prob_real_from_pooled(
        self, pooled: torch.Tensor, bfloat16_weights: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """D from the pooled convolutions (before their ReLU), ``[B, features] -> [B]``, no dropout.

        With the convolutions read from tables, the highway layer's two 1,720 x 1,720 matmuls
        (11.8 MFLOP a sequence) are nearly all of scoring's arithmetic: with bfloat16 ``precision``
        they run in bfloat16. The output layer stays float32: it costs nothing, and rounding the
        1,720 features it reads would double D's error.
        """
        features = self._highway(F.relu(pooled), bfloat16_weights)
        return torch.softmax(self.output(features), dim=-1)[:, 1]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, 2]`` (class 1 = real), float32; dropout only in training mode.

        :param tokens: ``LongTensor[B, seq_len]``.
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, exact_len=self.seq_len, device=self.device)
        with self._autocast():
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
        out = [
            self._prob_real_from_pooled(
                torch.cat([self._window_max_lookup(tables, tokens[rows], k) for k in range(len(self.convs))], dim=1),
                weights,
            )
            for rows in _chunks(tokens.shape[0], batch_size)
        ]
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
            self._window_max_lookup(tables, prefix, k) if t >= w else None for k, w in enumerate(self.filter_sizes)
        ]
        out = []
        for rows in _chunks(n_prefixes, max(1, batch_size // n)):
            tokens = torch.cat([prefix[rows].repeat_interleave(n, dim=0), suffix[rows.start * n : rows.stop * n]], 1)
            pooled = []
            for k, (w, inside) in enumerate(zip(self.filter_sizes, prefix_max, strict=True)):
                reaching = self._window_max_lookup(tables, tokens, k, first=max(0, t - w + 1))  # reaching the suffix
                pooled.append(
                    reaching if inside is None else torch.maximum(reaching, inside[rows].repeat_interleave(n, 0))
                )
            out.append(self._prob_real_from_pooled(torch.cat(pooled, dim=1), weights))
        return torch.cat(out)
