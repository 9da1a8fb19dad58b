"""Stable-Baselines3 on the natively batched env: a ``VecEnv`` adapter and a one-call builder.

SB3 does not take Gymnasium vector envs. :class:`SB3VecEnv` presents a batched generation env
(``TokenGenerationVectorEnv`` or ``TextGenerationVectorEnv``, bare or Monte Carlo wrapped) as an SB3
``VecEnv``: one batched ``step`` for all sub-envs, SB3's same-step autoreset with
``infos[i]["terminal_observation"]``.

    from stable_baselines3 import PPO
    from seqgan_gym.sb3 import make_sb3_vec_env

    env = make_sb3_vec_env("SeqGAN-Oracle-v0", n_envs=64, n_rollouts=16)  # with a VecMonitor
    model = PPO("GeneratorPolicy", env, gamma=0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec, load_env_creator
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from seqgan_gym._checks import check_int
from seqgan_gym.envs import SequenceGenerationVectorEnv
from seqgan_gym.generator import TokenLSTM
from seqgan_gym.rewards import RewardFunction, mean_reward
from seqgan_gym.wrappers import MonteCarloRewardVectorWrapper


def _find_attr(env: Any, name: str) -> Any:
    """``name`` from the first of ``env``, ``env.env``, ... (Gymnasium vector wrappers do not forward)."""
    while True:
        try:
            return getattr(env, name)
        except AttributeError as err:
            if not hasattr(env, "env"):  # the innermost env: pass on its word (e.g. a text env has no oracle)
                raise AttributeError(f"no attribute {name!r} on the vector env or any env it wraps: {err}") from None
            env = env.env


class SB3VecEnv(VecEnv):
    """An SB3 ``VecEnv`` over a Gymnasium ``VectorEnv`` that autoresets in ``SAME_STEP`` mode.

    ``step`` is one call of the batched env (no loop over sub-envs). Rewards are ``float32[n_envs]``,
    ``dones = terminated | truncated``; ``infos`` is SB3's list of dicts: ``q_value`` when the env
    is Monte Carlo wrapped, and on episode ends ``terminal_observation``, ``sequence`` and
    ``TimeLimit.truncated``.

    The sub-envs are one batched object, so ``get_attr`` reads an attribute once (from the vector
    env or the first env it wraps that has it) and returns it for every index; ``set_attr`` and
    ``env_method`` act once on that object, whatever ``indices`` say. Seeds: ``seed(s)`` (or SB3's
    ``seed=`` argument) seeds the next ``reset`` with ``s``; every sub-env shares that stream.

    :param venv: a ``SequenceGenerationVectorEnv`` (e.g. ``TokenGenerationVectorEnv``) built with
        ``autoreset_mode=AutoresetMode.SAME_STEP``, possibly wrapped by ``MonteCarloRewardWrapper``.
    """

    def __init__(self, venv: VectorEnv) -> None:
        if not isinstance(venv, VectorEnv):
            raise TypeError(f"venv must be a gymnasium.vector.VectorEnv, got {type(venv).__name__}")
        mode = venv.metadata.get("autoreset_mode")
        if mode is None or AutoresetMode(mode) != AutoresetMode.SAME_STEP:
            raise ValueError(
                "venv must autoreset in AutoresetMode.SAME_STEP (SB3's convention), got "
                f"{mode!r}: build it with autoreset_mode=AutoresetMode.SAME_STEP"
            )
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> VecEnvObs:
        seed = self._seeds[0]  # SB3 hands out seed + i per sub-env; the batched env takes one
        options = self._options[0] or None
        obs, _ = self.venv.reset(seed=seed, options=options)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async(actions)")
        actions, self._actions = self._actions, None
        obs, rewards, terminated, truncated, vector_infos = self.venv.step(actions)
        dones = np.logical_or(terminated, truncated)
        if "q_value" in vector_infos:
            infos: list[dict[str, Any]] = [{"q_value": q} for q in vector_infos["q_value"].tolist()]
        else:
            infos = [{} for _ in range(self.num_envs)]
        if dones.any():  # once per episode: SB3 wants the final observation in each finished sub-env's info
            final_obs = vector_infos["final_obs"]
            sequences = vector_infos.get("sequence", final_obs)
            for i in np.flatnonzero(dones):
                infos[i]["terminal_observation"] = final_obs[i]
                infos[i]["sequence"] = sequences[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def _count(self, indices: VecEnvIndices) -> int:
        return len(list(self._get_indices(indices)))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = _find_attr(self.venv, attr_name)
        return [value] * self._count(indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        env = self.venv
        while not hasattr(env, attr_name) and hasattr(env, "env"):
            env = env.env
        setattr(env, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        result = _find_attr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * self._count(indices)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        wrapped, env = False, self.venv
        while True:
            wrapped = wrapped or isinstance(env, wrapper_class)
            if not hasattr(env, "env"):
                break
            env = env.env
        return [wrapped] * self._count(indices)

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs


def _is_seqgan_spec(spec: EnvSpec) -> bool:
    """Whether ``spec``'s vector entry point is a :class:`SequenceGenerationVectorEnv` (a seqgan-gym env)."""
    try:
        creator = spec.vector_entry_point
        creator = load_env_creator(creator) if isinstance(creator, str) else creator
    except (ImportError, AttributeError, ValueError, gym.error.Error):  # e.g. a missing optional dependency
        return False
    return isinstance(creator, type) and issubclass(creator, SequenceGenerationVectorEnv)


