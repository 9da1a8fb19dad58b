"""REINFORCE's model file, and what every reader of a model file shares.

A model file follows SB3's zip layout: ``data`` (JSON), ``policy.pth`` and ``policy.optimizer.pth``
(state dicts), ``pytorch_variables.pth`` and ``_stable_baselines3_version``. REINFORCE writes its
``data`` as plain JSON and reads it back with its weights through ``torch.load(weights_only=True)``;
:mod:`agents.load_model` reads any algorithm's file the same way, never decoding a pickle.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import stable_baselines3
import torch
from gymnasium import spaces
from stable_baselines3.common.type_aliases import GymEnv
from torch import nn

from seqgan_gym._checks import MAX_SEQ_LEN, MAX_VOCAB_SIZE, check_int, check_memory, non_finite_names
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
OPTIMIZERS = {
    f"<class '{c.__module__}.{c.__name__}'>": c
    for c in (torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.SGD)
}
ACTIVATIONS = {
    f"<class '{c.__module__}.{c.__name__}'>": c for c in (nn.Tanh, nn.ReLU, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU)
}
#: ``policy_kwargs`` keys of ``GeneratorPolicy`` that hold plain JSON values.
JSON_POLICY_KWARGS = ("net_arch", "features_extractor_kwargs", "share_features_extractor", "ortho_init")
JSON_POLICY_KWARGS += ("optimizer_kwargs", "normalize_images", "log_std_init")


def model_path(path: str | os.PathLike[str]) -> Path:
    """``path``, or ``path.zip`` when only that exists (SB3's convention: ``load("m")`` reads ``m.zip``)."""
    path = Path(path)
    if not path.exists() and Path(f"{path}.zip").is_file():
        return Path(f"{path}.zip")
    return path


def load_weights(archive: zipfile.ZipFile, name: str, n_values: int, path: Path) -> dict[str, Any]:
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
        "learning_rate": model.learning_rate if is_json(model.learning_rate) else None,
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
        raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: {zip_problem(err, path)}") from err
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
        raise ValueError(f"{str(path)!r} holds an invalid REINFORCE configuration: {err}") from err
    try:
        with zipfile.ZipFile(path) as archive:
            if version == 1:  # policy.pt: {"policy": ..., "optimizer": ...}, the parameters and Adam's two moments
                weights = load_weights(archive, "policy.pt", 3 * n_params, path)
                policy_state, optimizer_state = weights.get("policy"), weights.get("optimizer")
            else:
                policy_state = load_weights(archive, "policy.pth", n_params, path)
                optimizer_state = load_weights(archive, "policy.optimizer.pth", 2 * n_params, path)
    except Exception as err:
        raise ValueError(f"{str(path)!r} is not a REINFORCE checkpoint: {zip_problem(err, path)}") from err
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
        raise ValueError(f"{str(path)!r} holds an invalid REINFORCE configuration: {err}") from err
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


def is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def zip_problem(err: Exception, path: Path) -> str:
    """What is wrong with a model file, in words: a truncated zip says so, not "File is not a zip file"."""
    if isinstance(err, zipfile.BadZipFile):
        try:
            with path.open("rb") as f:
                starts_like_a_zip = f.read(4) == b"PK\x03\x04"
        except OSError:
            starts_like_a_zip = False
        if starts_like_a_zip:
            return f"the zip is truncated or damaged ({path.stat().st_size:,} bytes; its directory is missing)"
        return "it is not a zip file"
    return f"{type(err).__name__}: {err}"
