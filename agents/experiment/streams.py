"""The random streams of a run: every random draw of the trainer starts from a seed named by ``(seed, key)``.

Each unit of the schedule seeds torch's global stream and the env from :func:`unit_seed`, and the
evaluations draw from streams of their own, so the state between two units (parameters, optimiser
moments, the metrics so far) is all a checkpoint needs: a resumed run repeats an uninterrupted one
bit for bit on the CPU.
"""

from __future__ import annotations

import numpy as np

#: The streams of a run, the first ``key`` of :func:`stream_seed`: the initial parameters, the
#: evaluation samples, the units, the samples that D's accuracy is measured on, and PG-BLEU's references.
INIT_STREAM, EVAL_STREAM, UNIT_STREAM, D_ACCURACY_STREAM, BLEU_REFERENCE_STREAM = 0, 1, 2, 3, 4
#: The seed of NLL-test's held-out oracle samples (the real set uses seed 0).
HELD_OUT_SEED = 1


def stream_seed(seed: int, *key: int) -> int:
    """A seed for the random stream named by ``key`` in a run with ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([seed, *key]).generate_state(1, dtype=np.uint64)[0] >> 1)


def unit_seed(seed: int, unit: int) -> int:
    """The seed that every random stream of unit ``unit`` starts from, in a run with ``seed``."""
    return stream_seed(seed, UNIT_STREAM, unit)
