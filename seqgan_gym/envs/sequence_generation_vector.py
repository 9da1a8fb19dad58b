"""SeqGAN's generation MDP over any benchmark as a natively batched Gymnasium ``VectorEnv``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from seqgan_gym._checks import MAX_N_SEQUENCES, check_int, check_memory
from seqgan_gym.envs.benchmark import Benchmark
from seqgan_gym.envs.sequence_generation import RENDER_MODES, BenchmarkParts, check_render_mode

AUTORESET_MODES: tuple[AutoresetMode, ...] = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)


def check_autoreset_mode(autoreset_mode: AutoresetMode | str) -> AutoresetMode:
    """``autoreset_mode`` as an ``AutoresetMode`` (``NEXT_STEP`` or ``SAME_STEP``), or a ``ValueError`` naming it."""
    try:
        mode = AutoresetMode(autoreset_mode)
    except ValueError:
        mode = None
    if mode not in AUTORESET_MODES:
        allowed = [m.value for m in AUTORESET_MODES]
        raise ValueError(f"autoreset_mode must be one of {allowed} (or the AutoresetMode enum), got {autoreset_mode!r}")
    return mode


def check_actions(actions: Any, num_envs: int, vocab_size: int) -> np.ndarray:
    """Return a batch of token actions as ``int64[num_envs]`` or raise an error naming ``actions``."""
    if isinstance(actions, torch.Tensor):
        actions = actions.detach().cpu().numpy()
    try:
        actions = np.asarray(actions)
    except (TypeError, ValueError) as err:  # e.g. ragged nested lists
        raise ValueError(f"actions must be an array of shape ({num_envs},) (one token per sub-env): {err}") from err
    if actions.dtype == np.bool_ or not np.issubdtype(actions.dtype, np.integer):
        raise TypeError(
            f"actions must be integer token ids in [0, {vocab_size - 1}] (MultiDiscrete of Discrete({vocab_size})), "
            f"got dtype {actions.dtype}"
        )
    if actions.shape != (num_envs,):
        raise ValueError(f"actions must have shape ({num_envs},) (one token per sub-env), got {actions.shape}")
    if actions.size and (actions.min() < 0 or actions.max() >= vocab_size):
        raise ValueError(
            f"actions must be token ids in [0, {vocab_size - 1}], got values in [{actions.min()}, {actions.max()}]"
        )
    return actions.astype(np.int64, copy=False)


class SequenceGenerationVectorEnv(BenchmarkParts, VectorEnv):
    """``num_envs`` copies of :class:`~seqgan_gym.envs.SequenceGenerationEnv` stepped as one batch.

    The MDP is that of ``SequenceGenerationEnv`` (its docstring), batched, with no Python loop over
    sub-envs: a step is a few array operations, and one discriminator batch scores all finished
    sequences, since one large batch uses the CPU's matrix kernels far better than many small ones.

    ## Action Space

    ``MultiDiscrete([V] * num_envs)``: one next token per sub-env.

    ## Observation Space

    ``Box(0, V, (num_envs, T), int64)``: each sub-env's prefix, left-aligned, pad value V.

    ## Rewards

    ``float64[num_envs]``: 0 before step T, D(Y) of each sub-env's sequence at step T.

    ## Episode End

    Every episode lasts exactly T steps and all sub-envs are reset together, so they run in
    lockstep and terminate at the same step. ``infos["sequence"]`` (``int64[num_envs, T]``) holds
    the finished sequences at step T. The next episode starts by ``autoreset_mode``:

    * ``AutoresetMode.NEXT_STEP`` (Gymnasium's default): step T returns the final observation
      with ``terminated`` all True; the following ``step`` ignores its actions and returns the
      reset observation, reward 0, ``terminated`` False.
    * ``AutoresetMode.SAME_STEP`` (Stable-Baselines3's convention): step T returns the reset
      observation, with the final one in ``infos["final_obs"]`` (``int64[num_envs, T]``) and the
      final infos in ``infos["final_info"]``.

    Partial resets (``options["reset_mask"]``) are not supported: every reset is a full reset.
    ``reset(seed=[s0, s1, ...])`` seeds with ``s0``: the sub-envs share one random stream.

    ## Arguments

    ``num_envs`` (``>= 1``); ``autoreset_mode``: ``AutoresetMode.NEXT_STEP`` (default) or
    ``SAME_STEP``, or their values; ``benchmark`` (or ``**benchmark_args``) and ``render_mode`` as
    for ``SequenceGenerationEnv``.
    """

    def __init__(
        self,
        num_envs: int = 64,
        *,
        benchmark: Benchmark | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **benchmark_args: Any,
    ) -> None:
        self.num_envs = check_int("num_envs", num_envs, minimum=1, maximum=MAX_N_SEQUENCES)
        self.autoreset_mode = check_autoreset_mode(autoreset_mode)
        self.render_mode = check_render_mode(render_mode)
        self.metadata = {"autoreset_mode": self.autoreset_mode, "render_modes": list(RENDER_MODES), "render_fps": 4}
        self._use_benchmark(benchmark, benchmark_args)
        # The batched spaces (a Box's low and high, MultiDiscrete's sizes), the prefixes and an observation:
        # int64 arrays of num_envs x (T or 1) each.
        check_memory(f"num_envs={self.num_envs}", 8 * self.num_envs * (4 * self.seq_len + 2))
        self.single_action_space = spaces.Discrete(self.vocab_size)
        self.single_observation_space = spaces.Box(0, self.vocab_size, (self.seq_len,), np.int64)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._tokens = np.full((self.num_envs, self.seq_len), self.pad_token, dtype=np.int64)
        self._t = 0
        self._needs_reset = True  # before the first reset, and after step T in NEXT_STEP mode
        self._reset_called = False

    @property
    def t(self) -> int:
        """Tokens written in the current episodes (the same for every sub-env)."""
        return self._t

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if isinstance(seed, (list, tuple)):  # Gymnasium allows one seed per sub-env; one stream serves all
            seed = seed[0] if seed else None
        super().reset(seed=seed)
        if options and "reset_mask" in options and not np.all(options["reset_mask"]):
            raise ValueError("options['reset_mask'] must be all True: sub-envs run in lockstep and reset together")
        self._clear()
        self._reset_called = True
        return self._tokens.copy(), {}

    def _clear(self) -> None:
        self._tokens.fill(self.pad_token)
        self._t = 0
        self._needs_reset = False

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._reset_called:
            raise RuntimeError("step() called before reset(); call reset() first")
        actions = check_actions(actions, self.num_envs, self.vocab_size)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        falses = np.zeros(self.num_envs, dtype=np.bool_)
        if self._needs_reset:  # NEXT_STEP autoreset: this step only starts the new episodes
            self._clear()
            return self._tokens.copy(), rewards, falses, falses.copy(), {}

        self._tokens[:, self._t] = actions
        self._t += 1
        if self._t < self.seq_len:
            return self._tokens.copy(), rewards, falses, falses.copy(), {}

        sequences = self._tokens.copy()
        scores = self.discriminator.prob_real(torch.from_numpy(sequences))
        rewards[:] = scores.double().cpu().numpy()
        terminated = np.ones(self.num_envs, dtype=np.bool_)
        mask = terminated.copy()
        infos: dict[str, Any] = {"sequence": sequences, "_sequence": mask}
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            infos = {
                "final_obs": sequences.copy(),
                "_final_obs": mask.copy(),
                "final_info": dict(infos),
                "_final_info": mask.copy(),
                **infos,
            }
            self._clear()
            return self._tokens.copy(), rewards, terminated, falses, infos
        self._needs_reset = True
        return sequences.copy(), rewards, terminated, falses, infos

    def render(self) -> tuple[str, ...] | None:
        if self.render_mode != "ansi":
            return None
        return tuple(self.benchmark.decode(row[: self._t]) or "<empty>" for row in self._tokens)
