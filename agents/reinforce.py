"""REINFORCE for SeqGAN's generator, in the Stable-Baselines3 family (the paper's Algorithm 1, lines 4-8).

One generator update:

1. ``collect_episodes``: the policy G_θ writes ``n_envs`` sequences of T tokens, one env step per
   token; the env (Monte Carlo wrapped) returns r_t = Q_t (docs/design.md §2).
2. ``train``: returns G_t = r_t + γ G_{t+1} (γ = 0 by default, so G_t = Q_t), then
   ``loss = -Σ_b Σ_t log G_θ(y_t | Y_{1:t-1}) · G_t``: summed over batch and tokens as in the
   reference code, Adam lr 0.01, global grad-norm clip 5.0.

SB3 callbacks see every env step (``on_step``) and the episodes of each update
(``on_rollout_start`` / ``on_rollout_end``); the logger records ``train/*`` and ``rollout/*``.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import obs_as_tensor
from torch import nn

from agents.loading import load_reinforce, save_reinforce
from agents.policies import (
    LSTMGeneratorPolicy,
    check_log_folder,
    check_policy_kwargs,
    check_seqgan_env,
    token_ids,
)
from seqgan_gym._checks import (
    check_device,
    check_float,
    check_int,
    describe_non_finite,
)

SelfREINFORCE = TypeVar("SelfREINFORCE", bound="REINFORCE")

#: ``None``: plain REINFORCE (the paper's); ``"batch_mean"``: subtract the batch mean of G_t at each step.
BASELINES: tuple[str | None, ...] = (None, "batch_mean")


class REINFORCE(BaseAlgorithm):
    """REINFORCE with the paper's loss, for ``LSTMGeneratorPolicy`` on seqgan-gym envs.

    :param policy: ``"LSTMGeneratorPolicy"`` or the class.
    :param env: the env (an SB3 ``VecEnv`` such as ``make_sb3_vec_env(...)``, or a Gymnasium env);
        every episode must last exactly T steps and all sub-envs must start together.
    :param learning_rate: Adam's learning rate (paper: 0.01) or a schedule.
    :param gamma: discount (default 0: with Monte Carlo rewards each action's return is Q_t;
        use 1 on the bare env, whose only reward is D(Y) at the end).
    :param max_grad_norm: global gradient-norm clip (paper: 5.0).
    :param baseline: ``None`` (paper) or ``"batch_mean"``.
    :param policy_kwargs: arguments of the policy (``emb_dim``, ``hidden_dim``, ...).
    :param tensorboard_log: TensorBoard log folder (``None``: none).
    :param verbose: 0 silent, 1 progress. :param seed: random seed. :param device: ``"cpu"``, ``"cuda"``, ``"auto"``.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"LSTMGeneratorPolicy": LSTMGeneratorPolicy}
    policy: LSTMGeneratorPolicy

    def __init__(
        self,
        policy: str | type[LSTMGeneratorPolicy],
        env: GymEnv | str | None,
        learning_rate: float | Schedule = 0.01,
        gamma: float = 0.0,
        max_grad_norm: float = 5.0,
        baseline: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if not callable(learning_rate):  # else a schedule: SB3 calls it with the progress remaining
            check_float("learning_rate", learning_rate, 0, low_open=True)
        gamma = check_float("gamma", gamma, 0, 1)
        max_grad_norm = check_float("max_grad_norm", max_grad_norm, 0, low_open=True)
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {list(BASELINES)}, got {baseline!r}")
        if isinstance(policy, str) and policy not in self.policy_aliases:
            hint = ""
            if policy == "GeneratorPolicy":
                hint = " (GeneratorPolicy is G_θ with a critic, for PPO, A2C and TRPO)"
            raise ValueError(
                f"policy must be one of {list(self.policy_aliases)} or a policy class, got {policy!r}{hint}"
            )
        policy_class = self.policy_aliases[policy] if isinstance(policy, str) else policy
        if not (isinstance(policy_class, type) and issubclass(policy_class, BasePolicy)):
            raise TypeError(f"policy must be one of {list(self.policy_aliases)} or a policy class, got {policy!r}")
        policy_kwargs = check_policy_kwargs(policy_kwargs, policy_class)
        verbose = check_int("verbose", verbose, 0, 2)
        if seed is not None:
            seed = check_int("seed", seed, 0, 2**32 - 1)  # NumPy's seed range, which SB3 seeds with it
        tensorboard_log = check_log_folder("tensorboard_log", tensorboard_log)
        _check_device(device)
        if env is None and _init_setup_model:
            raise ValueError("env must be a SeqGAN env or its id: env=None is only for REINFORCE.load(...)")
        env = check_seqgan_env(env, verbose)
        super().__init__(
            policy,
            env,
            learning_rate,
            policy_kwargs=policy_kwargs,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            supported_action_spaces=(spaces.Discrete,),
        )
        self.gamma = float(gamma)
        self.max_grad_norm = float(max_grad_norm)
        self.baseline = baseline
        self._episodes: tuple[np.ndarray, np.ndarray] | None = None
        #: The last update's ``loss``, ``grad_norm``, ``mean_reward`` and ``mean_terminal_reward``.
        self.last_stats: dict[str, float] = {}
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        ).to(self.device)
        if self.env is not None:  # as SB3's algorithms do once agents is imported (agents.policies)
            from agents.callbacks import warn_unfit_settings

            warn_unfit_settings(self, self.env, stacklevel=3)  # the line of the user's REINFORCE(...)

    @property
    def seq_len(self) -> int:
        return int(self.observation_space.shape[0])

    def collect_episodes(self, callback: BaseCallback) -> bool:
        """Let G_θ write one sequence per sub-env (T env steps). Returns False if a callback stopped it."""
        assert self.env is not None and self._last_obs is not None
        self.policy.set_training_mode(False)
        pad = self.policy.pad_token
        token_ids(torch.as_tensor(self._last_obs), pad)  # token ids, not a normalised vector (VecNormalize)
        if not np.all(self._last_obs == pad):
            raise RuntimeError("REINFORCE collects whole episodes: every sub-env must be at the start of one")
        n_envs, seq_len = self.env.num_envs, self.seq_len
        actions = np.empty((seq_len, n_envs), dtype=np.int64)
        rewards = np.empty((seq_len, n_envs), dtype=np.float32)
        callback.on_rollout_start()
        obs = self._last_obs
        dones = np.zeros(n_envs, dtype=bool)
        for t in range(seq_len):
            with torch.no_grad():
                action = self.policy._predict(obs_as_tensor(obs, self.device), deterministic=False)
            actions[t] = action.cpu().numpy()
            obs, rewards[t], dones, infos = self.env.step(actions[t])
            self.num_timesteps += n_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
        if not np.all(dones):
            raise RuntimeError(f"every episode must end after exactly seq_len={seq_len} steps; some did not")
        self._last_obs = obs  # the next episodes' start (same-step autoreset)
        self._episodes = (actions.T.copy(), rewards.T.copy())
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def returns(self, rewards: torch.Tensor) -> torch.Tensor:
        """Discounted returns G_t = r_t + γ G_{t+1} of ``rewards`` ``[B, T]`` (minus the baseline, if any)."""
        out = torch.empty_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        for t in reversed(range(rewards.shape[1])):  # over time steps; every sequence at once
            running = rewards[:, t] + self.gamma * running
            out[:, t] = running
        if self.baseline == "batch_mean":
            out = out - out.mean(dim=0, keepdim=True)
        return out

    def train(self) -> None:
        """One policy-gradient step on the last collected episodes (the reference code's loss)."""
        assert self._episodes is not None, "collect_episodes() first"
        if not np.isfinite(self._episodes[1]).all():  # one check per update, on the CPU copy
            raise self._fault("reward", self._episodes[1])
        actions, rewards = (torch.as_tensor(x, device=self.device) for x in self._episodes)
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        returns = self.returns(rewards.float())
        # -Σ_b Σ_t log G_θ(y_t | Y_{1:t-1}) · Q_t, teacher-forced over the collected sequences.
        loss = self.policy.generator.weighted_nll(actions, returns)
        if not torch.isfinite(loss):
            raise self._fault("loss", loss)
        self.policy.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        if not torch.isfinite(grad_norm):  # the clip's norm, reused: checked before the step touches θ
            raise self._fault("gradient norm", grad_norm)
        self.policy.optimizer.step()
        self.policy.forget()  # the cached LSTM state belongs to the old parameters
        self._n_updates += 1
        self.last_stats = {
            "loss": float(loss.detach()),
            "grad_norm": float(grad_norm),
            "mean_reward": float(rewards.mean()),
            "mean_terminal_reward": float(rewards[:, -1].mean()),
        }
        self.logger.record("train/loss", self.last_stats["loss"])
        self.logger.record("train/grad_norm", self.last_stats["grad_norm"])
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("rollout/mean_reward", self.last_stats["mean_reward"])
        self.logger.record("rollout/mean_terminal_reward", self.last_stats["mean_terminal_reward"])

    def _fault(self, quantity: str, value: torch.Tensor | np.ndarray) -> FloatingPointError:
        """The error of a non-finite ``quantity``: which update, which timestep, what was found."""
        return FloatingPointError(
            f"non-finite {quantity} at generator update {self._n_updates + 1} (timestep {self.num_timesteps}): "
            f"{describe_non_finite(value)}; the policy was not updated"
        )

    def learn(
        self: SelfREINFORCE,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "REINFORCE",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfREINFORCE:
        """Alternate episode collection and one policy-gradient update until ``total_timesteps`` env steps.

        One update uses ``n_envs * seq_len`` env steps (the paper: 64 x 20). ``log_interval``: dump
        the logger every that many updates.
        """
        try:
            total_timesteps = check_int("total_timesteps", total_timesteps, minimum=1)
            log_interval = check_int("log_interval", log_interval, minimum=1)
        except TypeError as err:  # learn() reports every bad count as a ValueError
            raise ValueError(str(err)) from None
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        callback.on_training_start(locals(), globals())
        while self.num_timesteps < total_timesteps:
            if not self.collect_episodes(callback):
                break
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            self.train()
            if self._n_updates % log_interval == 0:
                self.dump_logs()
        callback.on_training_end()
        return self

    def dump_logs(self) -> None:
        """Record time and episode statistics, then write every logger output."""
        elapsed = max((time.time_ns() - self.start_time) / 1e9, 1e-9)
        self.logger.record("time/fps", int((self.num_timesteps - self._num_timesteps_at_start) / elapsed))
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        if self.ep_info_buffer:
            self.logger.record("rollout/ep_rew_mean", float(np.mean([ep["r"] for ep in self.ep_info_buffer])))
        self.logger.dump(step=self.num_timesteps)

    # ---- save / load (agents/loading.py): SB3's zip layout, JSON and weights-only state dicts ----

    def save(self, path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write ``path`` atomically, in SB3's zip layout with JSON ``data`` (no pickle).

        A name without a suffix gets ``.zip``, as SB3 adds it (``save("m")`` writes ``m.zip``).
        """
        save_reinforce(self, path)

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfREINFORCE],
        path: str | os.PathLike[str],
        env: GymEnv | None = None,
        device: torch.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfREINFORCE:
        """Load a model written by :meth:`save`. Never unpickles code (``torch.load(weights_only=True)``).

        :param env: the env to continue training on (its spaces must match), or ``None``.
        :param custom_objects: print_system_info: force_reset: SB3's ``load`` arguments, taken so that its
            tools (RL Zoo's ``enjoy``) can call this; the file holds no pickle for them to replace.
        """
        _check_device(device)
        env = check_seqgan_env(env)
        return load_reinforce(cls, path, env, device, **kwargs)  # type: ignore[return-value]


def _check_device(device: torch.device | str) -> None:
    """A ``ValueError`` for a device torch cannot use here (it would accept ``"cuda"`` and fail later)."""
    if not (isinstance(device, str) and device == "auto"):
        check_device(device)
