"""RankGAN (Lin et al. 2017): the rank score and the ranker's loss on hand-computed cases, and runs end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers import tiny_config

from agents.cli import train_oracle
from agents.experiment.seqgan import SeqGANTrainer
from agents.pretraining import discriminator_optimizer, train_discriminator
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.rewards import TrainableScorer, get_reward
from seqgan_gym.rewards.rankgan import Ranker, rank_probability, ranker_of, ranking_loss

V, T = 12, 6


def test_rank_probability_and_loss_by_hand() -> None:
    # α = 0 for s and for both comparison sentences: s ranks first with probability 1/3.
    assert rank_probability(torch.tensor([0.0]), torch.tensor([0.0, 0.0])).item() == pytest.approx(1 / 3)
    # One real sentence (logit 1) and one generated (logit 0): each is ranked against the other.
    # -log R(real) = log(1 + e^-1); -log(1 - R(generated)) = -log(e / (1 + e)) = log(1 + e^-1).
    loss = ranking_loss(torch.tensor([1.0, 0.0]), torch.tensor([1, 0]))
    assert loss.item() == pytest.approx(2 * math.log(1 + math.exp(-1)))
    # Swapped logits rank the real sentence last: a larger loss.
    assert ranking_loss(torch.tensor([0.0, 1.0]), torch.tensor([1, 0])).item() > loss.item()
    # A batch of one label has no comparison set: no loss, but a graph to step through.
    logits = torch.tensor([0.3, 0.7], requires_grad=True)
    empty = ranking_loss(logits, torch.tensor([1, 1]))
    empty.backward()
    assert empty.item() == 0.0 and torch.equal(logits.grad, torch.zeros(2))


def _ranker(seed: int = 0) -> tuple[Ranker, torch.Tensor]:
    oracle = OracleLSTM.seeded(seed=3, vocab_size=V, seq_len=T, emb_dim=8, hidden_dim=8)
    real = oracle.sample(64, generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    d = Discriminator(V, T, emb_dim=8, filter_sizes=(1, 2, 3), num_filters=(4, 4, 4), precision="float32")
    return ranker_of(d, real), real


def test_the_score_is_the_rank_among_real_sentences_against_real_references() -> None:
    ranker, real = _ranker()
    assert isinstance(ranker, TrainableScorer) and ranker.reference_size == 16 and ranker.comparison_size == 63
    tokens = torch.randint(0, V, (5, T), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(9)
    scores = ranker.prob_real(tokens)
    torch.manual_seed(9)  # the same draws of U, then C⁺, by hand from the features
    with torch.no_grad():
        u = real[torch.randint(len(real), (16,))]
        c = real[torch.randint(len(real), (63,))]
        reference = F.normalize(ranker.features(u), dim=-1).mean(0)
        comparison = F.normalize(ranker.features(c), dim=-1) @ reference
        logits = F.normalize(ranker.features(tokens), dim=-1) @ reference
        expected = torch.exp(logits) / (torch.exp(logits) + torch.exp(comparison).sum())
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-4)
    # Completions are scored as the complete sequences (one draw of U and C⁺ for the call).
    prefix, suffix = tokens[:2, :2], torch.randint(0, V, (6, T - 2), generator=torch.Generator().manual_seed(2))
    torch.manual_seed(4)
    completions = ranker.prob_real_completions(prefix, suffix)
    torch.manual_seed(4)
    whole = ranker.prob_real(torch.cat([prefix.repeat_interleave(3, 0), suffix], 1))
    torch.testing.assert_close(completions, whole, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="real_data"):
        Ranker(real[:0], vocab_size=V, seq_len=T, filter_sizes=(1,), num_filters=(2,))


def test_the_ranker_learns_to_rank_real_sentences_first() -> None:
    ranker, real = _ranker()
    fake = torch.randint(0, V, (64, T), generator=torch.Generator().manual_seed(5))
    torch.manual_seed(0)
    before = (ranker.prob_real(real).mean() / ranker.prob_real(fake).mean()).item()
    optimizer = discriminator_optimizer(ranker, lr=1e-2)
    train_discriminator(ranker, real, fake, optimizer, epochs=20, batch_size=32, generator=torch.Generator())
    torch.manual_seed(0)
    after = (ranker.prob_real(real).mean() / ranker.prob_real(fake).mean()).item()
    assert after > 1.5 and after > before


def test_rankgan_trains_end_to_end_and_from_the_command_line(tmp_path: Path) -> None:
    config = tiny_config(method="rankgan")
    trainer = SeqGANTrainer(config)
    assert isinstance(trainer.discriminator, Ranker) and get_reward("rankgan").label == "RankGAN"
    assert trainer.env.get_attr("discriminator")[0] is trainer.discriminator  # the env scores with what trains
    rows = trainer.run()
    trained = [r for r in rows if r["phase"] == "adversarial"]
    assert len(trained) == 3 and all(math.isfinite(r["nll_oracle"]) and math.isfinite(r["d_loss"]) for r in trained)
    assert all(0 < r["mean_reward"] < 1 and "d_acc_real" not in r for r in trained)  # a rank probability
    again = SeqGANTrainer(config).run()  # the draws of U and C⁺ are seeded with the unit
    assert [r.get("nll_oracle") for r in again] == [r.get("nll_oracle") for r in rows]
    config_file = tmp_path / "rankgan.json"
    config_file.write_text(json.dumps({**tiny_config().to_dict(), "method": "rankgan"}))
    train_oracle.main(["--config", str(config_file), "--out", str(tmp_path / "run"), "--no-progress"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["method"] == "rankgan" and math.isfinite(summary["nll_oracle_rankgan"])
