"""SeqGAN's generation MDP over any benchmark, one sequence at a time; what its vector version shares with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from seqgan_gym._checks import check_int
from seqgan_gym._fork import single_thread_if_forked
from seqgan_gym.envs.benchmark import Benchmark, check_benchmark
from seqgan_gym.rewards import SequenceScorer

RENDER_MODES: tuple[str, ...] = ("ansi",)


class UnsupportedRenderMode(TypeError, ValueError):
    """A ``render_mode`` the env does not have: a ``ValueError``, and a ``TypeError`` for SB3.

    SB3's ``make_vec_env`` asks every env for ``render_mode="rgb_array"`` and builds it without one
    when that raises ``TypeError`` (its convention for "not supported").
    """


def check_render_mode(render_mode: str | None) -> str | None:
    """``render_mode`` if it is ``None`` or one of :data:`RENDER_MODES`, else :class:`UnsupportedRenderMode`."""
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise UnsupportedRenderMode(f"render_mode must be None or one of {list(RENDER_MODES)}, got {render_mode!r}")
    return render_mode


def check_action(action: Any, vocab_size: int) -> int:
    """A single token action as ``int``, or an error naming ``action`` and ``[0, V-1]``."""
    # Gymnasium's samplers and SB3 hand over 0-d arrays and tensors; unwrap them to a scalar first.
    if isinstance(action, np.ndarray) and action.ndim == 0:
        action = action[()]
    elif isinstance(action, torch.Tensor) and action.dim() == 0 and not action.is_floating_point():
        action = action.item()
    return check_int("action", action, 0, vocab_size - 1)


class BenchmarkParts:
    """How the single and the vector env get their benchmark, and what they expose of it on ``env.unwrapped``."""

    #: What builds the benchmark from the env's keyword arguments when no ``benchmark`` is given
    #: (``OracleBenchmark.build`` for ``SeqGAN-Oracle-v0``, ``TextBenchmark.build`` for ``SeqGAN-Text-v0``).
    build_benchmark: ClassVar[Callable[..., Benchmark] | None] = None

    benchmark: Benchmark
    vocab_size: int
    seq_len: int
    pad_token: int

    def _use_benchmark(self, benchmark: Benchmark | None, benchmark_args: dict[str, Any]) -> None:
        single_thread_if_forked()
        build = type(self).build_benchmark
        if benchmark is None and build is not None:
            benchmark = build(**benchmark_args)
        elif benchmark_args:
            beside = " beside benchmark=" if benchmark is not None else ""
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(benchmark_args)}{beside}")
        self.benchmark = check_benchmark(benchmark)
        self.vocab_size = self.benchmark.vocab_size
        self.seq_len = self.benchmark.seq_len
        self.pad_token = self.vocab_size  # never a token, so a pad cannot be read as one

    @property
    def discriminator(self) -> SequenceScorer:
        """D, the benchmark's scorer: training code updates this very module."""
        return self.benchmark.discriminator

    def load_discriminator_state(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Give D these weights (``D.load_state_dict``): how training reaches the D of every sub-env.

        SB3's ``make_vec_env`` builds one env, and so one D, per sub-env (in worker processes for
        ``SubprocVecEnv``); ``DiscriminatorTrainingCallback`` trains one and sends its weights to the
        others through ``VecEnv.env_method("load_discriminator_state", ...)``.
        """
        self.discriminator.load_state_dict(state_dict)

    @property
    def real_data(self) -> torch.Tensor:
        """``LongTensor[n_real, seq_len]``: the sequences D learns to call real."""
        return self.benchmark.real_data

    def __getattr__(self, name: str) -> Any:
        # Reached only when ``name`` is missing. The oracle and text envs expose different parts of
        # their benchmarks (``oracle``, ``corpus``): name the benchmark rather than fail bare.
        benchmark = self.__dict__.get("benchmark")
        if benchmark is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        raise AttributeError(f"{type(self).__name__} has no {name} (its benchmark is a {type(benchmark).__name__})")


class SequenceGenerationEnv(BenchmarkParts, gym.Env[np.ndarray, np.int64]):
    """SeqGAN's sequence generation MDP (Yu et al., 2017) over a benchmark (``docs/design.md`` §2).

    ## Description

    The agent writes a sequence of ``seq_len`` (T) tokens, one per step. The state is the prefix
    written so far, the action is the next token, and when the sequence is complete the
    benchmark's discriminator D scores it: the reward is D's probability that the sequence is
    real, i.e. drawn from the benchmark's real data distribution. The agent's policy is the
    paper's generator G_θ. ``env.unwrapped`` exposes ``benchmark``, ``discriminator`` and
    ``real_data``, so that training code updates the very discriminator the env scores with.
    :class:`~seqgan_gym.envs.TokenGenerationEnv` (the oracle) and
    :class:`~seqgan_gym.envs.TextGenerationEnv` (text) build it from their benchmark's arguments.

    ## Action Space

    ``Discrete(V)``: the id of the next token, ``0 .. V - 1`` (V: the benchmark's ``vocab_size``).

    ## Observation Space

    ``Box(0, V, (T,), int64)``: the tokens written so far, left-aligned; positions not yet
    written hold the pad value V (never a token). After t steps the first t entries are the
    prefix Y_{1:t}.

    ## Rewards

    0 for steps 1..T-1; at step T, D(Y) in [0, 1] (for the paper's CNN: the softmax probability
    of the "real" class, no dropout). With discount γ = 1 every action's return is then D(Y), a
    single-sample estimate of the paper's Q-value. ``MonteCarloRewardWrapper`` replaces the
    per-step rewards by the paper's Monte Carlo Q_t (with γ = 0 each action's return is then
    exactly Q_t).

    ## Starting State

    The empty prefix: every position holds the pad value. The env itself has no randomness;
    ``reset(seed=...)`` seeds ``np_random``, which wrappers use.

    ## Episode End

    Terminated after exactly T actions (never truncated). The finished sequence is in
    ``info["sequence"]`` of the last step. Calling ``step`` after termination without ``reset``
    raises ``RuntimeError``.

    ## Arguments

    * ``benchmark``: an :class:`~seqgan_gym.envs.OracleBenchmark`, a
      :class:`~seqgan_gym.envs.TextBenchmark` or another :class:`~seqgan_gym.envs.Benchmark`.
    * ``**benchmark_args``: in a subclass with a ``build_benchmark`` (the oracle and the text env),
      the arguments it builds the benchmark from, in place of ``benchmark``.
    * ``render_mode``: ``None`` or ``"ansi"`` (the prefix as text, decoded by the benchmark).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(
        self, *, benchmark: Benchmark | None = None, render_mode: str | None = None, **benchmark_args: Any
    ) -> None:
        self.render_mode = check_render_mode(render_mode)
        self._use_benchmark(benchmark, benchmark_args)
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
