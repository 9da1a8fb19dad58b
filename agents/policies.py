"""The generator G_θ as Stable-Baselines3 policies.

* :class:`LSTMGeneratorPolicy`: G_θ alone, decoding incrementally (REINFORCE's policy).
* :class:`GeneratorPolicy`: an ``ActorCriticPolicy`` whose actor is G_θ (the features extractor
  :class:`GeneratorFeatures` reads the prefix with G_θ's LSTM, the action head is G_θ's output
  layer) and whose critic is a value head over a second LSTM, for SB3's ``PPO``, ``A2C`` and
  sb3-contrib's ``TRPO``.

Both expose G_θ as ``policy.generator``: MLE pretraining, ``RolloutPolicySync`` and the
callbacks use it the same way for either.
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import maybe_make_env
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from torch import nn

from seqgan_gym.generator import LSTMGenerator, LSTMState
from seqgan_gym.sampling import sample_from_logits

#: What the generator policies read and write: the spaces of the seqgan-gym envs.
SPACES_NEEDED = (
    "a SeqGAN env's spaces (SeqGAN-Oracle-v0, SeqGAN-Text-v0): action Discrete(V), observation "
    "Box(0, V, (T,), int64) (the token prefix padded with V)"
)


#: What ``predict(..., deterministic=True)`` returns: ``"greedy"``, the most likely token (SB3's
#: meaning), or ``"sample"``, a draw from G_θ as with ``deterministic=False``: for evaluation loops that
#: always ask for deterministic actions (RL Zoo's, SB3's ``EvalCallback`` by default), since a
#: generator is judged on its samples (NLL-oracle); greedy decoding writes one sequence for ever.
DETERMINISTIC_DECODINGS: tuple[str, ...] = ("greedy", "sample")


def check_deterministic_decoding(value: Any) -> str:
    if value not in DETERMINISTIC_DECODINGS:
        raise ValueError(f"deterministic_decoding must be one of {list(DETERMINISTIC_DECODINGS)}, got {value!r}")
    return value


def _check_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> int:
    """V, after checking the spaces are those of a token-generation env (else an error saying what is needed)."""
    if not isinstance(action_space, spaces.Discrete):
        raise TypeError(
            f"action_space must be Discrete(V): the generator policy needs {SPACES_NEEDED}; got {action_space}"
        )
    vocab_size = int(action_space.n)
    box = observation_space
    # Checked piece by piece, so that another env's float bounds (CartPole's ±inf) never reach int().
    if not (
        isinstance(box, spaces.Box)
        and len(box.shape) == 1
        and np.issubdtype(box.dtype, np.integer)
        and np.all(box.low == 0)
        and np.all(box.high == vocab_size)
    ):
        raise ValueError(
            f"observation_space must be Box(0, {vocab_size}, (T,), int64) for action space {action_space}: the "
            f"generator policy needs {SPACES_NEEDED}; got {observation_space}"
        )
    return vocab_size


def check_observation(observation: Any, observation_space: spaces.Box) -> None:
    """Raise a ``ValueError`` unless every value of ``observation`` is an integer the token prefix can hold.

    ``observation`` is ``[T]`` or ``[B, T]`` (array, tensor or nested lists); its values must lie in
    ``[0, V]`` (token ids ``0 .. V-1`` and the pad ``V``), as ``observation_space`` says. The
    embedding would otherwise fail deep in torch (``IndexError``) or read a wrapped-around id.
    """
    if isinstance(observation, dict):
        raise TypeError(f"observation must be an array of token ids, not a dict (keys {sorted(observation)})")
    if isinstance(observation, torch.Tensor):
        observation = observation.detach().cpu().numpy()
    array = np.asarray(observation)
    low, high = int(observation_space.low.min()), int(observation_space.high.max())
    allowed = f"integers in [{low}, {high}] (token ids, and the pad {high})"
    if array.dtype.kind not in "iuf":
        raise TypeError(f"observation must hold {allowed}, got dtype {array.dtype}")
    if array.size == 0:
        return  # SB3 reports the shape
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ValueError(f"observation must hold {allowed}, got NaN or infinite values")
        fractional = array[array != np.round(array)]
        if fractional.size:
            raise ValueError(
                f"observation must hold {allowed}, got non-integer values such as {float(fractional.flat[0])!r}"
            )
    lo, hi = array.min(), array.max()
    if lo < low or hi > high:
        raise ValueError(f"observation must hold {allowed}, got values in [{lo}, {hi}]")


def token_ids(obs: torch.Tensor, pad_token: int) -> torch.Tensor:
    """``obs`` as ``LongTensor`` token ids, or a ``ValueError``: values that are not integers in ``[0, pad_token]``.

    SB3 hands a ``Box`` observation to the policy as float: a prefix of token ids survives that exactly,
    a normalised one (``VecNormalize(norm_obs=True)``) does not, and would index the embedding wrongly.

    On an accelerator the check waits for the device, so it runs only without autograd: SB3 collects
    rollouts under ``no_grad`` (every observation is checked there), and its training minibatches,
    run with autograd, replay those same observations from the buffer. On the CPU it always runs.
    """
    if obs.device.type != "cpu" and torch.is_grad_enabled():
        return obs.long()
    if obs.is_floating_point():
        bad = ~torch.isfinite(obs) | (obs != obs.round())
    else:
        bad = torch.zeros_like(obs, dtype=torch.bool)
    bad |= (obs < 0) | (obs > pad_token)
    if bool(bad.any()):
        value = float(obs[bad][0])
        raise ValueError(
            f"observations must be token ids, integers in [0, {pad_token}], got {value!r}: is the env wrapped in "
            "VecNormalize(norm_obs=True)? A token prefix is not a vector to normalise: use norm_obs=False "
            "(normalising the reward is fine)"
        )
    return obs.long()


def prefix_hidden(generator: LSTMGenerator, obs: torch.Tensor, pad_token: int) -> torch.Tensor:
    """G's hidden state after each observed prefix (teacher-forced), ``[B, hidden_dim]``.

    :param obs: ``[B, T]`` prefixes padded with ``pad_token`` (written tokens first). A complete
        sequence (no padding) reads the state before its last token, as the last step did.
    """
    obs = obs.to(device=generator.device, dtype=torch.long)
    written = obs != pad_token
    lengths = written.sum(dim=1).clamp(max=generator.seq_len - 1)
    hidden = generator.hidden_states(torch.where(written, obs, torch.zeros_like(obs)))  # [:, L]: after L tokens
    return hidden[torch.arange(obs.shape[0], device=obs.device), lengths]


class CheckedPredict(BasePolicy):
    """SB3's ``predict`` with the observation's values checked first (:func:`check_observation`).

    Else a token id out of range, a negative one or a NaN reaches torch's embedding as an ``IndexError``.
    """

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        check_observation(observation, self.observation_space)  # type: ignore[arg-type]
        return super().predict(observation, state, episode_start, deterministic)


class LSTMGeneratorPolicy(CheckedPredict):
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
    :param deterministic_decoding: ``"greedy"`` or ``"sample"`` (:data:`DETERMINISTIC_DECODINGS`).
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
        deterministic_decoding: str = "greedy",
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        vocab_size = _check_spaces(observation_space, action_space)
        self.deterministic_decoding = check_deterministic_decoding(deterministic_decoding)
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
            emb_dim=self.emb_dim,
            hidden_dim=self.hidden_dim,
            start_token=self.start_token,
            init_std=self.init_std,
            deterministic_decoding=self.deterministic_decoding,
        )
        return data

    @torch.no_grad()
    def next_token_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, V]`` of the next token after each observed prefix (``obs``: ``[B, T]``)."""
        gen = self.generator
        obs = token_ids(obs, self.pad_token).to(gen.device)
        written = obs != self.pad_token
        lengths = written.sum(dim=1)
        t = int(lengths[0])
        lockstep = bool((lengths == t).all()) and bool(written[:, :t].all())
        if not lockstep:  # rows at different steps: teacher-force each prefix, read its next-token logits
            self._cache = None
            return prefix_hidden(gen, obs, self.pad_token) @ gen.w_out + gen.b_out
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
        if deterministic and self.deterministic_decoding == "greedy":
            return logits.argmax(dim=1)
        return sample_from_logits(logits, overwrite=True)

    def forget(self) -> None:
        """Drop the cached LSTM state (e.g. after the generator's parameters changed)."""
        self._cache = None


