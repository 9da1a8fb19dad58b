"""Agents for seqgan-gym environments: REINFORCE, the generator policy, pretraining.

The end-to-end trainer of the paper's Algorithm 1 is :mod:`agents.seqgan` (``SeqGANTrainer``), with
its configuration and presets in :mod:`agents.config`, the run machinery in :mod:`agents.schedule`,
its random streams in :mod:`agents.streams`, its checkpoints in :mod:`agents.checkpoint` and its
metrics files in :mod:`agents.records`.
"""

from agents.policies import GeneratorPolicy, LSTMGeneratorPolicy
from agents.pretraining import mle_pretrain, pretrain_discriminator, train_discriminator
from agents.reinforce import REINFORCE

__all__ = [
    "REINFORCE",
    "GeneratorPolicy",
    "LSTMGeneratorPolicy",
    "mle_pretrain",
    "pretrain_discriminator",
    "train_discriminator",
]
