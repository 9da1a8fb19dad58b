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

import json
import os
import time
import zipfile
from pathlib import Path
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

from agents.policies import LSTMGeneratorPolicy, check_seqgan_env
from seqgan_gym._checks import (
    MAX_SEQ_LEN,
    MAX_VOCAB_SIZE,
    check_device,
    check_float,
    check_int,
    check_memory,
    describe_non_finite,
    non_finite_names,
)
from seqgan_gym._io import atomic_write, open_zip_entry, read_zip_entry
from seqgan_gym.generator import parameter_count

SelfREINFORCE = TypeVar("SelfREINFORCE", bound="REINFORCE")

#: ``None``: plain REINFORCE (the paper's); ``"batch_mean"``: subtract the batch mean of G_t at each step.
BASELINES: tuple[str | None, ...] = (None, "batch_mean")
_FORMAT_VERSION = 1
#: The most bytes a saved model's ``config.json`` may unpack to (a real one is under 1 KB).
MAX_CONFIG_BYTES = 2**20
#: Bytes ``policy.pt`` may unpack to per policy parameter (the float32 parameter and Adam's two
#: moments), plus :data:`_WEIGHTS_SLACK` for torch's framing and the scalars.
_WEIGHTS_BYTES_PER_PARAMETER = 12
_WEIGHTS_SLACK = 2**20


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
            raise ValueError(f"policy must be one of {list(self.policy_aliases)} or a policy class, got {policy!r}")
        _check_device(device)
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

    @property
    def seq_len(self) -> int:
        return int(self.observation_space.shape[0])

    def collect_episodes(self, callback: BaseCallback) -> bool:
        """Let G_θ write one sequence per sub-env (T env steps). Returns False if a callback stopped it."""
        assert self.env is not None and self._last_obs is not None
        self.policy.set_training_mode(False)
        pad = self.policy.pad_token
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

    # ---- save / load: JSON + a weights-only state dict; loading never unpickles code ----

    def save(self, path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write ``path`` (a zip: ``config.json`` and ``policy.pt``) atomically."""
        path = Path(path)
        config = {
            "format_version": _FORMAT_VERSION,
            "algorithm": "REINFORCE",
            "vocab_size": int(self.action_space.n),
            "seq_len": self.seq_len,
            "policy_kwargs": {k: getattr(self.policy, k) for k in ("emb_dim", "hidden_dim", "start_token", "init_std")},
            "learning_rate": self.learning_rate if _is_json(self.learning_rate) else None,
            "gamma": self.gamma,
            "max_grad_norm": self.max_grad_norm,
            "baseline": self.baseline,
            "num_timesteps": self.num_timesteps,
            "n_updates": self._n_updates,
        }
        state = {"policy": self.policy.state_dict(), "optimizer": self.policy.optimizer.state_dict()}
        bad = non_finite_names(state)
        if bad:
            raise FloatingPointError(f"refusing to save non-finite values in {bad} to {str(path)!r}")
        with atomic_write(path, "wb") as f, zipfile.ZipFile(f, "w") as archive:
            archive.writestr("config.json", json.dumps(config, indent=2))
            with archive.open("policy.pt", "w") as weights:
                torch.save(state, weights)

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfREINFORCE],
        path: str | os.PathLike[str],
        env: GymEnv | None = None,
        device: torch.device | str = "auto",
        **kwargs: Any,
    ) -> SelfREINFORCE:
        """Load a model written by :meth:`save`. Never unpickles code (``torch.load(weights_only=True)``).

        :param env: the env to continue training on (its spaces must match), or ``None``.
        """
        _check_device(device)
        env = check_seqgan_env(env)
        path = Path(path)
        # Untrusted bytes: truncated or forged files fail in many ways. What a file may ask for is
        # bounded before it is read: config.json by MAX_CONFIG_BYTES, then the policy's size (from
        # the config, checked against memory) bounds policy.pt, each from its zip header.
        try:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(read_zip_entry(archive, "config.json", MAX_CONFIG_BYTES))
        except Exception as err:
            raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: {type(err).__name__}: {err}") from err
        if not isinstance(config, dict) or config.get("algorithm") != "REINFORCE":
            raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: its config.json names no REINFORCE model")
        if config.get("format_version") != _FORMAT_VERSION:
            raise ValueError(
                f"{str(path)!r} has checkpoint format version {config.get('format_version')!r}; this version "
                f"reads format version {_FORMAT_VERSION}"
            )
        try:
            v = check_int("vocab_size", config["vocab_size"], minimum=2, maximum=MAX_VOCAB_SIZE)
            t = check_int("seq_len", config["seq_len"], minimum=1, maximum=MAX_SEQ_LEN)
            policy_kwargs = config["policy_kwargs"]
            if not isinstance(policy_kwargs, dict):
                raise TypeError(f"policy_kwargs must be a dict, got {type(policy_kwargs).__name__}")
            e = check_int("policy_kwargs['emb_dim']", policy_kwargs.get("emb_dim", 32), minimum=1)
            h = check_int("policy_kwargs['hidden_dim']", policy_kwargs.get("hidden_dim", 32), minimum=1)
            n_params = parameter_count(v, e, h)
            # The parameters, their gradients and Adam's two moments: float32 each.
            check_memory(
                f"its policy (vocab_size={v}, emb_dim={e}, hidden_dim={h}: {n_params:,} parameters)", 16 * n_params
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{str(path)!r} holds an invalid REINFORCE configuration: {err!r}") from err
        try:
            with (
                zipfile.ZipFile(path) as archive,
                open_zip_entry(archive, "policy.pt", _WEIGHTS_BYTES_PER_PARAMETER * n_params + _WEIGHTS_SLACK) as f,
            ):
                weights = torch.load(f, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: {type(err).__name__}: {err}") from err
        if not isinstance(weights, dict) or not {"policy", "optimizer"} <= weights.keys():
            raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: policy.pt holds no policy and optimizer")
        bad = non_finite_names(weights)
        if bad:
            raise ValueError(f"{str(path)!r} holds non-finite values in {bad}")
        try:
            model = cls(
                "LSTMGeneratorPolicy",
                env,
                learning_rate=config["learning_rate"] if config["learning_rate"] is not None else 0.01,
                gamma=config["gamma"],
                max_grad_norm=config["max_grad_norm"],
                baseline=config["baseline"],
                policy_kwargs=config["policy_kwargs"],
                device=device,
                _init_setup_model=False,
                **kwargs,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{str(path)!r} holds an invalid REINFORCE configuration: {err!r}") from err
        if env is None:  # the spaces alone are enough for predict()
            model.observation_space = spaces.Box(0, v, (t,), np.int64)
            model.action_space = spaces.Discrete(v)
        elif (int(model.action_space.n), model.seq_len) != (v, t):
            raise ValueError(
                f"env has vocab_size={int(model.action_space.n)}, seq_len={model.seq_len}; the checkpoint "
                f"{str(path)!r} vocab_size={v}, seq_len={t}"
            )
        try:
            model._setup_model()
            model.policy.load_state_dict(weights["policy"])
            model.policy.optimizer.load_state_dict(weights["optimizer"])
            model.num_timesteps = check_int("num_timesteps", config["num_timesteps"], minimum=0)
            model._n_updates = check_int("n_updates", config["n_updates"], minimum=0)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ValueError(
                f"{str(path)!r} does not fit its own configuration (vocab_size={v}, seq_len={t}): {err}"
            ) from err
        return model


def _check_device(device: torch.device | str) -> None:
    """A ``ValueError`` for a device torch cannot use here (it would accept ``"cuda"`` and fail later)."""
    if not (isinstance(device, str) and device == "auto"):
        check_device(device)


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