class GeneratorFeatures(BaseFeaturesExtractor):
    """Features of a padded token prefix: the hidden state of an ``LSTMGenerator`` after reading it.

    ``features_dim`` is ``hidden_dim``. The extractor owns the whole generator (embedding, LSTM and
    output layer), so the actor's extractor *is* G_θ, the network MLE pretrains and the rollout
    policy copies.

    :param observation_space: ``Box(0, V, (T,), int64)`` (pad value V).
    :param emb_dim: embedding size (paper: 32). :param hidden_dim: LSTM size (paper: 32).
    :param start_token: first input token (paper: 0). :param init_std: initial parameter std (paper: 0.1).
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        emb_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
        init_std: float = 0.1,
    ) -> None:
        if (
            not isinstance(observation_space, spaces.Box)
            or len(observation_space.shape) != 1
            or int(observation_space.high.max()) < 2
        ):
            raise ValueError(f"observation_space must be Box(0, V, (T,), int64) with V >= 2, got {observation_space}")
        super().__init__(observation_space, features_dim=hidden_dim)
        vocab_size = int(observation_space.high.max())
        self.pad_token = vocab_size
        self.generator = LSTMGenerator(
            vocab_size, observation_space.shape[0], emb_dim, hidden_dim, start_token, init_std
        )

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` prefixes (SB3 hands them as float) → ``[B, hidden_dim]``."""
        return prefix_hidden(self.generator, token_ids(observations, self.pad_token), self.pad_token)


