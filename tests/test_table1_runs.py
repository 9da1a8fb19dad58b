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
    # precision="auto" is chosen by timing: the row says what it chose on the machine that ran it.
    assert summary["d_precision_used"] == ("bfloat16" if trainer.discriminator.uses_bfloat16 else "float32")
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


def test_each_row_is_read_against_its_seeds_mle_frontier(tmp_path: Path) -> None:
    """Hand-made frontier: NLL-oracle 9.0 at NLL-test 8.0 (τ = 1), 8.5 at 8.5 (τ = 0.8), 8.0 at 9.5 (τ = 0.6)."""
    from agents.sweeps.quality_diversity import frontier_rows, markdown

    frontier = [
        {"temperature": 0.6, "nll_oracle": 8.0, "nll_test": 9.5},
        {"temperature": 0.8, "nll_oracle": 8.5, "nll_test": 8.5},
        {"temperature": 1.0, "nll_oracle": 9.0, "nll_test": 8.0},
    ]
    for name, row, oracle, test, extra in (
        ("mle_seed0", "mle", 9.0, 8.0, {"frontier": frontier}),
        ("seqgan_seed0", "seqgan", 8.3, 9.0, {}),  # the frontier at NLL-test 9.0: 8.25, so 0.05 behind it
        ("maligan_seed0", "maligan", 8.6, 8.25, {}),  # at 8.25: 8.75, so 0.15 beyond
        ("scheduled_sampling_seed0", "scheduled_sampling", 9.5, 7.5, {}),  # covers more than any τ reaches
        ("seqgan_seed1", "seqgan", 8.0, 8.0, {}),  # seed 1 has no frontier: left out
    ):
        (tmp_path / name).mkdir()
        summary = {"row": row, "seed": int(name[-1]), "nll_oracle": oracle, "nll_test": test, **extra}
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "maligan_seed0" / "samples.txt").write_text("1 2 3\n4 5 6\n1 2 3\n1 2 3\n")
    (tmp_path / "seqgan_seed0" / "samples.txt").write_text("")  # empty: no count, not a division by zero
    rows = {r["row"]: r for r in frontier_rows(tmp_path)}
    assert set(rows) == {"mle", "seqgan", "maligan", "scheduled_sampling"}
    assert rows["maligan"]["distinct"] == (2, 4) and rows["seqgan"]["distinct"] is None
    assert rows["mle"]["beyond"] == pytest.approx(0.0) and rows["mle"]["frontier_tau"] == pytest.approx(1.0)
    assert rows["seqgan"]["beyond"] == pytest.approx(-0.05) and rows["seqgan"]["frontier_tau"] == pytest.approx(0.7)
    assert rows["maligan"]["beyond"] == pytest.approx(0.15)
    assert rows["scheduled_sampling"]["frontier"] is None
    text = markdown(list(rows.values()))
    assert "| maligan | 1 | +0.150 | 1 of 1 | 2 of 4 |" in text and "not reached" in text
    assert "| maligan | 0 | 8.600 | 8.250 | 8.750 (0.90) | +0.150 | 2 of 4 |" in text
