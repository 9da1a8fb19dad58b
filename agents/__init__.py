"""Agents for seqgan-gym environments: REINFORCE, the generator policy, pretraining.

The end-to-end trainer of the paper's Algorithm 1 is :mod:`agents.experiment` (``SeqGANTrainer``, its
configuration, presets, checkpoints and records); many runs at once are :mod:`agents.sweeps`, the
``seqgan-gym`` command :mod:`agents.cli`, and Algorithm 1 in one function :mod:`agents.algorithm1`.
Importing ``agents`` registers ``"GeneratorPolicy"`` as a policy name of SB3's ``PPO`` and ``A2C``
and sb3-contrib's ``TRPO`` (:func:`agents.policies.register_policy_aliases`).
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