class GeneratorHead(nn.Module):
    """G_θ's output layer as an action head: hidden state ``[B, hidden_dim]`` → logits ``[B, V]``."""

    def __init__(self, generator: LSTMGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.generator.b_out, hidden, self.generator.w_out)


class GeneratorPolicy(CheckedPredict, ActorCriticPolicy):
    """SB3's ``ActorCriticPolicy`` with G_θ as the actor: ``PPO(GeneratorPolicy, env, gamma=0.0)``.

    The actor is exactly the paper's generator: :class:`GeneratorFeatures` reads the prefix with
    its LSTM (no MLP in between) and :class:`GeneratorHead` is its output layer. The critic reads
    the prefix with an LSTM of its own (``share_features_extractor=False``), so the value loss
    trains the baseline without moving G_θ; its value head is an MLP (``net_arch["vf"]``).

    :param observation_space: ``Box(0, V, (T,), int64)`` (pad value V). :param action_space: ``Discrete(V)``.
    :param lr_schedule: learning-rate schedule (SB3 convention).
    :param net_arch: ``{"pi": [], "vf": [...]}``; the actor takes no hidden layers (it is G_θ).
    :param features_extractor_kwargs: ``GeneratorFeatures`` arguments (``emb_dim``, ``hidden_dim``,
        ``start_token``, ``init_std``).
    :param deterministic_decoding: ``"greedy"`` or ``"sample"`` (:data:`DETERMINISTIC_DECODINGS`).
    :param kwargs: the rest of ``ActorCriticPolicy``'s arguments.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: dict[str, list[int]] | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = False,
        deterministic_decoding: str = "greedy",
        **kwargs: Any,
    ) -> None:
        _check_spaces(observation_space, action_space)
        check_policy_kwargs(kwargs, GeneratorPolicy)  # PPO(policy_kwargs=dict(hidden_dim=...)) gets a pointer
        self.deterministic_decoding = check_deterministic_decoding(deterministic_decoding)
        net_arch = {"pi": [], "vf": [64]} if net_arch is None else net_arch
        if not isinstance(net_arch, dict) or list(net_arch.get("pi", [None])) != []:
            raise ValueError(
                f'net_arch must be a dict with "pi": [] (the actor is G_θ itself), got {net_arch!r} (RL Zoo\'s '
                "--optimize draws MLP actors: run it as python -m agents.zoo, whose samplers keep G_θ)"
            )
        extractor = kwargs.pop("features_extractor_class", GeneratorFeatures)  # SB3's load passes it back
        if extractor is not GeneratorFeatures:
            raise ValueError(f"features_extractor_class must be GeneratorFeatures (G_θ), got {extractor!r}")
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            features_extractor_class=GeneratorFeatures,
            features_extractor_kwargs=features_extractor_kwargs,
            share_features_extractor=share_features_extractor,
            **kwargs,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)
        # Replace SB3's fresh Linear action head by G_θ's own output layer, then rebuild the
        # optimiser over the parameters as they now are.
        self.action_net = GeneratorHead(self.generator)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    @property
    def generator(self) -> LSTMGenerator:
        """G_θ: the actor's ``LSTMGenerator`` (features extractor and action head)."""
        return self.pi_features_extractor.generator

    def _predict(self, observation: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        greedy = deterministic and self.deterministic_decoding == "greedy"
        return self.get_distribution(observation).get_actions(deterministic=greedy)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "deterministic_decoding": self.deterministic_decoding}


