"""MaliGAN (Che et al. 2017): its reward on hand-computed cases, and a run end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import tiny_config

from agents.cli import train_oracle, train_text
from agents.experiment.seqgan import SeqGANTrainer
from seqgan_gym.rewards import get_reward
from seqgan_gym.rewards.maligan import maligan_reward


def test_the_reward_is_the_normalised_importance_weight_less_its_mean() -> None:
    # D = 0.5 and 0.8: weights D / (1 - D) = 1 and 4; normalised x B: 2/5 and 8/5; less the mean 1.
    assert maligan_reward(torch.tensor([[0.5], [0.8]])).tolist() == pytest.approx([-0.6, 0.6])
    # Two completions each: mean weights (1 + 3) / 2 = 2 and 0.25; x 2 / 2.25, less 1.
    q = maligan_reward(torch.tensor([[0.5, 0.75], [0.2, 0.2]]))
    assert q.tolist() == pytest.approx([2 * 2 / 2.25 - 1, 0.25 * 2 / 2.25 - 1]) and q.dtype == torch.float32
    assert float(q.sum()) == pytest.approx(0.0, abs=1e-6)
    # D = 1 or 0 everywhere stays finite (clamped), and equal scores give Q = 0.
    assert torch.isfinite(maligan_reward(torch.tensor([[1.0, 1.0], [0.0, 0.0]]))).all()
    assert maligan_reward(torch.full((4, 3), 0.3)).tolist() == pytest.approx([0.0] * 4, abs=1e-6)


def test_maligan_trains_end_to_end_and_from_the_command_line(tmp_path: Path) -> None:
    config = tiny_config(method="maligan")
    assert config.is_adversarial and get_reward("maligan").label == "MaliGAN"
    rows = SeqGANTrainer(config).run()
    trained = [r for r in rows if r["phase"] == "adversarial"]
    assert len(trained) == 3 and all(math.isfinite(r["nll_oracle"]) and math.isfinite(r["d_loss"]) for r in trained)
    assert all(abs(r["mean_reward"]) < 1e-5 for r in trained)  # Q_t is centred over every batch
    seqgan = SeqGANTrainer(tiny_config()).run()
    assert trained[-1]["nll_oracle"] != [r for r in seqgan if r["phase"] == "adversarial"][-1]["nll_oracle"]
    config_file = tmp_path / "maligan.json"
    config_file.write_text(json.dumps({**tiny_config().to_dict(), "method": "maligan", "seed": 3}))
    train_oracle.main(["--config", str(config_file), "--out", str(tmp_path / "run"), "--no-progress"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["method"] == "maligan" and math.isfinite(summary["nll_oracle_maligan"])


def test_maligan_on_text_from_the_command_line(tmp_path: Path) -> None:
    from test_train_text import TINY, _files

    result = train_text.main([*_files(tmp_path), *TINY, "--method", "maligan", "--out", str(tmp_path / "out")])
    assert list(result["table"]) == ["MaliGAN", "MLE", "real (training sentences)"]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["method"] == "maligan"
    assert (tmp_path / "out" / "samples_maligan.txt").is_file()