def seqgan_env_ids() -> list[str]:
    """The registered seqgan-gym env ids (``SeqGAN-Oracle-v0``, ``SeqGAN-Text-v0``) :func:`make_sb3_vec_env` builds."""
    # Only this package's entry points are loaded: importing every registered env's module is slow.
    ours = (
        spec
        for spec in gym.registry.values()
        if isinstance(spec.vector_entry_point, str) and spec.vector_entry_point.startswith("seqgan_gym.")
    )
    return sorted(spec.id for spec in ours if _is_seqgan_spec(spec))


def make_sb3_vec_env(
    env_id: str = "SeqGAN-Oracle-v0",
    n_envs: int = 64,
    n_rollouts: int | None = 16,
    rollout_policy: TokenLSTM | None = None,
    reward_mode: str = "q",
    monitor: bool = True,
    reward: RewardFunction = mean_reward,
    kl_coef: float = 0.0,
    **env_kwargs: Any,
) -> VecEnv:
    """Build the batched env, the Monte Carlo reward wrapper and the SB3 adapter in one call.

    :param env_id: a registered seqgan-gym env (:func:`seqgan_env_ids`); other envs (e.g. ``CartPole-v1``)
        are refused: build them with SB3's ``make_vec_env``.
    :param n_envs: sequences per step (paper: 64).
    :param n_rollouts: N, Monte Carlo completions per prefix (paper: 16); ``None`` for the bare env
        (terminal reward D(Y) only: use it with γ = 1).
    :param rollout_policy: G_β; ``None`` builds a fresh ``LSTMGenerator`` of the env's size, seed 0 (sync
        it with the agent's generator, e.g. with ``RolloutPolicySync``). Ignored without rollouts.
    :param reward_mode: the wrapper's reward mode (``"q"``).
    :param reward: the wrapper's reward function, completions' scores ``[B, N]`` to Q_t ``[B]``
        (:mod:`seqgan_gym.rewards`; default: the paper's mean).
    :param kl_coef: the wrapper's KL penalty to G_β as it is at the first step (0: none, the paper's
        reward; :mod:`seqgan_gym.rewards.kl_penalty`): keeps PPO, A2C or TRPO near the pretrained G.
    :param monitor: wrap the result in SB3's ``VecMonitor``, so that algorithms log episode returns
        (``rollout/ep_rew_mean``); ``False`` returns the bare adapter.
    :param env_kwargs: the env's arguments, listed under Arguments of ``TokenGenerationEnv``
        (``SeqGAN-Oracle-v0``) or ``TextGenerationEnv`` (``SeqGAN-Text-v0``).
    :return: a ``VecMonitor`` over an :class:`SB3VecEnv` (``.unwrapped``), whose ``.venv`` is the
        Gymnasium vector env (wrapped); the :class:`SB3VecEnv` itself with ``monitor=False``.
    """
    n_envs = check_int("n_envs", n_envs, minimum=1)
    if n_rollouts is not None:
        n_rollouts = check_int("n_rollouts", n_rollouts, minimum=1)
    elif kl_coef != 0:
        raise ValueError("kl_coef: the KL penalty is a part of the Monte Carlo wrapper's reward; give n_rollouts")
    if "autoreset_mode" in env_kwargs:
        raise ValueError("autoreset_mode is fixed to SAME_STEP for SB3; do not pass it")
    try:
        spec = gym.spec(env_id) if isinstance(env_id, str) else None
    except gym.error.Error:  # not registered
        spec = None
    if spec is None or not _is_seqgan_spec(spec):
        # Another env's vector class knows nothing of SAME_STEP autoreset (a TypeError deep in gymnasium).
        raise ValueError(
            f"env_id must be a seqgan-gym env, one of {seqgan_env_ids()}, got {env_id!r}: make_sb3_vec_env builds "
            "the SeqGAN envs only (use stable_baselines3.common.env_util.make_vec_env for others)"
        )
    venv = gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        **env_kwargs,
    )
    if n_rollouts is not None:
        venv = MonteCarloRewardVectorWrapper(
            venv, rollout_policy, n_rollouts=n_rollouts, reward_mode=reward_mode, reward=reward, kl_coef=kl_coef
        )
    env = SB3VecEnv(venv)
    return VecMonitor(env) if monitor else env