#: G_θ's sizes, which ``GeneratorPolicy`` takes inside ``features_extractor_kwargs`` (its extractor is G_θ).
GENERATOR_SIZES: tuple[str, ...] = ("emb_dim", "hidden_dim", "start_token", "init_std")


def check_policy_kwargs(policy_kwargs: Any, policy_class: type) -> dict[str, Any]:
    """``policy_kwargs`` as a dict, after checking each key is an argument of ``policy_class``.

    Else the policy's constructor fails with a bare ``TypeError`` deep inside SB3. For
    ``GeneratorPolicy``, G_θ's sizes given at the top level get a pointer to
    ``features_extractor_kwargs``, where SB3's actor-critic policies take them.
    """
    if policy_kwargs is None:
        return {}
    if not isinstance(policy_kwargs, dict) or not all(isinstance(k, str) for k in policy_kwargs):
        raise TypeError(f"policy_kwargs must be a dict of argument names or None, got {policy_kwargs!r}")
    if isinstance(policy_class, type) and issubclass(policy_class, GeneratorPolicy):
        misplaced = [k for k in GENERATOR_SIZES if k in policy_kwargs]
        if misplaced:
            what = "is one of G_θ's sizes" if len(misplaced) == 1 else "are G_θ's sizes"
            raise ValueError(
                f"policy_kwargs: {', '.join(misplaced)} {what}, which GeneratorPolicy takes as "
                f"policy_kwargs=dict(features_extractor_kwargs=dict({misplaced[0]}=...))"
            )
    try:
        parameters = dict(inspect.signature(policy_class.__init__).parameters)
        if issubclass(policy_class, ActorCriticPolicy):  # its **kwargs go on to ActorCriticPolicy: spell them out
            parameters = {**inspect.signature(ActorCriticPolicy.__init__).parameters, **parameters}
            parameters.pop("kwargs", None)
    except (TypeError, ValueError):  # a constructor without a signature: let it check its own arguments
        return dict(policy_kwargs)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(policy_kwargs)
    given_by_the_algorithm = {"self", "observation_space", "action_space", "lr_schedule"}
    allowed = [name for name in parameters if name not in given_by_the_algorithm]
    unknown = [k for k in policy_kwargs if k not in allowed]
    if unknown:
        name = getattr(policy_class, "__name__", repr(policy_class))
        raise ValueError(f"policy_kwargs: {name} takes no {', '.join(map(repr, unknown))}; it takes {allowed}")
    return dict(policy_kwargs)


