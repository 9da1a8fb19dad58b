"""Algorithm 1 in one function ends with the trainer's G_θ and D_φ, bit for bit."""

from __future__ import annotations

import pytest
import torch
from helpers import tiny_config

from agents.algorithm1 import seqgan
from agents.experiment.seqgan import SeqGANTrainer


@pytest.mark.parametrize("method", ["seqgan", "maligan"])
def test_algorithm_1_is_the_trainers_schedule(method: str) -> None:
    config = tiny_config(method=method, mle_continuation_epochs=0)
    generator, discriminator = seqgan(config)
    trainer = SeqGANTrainer(config)
    trainer.run()
    for ours, theirs in ((generator, trainer.generator), (discriminator, trainer.discriminator)):
        mine, reference = ours.state_dict(), theirs.state_dict()
        assert mine.keys() == reference.keys()
        assert all(torch.equal(mine[k], reference[k]) for k in mine)
    untrained = SeqGANTrainer(config).generator.state_dict()
    assert not all(torch.equal(untrained[k], generator.state_dict()[k]) for k in untrained)  # it trained
    with pytest.raises(ValueError, match="mle_continuation_epochs=0"):
        seqgan(tiny_config())
    with pytest.raises(ValueError, match="adversarial method"):
        seqgan(tiny_config(method="pg_bleu", mle_continuation_epochs=0))
