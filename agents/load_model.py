"""One loader for every algorithm's model file that never unpickles anything: :func:`load_model`.

SB3 writes some entries of a model file's ``data`` as pickles (``":serialized:"``: the spaces, the
policy class, schedules), and its ``PPO.load`` & co. unpickle them, so a hostile file runs code when
it is loaded. :func:`load_model` reads only the JSON that SB3 writes beside each pickle, the weights
through ``torch.load(weights_only=True)``, and rebuilds the model from seqgan-gym's own policies; it
never decodes a pickle. What it cannot rebuild that way, it refuses, naming the entry. REINFORCE's
own files go to ``REINFORCE.load`` (:mod:`agents.loading`).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import LinearSchedule

from agents.loading import (
    ACTIVATIONS,
    JSON_POLICY_KWARGS,
    MAX_DATA_BYTES,
    OPTIMIZERS,
    is_json,
    load_weights,
    model_path,
    zip_problem,
)
from agents.policies import DETERMINISTIC_DECODINGS, GeneratorPolicy, check_seqgan_env
from agents.reinforce import REINFORCE
from seqgan_gym._checks import MAX_SEQ_LEN, MAX_VOCAB_SIZE, check_device, check_int, check_memory
from seqgan_gym._io import describe_load_error, read_zip_entry
from seqgan_gym.generator import parameter_count


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
        if key == "optimizer_class" and value in OPTIMIZERS:
            kwargs[key] = OPTIMIZERS[value]
        elif key == "activation_fn" and value in ACTIVATIONS:
            kwargs[key] = ACTIVATIONS[value]
        elif key in JSON_POLICY_KWARGS and is_json(value) and not isinstance(value, str):
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
        raise ValueError(f"{str(path)!r} is not a saved model: {zip_problem(err, path)}") from err
    if not isinstance(head, dict):
        raise ValueError(f"{str(path)!r} is not a saved model: its data is not a JSON object")
    if head.get("algorithm") == "REINFORCE":
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
            model.policy.load_state_dict(load_weights(archive, "policy.pth", n_values, path))
            if "policy.optimizer.pth" in names:
                optimizer = load_weights(archive, "policy.optimizer.pth", 2 * n_values, path)
                model.policy.optimizer.load_state_dict(optimizer)
    except Exception as err:
        raise ValueError(
            f"{str(path)!r} does not hold the weights of its {name} model: {describe_load_error(err)}"
        ) from err
    model.num_timesteps, model._n_updates = num_timesteps, n_updates
    return model
