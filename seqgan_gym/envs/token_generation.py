"""Token generation as a Gymnasium environment: SeqGAN's generator MDP (one sequence at a time)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from seqgan_gym.envs.oracle_benchmark import DEFAULT_N_REAL, OracleBenchmark, OracleBenchmarkEnv
from seqgan_gym.models import SequenceScorer
from seqgan_gym.oracle import OracleLSTM


def check_action(action: Any, vocab_size: int, name: str = "action") -> int:
    """Return a single token action as ``int``, or raise an error naming ``name`` and ``[0, V-1]``."""
    if isinstance(action, np.ndarray) and action.ndim == 0:
        action = action[()]
    elif isinstance(action, torch.Tensor) and action.dim() == 0 and not action.is_floating_point():
        action = action.item()
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
        raise TypeError(
            f"{name} must be an integer token id in [0, {vocab_size - 1}] (Discrete({vocab_size})), "
            f"got {action!r} of type {type(action).__name__}"
        )
    if not 0 <= action < vocab_size:
        raise ValueError(f"{name} must be a token id in [0, {vocab_size - 1}], got {action}")
    return int(action)


class TokenGenerationEnv(OracleBenchmarkEnv, gym.Env[np.ndarray, np.int64]):
    """SeqGAN's sequence generation MDP (Yu et al., 2017), on the paper's synthetic oracle benchmark.

    ## Description

    The agent writes a sequence of ``seq_len`` (T) tokens, one per step. The state is the prefix
    written so far, the action is the next token, and when the sequence is complete the
    discriminator D scores it: the reward is D's probability that the sequence is real, i.e. drawn
    from the oracle LSTM that plays the real data distribution. The agent's policy is the paper's
    generator G_θ. ``env.unwrapped`` exposes ``oracle``, ``discriminator`` and ``real_data`` so
    that training code updates the very discriminator the env scores with.

    ## Action Space

    ``Discrete(vocab_size)``: the id of the next token, ``0 .. vocab_size - 1``.

    ## Observation Space

    ``Box(0, vocab_size, (seq_len,), int64)``: the tokens written so far, left-aligned; positions
    not yet written hold the pad value ``vocab_size`` (never a real token). After t steps the first
    t entries are the prefix Y_{1:t}.

    ## Rewards

    0 for steps 1..T-1; at step T, D(Y) in [0, 1] (the softmax probability of the "real" class,
    no dropout). With discount γ = 1 every action's return is then D(Y), a single-sample estimate
    of the paper's Q-value. ``MonteCarloRewardWrapper`` replaces the per-step rewards by the
    paper's Monte Carlo Q_t (with γ = 0 each action's return is then exactly Q_t).

    ## Starting State

    The empty prefix: every position holds the pad value. The env itself has no randomness (the
    oracle, its real data and a default D come from fixed seeds); ``reset(seed=...)`` seeds
    ``np_random``, which wrappers use.

    ## Episode End

    Terminated after exactly ``seq_len`` actions (never truncated). The finished sequence is in
    ``info["sequence"]`` of the last step. Calling ``step`` after termination without ``reset``
    raises ``RuntimeError``.

    ## Arguments

    ```python
    gymnasium.make("SeqGAN-Oracle-v0", vocab_size=5000, seq_len=20, oracle=None, discriminator=None,
                   n_real=10_000, real_data_seed=0, discriminator_seed=0, device="cpu", render_mode=None)
    ```

    * ``vocab_size``, ``seq_len``: V (``>= 2``) and T (``>= 1``); default 5000 and 20, or the oracle's.
    * ``oracle``: an ``OracleLSTM``, the path of the paper's oracle pickle, or ``None`` for
      ``OracleLSTM.seeded()`` (the default benchmark oracle).
    * ``discriminator``: a ``Discriminator`` (same V and T) or ``None`` for a fresh paper CNN
      initialised from ``discriminator_seed``; any ``SequenceScorer`` may stand in for D (PG-BLEU
      passes a ``BLEUReward``).
    * ``n_real``: size of the real data set sampled from the oracle with ``real_data_seed``.
    * ``device``: where the oracle and D run.
    * ``render_mode``: ``None`` or ``"ansi"`` (the prefix as text).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        vocab_size: int | None = None,
        seq_len: int | None = None,
        oracle: OracleLSTM | str | os.PathLike[str] | None = None,
        discriminator: SequenceScorer | None = None,
        n_real: int = DEFAULT_N_REAL,
        real_data_seed: int = 0,
        discriminator_seed: int = 0,
        device: torch.device | str = "cpu",
        render_mode: str | None = None,
    ) -> None:
        self._check_render_mode(render_mode)
        self.benchmark = OracleBenchmark.build(
            vocab_size, seq_len, oracle, discriminator, n_real, real_data_seed, discriminator_seed, device
        )
        self._init_mdp(render_mode)

    def _check_render_mode(self, render_mode: str | None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")

    def _init_mdp(self, render_mode: str | None) -> None:
        """Spaces and episode state from ``self.benchmark`` (shared with the text env)."""
        self.vocab_size = self.benchmark.vocab_size
        self.seq_len = self.benchmark.seq_len
        self.pad_token = self.vocab_size
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(self.vocab_size)
        self.observation_space = spaces.Box(0, self.vocab_size, (self.seq_len,), np.int64)
        self._tokens = np.full(self.seq_len, self.pad_token, dtype=np.int64)
        self._t = 0
        self._needs_reset = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._tokens.fill(self.pad_token)
        self._t = 0
        self._needs_reset = False
        return self._tokens.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise RuntimeError("step() called before reset() or after the episode ended; call reset() first")
        self._tokens[self._t] = check_action(action, self.vocab_size)
        self._t += 1
        terminated = self._t == self.seq_len
        reward, info = 0.0, {}
        if terminated:
            sequence = torch.as_tensor(self._tokens)[None]
            reward = float(self.discriminator.prob_real(sequence)[0])
            info = {"sequence": self._tokens.copy()}
            self._needs_reset = True
        return self._tokens.copy(), reward, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return self.benchmark.decode(self._tokens[: self._t]) or "<empty>"
