"""The paper's two networks under their former module name; they live in their own modules now.

* :mod:`seqgan_gym.generator`: the LSTM language model (``TokenLSTM``, ``LSTMGenerator``).
* :mod:`seqgan_gym.discriminator`: the CNN discriminator (``Discriminator``) and ``SequenceScorer``.
* :mod:`seqgan_gym._kernels`: the speed kernels behind both.

Every name that ``seqgan_gym.models`` defined is importable from here as before, the private ones
(marked ``noqa: F401``) included.
"""

from __future__ import annotations

from seqgan_gym._kernels import chunks as _chunks  # noqa: F401
from seqgan_gym._kernels.discriminator import _linear_bfloat16_products, bfloat16_is_faster  # noqa: F401
from seqgan_gym._kernels.generator import _LN_2  # noqa: F401
from seqgan_gym._kernels.generator import EXP2_SAFE as _EXP2_SAFE  # noqa: F401
from seqgan_gym._kernels.generator import HEAD_ROWS as _HEAD_ROWS  # noqa: F401
from seqgan_gym._kernels.generator import WEIGHTED_NLL_ROWS as _WEIGHTED_NLL_ROWS  # noqa: F401
from seqgan_gym._kernels.generator import OutputLogProb as _OutputLogProb  # noqa: F401
from seqgan_gym._kernels.generator import WeightedNLL as _WeightedNLL  # noqa: F401
from seqgan_gym.discriminator import (
    D_PRECISIONS,
    PAPER_FILTER_SIZES,
    PAPER_NUM_FILTERS,
    Discriminator,
    SequenceScorer,
    check_filters,
)
from seqgan_gym.generator import EVAL_BATCH as _EVAL_BATCH  # noqa: F401
from seqgan_gym.generator import LSTMGenerator, LSTMState, TokenLSTM

__all__ = [
    "D_PRECISIONS",
    "PAPER_FILTER_SIZES",
    "PAPER_NUM_FILTERS",
    "Discriminator",
    "LSTMGenerator",
    "LSTMState",
    "SequenceScorer",
    "TokenLSTM",
    "bfloat16_is_faster",
    "check_filters",
]
