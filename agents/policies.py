"""The generator G_θ as a Stable-Baselines3 policy that decodes incrementally."""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule

from seqgan_gym.models import LSTMGenerator, LSTMState
from seqgan_gym.sampling import sample_from_logits


class LSTMGeneratorPolicy(BasePolicy):
    """G_θ: the paper's LSTM generator over the token-prefix observation of ``SeqGAN-Oracle-v0``.

    The observation ``[B, T]`` is the prefix written so far, padded with V. The policy keeps the
    LSTM state of the batch it saw last: when the next observation is that prefix plus one token
    (the usual step of an episode), it feeds only the new token. Anything else (a new batch, rows
    of different lengths) is re-encoded from the start token, so ``predict`` is always correct.

    :param observation_space: ``Box(0, V, (T,), int64)`` (pad value V).
    :param action_space: ``Discrete(V)``.
    :param lr_schedule: learning-rate schedule of the optimiser (SB3 convention).
    :param emb_dim: embedding size (paper: 32). :param hidden_dim: LSTM size (paper: 32).
    :param start_token: first input token (paper: 0). :param init_std: initial parameter std (paper: 0.1).
    :param optimizer_class: paper: Adam. :param optimizer_kwargs: extra optimiser arguments.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        emb_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
        init_std: float = 0.1,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(action_space, spaces.Discrete):
            raise TypeError(f"action_space must be Discrete(V), got {action_space}")
        vocab_size = int(action_space.n)
        if (
            not isinstance(observation_space, spaces.Box)
            or len(observation_space.shape) != 1
            or not int(observation_space.high.max()) == vocab_size
        ):
            raise ValueError(
                f"observation_space must be Box(0, {vocab_size}, (T,), int64) (token prefix padded with "
                f"V={vocab_size}), got {observation_space}"
            )
        super().__init__(
            observation_space, action_space, optimizer_class=optimizer_class, optimizer_kwargs=optimizer_kwargs
        )
        self.emb_dim, self.hidden_dim, self.start_token, self.init_std = emb_dim, hidden_dim, start_token, init_std
        self.pad_token = vocab_size
        self.generator = LSTMGenerator(
            vocab_size, observation_space.shape[0], emb_dim, hidden_dim, start_token, init_std
        )
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)
        self._cache: tuple[torch.Tensor, LSTMState] | None = None

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            emb_dim=self.emb_dim, hidden_dim=self.hidden_dim, start_token=self.start_token, init_std=self.init_std
        )
        return data

    @torch.no_grad()
    def next_token_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, V]`` of the next token after each observed prefix (``obs``: ``[B, T]``)."""
        gen = self.generator
        obs = obs.to(device=gen.device, dtype=torch.long)
        written = obs != self.pad_token
        lengths = written.sum(dim=1)
        t = int(lengths[0])
        lockstep = bool((lengths == t).all()) and bool(written[:, :t].all())
        if not lockstep:  # rows at different steps: teacher-force each prefix, read its next-token logits
            self._cache = None
            tokens = torch.where(written, obs, torch.zeros_like(obs))
            hidden = gen._hidden_states(tokens)  # hidden[:, L] reads the prefix of length L
            rows = torch.arange(obs.shape[0], device=obs.device)
            return hidden[rows, lengths.clamp(max=gen.seq_len - 1)] @ gen.w_out + gen.b_out
        t = min(t, gen.seq_len - 1)  # a complete sequence has no next token: read the last step's
        cached = self._cache
        if cached is not None and cached[0].shape == (obs.shape[0], t - 1) and torch.equal(cached[0], obs[:, : t - 1]):
            state = cached[1]  # the previous step's prefix: feed only the newest token
            inputs = obs[:, t - 1]
        else:
            state = gen.initial_state(obs.shape[0])
            inputs = gen.start_tokens(obs.shape[0])
            for k in range(t):  # re-encode: a new batch or an episode joined midway
                _, state = gen.step(inputs, state)
                inputs = obs[:, k]
        logits, new_state = gen.step(inputs, state)
        self._cache = (obs[:, :t].clone(), new_state)
        return logits

    def _predict(self, observation: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        logits = self.next_token_logits(observation)
        return logits.argmax(dim=1) if deterministic else sample_from_logits(logits, overwrite=True)

    def forget(self) -> None:
        """Drop the cached LSTM state (e.g. after the generator's parameters changed)."""
        self._cache = None
