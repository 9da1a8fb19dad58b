"""examples/table1.py: Table 1's five methods on a tiny benchmark, the p-values, resume, and its command line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import table1
import torch
from test_seqgan_trainer import TINY


def test_welch_p_value() -> None:
    a = torch.randn(500, generator=torch.Generator().manual_seed(0))
    assert table1.welch_p_value(a, a.clone()) == pytest.approx(1.0)
    assert table1.welch_p_value(a, a + 1.0) < 1e-30
    b = torch.randn(300, generator=torch.Generator().manual_seed(1)) * 3  # unequal sizes and variances
    p = table1.welch_p_value(a, b)
    assert 0.0 < p < 1.0 and p == pytest.approx(table1.welch_p_value(b, a))


def test_table_on_a_tiny_benchmark_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = dataclasses.replace(TINY, adversarial_epochs=2, eval_every=2)
    argv = ["--out", str(tmp_path), "--n-eval", "64", "--no-progress"]
    table = table1.main(argv, base=base)
    names = [row["method"] for row in table["rows"]]
    assert names == ["Random", "MLE", "Scheduled Sampling", "PG-BLEU", "SeqGAN"]
    by_name = {row["method"]: row for row in table["rows"]}
    assert by_name["SeqGAN"]["p_value"] is None
    assert all(0.0 <= by_name[n]["p_value"] <= 1.0 for n in names[:-1])
    assert len({row["nll_oracle"] for row in table["rows"]}) == 5  # five different generators
    assert all(row["nll_test"] > 0 for row in table["rows"])
    for method in table1.METHODS:
        summary = json.loads((tmp_path / method / "summary.json").read_text())
        assert summary["method"] == method
    text = (tmp_path / "results.md").read_text()
    assert all(f"| {n} |" in text for n in names) and "8.736" in text
    assert (tmp_path / "nll_oracle.png").stat().st_size > 0
    assert json.loads((tmp_path / "table1.json").read_text())["rows"] == table["rows"]
    # A second call finds the finished runs and gives the same table.
    again = table1.main(argv, base=base)
    assert [r["nll_oracle"] for r in again["rows"]] == [r["nll_oracle"] for r in table["rows"]]
    assert "resume" not in capsys.readouterr().err.lower()


@pytest.mark.parametrize(
    ("argv", "option"),
    [(["--preset", "huge"], "--preset"), (["--n-eval", "1"], "--n-eval"), (["--seed", "-2"], "--seed")],
)
def test_bad_options_exit_2_with_one_line(argv: list[str], option: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        table1.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err, err
