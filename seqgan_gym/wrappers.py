"""Monte Carlo search as a reward wrapper: per-step Q_t instead of a single terminal reward."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv, VectorWrapper

from seqgan_gym._checks import check_float
from seqgan_gym.generator import LSTMGenerator, TokenLSTM
from seqgan_gym.rewards import RewardFunction, mean_reward
from seqgan_gym.rewards.kl_penalty import KLPenalty
from seqgan_gym.rollout import MonteCarloQEstimator

#: ``"q"``: r_t = Q_t, the paper's per-step weight (``docs/design.md`` §2). A "difference" reward
#: Q_t - Q_{t+1} is not offered: it would need y_{t+1} before the agent chooses it.
REWARD_MODES: tuple[str, ...] = ("q",)


def _check_reward_mode(reward_mode: Any) -> str:
    if reward_mode not in REWARD_MODES:
        raise ValueError(f"reward_mode must be one of {list(REWARD_MODES)}, got {reward_mode!r}")
    return reward_mode


def _estimator(
    env: Any, rollout_policy: TokenLSTM | None, n_rollouts: int, reward: RewardFunction
) -> MonteCarloQEstimator:
    layer = env
    while layer is not None:  # the wrapper chain, outermost first
        if isinstance(layer, _MonteCarloRewards):
            raise ValueError(
                f"env is already wrapped in {type(layer).__name__}: its rewards are Q_t already, and a second "
                "wrapper would replace them by rollouts of its own (twice the work, another G_β); wrap once"
            )
        layer = getattr(layer, "env", None)
    base = env.unwrapped
    if isinstance(base, (SyncVectorEnv, AsyncVectorEnv)):  # sub-envs of their own: each gets the wrapper
        raise TypeError(
            f"env must be a SeqGAN generation env, got Gymnasium's {type(base).__name__}, whose sub-envs are "
            "separate envs: wrap each one, gymnasium.make_vec(..., vectorization_mode='sync' or 'async', "
            "wrappers=[functools.partial(MonteCarloRewardWrapper, n_rollouts=16)]), or batch them all in one "
            "rollout with vectorization_mode='vector_entry_point' (faster)"
        )
    if not all(hasattr(base, name) for name in ("discriminator", "vocab_size", "seq_len")):
        raise TypeError(
            "env must be a SeqGAN generation env (a SequenceGenerationEnv or SequenceGenerationVectorEnv such "
            f"as TokenGenerationEnv, possibly wrapped), got {type(base).__name__}"
        )
    if rollout_policy is None:  # a placeholder of the env's size, the same whatever the global random state
        init = torch.Generator().manual_seed(0)
        rollout_policy = LSTMGenerator(base.vocab_size, base.seq_len, generator=init).to(base.discriminator.device)
    estimator = MonteCarloQEstimator(rollout_policy, base.discriminator, n_rollouts, reward)
    if (rollout_policy.vocab_size, rollout_policy.seq_len) != (base.vocab_size, base.seq_len):
        raise ValueError(
            f"rollout_policy has vocab_size={rollout_policy.vocab_size}, seq_len={rollout_policy.seq_len}; "
            f"the env has vocab_size={base.vocab_size}, seq_len={base.seq_len}"
        )
    return estimator


class _MonteCarloRewards:
    """What the single and the vector wrapper share: G_β, the Q_t estimator and the rollouts' random stream."""

    rollout_policy: TokenLSTM
    estimator: MonteCarloQEstimator

    def _set_up(
        self,
        env: Any,
        rollout_policy: TokenLSTM | None,
        n_rollouts: int,
        reward_mode: str,
        reward: RewardFunction,
        kl_coef: float,
        reference_policy: TokenLSTM | None,
    ) -> None:
        self.reward_mode = _check_reward_mode(reward_mode)
        kl_coef = check_float("kl_coef", kl_coef, 0)
        if reference_policy is not None and kl_coef == 0:
            raise ValueError("reference_policy is the KL penalty's reference: give it with kl_coef > 0")
        self.estimator = _estimator(env, rollout_policy, n_rollouts, reward)
        self.rollout_policy = self.estimator.rollout_policy
        self.n_rollouts = self.estimator.n_rollouts
        self._generator: torch.Generator | None = None
        #: The KL penalty to π_ref (``None`` without one); its reference is frozen at the first step if not given.
        try:
            self.kl_penalty = KLPenalty(self.rollout_policy, kl_coef, reference_policy) if kl_coef > 0 else None
        except (TypeError, ValueError) as err:  # KLPenalty names its argument "reference"
            raise type(err)(str(err).replace("reference ", "reference_policy ", 1)) from None
        self.kl_coef = kl_coef
        # An evaluation env (terminal_reward="oracle_log_likelihood"): its return, (1/T) log G_oracle(Y),
        # is the number to read, and RL Zoo wraps its evaluation env as it wraps the training env.
        self.passes_rewards_through = bool(getattr(env.unwrapped.discriminator, "evaluation_only", False))

    def load_rollout_policy_state(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Give G_β these weights: how ``RolloutPolicySync`` reaches every sub-env's G_β (``env_method``)."""
        self.rollout_policy.load_state_dict(state_dict)

    def _restart(self, batch_size: int) -> None:
        """New episodes: the estimator's prefixes and, once it has a reference, the KL penalty's."""
        self.estimator.reset(batch_size)
        if self.kl_penalty is not None and self.kl_penalty.reference is not None:
            self.kl_penalty.reset(batch_size)

    def _penalty(self, tokens: torch.Tensor) -> np.ndarray | float:
        """The KL penalty of this step's tokens (0 without one); π_ref is frozen at the first step."""
        if self.kl_penalty is None:
            return 0.0
        if self.kl_penalty.reference is None:  # the first step: G_β is the policy RL training starts from
            self.kl_penalty.freeze_reference(self.rollout_policy)
            self.kl_penalty.reset(int(tokens.shape[0]))
        return self.kl_penalty.advance(tokens).cpu().numpy()

    def _seed_rollouts(self, seed: Any, np_random: np.random.Generator) -> None:
        # A new stream from the env's np_random on every explicit seed, so the same seed gives the
        # same rewards; without one the stream runs on across episodes.
        if seed is not None or self._generator is None:
            stream_seed = int(np_random.integers(0, 2**63 - 1))
            self._generator = torch.Generator(device=self.rollout_policy.device).manual_seed(stream_seed)


class MonteCarloRewardWrapper(_MonteCarloRewards, gym.Wrapper[np.ndarray, np.int64, np.ndarray, np.int64]):
    """The paper's Monte Carlo search (Eq. 4) as per-step rewards, for the single env.

    At step t < T the wrapper completes the prefix Y_{1:t} ``n_rollouts`` (N) times with the
    rollout policy G_β, scores the N completions with the env's discriminator D and emits their
    mean as the reward: r_t = Q_t = Q(Y_{1:t-1}, y_t). At t = T the reward is D(Y) (exactly the
    env's own terminal reward). ``info["q_value"]`` carries Q_t as well. Another ``reward`` function
    (:mod:`seqgan_gym.rewards`) replaces the mean, at t = T too.

    **Evaluation envs.** On an env made with ``terminal_reward="oracle_log_likelihood"`` the wrapper
    passes the env's rewards through (no rollouts): the return is then (1/T) log G_oracle(Y), whose
    mean is minus NLL-oracle, as RL Zoo's evaluation (which wraps its evaluation env like the
    training env) should read it.

    **Returns.** With discount γ = 0 the return of each action is exactly the paper's Q_t, so a
    REINFORCE update reproduces Algorithm 1, and an actor-critic gets the advantage Q_t - V(s_t).
    Q_t uses only the prefix up to y_t: the reward is causal.

    G_β reads one token per step (its LSTM state is kept; no prefix is re-encoded), and the N
    completions are one batched tensor program. The rollouts draw from a ``torch.Generator``
    seeded from the env's ``np_random`` at ``reset(seed=...)``: the same seed gives the same rewards.

    Given a ``gymnasium.vector.VectorEnv`` (a ``TokenGenerationVectorEnv`` or another
    ``SequenceGenerationVectorEnv``), this class returns a :class:`MonteCarloRewardVectorWrapper`
    with the same arguments. Gymnasium's ``SyncVectorEnv`` and ``AsyncVectorEnv`` hold separate
    envs: give each its wrapper, ``gymnasium.make_vec(id, n, vectorization_mode="sync"`` (or
    ``"async"``) ``, wrappers=[functools.partial(MonteCarloRewardWrapper, n_rollouts=16)])``; each
    sub-env then has its own D and G_β (in an async worker, copies: send new weights with
    ``env.call("load_discriminator_state", D.state_dict())`` and ``"load_rollout_policy_state"``), and
    ``vectorization_mode="vector_entry_point"`` batches every sub-env's rollouts in one.

    :param env: a ``SequenceGenerationEnv`` such as ``TokenGenerationEnv`` (possibly wrapped).
    :param rollout_policy: G_β, a ``TokenLSTM`` such as ``LSTMGenerator``; it is read live, so
        updating its parameters in place (β ← θ) takes effect at the next step. ``None`` builds an
        ``LSTMGenerator`` of the env's size (seed 0) for ``RolloutPolicySync`` to set to G_θ when
        training starts: how a yaml file (RL Zoo's ``env_wrapper``) can name this wrapper.
    :param n_rollouts: N, completions per prefix (``>= 1``; paper: 16).
    :param reward_mode: ``"q"`` (the only mode; see ``REWARD_MODES``).
    :param reward: the N completions' scores ``[B, N]`` to Q_t ``[B]`` (default: the paper's mean).
    :param kl_coef: weight of a KL penalty to a reference policy (:mod:`seqgan_gym.rewards.kl_penalty`):
        r_t = Q_t - kl_coef (log G_β(y_t | Y_{1:t-1}) - log π_ref(y_t | Y_{1:t-1})), and
        ``info["kl_penalty"]`` the subtracted term. 0 (default): none, the paper's reward.
    :param reference_policy: π_ref (frozen copy); ``None``: G_β as it is at the first step, i.e. the
        generator RL training starts from once ``RolloutPolicySync`` has set G_β to G_θ.
    """

    def __new__(cls, env: Any = None, *args: Any, **kwargs: Any) -> Any:
        if cls is MonteCarloRewardWrapper and isinstance(env, VectorEnv):
            return MonteCarloRewardVectorWrapper(env, *args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        env: gym.Env,
        rollout_policy: TokenLSTM | None = None,
        n_rollouts: int = 16,
        reward_mode: str = "q",
        reward: RewardFunction = mean_reward,
        kl_coef: float = 0.0,
        reference_policy: TokenLSTM | None = None,
    ) -> None:
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env or VectorEnv, got {type(env).__name__}")
        super().__init__(env)
        self._set_up(env, rollout_policy, n_rollouts, reward_mode, reward, kl_coef, reference_policy)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._seed_rollouts(seed, self.env.np_random)
        self._restart(1)
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.passes_rewards_through:
            return self.env.step(action)
        if not self.estimator.ready:  # checked first, so the env is not stepped out of sync
            raise RuntimeError("step() called before reset() or after the episode ended; call reset() first")
        obs, reward, terminated, truncated, info = self.env.step(action)  # the env validates the action
        token = torch.as_tensor([int(action)])
        penalty = self._penalty(token)  # log-ratio of y_t after Y_{1:t-1} (the penalty keeps its own states)
        q = self.estimator.advance(token, self._generator)
        if q is None:  # step T: Q_T from the env's terminal reward D(Y)
            q = self.estimator.terminal_q(torch.tensor([float(reward)], dtype=torch.float64))
        q_value = float(q[0])
        if self.kl_penalty is None:
            return obs, q_value, terminated, truncated, {**info, "q_value": q_value}
        kl = float(np.asarray(penalty)[0])
        return obs, q_value - kl, terminated, truncated, {**info, "q_value": q_value, "kl_penalty": kl}


class MonteCarloRewardVectorWrapper(_MonteCarloRewards, VectorWrapper):
    """:class:`MonteCarloRewardWrapper` for a ``SequenceGenerationVectorEnv``: rewards ``float64[num_envs]``.

    All ``num_envs x n_rollouts`` completions of a step are sampled and scored as one batch.
    ``infos["q_value"]`` (with mask ``infos["_q_value"]``) carries Q_t. The env's autoreset mode
    (``NEXT_STEP`` or ``SAME_STEP``) is followed: the wrapper restarts its rollout state whenever
    the env starts new episodes.

    :param env: a ``SequenceGenerationVectorEnv`` such as ``TokenGenerationVectorEnv`` (possibly wrapped).
    :param rollout_policy: G_β (see :class:`MonteCarloRewardWrapper`).
    :param n_rollouts: N, completions per prefix (``>= 1``; paper: 16).
    :param reward_mode: ``"q"``.
    :param reward: the N completions' scores ``[B, N]`` to Q_t ``[B]`` (default: the paper's mean); at
        t = T it gets all ``num_envs`` terminal rewards at once, so a reward normalised over the batch works.
    :param kl_coef: a KL penalty's weight; :param reference_policy: its π_ref (see :class:`MonteCarloRewardWrapper`).
    """

    def __init__(
        self,
        env: VectorEnv,
        rollout_policy: TokenLSTM | None = None,
        n_rollouts: int = 16,
        reward_mode: str = "q",
        reward: RewardFunction = mean_reward,
        kl_coef: float = 0.0,
        reference_policy: TokenLSTM | None = None,
    ) -> None:
        if not isinstance(env, VectorEnv):
            raise TypeError(f"env must be a gymnasium.vector.VectorEnv, got {type(env).__name__}")
        super().__init__(env)
        self._set_up(env, rollout_policy, n_rollouts, reward_mode, reward, kl_coef, reference_policy)
        self.autoreset_mode = AutoresetMode(env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
        if self.autoreset_mode == AutoresetMode.DISABLED:
            raise ValueError("env must autoreset in NEXT_STEP or SAME_STEP mode, got DISABLED")
        self._restart_next_step = False

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._seed_rollouts(seed, self.env.np_random)
        self._restart(self.num_envs)
        self._restart_next_step = False
        return obs, info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self.passes_rewards_through:
            return self.env.step(actions)
        if not (self.estimator.ready or self._restart_next_step):  # before the env steps out of sync
            raise RuntimeError("step() called before reset(); call reset() on the wrapper first")
        obs, rewards, terminated, truncated, infos = self.env.step(actions)  # the env validates actions
        if self._restart_next_step:  # NEXT_STEP autoreset: this step only started new episodes
            self._restart(self.num_envs)
            self._restart_next_step = False
            return obs, rewards, terminated, truncated, infos
        tokens = torch.as_tensor(np.asarray(actions))
        penalty = self._penalty(tokens)  # log-ratios of y_t after Y_{1:t-1} (the penalty keeps its own states)
        q = self.estimator.advance(tokens, self._generator)
        if q is None:  # step T: Q_T from the env's terminal rewards D(Y) (D(Y) itself for the mean)
            scores = torch.from_numpy(np.asarray(rewards, dtype=np.float64))
            q_values = self.estimator.terminal_q(scores).double().cpu().numpy()
            if self.autoreset_mode == AutoresetMode.SAME_STEP:
                self._restart(self.num_envs)
            else:
                self._restart_next_step = True
        else:
            q_values = q.double().cpu().numpy()
        every = np.ones(self.num_envs, dtype=np.bool_)
        infos = {**infos, "q_value": q_values, "_q_value": every}
        if self.kl_penalty is None:
            return obs, q_values.copy(), terminated, truncated, infos
        infos.update(kl_penalty=np.asarray(penalty), _kl_penalty=every.copy())
        return obs, q_values - penalty, terminated, truncated, infos
