"""``benchmarks/presets.py``: the fast-against-paper report, from hand-written run folders."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import presets
import pytest

from agents.experiment.seqgan import PRESETS

HEADER = "phase,epoch,step,nll_oracle,nll_test,g_loss,d_loss,mean_reward,truth_prob,elapsed_s"


def _run(
    folder: Path,
    preset: str,
    seed: int,
    adversarial: list[tuple[int, float, float | None]],
    pretrained: float = 9.0,
    mle_end: float = 8.98,
    **changes: object,
) -> Path:
    """A run folder: config.json of ``preset`` and a metrics.csv whose adversarial rows are (epoch, s, nll)."""
    folder.mkdir(parents=True)
    config = dataclasses.replace(PRESETS[preset], seed=seed, **changes)
    (folder / "config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    rows = [
        HEADER,
        "mle,0,0,11.2,8.5,,,,,0.0",
        f"mle,1,1,{pretrained},8.0,7.0,,,,100.0",
        f"mle_continuation,1,2,{mle_end},8.1,6.0,,,,150.0",
        "d_pretrain,1,1,,,,0.5,,,200.0",
    ]
    rows += [f"adversarial,{e},{e + 1},{'' if nll is None else nll},,1.0,0.1,0.5,,{s}" for e, s, nll in adversarial]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_report_numbers_and_targets(tmp_path: Path) -> None:
    # Three epochs of the paper schedule: a shorter schedule would not be the preset, so it shows as unfinished.
    paper = _run(tmp_path / "paper", "paper", 0, [(1, 300.0, 8.90), (2, 400.0, 8.80), (3, 2000.0, 8.70)])
    fast_a = _run(
        tmp_path / "fast_a", "fast", 0, [(1, 201.0, None), (2, 220.0, 8.80), (3, 221.0, None), (4, 240.0, 8.72)]
    )
    fast_b = _run(tmp_path / "fast_b", "fast", 1, [(2, 220.0, 8.76), (4, 240.0, 8.78)])
    out = tmp_path / "report" / "presets.md"
    verdict = presets.main(["--paper", str(paper), "--fast", str(fast_a), str(fast_b), "--out", str(out)])
    assert verdict["paper_nll_oracle"] == pytest.approx(8.70)
    assert verdict["fast_nll_oracle"] == pytest.approx(8.75)
    assert verdict["fast_minus_paper"] == pytest.approx(0.05)
    assert verdict["quality_met"] is True  # 0.05 is within 0.05
    assert verdict["fast_minus_paper_tail"] == pytest.approx((8.76 + 8.77) / 2 - 8.80)  # all evaluations: fewer than 5
    assert verdict["fast_max_hours"] == pytest.approx(240.0 / 3600)
    assert verdict["time_met"] is True
    assert verdict["all_finished"] is False  # paper ran 3 of 200 epochs, fast 4 of 50
    text = out.read_text(encoding="utf-8")
    assert "paper (unfinished: 3 of 200)" in text
    assert "| [../paper](../paper/) |" in text  # linked relative to the report
    assert "their numbers stop where the run stopped" in text
    assert out.with_suffix(".png").stat().st_size > 0
    # Seconds per adversarial epoch: 100, 100, 1600 for paper (median 100); fast evaluates every 2 epochs: 10, 10
    paper_run = presets.read_run(paper)
    assert paper_run.median_adversarial_epoch_s == pytest.approx(100.0)
    assert presets.read_run(fast_a).median_adversarial_epoch_s == pytest.approx(10.0)
    # Each phase from the previous phase's last row to its own: 100, 50, 50 s, then 2000 - 200 s adversarial
    assert paper_run.phase_seconds == pytest.approx(
        {"mle": 100.0, "mle_continuation": 50.0, "d_pretrain": 50.0, "adversarial": 1800.0}
    )
    assert list(paper_run.phase_seconds) == ["mle", "mle_continuation", "d_pretrain", "adversarial"]
    assert "| paper (paper, seed 0) | 1.7 | 0.8 | 0.8 | 30.0 | 33.3 |" in text  # minutes
    assert paper_run.curve[0] == (0, 200.0, 9.0)  # the pretrained G_θ when the adversarial phase starts


def test_quality_and_time_targets_can_fail(tmp_path: Path) -> None:
    paper = _run(tmp_path / "paper", "paper", 0, [(1, 300.0, 8.70)])
    fast = _run(tmp_path / "fast", "fast", 0, [(2, 11_000.0, 8.76)])
    verdict = presets.main(
        ["--paper", str(paper), "--fast", str(fast), "--out", str(tmp_path / "p.md"), "--max-hours", "3"]
    )
    assert verdict["fast_minus_paper"] == pytest.approx(0.06)
    assert verdict["quality_met"] is False
    assert verdict["time_met"] is False  # 11,000 s > 3 h
    assert (tmp_path / "p.md").read_text(encoding="utf-8").count("**not met**") == 2


def test_rejects_a_run_of_another_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paper = _run(tmp_path / "paper", "paper", 0, [(1, 300.0, 8.70)])
    other = _run(tmp_path / "other", "fast", 0, [(2, 240.0, 8.7)], adversarial_epochs=60)
    with pytest.raises(SystemExit):
        presets.main(["--paper", str(paper), "--fast", str(other), "--out", str(tmp_path / "p.md")])
    err = capsys.readouterr().err
    assert "--fast:" in err and "did not run the fast preset" in err


def test_rejects_a_folder_without_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paper = _run(tmp_path / "paper", "paper", 0, [(1, 300.0, 8.70)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        presets.main(["--paper", str(paper), "--fast", str(tmp_path / "empty"), "--out", str(tmp_path / "p.md")])
    assert "no config.json: not a run folder" in capsys.readouterr().err


def test_rejects_a_config_that_is_not_an_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paper = _run(tmp_path / "paper", "paper", 0, [(1, 300.0, 8.70)])
    fast = _run(tmp_path / "fast", "fast", 0, [(2, 240.0, 8.7)])
    (fast / "config.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SystemExit):
        presets.main(["--paper", str(paper), "--fast", str(fast), "--out", str(tmp_path / "p.md")])
    assert "config.json: not a JSON object of SeqGANConfig fields" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--tolerance", "-0.1", "must be a finite number >= 0"),
        ("--tolerance", "nan", "must be a finite number >= 0"),
        ("--max-hours", "0", "must be a finite number > 0"),
        ("--max-hours", "inf", "must be a finite number > 0"),
    ],
)
def test_rejects_bad_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    paper = _run(tmp_path / "paper", "paper", 0, [(1, 300.0, 8.70)])
    fast = _run(tmp_path / "fast", "fast", 0, [(2, 240.0, 8.7)])
    with pytest.raises(SystemExit):
        presets.main(["--paper", str(paper), "--fast", str(fast), option, value, "--out", str(tmp_path / "p.md")])
    assert f"{option} {float(value)}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "p.md").exists()
