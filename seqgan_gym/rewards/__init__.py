"""The reward seam: what scores a sequence, and how the scores of its completions become Q_t.

SeqGAN's reward (Eq. 4) has two parts, and its successors change one or the other:

* a **scorer** of complete sequences (:class:`SequenceScorer`): the paper's
  CNN D, PG-BLEU's BLEU, RankGAN's ranker. One that learns against the generator is a
  :class:`TrainableScorer`: it also has a ``loss`` on a batch of real (label 1) and generated (label 0)
  sequences, which the discriminator-training step minimises whatever the scorer is;
* a **reward function** (:data:`RewardFunction`) from the scores of the N completions of each of B
  prefixes, ``Tensor[B, N]``, to Q_t, ``Tensor[B]``: the paper's mean (:func:`mean_reward`) by
  default, MaliGAN's normalised importance weights, ... At t = T it gets the complete sequences'
  scores as ``[B, 1]``.

A method is a :class:`Reward`: the two parts, named. :data:`REWARDS` lists the adversarial methods
by name (``SeqGANConfig.method``); each entry is ``"module:attribute"``, imported on first use, so a
new reward is one module and one line here.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

# Annotations only: the registry and the protocols load without torch (configurations and
# ``seqgan-gym --help`` read REWARDS); the rewards themselves import it.
if TYPE_CHECKING:
    import torch

    from seqgan_gym.discriminator import Discriminator

#: Scores of the N completions of B prefixes, ``Tensor[B, N]`` -> Q_t, ``Tensor[B]``.
RewardFunction = Callable[["torch.Tensor"], "torch.Tensor"]


@runtime_checkable
class SequenceScorer(Protocol):
    """What scores a complete sequence in [0, 1] for the env's terminal reward and the Monte Carlo search.

    The paper's :class:`Discriminator` (D(Y), trained against the generator) is one; PG-BLEU's
    :class:`~seqgan_gym.bleu_reward.BLEUReward` (BLEU against the real set, fixed) is another.
    """

    vocab_size: int
    seq_len: int

    @property
    def device(self) -> torch.device: ...

    def to(self, device: torch.device | str) -> SequenceScorer: ...

    def prob_real(self, tokens: torch.Tensor) -> torch.Tensor:
        """``Tensor[n]`` in [0, 1] for ``LongTensor[n, seq_len]``."""
        ...

    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor) -> torch.Tensor:
        """The score of N completions of each prefix: ``[B, t]`` and ``[B * N, seq_len - t]`` -> ``Tensor[B * N]``."""
        ...


def mean_reward(scores: torch.Tensor) -> torch.Tensor:
    """The paper's Q_t (Eq. 4): the mean score of the N completions, ``[B, N] -> [B]``."""
    return scores.mean(dim=1)


@runtime_checkable
class TrainableScorer(SequenceScorer, Protocol):
    """A :class:`SequenceScorer` that learns to tell real sequences from generated ones (an ``nn.Module``).

    ``loss`` is the objective one training step minimises on a batch; the discriminator-training
    step (:func:`agents.pretraining.train_discriminator`) batches, shuffles, and steps the optimiser.
    """

    training: bool

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The scalar training loss of ``LongTensor[B, seq_len]`` with ``LongTensor[B]`` labels (1 = real)."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]: ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...

    def state_dict(self, *args: Any, **kwargs: Any) -> Any: ...

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any: ...


def discriminator_itself(discriminator: Discriminator, real_data: torch.Tensor) -> TrainableScorer:
    """The scorer of SeqGAN and MaliGAN: the paper's D as built for the run."""
    return discriminator


@dataclasses.dataclass(frozen=True)
class Reward:
    """An adversarial method: its scorer and its reward function.

    :param label: the method's name in tables (``"SeqGAN"``).
    :param reward: the completions' scores to Q_t (:data:`RewardFunction`).
    :param make_scorer: ``(D, real set) -> scorer``: the run's D (built from the run's seed, the
        paper's sizes) and its real sequences ``LongTensor[n, T]``; returns what the env scores with
        and the discriminator-training step trains.
    :param reports_accuracy: whether the scorer's score is a probability of being real, so that its
        accuracy at 0.5 on real and generated sequences means something (logged every epoch).
    """

    label: str
    reward: RewardFunction = mean_reward
    make_scorer: Callable[[Discriminator, torch.Tensor], TrainableScorer] = discriminator_itself
    reports_accuracy: bool = True


SEQGAN = Reward("SeqGAN")

#: The adversarial methods: name -> ``"module:attribute"`` of their :class:`Reward`.
REWARDS: dict[str, str] = {
    "seqgan": "seqgan_gym.rewards:SEQGAN",
    "maligan": "seqgan_gym.rewards.maligan:MALIGAN",
    "rankgan": "seqgan_gym.rewards.rankgan:RANKGAN",
}


def get_reward(name: str) -> Reward:
    """The :class:`Reward` of the method ``name`` (one of :data:`REWARDS`)."""
    if name not in REWARDS:
        raise ValueError(f"reward must be one of {list(REWARDS)}, got {name!r}")
    module, attribute = REWARDS[name].split(":")
    reward = getattr(importlib.import_module(module), attribute)
    if not isinstance(reward, Reward):
        raise TypeError(f"REWARDS[{name!r}] names {REWARDS[name]}, which is not a Reward")
    return reward


def check_reward_function(reward: Any) -> RewardFunction:
    """``reward`` if it is callable (a :data:`RewardFunction`), else a ``TypeError`` naming it."""
    if not callable(reward):
        raise TypeError(f"reward must be a callable from Tensor[B, N] scores to Tensor[B], got {type(reward).__name__}")
    return reward
