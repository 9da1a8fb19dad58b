"""Agents for seqgan-gym environments: REINFORCE, the generator policy, pretraining.

The end-to-end trainer of the paper's Algorithm 1 is :mod:`agents.experiment` (``SeqGANTrainer``, its
configuration, presets, checkpoints and records); many runs at once are :mod:`agents.sweeps`, the
``seqgan-gym`` command :mod:`agents.cli`, and Algorithm 1 in one function :mod:`agents.algorithm1`.
Importing ``agents`` registers ``"GeneratorPolicy"`` as a policy name of SB3's ``PPO`` and ``A2C``
and sb3-contrib's ``TRPO`` (:func:`agents.policies.register_policy_aliases`): at once when
Stable-Baselines3 is already imported, else as soon as it is. In an RL Zoo process it also gives the
Zoo's evaluation env the oracle's reward (:func:`agents.zoo.evaluate_on_the_oracle`). The public
names below are imported on first use (PEP 562), so that ``import agents`` and ``seqgan-gym --help``
do not import torch.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import Any

from seqgan_gym._lazy import lazy_names

#: Each public name and the module that defines it.
_PUBLIC: dict[str, str] = {
    "REINFORCE": "agents.reinforce",
    "GeneratorPolicy": "agents.policies",
    "LSTMGeneratorPolicy": "agents.policies",
    "load_model": "agents.load_model",
    "mle_pretrain": "agents.pretraining",
    "pretrain_discriminator": "agents.pretraining",
    "train_discriminator": "agents.pretraining",
}

__all__ = list(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)


def _register_policy_aliases() -> None:
    policies = sys.modules.get("agents.policies")
    if policies is not None and not hasattr(policies, "register_policy_aliases"):
        return  # agents.policies is being imported (it imports SB3): its last line registers the names
    importlib.import_module("agents.policies").register_policy_aliases()


class _AfterImport(importlib.abc.Loader):
    """A module's own loader, then a callback: how ``import stable_baselines3`` learns the alias."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self.loader.exec_module(module)
        _register_policy_aliases()

    def __getattr__(self, name: str) -> Any:  # the rest of the loader's API (get_source, resource readers)
        return getattr(self.loader, name)


class _RegisterOnSB3Import(importlib.abc.MetaPathFinder):
    """Finds Stable-Baselines3 and sb3-contrib with the other finders and wraps their loaders, once each."""

    def __init__(self, pending: set[str]) -> None:
        self.pending = pending

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.pending:
            return None
        self.pending.discard(fullname)
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # find the module with the other finders
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            if self.pending:
                sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None:
            spec.loader = _AfterImport(spec.loader)
        return spec


if "stable_baselines3" in sys.modules:
    _register_policy_aliases()  # PPO("GeneratorPolicy", env), as RL Zoo's yaml names it
if "rl_zoo3.exp_manager" in sys.modules:  # in a Zoo process: its yaml's callbacks import agents
    importlib.import_module("agents.zoo").evaluate_on_the_oracle()
_NOT_YET_IMPORTED = {"stable_baselines3", "sb3_contrib"} - set(sys.modules)
if _NOT_YET_IMPORTED and not any(isinstance(finder, _RegisterOnSB3Import) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterOnSB3Import(_NOT_YET_IMPORTED))
