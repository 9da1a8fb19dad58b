"""A KL penalty to a reference policy, as per-token reward shaping (RL4LMs' way of keeping PPO near its start).

For the token y_t a policy π writes after the prefix Y_{1:t-1}, the shaped reward is

    r_t = Q_t - kl_coef * (log π(y_t | Y_{1:t-1}) - log π_ref(y_t | Y_{1:t-1}))

whose expectation over y_t ~ π is Q_t minus ``kl_coef`` times the per-token KL(π || π_ref). The
reference π_ref is frozen: by default the generator as RL training starts (after MLE pretraining).
Because the penalty is in the reward, it applies alike to REINFORCE, PPO, A2C and TRPO.

With γ = 0 (the Monte Carlo returns) each token's return carries its own log-ratio only, not those
of the tokens after it: a per-token penalty, not the gradient of the whole sequence's KL.

:class:`KLPenalty` follows B sequences in lockstep, one token a step, as the Monte Carlo estimator
does; π is the rollout policy G_β, which Algorithm 1 keeps equal to G_θ (β ← θ after every update),
so log π is the acting policy's own log-probability.
"""

from __future__ import annotations

import copy

import torch

from seqgan_gym._checks import check_float
from seqgan_gym.generator import LSTMState, TokenLSTM


class KLPenalty:
    """``kl_coef * (log π(y_t) - log π_ref(y_t))`` for B sequences, one token at a time.

    :param policy: π, a :class:`~seqgan_gym.generator.TokenLSTM` read live (e.g. the wrapper's G_β).
    :param kl_coef: the penalty's weight (``>= 0``; RL4LMs starts PPO at 0.1 to 0.2).
    :param reference: π_ref, frozen; ``None``: set it later with :meth:`freeze_reference` (the wrapper
        freezes the first weights its G_β is given: the generator as RL training starts).
    """

    def __init__(self, policy: TokenLSTM, kl_coef: float, reference: TokenLSTM | None = None) -> None:
        if not isinstance(policy, TokenLSTM):
            raise TypeError(f"policy must be a seqgan_gym.generator.TokenLSTM, got {type(policy).__name__}")
        self.policy = policy
        self.kl_coef = check_float("kl_coef", kl_coef, 0)
        self.reference: TokenLSTM | None = None
        if reference is not None:
            self.freeze_reference(reference)
        self._states: tuple[LSTMState, LSTMState] | None = None
        self._log_probs: tuple[torch.Tensor, torch.Tensor] | None = None

    def freeze_reference(self, reference: TokenLSTM) -> None:
        """π_ref ← a frozen copy of ``reference`` (of π's sizes)."""
        if not isinstance(reference, TokenLSTM):
            raise TypeError(f"reference must be a seqgan_gym.generator.TokenLSTM, got {type(reference).__name__}")
        sizes = (reference.vocab_size, reference.seq_len)
        if sizes != (self.policy.vocab_size, self.policy.seq_len):
            raise ValueError(
                f"reference has vocab_size={sizes[0]}, seq_len={sizes[1]}; the policy has "
                f"vocab_size={self.policy.vocab_size}, seq_len={self.policy.seq_len}"
            )
        frozen = copy.deepcopy(reference).to(self.policy.device).requires_grad_(False)
        self.reference = frozen.eval()
        self._states = None  # a new reference reads from the start of the next episodes

    @torch.inference_mode()
    def reset(self, batch_size: int) -> None:
        """Start ``batch_size`` sequences: both policies read the start token."""
        if self.reference is None:
            raise RuntimeError("KLPenalty has no reference policy yet: call freeze_reference first")
        states, log_probs = [], []
        for model in (self.policy, self.reference):
            logits, state = model.step(model.start_tokens(batch_size), model.initial_state(batch_size))
            states.append(state)
            log_probs.append(torch.log_softmax(logits.float(), dim=-1))
        self._states = (states[0], states[1])
        self._log_probs = (log_probs[0], log_probs[1])

    @torch.inference_mode()
    def advance(self, tokens: torch.Tensor) -> torch.Tensor:
        """The penalty of y_t (``LongTensor[B]``), ``Tensor[B]`` (float64); then both policies read y_t."""
        if self._states is None or self._log_probs is None or self.reference is None:
            raise RuntimeError("KLPenalty.advance called before reset")
        tokens = tokens.to(device=self.policy.device, dtype=torch.long)
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        log_ratio = self._log_probs[0][rows, tokens] - self._log_probs[1][rows, tokens]
        states, log_probs = [], []
        for model, state in zip((self.policy, self.reference), self._states, strict=True):
            logits, state = model.step(tokens, state)
            states.append(state)
            log_probs.append(torch.log_softmax(logits.float(), dim=-1))
        self._states = (states[0], states[1])
        self._log_probs = (log_probs[0], log_probs[1])
        return self.kl_coef * log_ratio.double()
