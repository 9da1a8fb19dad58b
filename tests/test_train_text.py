"""examples/train_text.py: SeqGAN and the MLE control on a tiny corpus, scored by BLEU; its command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import train_text


def _corpus(path: Path, n: int, seed: int) -> Path:
    words = ["a", "man", "dog", "rides", "sits", "on", "the", "horse", "bench", "beach", "."]
    rng = np.random.default_rng(seed)
    lines = [" ".join(rng.choice(words, size=rng.integers(3, 8))) for _ in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _tiny_config(tmp_path: Path, **changes: object) -> train_text.TextRunConfig:
    """A run on two generated corpora that takes seconds; ``changes`` override its fields."""
    sizes: dict[str, object] = {
        "emb_dim": 8,
        "hidden_dim": 8,
        "mle_epochs": 2,
        "d_pretrain_rounds": 1,
        "d_pretrain_epochs": 1,
        "adversarial_epochs": 2,
        "batch_size": 8,
        "n_rollouts": 2,
        "n_negatives": 16,
        "n_eval": 12,
        "discriminator_filter_sizes": (1, 2, 3),
        "discriminator_num_filters": (4, 4, 4),
    }
    return train_text.TextRunConfig(
        corpus=str(_corpus(tmp_path / "train.txt", 48, 0)),
        test_corpus=str(_corpus(tmp_path / "test.txt", 30, 1)),
        **{**sizes, **changes},  # type: ignore[arg-type]
    )


def test_tiny_run_writes_bleu_table_and_samples(tmp_path: Path) -> None:
    config = _tiny_config(tmp_path)
    out = tmp_path / "out"
    result = train_text.run(config, out, say=lambda _: None)
    table = result["table"]
    assert list(table) == ["SeqGAN", "MLE", "real (training sentences)"]
    for row in table.values():
        assert set(row) == {"bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "self_bleu4"}
        assert all(0.0 <= v <= 1.0 for v in row.values())
    assert table["SeqGAN"] != table["MLE"]
    assert json.loads((out / "results.json").read_text())["table"] == table
    assert "| SeqGAN |" in (out / "results.md").read_text()
    samples = (out / "samples_seqgan.txt").read_text().splitlines()
    assert len(samples) == 12 and all(
        w in train_text.TextCorpus.load(config.corpus).vocabulary.tokens for line in samples for w in line.split()
    )
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("phase,epoch") and len(metrics) == 1 + 2 + 1 + 2 + 2
    assert "quality_diversity" not in result and not (out / "quality_diversity.md").exists()


def test_temperature_sweep_sets_seqgan_against_the_mle_curves(tmp_path: Path) -> None:
    config = _tiny_config(tmp_path, adversarial_epochs=1, n_eval=40, temperatures=(0.1, 3.0))
    out = tmp_path / "out"
    result = train_text.run(config, out, say=lambda _: None)
    sweep = result["quality_diversity"]
    assert list(sweep) == ["pretrained", "MLE", "SeqGAN"]
    for points in sweep.values():
        assert [p["temperature"] for p in points] == [0.1, 1.0, 3.0]
        assert all(0.0 <= p["quality"] <= 1.0 and 0.0 <= p["coverage"] <= 1.0 for p in points)
        # The temperature reaches the samples: each τ scores differently.
        assert len({(p["quality"], p["coverage"]) for p in points}) == 3
    # τ = 1 is the run's own sample: the same numbers as the BLEU table's.
    seqgan_at_one = sweep["SeqGAN"][1]
    assert seqgan_at_one["quality"] == result["table"]["SeqGAN"]["bleu4"]
    assert seqgan_at_one["coverage"] == result["table"]["SeqGAN"]["self_bleu4"]
    report = (out / "quality_diversity.md").read_text()
    assert "SeqGAN at τ = 1" in report and "- MLE:" in report and "- pretrained:" in report


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--corpus", "/nonexistent.txt"], "--corpus"),
        (["--n-eval", "1"], "--n-eval"),
        (["--adversarial-epochs", "-1"], "--adversarial-epochs"),
        (["--corpus", "coco", "--test-corpus", __file__], "--test-corpus"),
        (["--temperatures", "0"], "--temperatures"),
        (["--temperatures", "warm"], "--temperatures"),
    ],
)
def test_bad_options_exit_2_with_one_line(argv: list[str], option: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_text.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err, err
