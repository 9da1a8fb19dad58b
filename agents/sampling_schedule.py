"""ε_i, the curriculum of Scheduled Sampling (:mod:`agents.scheduled_sampling`): how often epoch i feeds the true token.

The SeqGAN paper's own curriculum (its "Compared Baselines": the rate changes by 0.002 every
training epoch) is the default; the three decays of Bengio et al. 2015, §2.4, and a constant are
options. No torch here: a run's configuration (and ``seqgan-gym --help``) reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from seqgan_gym._checks import check_float, check_int, check_unit_interval

SCHEDULES: tuple[str, ...] = ("seqgan_paper", "inverse_sigmoid", "exponential", "linear", "constant")
#: The SeqGAN paper's rate: ε falls by 0.002 every training epoch ("Compared Baselines").
PAPER_RATE = 0.002


@dataclass(frozen=True)
class SamplingSchedule:
    """ε_i, the probability of feeding the true token at epoch ``i``.

    * ``"seqgan_paper"``: ε_i = 1 - k · (i + 1), k = 0.002 by default: the SeqGAN paper's curriculum
      (its "Compared Baselines": the rate changes by 0.002 every training epoch), as the authors'
      ``schedule_sampling.py`` runs it, lowering ε before each epoch (epoch 0 feeds 99.8% true tokens).
    * ``"inverse_sigmoid"``: ε_i = k / (k + exp(i / k)), ``k >= 1`` (larger k: slower decay).
    * ``"exponential"``: ε_i = k ** i, ``0 < k < 1``.
    * ``"linear"``: ε_i = max(``minimum``, 1 - k · i), ``k > 0`` the decrease per epoch.
    * ``"constant"``: ε_i = k, ``0 <= k <= 1``.

    The last four are Bengio et al. 2015, §2.4.

    :param kind: one of ``SCHEDULES``. :param k: the schedule's parameter (above).
    :param minimum: the floor of every schedule (Bengio et al. keep some teacher forcing).
    """

    kind: str = "seqgan_paper"
    k: float = PAPER_RATE
    minimum: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"kind must be one of {list(SCHEDULES)}, got {self.kind!r}")
        k = check_float("k", self.k)
        allowed = {
            "seqgan_paper": (0 < k <= 1, "0 < k <= 1"),
            "inverse_sigmoid": (k >= 1, "k >= 1"),
            "exponential": (0 < k < 1, "0 < k < 1"),
            "linear": (k > 0, "k > 0"),
            "constant": (0 <= k <= 1, "0 <= k <= 1"),
        }
        ok, rule = allowed[self.kind]
        if not ok:
            raise ValueError(f"k must satisfy {rule} for the {self.kind!r} schedule, got {k!r}")
        check_unit_interval("minimum", self.minimum, "a number")

    def truth_prob(self, epoch: int) -> float:
        """ε_i for epoch ``i = epoch`` (0-based): the probability of feeding the true token."""
        i = check_int("epoch", epoch, minimum=0)
        k = float(self.k)
        if self.kind == "seqgan_paper":
            eps = 1.0 - k * (i + 1)
        elif self.kind == "inverse_sigmoid":
            # k / (k + e^{i/k}) = 1 / (1 + e^{i/k - ln k}), without overflow for large i.
            z = i / k - math.log(k)
            eps = math.exp(-z) / (1.0 + math.exp(-z)) if z > 0 else 1.0 / (1.0 + math.exp(z))
        elif self.kind == "exponential":
            eps = k**i
        elif self.kind == "linear":
            eps = 1.0 - k * i
        else:
            eps = k
        return min(1.0, max(float(self.minimum), eps))
