"""Samples from a trained run: its folder's generator, decoded with its vocabulary if it is a text run.

A run's folder (:class:`~agents.experiment.seqgan.SeqGANTrainer`, ``examples/train_oracle.py``,
``examples/train_text.py``) holds all it takes: ``checkpoint.pt`` (read with ``weights_only=True``,
its digest and shapes checked) for G_θ and the MLE-only control, and, for a text run,
``vocabulary.json`` (tokens and tokenizer, plain JSON) to decode them. This works at any point of a
run, not only at its end: the checkpoint is the last one written.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from agents.experiment.checkpoint import CHECKPOINT_NAME, CheckpointError, check_state, load_checkpoint
from agents.experiment.config import GENERATORS, SeqGANConfig
from agents.experiment.text_runs import read_vocabulary
from seqgan_gym._checks import check_int
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.sampling import check_temperature
from seqgan_gym.text import Vocabulary


def load_run_generator(
    run_dir: str | os.PathLike[str], which: str = "method"
) -> tuple[LSTMGenerator, SeqGANConfig, Vocabulary | None]:
    """The generator of the run in ``run_dir``, its config, and its vocabulary (``None`` on an oracle).

    :param which: ``"method"`` (G_θ: SeqGAN's, or the baseline's) or ``"mle"`` (the MLE-only control,
        which exists once pretraining is over).
    :raises CheckpointError: no readable checkpoint in ``run_dir``.
    :raises ValueError: ``which`` is not allowed, or the control does not exist yet.
    """
    if which not in GENERATORS:
        raise ValueError(f"which must be one of {list(GENERATORS)}, got {which!r}")
    run_dir = Path(run_dir)
    if run_dir.is_file() and run_dir.name == CHECKPOINT_NAME:
        raise CheckpointError(f"{str(run_dir)!r} is the run's checkpoint: name its folder, {str(run_dir.parent)!r}")
    if run_dir.exists() and not run_dir.is_dir():
        raise CheckpointError(f"{str(run_dir)!r} is a file, not a run folder (the --out of a training command)")
    if not run_dir.exists():
        raise CheckpointError(f"{str(run_dir)!r} holds no run: there is no such folder")
    if not (run_dir / CHECKPOINT_NAME).is_file():
        raise CheckpointError(f"{str(run_dir)!r} holds no run: no {CHECKPOINT_NAME} in it")
    state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    config = check_state(state, repr(str(run_dir / CHECKPOINT_NAME)))
    weights = state["generator" if which == "method" else "mle_generator"]
    if weights is None:
        raise ValueError(f"which='mle': the run in {str(run_dir)!r} has not finished pretraining, so it has no control")
    generator = LSTMGenerator(config.vocab_size, config.seq_len, config.emb_dim, config.hidden_dim)
    generator.load_state_dict(weights)
    generator.eval()
    vocabulary = read_vocabulary(run_dir) if config.is_text else None
    if vocabulary is not None and len(vocabulary) != config.vocab_size:  # another run's file, or an edited one
        raise ValueError(
            f"{str(run_dir / 'vocabulary.json')!r} holds {len(vocabulary)} tokens; the run's generator has "
            f"vocab_size={config.vocab_size}: it is not this run's vocabulary"
        )
    return generator, config, vocabulary


def generate(
    run_dir: str | os.PathLike[str], n: int, seed: int = 0, temperature: float = 1.0, which: str = "method"
) -> list[str]:
    """``n`` samples of a run's generator as lines: a text run's decoded, an oracle run's as token ids.

    :param seed: the sampling stream's seed (the same seed gives the same lines).
    :param temperature: τ > 0; 1 samples the generator's own distribution.
    """
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
    temperature = check_temperature(temperature)
    generator, _, vocabulary = load_run_generator(run_dir, which)
    samples = generator.sample(n, generator=torch.Generator().manual_seed(seed), temperature=temperature)
    if vocabulary is None:
        return [" ".join(map(str, row)) for row in samples.tolist()]
    return [vocabulary.decode(row) for row in samples.tolist()]
