"""Saved models: REINFORCE's file, and one loader for every algorithm that never unpickles anything.

A model file follows SB3's zip layout: ``data`` (JSON), ``policy.pth`` and ``policy.optimizer.pth``
(state dicts), ``pytorch_variables.pth`` and ``_stable_baselines3_version``. SB3 itself writes some
entries of ``data`` as pickles (``":serialized:"``: the spaces, the policy class, schedules), and its
``PPO.load`` & co. unpickle them, so a hostile file runs code when it is loaded.
:func:`load_model` reads only the JSON that SB3 writes beside each pickle, the weights through
``torch.load(weights_only=True)``, and rebuilds the model from seqgan-gym's own policies; it never
decodes a pickle. What it cannot rebuild that way, it refuses, naming the entry.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import stable_baselines3
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import LinearSchedule
from torch import nn

from agents.policies import DETERMINISTIC_DECODINGS, GeneratorPolicy, check_seqgan_env
from seqgan_gym._checks import MAX_SEQ_LEN, MAX_VOCAB_SIZE, check_device, check_int, check_memory, non_finite_names
from seqgan_gym._io import atomic_write, open_zip_entry, read_zip_entry
from seqgan_gym.generator import parameter_count

if TYPE_CHECKING:
    from agents.reinforce import REINFORCE

#: REINFORCE's file: 1 wrote ``config.json`` + ``policy.pt`` (still read); 2 writes SB3's layout.
FORMAT_VERSION = 2
#: The most bytes ``data`` (or version 1's ``config.json``) may unpack to (SB3's is tens of KB).
MAX_DATA_BYTES = 4 * 2**20
#: Torch's framing and the scalars, beside 4 bytes per float32 value of a state dict.
_WEIGHTS_SLACK = 2**20

#: Optimisers and activations a saved ``policy_kwargs`` may name, by the text SB3 writes for them.
_OPTIMIZERS = {
    f"<class '{c.__module__}.{c.__name__}'>": c
    for c in (torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.SGD)
}
_ACTIVATIONS = {
    f"<class '{c.__module__}.{c.__name__}'>": c for c in (nn.Tanh, nn.ReLU, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU)
}
#: ``policy_kwargs`` keys of ``GeneratorPolicy`` that hold plain JSON values.
_JSON_POLICY_KWARGS = ("net_arch", "features_extractor_kwargs", "share_features_extractor", "ortho_init")
_JSON_POLICY_KWARGS += ("optimizer_kwargs", "normalize_images", "log_std_init")


def _algorithms() -> dict[str, tuple[type[BaseAlgorithm], tuple[str, ...]]]:
    """Name -> (class, the constructor arguments ``data`` keeps as plain values)."""
    shared = ("learning_rate", "n_steps", "gamma", "gae_lambda", "normalize_advantage")
    losses = ("ent_coef", "vf_coef", "max_grad_norm")  # TRPO fixes these itself
    ppo = ("batch_size", "n_epochs", "clip_range", "clip_range_vf", "target_kl")
    found = {"PPO": (PPO, (*shared, *losses, *ppo)), "A2C": (A2C, (*shared, *losses))}
    try:
        from sb3_contrib import TRPO
    except ImportError:  # an optional extra: its files are refused with the reason
        return found  # type: ignore[return-value]
    trpo = ("batch_size", "cg_max_steps", "cg_damping", "line_search_shrinking_factor", "line_search_max_iter")
    found["TRPO"] = (TRPO, (*shared, *trpo, "target_kl", "n_critic_updates", "sub_sampling_factor"))
    return found  # type: ignore[return-value]


def model_path(path: str | os.PathLike[str]) -> Path:
    """``path``, or ``path.zip`` when only that exists (SB3's convention: ``load("m")`` reads ``m.zip``)."""
    path = Path(path)
    if not path.exists() and Path(f"{path}.zip").is_file():
        return Path(f"{path}.zip")
    return path


def _load_weights(archive: zipfile.ZipFile, name: str, n_values: int, path: Path) -> dict[str, Any]:
    """Entry ``name``, a state dict of at most ``n_values`` floats, through ``torch.load(weights_only=True)``."""
    with open_zip_entry(archive, name, 4 * n_values + _WEIGHTS_SLACK) as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{name} of {str(path)!r} holds a {type(state).__name__}, not a state dict")
    bad = non_finite_names(state)
    if bad:
        raise ValueError(f"{name} of {str(path)!r} holds non-finite values in {bad}")
    return state


# ---- REINFORCE -----------------------------------------------------------------------------------


def save_reinforce(model: REINFORCE, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` (``.zip`` added to a name without a suffix) atomically; the path written."""
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(".zip")
    policy = model.policy
    data = {
        "algorithm": "REINFORCE",
        "format_version": FORMAT_VERSION,
        "policy_class": "LSTMGeneratorPolicy",
        "vocab_size": int(model.action_space.n),  # type: ignore[attr-defined]
        "seq_len": model.seq_len,
        "policy_kwargs": {
            k: getattr(policy, k)
            for k in ("emb_dim", "hidden_dim", "start_token", "init_std", "deterministic_decoding")
        },
        "learning_rate": model.learning_rate if _is_json(model.learning_rate) else None,
        "gamma": model.gamma,
        "max_grad_norm": model.max_grad_norm,
        "baseline": model.baseline,
        "num_timesteps": model.num_timesteps,
        "n_updates": model._n_updates,
    }
    weights = {"policy": policy.state_dict(), "policy.optimizer": policy.optimizer.state_dict()}
    bad = [f"{entry}.{name}" for entry, state in weights.items() for name in non_finite_names(state)]
    if bad:
        raise FloatingPointError(f"refusing to save non-finite values in {bad} to {str(path)!r}")
    with atomic_write(path, "wb") as f, zipfile.ZipFile(f, "w") as archive:
        archive.writestr("data", json.dumps(data, indent=2))
        for entry, state in {**weights, "pytorch_variables": {}}.items():
            with archive.open(f"{entry}.pth", "w") as out:
                torch.save(state, out)
        archive.writestr("_stable_baselines3_version", stable_baselines3.__version__)
    return path


def load_reinforce(
    cls: type[REINFORCE], path: str | os.PathLike[str], env: GymEnv | None, device: torch.device | str, **kwargs: Any
) -> REINFORCE:
    """A REINFORCE model from a file of :func:`save_reinforce` (or the earlier ``config.json`` layout)."""
    path = model_path(path)
    # Untrusted bytes: what a file may ask for is bounded before it is read, each entry from its zip header.
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            entry = "data" if "data" in names else "config.json"
            config = json.loads(read_zip_entry(archive, entry, MAX_DATA_BYTES))
    except Exception as err:
        raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: {type(err).__name__}: {err}") from err
    if not isinstance(config, dict) or config.get("algorithm") != "REINFORCE":
        raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: its {entry} names no REINFORCE model")
    version = config.get("format_version")
    if version not in (1, FORMAT_VERSION) or (version == 1) != (entry == "config.json"):
        raise ValueError(
            f"{str(path)!r} has checkpoint format version {version!r} in {entry}; this version reads format "
            f"version {FORMAT_VERSION} (data) and 1 (config.json)"
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
        with zipfile.ZipFile(path) as archive:
            if version == 1:  # policy.pt: {"policy": ..., "optimizer": ...}, the parameters and Adam's two moments
                weights = _load_weights(archive, "policy.pt", 3 * n_params, path)
                policy_state, optimizer_state = weights.get("policy"), weights.get("optimizer")
            else:
                policy_state = _load_weights(archive, "policy.pth", n_params, path)
                optimizer_state = _load_weights(archive, "policy.optimizer.pth", 2 * n_params, path)
    except Exception as err:
        raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: {type(err).__name__}: {err}") from err
    if not isinstance(policy_state, dict) or not isinstance(optimizer_state, dict):
        raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: it holds no policy and optimizer")
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
    elif (int(model.action_space.n), model.seq_len) != (v, t):  # type: ignore[attr-defined]
        raise ValueError(
            f"env has vocab_size={int(model.action_space.n)}, seq_len={model.seq_len}; the checkpoint "  # type: ignore[attr-defined]
            f"{str(path)!r} vocab_size={v}, seq_len={t}"
        )
    try:
        model._setup_model()
        model.policy.load_state_dict(policy_state)
        model.policy.optimizer.load_state_dict(optimizer_state)
        model.num_timesteps = check_int("num_timesteps", config["num_timesteps"], minimum=0)
        model._n_updates = check_int("n_updates", config["n_updates"], minimum=0)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"{str(path)!r} does not fit its own configuration (vocab_size={v}, seq_len={t}): {err}"
        ) from err
    return model


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# ---- any algorithm -------------------------------------------------------------------------------


def _readable(data: dict[str, Any], key: str) -> Any:
    """``data[key]`` as plain JSON: SB3 writes a pickle as ``{":serialized:": ..., <readable fields>}``."""
    value = data.get(key)
    if isinstance(value, dict) and ":serialized:" in value:
        return {k: v for k, v in value.items() if k not in (":serialized:", ":type:")}
    return value


_NUMBER = r"[-+0-9.eE]+"


def _constant(name: str, value: Any) -> Any:
    """A hyper-parameter: a plain value, or SB3's constant or linear schedule rebuilt from its readable text."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict) and ":serialized:" in value:
        kind = str(value.get(":type:", ""))
        numbers = [value.get(k) for k in ("val", "start", "end", "end_fraction")]
        if kind.endswith(".ConstantSchedule'>") and isinstance(numbers[0], (int, float)):
            return float(numbers[0])
        if kind.endswith(".LinearSchedule'>") and all(isinstance(v, (int, float)) for v in numbers[1:]):
            return LinearSchedule(*(float(v) for v in numbers[1:]))  # type: ignore[arg-type]
        text = str(value.get("value_schedule", ""))
        constant = re.fullmatch(rf"ConstantSchedule\(val=({_NUMBER})\)", text)
        if constant:
            return float(constant.group(1))
        linear = re.fullmatch(rf"LinearSchedule\(start=({_NUMBER}), end=({_NUMBER}), end_fraction=({_NUMBER})\)", text)
        if linear:
            return LinearSchedule(*(float(v) for v in linear.groups()))
    raise ValueError(
        f"{name} is saved as a pickle this loader does not read ({str(value)[:80]}...); pass {name}=... to load_model"
    )


def _policy_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    """``policy_kwargs`` rebuilt from what SB3 writes in plain text: JSON values and allow-listed classes."""
    saved = _readable(data, "policy_kwargs") or {}
    if not isinstance(saved, dict):
        raise ValueError(f"policy_kwargs must be a dict, got {type(saved).__name__}")
    kwargs: dict[str, Any] = {}
    for key, value in saved.items():
        if key == "optimizer_class" and value in _OPTIMIZERS:
            kwargs[key] = _OPTIMIZERS[value]
        elif key == "activation_fn" and value in _ACTIVATIONS:
            kwargs[key] = _ACTIVATIONS[value]
        elif key in _JSON_POLICY_KWARGS and _is_json(value) and not isinstance(value, str):
            kwargs[key] = value
        elif key == "deterministic_decoding" and value in DETERMINISTIC_DECODINGS:
            kwargs[key] = value
        elif key == "features_extractor_class" and "GeneratorFeatures" in str(value):
            continue  # the only extractor GeneratorPolicy takes
        else:
            raise ValueError(f"policy_kwargs[{key!r}] = {str(value)[:80]!r} is not one load_model can rebuild safely")
    return kwargs


def _which_algorithm(data: dict[str, Any]) -> str:
    """PPO, A2C or TRPO, from the hyper-parameters ``data`` keeps (SB3 does not write the class's name)."""
    if "_last_lstm_states" in data:
        return "RecurrentPPO"
    if "cg_max_steps" in data:
        return "TRPO"
    if "clip_range" in data and "n_epochs" in data:
        return "PPO"
    if "n_steps" in data and "gae_lambda" in data:
        return "A2C"
    return "an unknown algorithm"


def _spaces(data: dict[str, Any]) -> tuple[spaces.Box, spaces.Discrete]:
    action, observation = _readable(data, "action_space"), _readable(data, "observation_space")
    if not isinstance(action, dict) or not isinstance(observation, dict):
        raise ValueError("its data holds no action_space and observation_space")
    v = check_int("action_space.n", int(str(action.get("n"))), minimum=2, maximum=MAX_VOCAB_SIZE)
    shape = observation.get("_shape")
    if not (isinstance(shape, list) and len(shape) == 1):
        raise ValueError(f"observation_space must have the shape (T,), got {shape!r}")
    t = check_int("seq_len", shape[0], minimum=1, maximum=MAX_SEQ_LEN)
    return spaces.Box(0, v, (t,), np.int64), spaces.Discrete(v)


def load_model(
    path: str | os.PathLike[str], env: GymEnv | None = None, device: torch.device | str = "auto", **kwargs: Any
) -> BaseAlgorithm:
    """Load a REINFORCE, PPO, A2C or TRPO model trained with seqgan-gym's policies; never unpickles anything.

    :param path: the model's zip (``"m"`` reads ``"m.zip"`` when only that exists).
    :param env: the env to continue training on (its spaces must match), or ``None`` for ``predict``.
    :param device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
    :param kwargs: hyper-parameters to set (e.g. ``clip_range=0.1``), as SB3's ``load`` takes them; needed
        for one the file keeps only as a pickle (a schedule other than a constant).
    :return: the model, its policy's weights and optimiser state, ``num_timesteps`` and ``_n_updates``
        restored. Anything else (another policy or algorithm, a pickle it would need, a malformed or
        oversized entry) raises ``ValueError`` naming the file and what is wrong.
    """
    if not (isinstance(device, str) and device == "auto"):
        check_device(device)
    path = model_path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "data" not in names and "config.json" not in names:
                raise ValueError("it has no data entry")
            head = json.loads(read_zip_entry(archive, "data" if "data" in names else "config.json", MAX_DATA_BYTES))
    except Exception as err:
        raise ValueError(f"{str(path)!r} is not a saved model: {type(err).__name__}: {err}") from err
    if not isinstance(head, dict):
        raise ValueError(f"{str(path)!r} is not a saved model: its data is not a JSON object")
    if head.get("algorithm") == "REINFORCE":
        from agents.reinforce import REINFORCE

        return REINFORCE.load(path, env=env, device=device, **kwargs)
    name = _which_algorithm(head)
    algorithms = _algorithms()
    if name not in algorithms:
        extra = " (TRPO needs sb3-contrib: pip install -e .[contrib])" if name == "TRPO" else ""
        raise ValueError(
            f"{str(path)!r} holds a model of {name}; load_model loads REINFORCE, {', '.join(algorithms)} on "
            f"seqgan-gym's policies{extra}"
        )
    policy = _readable(head, "policy_class")
    init = str(policy.get("__init__", "")) if isinstance(policy, dict) else ""
    if not (isinstance(policy, dict) and policy.get("__module__") == "agents.policies" and "GeneratorPolicy." in init):
        raise ValueError(
            f"{str(path)!r} was trained with the policy {str(init or policy)[:80]!r}; load_model loads models of "
            "agents.policies.GeneratorPolicy (for others, SB3's own load unpickles: only for files you trust)"
        )
    cls, hyper_names = algorithms[name]
    try:
        observation_space, action_space = _spaces(head)
        policy_kwargs = _policy_kwargs(head)
        hyper = {key: _constant(key, head[key]) for key in hyper_names if key in head and key not in kwargs}
        n_envs = check_int("n_envs", head.get("n_envs", 1), minimum=1)
        num_timesteps = check_int("num_timesteps", head.get("num_timesteps", 0), minimum=0)
        n_updates = check_int("_n_updates", head.get("_n_updates", 0), minimum=0)
        extractor = policy_kwargs.get("features_extractor_kwargs", {})
        e, h = int(extractor.get("emb_dim", 32)), int(extractor.get("hidden_dim", 32))
        v = int(action_space.n)
        # Actor and critic each read the prefix with an LSTM of G's size; weights, gradients, two moments.
        check_memory(f"its policy (vocab_size={v}, emb_dim={e}, hidden_dim={h})", 2 * 16 * parameter_count(v, e, h))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{str(path)!r} holds an invalid {name} configuration: {err}") from err
    env = check_seqgan_env(env, algorithm=name)
    if env is not None and (env.observation_space.shape, env.action_space) != (observation_space.shape, action_space):
        raise ValueError(
            f"env has spaces {env.observation_space}, {env.action_space}; the model {str(path)!r} "
            f"{observation_space}, {action_space}"
        )
    try:
        model = cls(
            GeneratorPolicy,
            env,
            policy_kwargs=policy_kwargs,
            device=device,
            _init_setup_model=False,
            **{**hyper, **kwargs},
        )
        if env is None:
            model.observation_space, model.action_space, model.n_envs = observation_space, action_space, n_envs
        model._setup_model()
    except (TypeError, ValueError, AssertionError) as err:
        raise ValueError(f"{str(path)!r} holds an invalid {name} configuration: {err}") from err
    n_values = sum(p.numel() for p in model.policy.parameters())
    try:
        with zipfile.ZipFile(path) as archive:
            model.policy.load_state_dict(_load_weights(archive, "policy.pth", n_values, path))
            if "policy.optimizer.pth" in names:
                optimizer = _load_weights(archive, "policy.optimizer.pth", 2 * n_values, path)
                model.policy.optimizer.load_state_dict(optimizer)
    except Exception as err:
        raise ValueError(
            f"{str(path)!r} does not hold the weights of its {name} model: {type(err).__name__}: {err}"
        ) from err
    model.num_timesteps, model._n_updates = num_timesteps, n_updates
    return model
