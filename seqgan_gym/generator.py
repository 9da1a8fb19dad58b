"""The paper's LSTM language model: the oracle's and the generator G_θ's equations.

``TokenLSTM`` holds the LSTM equations of the paper's oracle and generator (docs/design.md §1);
the oracle (:class:`seqgan_gym.oracle.OracleLSTM`) and the generator (:class:`LSTMGenerator`)
are the same module with different initialisation. Per step, with ``x`` the embedding of the
previous token and ``(h, c)`` the state::

    i = σ(x W_i + h U_i + b_i)   f = σ(x W_f + h U_f + b_f)   o = σ(x W_o + h U_o + b_o)
    c̃ = tanh(x W_c + h U_c + b_c)   c = f ⊙ c + i ⊙ c̃   h = o ⊙ tanh(c)
    logits = h W_out + b_out

Read top to bottom: the parameters, one step (:meth:`TokenLSTM.step`), the teacher-forced
likelihoods that train it (:meth:`~TokenLSTM.log_prob`, :meth:`~TokenLSTM.weighted_nll`,
:meth:`~TokenLSTM.nll`), then sampling (:meth:`~TokenLSTM.sample`, :meth:`~TokenLSTM.complete`).
The faster kernels these call are in :mod:`seqgan_gym._kernels.generator` (docs/design.md §4);
``seqgan_gym/reference.py`` writes the same model out plainly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqgan_gym._checks import MAX_SEQ_LEN, MAX_VOCAB_SIZE, check_float, check_int, check_memory, check_tokens
from seqgan_gym._kernels import chunks
from seqgan_gym._kernels.generator import Log2Head, OutputLogProb, WeightedNLL, fused_lstm, token_nll_
from seqgan_gym._matmul import mm
from seqgan_gym.sampling import check_temperature, sample_from_logits

LSTMState = tuple[torch.Tensor, torch.Tensor]
"""``(h, c)``, each of shape ``[B, hidden_dim]``."""

#: Sequences per chunk when scoring many sequences: bounds memory at V=5000.
EVAL_BATCH = 1024


def parameter_count(vocab_size: int, emb_dim: int, hidden_dim: int) -> int:
    """The number of parameters of a :class:`TokenLSTM` of these sizes (checked against memory before allocating)."""
    v, e, h = vocab_size, emb_dim, hidden_dim
    return v * e + e * 4 * h + h * 4 * h + 4 * h + h * v + v


class TokenLSTM(nn.Module):
    """An LSTM language model with the paper's exact equations (see the module docstring).

    The four gates are stored fused (gate order i, f, o, c) so a step is two matmuls.
    The first input is ``start_token``; the initial state is zero.

    :param vocab_size: V, number of tokens (``2 <= V <= MAX_VOCAB_SIZE``, 10,000,000).
    :param seq_len: T, tokens per sequence (``1 <= T <= MAX_SEQ_LEN``, 10,000).
    :param emb_dim: embedding size.
    :param hidden_dim: LSTM state size.
    :param start_token: the token fed as the first input (the paper's 0).

    The parameters (:func:`parameter_count` float32 values) must fit in the memory available.
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
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2, maximum=MAX_VOCAB_SIZE)
        self.seq_len = check_int("seq_len", seq_len, minimum=1, maximum=MAX_SEQ_LEN)
        self.emb_dim = check_int("emb_dim", emb_dim, minimum=1)
        self.hidden_dim = check_int("hidden_dim", hidden_dim, minimum=1)
        self.start_token = check_int("start_token", start_token, minimum=0, maximum=self.vocab_size - 1)
        v, e, h = self.vocab_size, self.emb_dim, self.hidden_dim
        n_params = parameter_count(v, e, h)
        check_memory(
            f"{type(self).__name__}(vocab_size={v}, emb_dim={e}, hidden_dim={h}) ({n_params:,} float32 parameters)",
            4 * n_params,
        )
        # Zeros here; OracleLSTM and LSTMGenerator draw the paper's initial values.
        self.embedding = nn.Parameter(torch.zeros(v, e))  # [V, emb]
        self.w_x = nn.Parameter(torch.zeros(e, 4 * h))  # [W_i W_f W_o W_c]
        self.w_h = nn.Parameter(torch.zeros(h, 4 * h))  # [U_i U_f U_o U_c]
        self.bias = nn.Parameter(torch.zeros(4 * h))  # [b_i b_f b_o b_c]
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

    # ------------------------------------------------------------------ one step

    def step(self, tokens: torch.Tensor, state: LSTMState) -> tuple[torch.Tensor, LSTMState]:
        """Feed one token per row and advance the state by one step.

        :param tokens: ``LongTensor[B]``, the previous token of each row.
        :param state: ``(h, c)``, each ``[B, hidden_dim]``.
        :return: ``(logits [B, V] of the next token, new state)``; neither input is modified.
        """
        h, c = self._cell(tokens, state)
        return mm(h, self.w_out, self.b_out), (h, c)

    def _cell(self, tokens: torch.Tensor, state: LSTMState) -> LSTMState:
        """The LSTM equations without the output layer: ``LongTensor[B]``, ``(h, c)`` -> the new ``(h, c)``."""
        h, c = state
        x = F.embedding(tokens, self.embedding)  # [B, emb]
        i, f, o, c_tilde = (x @ self.w_x + self.bias + h @ self.w_h).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(c_tilde)
        return torch.sigmoid(o) * torch.tanh(c), c

    # ------------------------------------------------------------------ teacher-forced likelihoods

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced hidden states ``[B, T, hidden_dim]``: row t predicts ``tokens[:, t]``.

        :param tokens: ``LongTensor[B, T]``; the inputs are the start token and ``tokens[:, :-1]``.
        """
        inputs = torch.cat([self.start_tokens(tokens.shape[0])[:, None], tokens[:, :-1]], dim=1)
        # F.embedding, not self.embedding[inputs]: the indexing's backward accumulates rows from
        # several threads in a varying order (results differ run to run); this one does not.
        return fused_lstm(F.embedding(inputs, self.embedding), self.w_x, self.w_h, self.bias, self.training)

    def log_prob(self, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Teacher-forced log-probability of every token.

        :param tokens: ``LongTensor[B, T']`` with ``T' <= seq_len``.
        :param temperature: τ > 0; the probabilities are those :meth:`sample` draws from at τ.
        :return: ``Tensor[B, T']``, ``log G(y_t | y_1..y_{t-1})`` (differentiable).
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, max_len=self.seq_len, device=self.device)
        w_out, b_out = self._tempered_output_layer(check_temperature(temperature))
        hidden = self.hidden_states(tokens).flatten(0, 1)  # [B * T', hidden_dim]
        # log_softmax(hidden @ w_out + b_out).gather(tokens), without the [B * T', V] logits.
        return OutputLogProb.apply(hidden, w_out, b_out, tokens.flatten()).view_as(tokens)

    def _tempered_output_layer(self, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``(w_out / τ, b_out / τ)``: the logits divided by τ (the parameters themselves at τ = 1)."""
        if temperature == 1.0:
            return self.w_out, self.b_out
        return self.w_out / temperature, self.b_out / temperature

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
        weights = torch.as_tensor(weights, device=tokens.device)
        if weights.shape != tokens.shape:
            raise ValueError(f"weights must have the shape of tokens {tuple(tokens.shape)}, got {tuple(weights.shape)}")
        if not weights.is_floating_point():
            raise TypeError(f"weights must be a floating-point tensor, got dtype {weights.dtype}")
        if hidden is None:
            hidden = self.hidden_states(tokens)
        elif hidden.shape != (*tokens.shape, self.hidden_dim):
            raise ValueError(
                f"hidden must have shape {(*tokens.shape, self.hidden_dim)} (tokens' shape, hidden_dim), "
                f"got {tuple(hidden.shape)}"
            )
        hidden = hidden.flatten(0, 1)
        weights = weights.detach().to(device=self.device, dtype=hidden.dtype).flatten()
        return WeightedNLL.apply(hidden, self.w_out, self.b_out, tokens.flatten(), weights)

    @torch.no_grad()
    def nll(self, tokens: torch.Tensor, batch_size: int = EVAL_BATCH, temperature: float = 1.0) -> torch.Tensor:
        """Mean per-token negative log-likelihood of each sequence, in nats.

        :param tokens: ``LongTensor[n, T']`` (or anything ``torch.as_tensor`` takes).
        :param batch_size: sequences scored at once (bounds memory).
        :param temperature: τ > 0; the NLL under the distribution :meth:`sample` draws from at τ.
        :return: ``Tensor[n]``.
        """
        tokens = check_tokens("tokens", tokens, self.vocab_size, max_len=self.seq_len, device=self.device)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        temperature = check_temperature(temperature)
        out = [self._nll_batch(tokens[rows], temperature) for rows in chunks(tokens.shape[0], batch_size)]
        return torch.cat(out) if out else torch.zeros(0, device=self.device)

    def _nll_batch(self, tokens: torch.Tensor, temperature: float) -> torch.Tensor:
        """:meth:`nll` of ``LongTensor[B, T']``, one step at a time without autograd: ``Tensor[B]``."""
        batch, length = tokens.shape
        total = torch.zeros(batch, device=self.device, dtype=torch.float64)
        inputs, state = self.start_tokens(batch), self.initial_state(batch)
        for t in range(length):
            logits, state = self.step(inputs, state)
            inputs = tokens[:, t]
            if temperature != 1.0:
                logits.div_(temperature)
            total += token_nll_(logits, inputs)  # the step's fresh logits serve as scratch space
        return (total / length).to(self.embedding.dtype)

    # ------------------------------------------------------------------ sampling

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        batch_size: int = 1024,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        """Sample ``n`` sequences of ``seq_len`` tokens (inverse-CDF sampling, batched).

        :param n: number of sequences (``>= 0``).
        :param generator: random stream on this module's device; ``None`` uses torch's global one.
        :param batch_size: sequences sampled at once (bounds memory).
        :param temperature: τ > 0: every token is drawn from ``softmax(logits / τ)``, exactly.
        :return: ``LongTensor[n, seq_len]``.
        """
        n = check_int("n", n, minimum=0)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        temperature = check_temperature(temperature)
        # The batches and their concatenation: refused at once, not after hours of sampling.
        check_memory(f"sample(n={n}) of seq_len={self.seq_len} token ids", 2 * 8 * n * self.seq_len)
        out = [self._sample_batch(rows.stop - rows.start, generator, temperature) for rows in chunks(n, batch_size)]
        if not out:
            return torch.zeros(0, self.seq_len, dtype=torch.long, device=self.device)
        return torch.cat(out)

    def _sample_batch(self, n: int, generator: torch.Generator | None, temperature: float) -> torch.Tensor:
        tokens, state = self.start_tokens(n), self.initial_state(n)
        samples = torch.empty(n, self.seq_len, dtype=torch.long, device=self.device)
        head = Log2Head.of(self.w_out, self.b_out, temperature)  # the output layer, in base 2 for exp2
        for t in range(self.seq_len):
            state = self._cell(tokens, state)
            tokens = head.sample(state[0], generator)  # y_t ~ softmax((h W_out + b_out) / τ)
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
        temperature: float = 1.0,
        *,
        consume_logits: bool = False,
    ) -> torch.Tensor:
        """Sample ``n_tokens`` more tokens for each row of a prefix already fed to the model.

        This is the Monte Carlo rollout: the caller keeps the state of each prefix, so nothing
        is re-encoded. ``state`` is never modified, nor ``logits`` unless ``consume_logits``.

        :param logits: ``[B, V]``, the next-token logits the last :meth:`step` returned.
        :param state: ``(h, c)`` after the prefix, each ``[B, hidden_dim]``.
        :param n_tokens: how many tokens to sample (``>= 0``).
        :param generator: random stream on this module's device; ``None`` uses torch's global one.
        :param completions_per_row: independent completions of each row (``>= 1``). The same
            tokens as completing ``logits`` and ``state`` repeated row-wise that many times
            (``repeat_interleave``), without copying the ``[B, V]`` logits: the first token of
            all of a row's completions is drawn from its one row of logits.
        :param temperature: τ > 0: every token, the first included, is drawn from ``softmax(logits / τ)``.
        :param consume_logits: use ``logits`` as scratch space (they are overwritten): the Monte Carlo
            search, which owns the logits of each step, saves a ``[B, V]`` allocation per step
            (docs/design.md §4).
        :return: ``LongTensor[B * completions_per_row, n_tokens]``; rows ``b * completions_per_row``
            to ``(b + 1) * completions_per_row - 1`` complete row ``b``.
        """
        n_tokens = check_int("n_tokens", n_tokens, minimum=0)
        repeats = check_int("completions_per_row", completions_per_row, minimum=1)
        temperature = check_temperature(temperature)
        if logits.dim() != 2 or logits.shape[1] != self.vocab_size:
            raise ValueError(f"logits must have shape [B, {self.vocab_size}], got {tuple(logits.shape)}")
        out = torch.empty(logits.shape[0] * repeats, n_tokens, dtype=torch.long, device=logits.device)
        if n_tokens == 0:
            return out
        if temperature != 1.0:  # a tempered copy (or the caller's scratch logits, tempered in place)
            logits, consume_logits = (logits.div_(temperature) if consume_logits else logits / temperature), True
        out[:, 0] = sample_from_logits(logits, generator, overwrite=consume_logits, draws_per_row=repeats)
        if repeats > 1:
            state = (state[0].repeat_interleave(repeats, dim=0), state[1].repeat_interleave(repeats, dim=0))
        head = Log2Head.of(self.w_out, self.b_out, temperature)
        for k in range(1, n_tokens):
            state = self._cell(out[:, k - 1], state)
            out[:, k] = head.sample(state[0], generator)
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
        init_std = check_float("init_std", init_std, 0.0, low_open=True)
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0.0, init_std, generator=generator)
