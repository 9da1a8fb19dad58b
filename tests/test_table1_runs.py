"""Table 1's row folders: the temperature that matches a target NLL-test, and the rows of a finished trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import tiny_config

from agents.experiment.config import SeqGANConfig
from agents.experiment.seqgan import SeqGANTrainer
from agents.sweeps.table1_runs import keep_final_rows, keep_random_row, matching_temperature, read_samples, run_name
from seqgan_gym.metrics import nll_oracle, nll_test


def test_matching_temperature_finds_the_tau_of_a_target_nll_test() -> None:
    trainer = SeqGANTrainer(tiny_config(mle_epochs=2))
    trainer.run()
    generator, held_out = trainer.generator, trainer.held_out
    for tau in (0.8, 1.0, 1.3):
        found = matching_temperature(generator, held_out, nll_test(generator, held_out, tau))
        assert nll_test(generator, held_out, found) == pytest.approx(nll_test(generator, held_out, tau), abs=1e-3)
    # Below the curve's minimum no τ reaches the target: the best τ of the grid, whose NLL-test is the lowest.
    best = matching_temperature(generator, held_out, 0.0)
    assert all(nll_test(generator, held_out, best) <= nll_test(generator, held_out, t) + 1e-6 for t in (0.6, 1, 1.9))
    with pytest.raises(ValueError, match="target must be a finite NLL-test"):
        matching_temperature(generator, held_out, float("nan"))


def test_a_finished_trial_keeps_rows_that_re_score_to_its_numbers(tmp_path: Path) -> None:
    config = tiny_config(method="scheduled_sampling", mle_continuation_epochs=0)
    trainer = SeqGANTrainer(config, tmp_path / "run")
    with pytest.raises(ValueError, match="whole schedule"):
        keep_final_rows(trainer, tmp_path / "rows")
    keep_random_row(SeqGANTrainer(config), tmp_path / "rows")
    rows = trainer.run()
    with pytest.raises(ValueError, match="before the first unit"):
        keep_random_row(trainer, tmp_path / "rows")
    metrics = keep_final_rows(trainer, tmp_path / "rows")
    assert metrics["runs"] == "random_seed11 scheduled_sampling_seed11"  # a baseline trains no MLE control
    assert metrics["nll_oracle_random"] == rows[0]["nll_oracle"] and metrics["nll_test_random"] == rows[0]["nll_test"]
    assert metrics["nll_oracle_scheduled_sampling"] == rows[-1]["nll_oracle"]
    own = tmp_path / "rows" / run_name("scheduled_sampling", 11)
    assert (own / "samples.txt").read_text() == (tmp_path / "run" / "samples.txt").read_text()
    summary = json.loads((own / "summary.json").read_text())
    assert summary["nll_oracle"] == pytest.approx(nll_oracle(trainer.oracle, read_samples(own / "samples.txt")))
    assert SeqGANConfig.from_dict(summary["config"]) == config and summary["temperature"] == 1.0
    with pytest.raises(ValueError, match="row must be one of"):
        run_name("wgan", 0)


def test_every_method_keeps_the_same_random_row(tmp_path: Path) -> None:
    """The untrained G_θ is every method's of a seed: its folder is the same whichever trial kept it."""
    folders = []
    for method in ("seqgan", "pg_bleu"):
        keep_random_row(SeqGANTrainer(tiny_config(method=method)), tmp_path / method)
        folders.append(tmp_path / method / run_name("random", 11))
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(*[sorted(f.iterdir()) for f in folders], strict=True))
    assert "method" not in json.loads((folders[0] / "summary.json").read_text())["config"]
