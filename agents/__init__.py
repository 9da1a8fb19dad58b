"""Agents for seqgan-gym environments: REINFORCE, the generator policy, pretraining."""

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
