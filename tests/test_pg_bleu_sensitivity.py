"""benchmarks/pg_bleu_sensitivity.py: PG-BLEU's reward settings measured on a tiny oracle."""

from __future__ import annotations

import math

import pg_bleu_sensitivity as sensitivity  # benchmarks/pg_bleu_sensitivity.py
import pytest
from helpers import tiny_config


def test_every_setting_is_measured_and_the_default_marked() -> None:
    config = tiny_config(n_real=200)
    rewards = sensitivity.reward_rows(config, 300)
    assert [row["setting"] for row in rewards] == sensitivity.settings() and len(rewards) == 18
    by_setting = {row["setting"]: row for row in rewards}
    for order in sensitivity.ORDERS:
        for fraction in sensitivity.FRACTIONS:
            unsmoothed, smoothed = by_setting[(order, "none", fraction)], by_setting[(order, "method1", fraction)]
            assert unsmoothed["zero"] >= smoothed["zero"] and unsmoothed["mean"] <= smoothed["mean"] + 1e-12
            assert 0 <= smoothed["mean"] <= 1 and math.isfinite(smoothed["ratio"])
    # More references match more n-grams: BLEU against the whole real set is the highest.
    assert by_setting[(2, "method1", 1.0)]["mean"] >= by_setting[(2, "method1", 0.1)]["mean"]
    pretrained, trained = sensitivity.train_rows(config, 1)
    assert len(trained) == 18 and all(math.isfinite(r["nll_oracle"]) and r["nll_test"] > 0 for r in trained)
    assert len({r["nll_oracle"] for r in trained}) > 1  # the settings train differently
    lines = sensitivity.report(config, rewards, (pretrained, trained), 300, 1)
    assert sum("**(default)**" in line for line in lines) == 2  # once per table
    assert any(line.startswith("| BLEU-3 | none | 40% **(default)**") for line in lines)


def test_bad_arguments_name_the_option(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        sensitivity.parse_args(["--train-epochs", "-1"])
    assert "--train-epochs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sensitivity.parse_args(["--seed", "-1"])
    assert "--seed must be in [0, " in capsys.readouterr().err
    for bad in (__file__, "no-such-oracle.pkl"):  # not an oracle file; not a file: one line, before any work
        with pytest.raises(SystemExit):
            sensitivity.parse_args(["--oracle-file", bad])
        err = capsys.readouterr().err
        assert "error: argument --oracle-file: " in err and "Traceback" not in err, err  # (argparse usage first)
