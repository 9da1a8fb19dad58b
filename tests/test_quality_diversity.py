"""The quality-diversity command: each generator of a run swept over temperature."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import quality_diversity  # benchmarks/quality_diversity.py
from helpers import tiny_config

from agents.experiment.seqgan import SeqGANTrainer
from seqgan_gym.metrics import FrontierPoint, frontier_at


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeqGANTrainer]:
    out = tmp_path_factory.mktemp("run")
    trainer = SeqGANTrainer(tiny_config(), out_dir=out)
    trainer.run()
    return out, trainer


def test_sweep_reproduces_the_run_and_writes_its_report(
    finished_run: tuple[Path, SeqGANTrainer], tmp_path: Path
) -> None:
    out, trainer = finished_run
    report = tmp_path / "qd.md"
    [run] = quality_diversity.main(
        [str(out), "--temperatures", "0.8", "1.25", "--n-samples", "300", "--out", str(report)]
    )
    assert [p.temperature for p in run.frontiers["seqgan"]] == [0.8, 1.0, 1.25]  # τ = 1 is always measured
    # The retrained pretrained G is the run's, bit for bit.
    retrained, in_run = run.pretrained_check
    assert retrained == in_run
    # At τ = 1 the NLL-test of the SeqGAN and MLE generators is the one the run recorded at its end.
    summary = json.loads((out / "summary.json").read_text())
    last = {row["phase"]: row for row in trainer.rows if row.get("nll_test") is not None}
    seqgan_at_one = next(p for p in run.frontiers["seqgan"] if p.temperature == 1.0)
    mle_at_one = next(p for p in run.frontiers["mle"] if p.temperature == 1.0)
    assert seqgan_at_one.coverage == pytest.approx(last["adversarial"]["nll_test"], abs=1e-6)
    assert mle_at_one.coverage == pytest.approx(last["mle_continuation"]["nll_test"], abs=1e-6)
    assert summary["nll_oracle_seqgan"] == pytest.approx(last["adversarial"]["nll_oracle"])
    # NLL-test at τ ≠ 1 is a different number (the temperature reaches the scoring).
    assert {p.coverage for p in run.frontiers["seqgan"]} != {seqgan_at_one.coverage}
    text = report.read_text()
    assert "(the same)" in text and "SeqGAN at τ = 1 against the MLE frontiers" in text
    assert report.with_suffix(".png").stat().st_size > 0


def test_frontier_is_read_on_its_sharpening_branch() -> None:
    # (τ, NLL-oracle, NLL-test): NLL-test is lowest at τ = 1, so the branch is τ <= 1.
    table = [(0.6, 8.0, 9.0), (0.8, 8.5, 8.6), (1.0, 9.0, 8.4), (1.2, 9.4, 8.5)]
    points = [FrontierPoint(*row) for row in table]
    nll_oracle, tau = frontier_at(points, 8.8)  # type: ignore[misc]
    assert nll_oracle == pytest.approx(8.25) and tau == pytest.approx(0.7)
    assert frontier_at(points, 8.3) is None  # below the frontier's best coverage
    assert frontier_at(points, 9.5) is None  # sharper than the sweep reaches
    assert frontier_at(points, 8.4) == (9.0, 1.0)  # a point of the sweep itself
    # Self-BLEU falls all the way up the sweep: every point is on the sharpening branch.
    bleu = [FrontierPoint(t, q, c) for t, q, c in [(0.8, 0.40, 0.60), (1.0, 0.30, 0.45), (1.2, 0.20, 0.30)]]
    quality, tau = frontier_at(bleu, 0.5)  # type: ignore[misc]
    assert quality == pytest.approx(0.30 + 0.10 / 3) and tau == pytest.approx(1.0 - 0.2 / 3)
    with pytest.raises(ValueError, match="points"):
        frontier_at([], 1.0)


def test_bad_arguments_are_clear_errors(
    finished_run: tuple[Path, SeqGANTrainer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = finished_run
    for argv, message in [
        ([str(tmp_path), "--out", str(tmp_path / "r.md")], "no config.json"),
        ([str(out), "--temperatures", "0", "--out", str(tmp_path / "r.md")], "temperature"),
        ([str(out), "--n-samples", "0", "--out", str(tmp_path / "r.md")], "--n-samples"),
        ([str(out), "--seed", "-1", "--out", str(tmp_path / "r.md")], "--seed"),
        ([str(out), "--seed", str(2**64), "--out", str(tmp_path / "r.md")], "--seed"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            quality_diversity.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
