"""Agents for seqgan-gym environments: REINFORCE, the generator policy, pretraining.

The end-to-end trainer of the paper's Algorithm 1 is :mod:`agents.seqgan` (``SeqGANTrainer``), with
its configuration and presets in :mod:`agents.config`, the run machinery in :mod:`agents.schedule`,
its random streams in :mod:`agents.streams`, its checkpoints in :mod:`agents.checkpoint` and its
metrics files in :mod:`agents.records`. Importing ``agents`` registers ``"GeneratorPolicy"`` as a policy
name of SB3's ``PPO`` and ``A2C`` and sb3-contrib's ``TRPO`` (:func:`agents.policies.register_policy_aliases`).
"""

from agents.load_model import load_model
from agents.policies import GeneratorPolicy, LSTMGeneratorPolicy, register_policy_aliases
from agents.pretraining import mle_pretrain, pretrain_discriminator, train_discriminator
from agents.reinforce import REINFORCE

register_policy_aliases()  # PPO("GeneratorPolicy", env), as RL Zoo's yaml names it

__all__ = [
    "REINFORCE",
    "GeneratorPolicy",
    "LSTMGeneratorPolicy",
    "load_model",
    "mle_pretrain",
    "pretrain_discriminator",
    "train_discriminator",
]