def check_log_folder(name: str, value: Any) -> str | None:
    """A TensorBoard folder argument as SB3 takes it: ``None`` or a path, else a ``TypeError`` naming ``name``."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(os.fspath(value)).strip():
        raise TypeError(f"{name} must be a folder path or None, got {value!r}")
    return os.fspath(value)  # type: ignore[return-value]


def check_seqgan_env(env: GymEnv | str | None, verbose: int = 0, algorithm: str = "REINFORCE") -> GymEnv | None:
    """``env``, made from its id as SB3 would, after checking it has a SeqGAN env's spaces.

    Else SB3 stops at a bare ``assert`` on the action space, or the policy at ``int(inf)`` of
    another env's observation bounds (``OverflowError``).
    """
    if env is None:
        return None
    env = maybe_make_env(env, verbose)
    try:
        _check_spaces(env.observation_space, env.action_space)
    except (TypeError, ValueError) as err:
        raise type(err)(f"env must be a SeqGAN env for {algorithm}: {err}") from None
    return env


def is_seqgan_env(env: Any) -> bool:
    """Whether ``env`` has a SeqGAN env's spaces (:data:`SPACES_NEEDED`)."""
    try:
        _check_spaces(env.observation_space, env.action_space)
    except (AttributeError, TypeError, ValueError):
        return False
    return True


def _warning_of_unfit_settings(setup_model: Any) -> Any:
    """``setup_model`` followed, on a SeqGAN env, by a warning for each setting that cannot fit its episodes."""
    if getattr(setup_model, "warns_of_unfit_settings", False):
        return setup_model

    @functools.wraps(setup_model)
    def _setup_model(self: Any) -> None:
        setup_model(self)
        if self.env is not None and is_seqgan_env(self.env):
            from agents.callbacks import warn_unfit_settings  # here: only a SeqGAN env needs the callbacks

            warn_unfit_settings(self, self.env, stacklevel=3)  # the line of the user's PPO(...)

    _setup_model.warns_of_unfit_settings = True  # type: ignore[attr-defined]
    return _setup_model


def register_policy_aliases() -> None:
    """Let SB3's actor-critic algorithms take ``"GeneratorPolicy"`` by name, as they take ``"MlpPolicy"``.

    ``PPO("GeneratorPolicy", env)`` and an RL Zoo yaml's ``policy: GeneratorPolicy`` then work.
    Adds the name to ``PPO``, ``A2C`` and, when sb3-contrib is installed, ``TRPO``'s ``policy_aliases``;
    run when this module is imported, and by ``import agents`` (:mod:`agents`).

    Their model setup also warns, on a SeqGAN env only, of settings that cannot fit its episodes
    (:func:`agents.callbacks.unfit_settings`: ``MlpPolicy``, γ, ``n_steps``), so that a plain
    ``PPO("MlpPolicy", env, gamma=0.99)`` is not silent when no callback of ours would say it.
    """
    from stable_baselines3 import A2C, PPO

    algorithms: list[Any] = [A2C, PPO]
    try:
        from sb3_contrib import TRPO
    except ImportError:  # an optional extra
        pass
    else:
        algorithms.append(TRPO)
    for algorithm in algorithms:
        algorithm.policy_aliases.setdefault("GeneratorPolicy", GeneratorPolicy)
        algorithm._setup_model = _warning_of_unfit_settings(algorithm._setup_model)


register_policy_aliases()  # PPO("GeneratorPolicy", env), as RL Zoo's yaml names it
