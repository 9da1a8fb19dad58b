"""The reference code's log as data, and runs compared with it point by point."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import reference_curve  # benchmarks/reference_curve.py


def _run(folder: Path, mle: dict[int, float], adversarial: dict[int, float], oracle: str | None) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"seed": 3, "oracle_file": oracle}))
    lines = ["phase,epoch,step,nll_oracle,nll_test,g_loss,d_loss,mean_reward,elapsed_s"]
    lines += [f"mle,{e},{e},{v},9.0,,,,1.0" for e, v in mle.items()]
    lines += ["d_pretrain,1,1,,,,0.5,,2.0"]
    lines += [f"adversarial,{e},{e},{v},9.0,1.0,0.5,0.1,3.0" for e, v in adversarial.items()]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_reference_log_holds_the_published_numbers() -> None:
    with reference_curve.REFERENCE_LOG.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 55  # 24 pretraining and 31 adversarial lines
    by_key = {(r["phase"], int(r["log_epoch"])): float(r["nll_oracle"]) for r in rows}
    assert by_key[("mle", 0)] == 10.1716 and by_key[("mle", 115)] == 9.07058
    assert by_key[("adversarial", 10)] == 9.03079 and by_key[("adversarial", 150)] == 8.6832
    assert all(int(r["epochs_done"]) == int(r["log_epoch"]) + 1 for r in rows)


def test_run_epoch_k_plus_one_meets_log_epoch_k(tmp_path: Path) -> None:
    mle = {0: 11.4, 6: 9.50, 16: 9.20}
    adversarial = {11: 9.00, 30: 8.95, 32: 8.85}  # epoch 31 is interpolated between 30 and 32
    run = _run(tmp_path / "run", mle, adversarial, oracle="/somewhere/target_params_py3.pkl")
    out = tmp_path / "report" / "cmp.md"
    rows = reference_curve.main([str(run), "--out", str(out)])
    by_key = {(r["phase"], r["log_epoch"]): r for r in rows}
    assert by_key[("mle", 5)]["reference"] == 9.42939
    assert by_key[("mle", 5)]["runs"] == [(9.50, False)]
    assert by_key[("mle", 50)]["runs"] == [None]  # the run's pretraining ended at 16 epochs
    assert by_key[("adversarial", 10)]["runs"] == [(9.00, False)]
    value, interpolated = by_key[("adversarial", 30)]["runs"][0]
    assert interpolated and value == pytest.approx(8.90)
    assert by_key[("adversarial", 50)]["runs"] == [None]
    text = out.read_text()
    assert "| adversarial training | 10 | 9.0308 | 9.0000 (-0.0308) | -0.0308 |" in text
    assert "8.9000 (-0.0164)*" in text and "not reached" in text
    assert "only indicative" not in text  # the authors' oracle file, as in the reference
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_other_oracle_is_flagged_and_bad_folders_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = _run(tmp_path / "run", {1: 10.0, 11: 9.3}, {11: 9.0}, oracle=None)
    out = tmp_path / "cmp.md"
    reference_curve.main([str(run), "--out", str(out)])
    assert "Runs on another oracle (seeded)" in out.read_text()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        reference_curve.main([str(tmp_path / "empty"), "--out", str(out)])
    assert exit_info.value.code == 2
    assert "no config.json: not a run folder" in capsys.readouterr().err
