"""Text runs: SeqGAN and the MLE control on a tiny corpus with the resumable trainer, scored by BLEU,
decoded in a fresh process from the run's folder; examples/train_text.py and examples/generate.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.cli import train_oracle, train_text
from agents.experiment.generate import generate, load_run_generator
from agents.experiment.seqgan import SeqGANTrainer
from agents.experiment.text_runs import VOCABULARY_NAME, read_vocabulary, text_config

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["a", "man", "dog", "rides", "sits", "on", "the", "horse", "bench", "beach", "."]
#: A run on two generated corpora that takes seconds.
TINY = [
    "--mle-epochs", "2", "--d-pretrain-rounds", "1", "--adversarial-epochs", "2", "--batch-size", "8",
    "--n-rollouts", "2", "--n-negatives", "16", "--n-eval", "12", "--no-progress",
]  # fmt: skip
TINY_FIELDS = {
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


def _corpus(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    lines = [" ".join(rng.choice(WORDS, size=rng.integers(3, 8))) for _ in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _files(tmp_path: Path) -> list[str]:
    train = _corpus(tmp_path / "train.txt", 48, 0)
    test = _corpus(tmp_path / "test.txt", 30, 1)
    return ["--corpus", str(train), "--test-corpus", str(test)]


def _without_time(rows: list[str]) -> list[str]:
    return [",".join(line.split(",")[:-1]) for line in rows]  # elapsed_s is the last column


def test_tiny_run_writes_bleu_table_samples_and_a_folder_to_generate_from(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = train_text.main([*_files(tmp_path), *TINY, "--out", str(out)])
    table = result["table"]
    assert list(table) == ["SeqGAN", "MLE", "real (training sentences)"]
    for row in table.values():
        assert set(row) == {"bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "self_bleu4"}
        assert all(0.0 <= v <= 1.0 for v in row.values())
    assert table["SeqGAN"] != table["MLE"]
    assert json.loads((out / "results.json").read_text())["table"] == table
    assert "| SeqGAN |" in (out / "results.md").read_text()
    samples = (out / "samples_seqgan.txt").read_text().splitlines()
    assert len(samples) == 12 and all(w in WORDS for line in samples for w in line.split())
    # The trainer's records: an NLL-test curve (no oracle), one row per unit and one for the untrained G.
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("phase,epoch") and len(metrics) == 1 + 1 + 2 + 2 + 1 + 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["nll_test_seqgan"] > 0 and "nll_oracle_seqgan" not in summary
    assert (out / "nll_test.png").stat().st_size > 0 and not (out / "nll_oracle.png").exists()
    assert (out / "checkpoint.pt").is_file()
    decoded = (out / "samples_text.txt").read_text().splitlines()
    assert len(decoded) == 12 and all(w in WORDS for line in decoded for w in line.split())
    assert "quality_diversity" not in result and not (out / "quality_diversity.md").exists()

    # The folder is enough to generate from, in a fresh process (no corpus needed: move it away).
    for name in ("train.txt", "test.txt"):
        (tmp_path / name).rename(tmp_path / f"{name}.moved")
    command = [sys.executable, "-m", "agents.cli", "generate", str(out), "--n", "20", "--seed", "3"]
    shown = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path).stdout.splitlines()
    assert shown == generate(out, 20, seed=3)  # the same seed, the same lines
    assert len(shown) == 20 and all(w in WORDS for line in shown for w in line.split())
    assert sum(len(line.split()) for line in shown) >= 10  # decoded words, not token ids
    assert generate(out, 20, seed=3, temperature=0.5) != generate(out, 20, seed=3, temperature=5.0)
    assert generate(out, 20, seed=3, which="mle") != shown


def test_an_interrupted_run_resumes_to_the_same_numbers(tmp_path: Path) -> None:
    files = _files(tmp_path)
    whole = tmp_path / "whole"
    expected = train_text.main([*files, *TINY, "--out", str(whole)])
    part = tmp_path / "part"
    config = train_text.make_config(train_text.parse_args([*files, *TINY, "--out", str(part)]))
    SeqGANTrainer(config, part).run(max_units=5)  # stopped inside D pretraining's round... then resumed
    resumed = train_text.main(["--resume", str(part), "--no-progress"])
    assert resumed["table"] == expected["table"]
    assert _without_time((part / "metrics.csv").read_text().splitlines()) == _without_time(
        (whole / "metrics.csv").read_text().splitlines()
    )
    assert (part / "samples_text.txt").read_text() == (whole / "samples_text.txt").read_text()


def test_resume_refuses_a_corpus_that_changed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    files = _files(tmp_path)
    out = tmp_path / "out"
    config = train_text.make_config(train_text.parse_args([*files, *TINY, "--out", str(out)]))
    SeqGANTrainer(config, out).run(max_units=1)
    assert read_vocabulary(out).tokens[0] == "<eos>"
    with pytest.raises(SystemExit) as info:  # the oracle command refuses a text run
        train_oracle.main(["--resume", str(out), "--no-progress"])
    assert info.value.code == 2 and "holds a text run: resume it with train-text" in capsys.readouterr().err
    with open(files[1], "a", encoding="utf-8") as f:  # the training file gains a sentence
        f.write("a dog sits\n")
    with pytest.raises(SystemExit) as info:
        train_text.main(["--resume", str(out), "--no-progress"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err, err
    # Said in the command line's words: what changed and what to do, no Python function to call.
    assert "n_real=49 training sentences, not the" in err and "n_real=48" in err, err
    assert "put the corpus back as it was, or start a new run on it" in err and "()" not in err, err


def test_char_tokenizer_keeps_spaces_through_the_run(tmp_path: Path) -> None:
    train = _corpus(tmp_path / "train.txt", 48, 0)
    test = _corpus(tmp_path / "test.txt", 30, 1)
    config = text_config(train, test_corpus=test, tokenizer="char", **TINY_FIELDS)
    assert config.seq_len > 20  # characters, not words
    out = tmp_path / "out"
    SeqGANTrainer(config, out).run()
    _, loaded, vocabulary = load_run_generator(out)
    assert loaded == config and vocabulary is not None and " " in vocabulary.tokens
    assert json.loads((out / VOCABULARY_NAME).read_text())["vocabulary"]["tokenizer"]["kind"] == "char"
    real = vocabulary.decode(config_real_first_line(train, vocabulary, config.seq_len))
    assert real == train.read_text().splitlines()[0]  # decoding gives the sentence back, spaces and all
    # TensorBoard shows an evaluation's samples decoded, as samples_text.txt holds the final ones.
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

    events = EventAccumulator(str(out / "tensorboard"), size_guidance={TENSORS: 0})
    events.Reload()
    last = events.Tensors("samples/adversarial/text_summary")[-1].tensor_proto.string_val[0].decode()
    shown = last.split("\n\n")
    assert shown == (out / "samples_text.txt").read_text().split("\n")[:5]
    assert any(" " in line for line in shown)  # text with its spaces, not token ids


def config_real_first_line(train: Path, vocabulary, seq_len: int) -> list[int]:
    line = train.read_text().splitlines()[0]
    return vocabulary.encode(vocabulary.tokenizer.split(line), seq_len)


def test_temperature_sweep_sets_seqgan_against_the_mle_curves(tmp_path: Path) -> None:
    argv = [*_files(tmp_path), *TINY, "--adversarial-epochs", "1", "--n-eval", "40", "--out", str(tmp_path / "o")]
    result = train_text.main([*argv, "--temperatures", "0.1", "3.0"])
    sweep = result["quality_diversity"]
    assert list(sweep) == ["pretrained", "SeqGAN", "MLE"]
    for points in sweep.values():
        assert [p["temperature"] for p in points] == [0.1, 1.0, 3.0]
        assert all(0.0 <= p["quality"] <= 1.0 and 0.0 <= p["coverage"] <= 1.0 for p in points)
        # The temperature reaches the samples: each τ scores differently.
        assert len({(p["quality"], p["coverage"]) for p in points}) == 3
    # τ = 1 is the run's own sample: the same numbers as the BLEU table's.
    seqgan_at_one = sweep["SeqGAN"][1]
    assert seqgan_at_one["quality"] == result["table"]["SeqGAN"]["bleu4"]
    assert seqgan_at_one["coverage"] == result["table"]["SeqGAN"]["self_bleu4"]
    report = (tmp_path / "o" / "quality_diversity.md").read_text()
    assert "SeqGAN at τ = 1" in report and "- MLE:" in report and "- pretrained:" in report


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--corpus", "/nonexistent.txt"], "--corpus"),
        (["--n-eval", "1"], "--n-eval"),
        (["--adversarial-epochs", "-1"], "--adversarial-epochs"),
        (["--corpus", "coco", "--test-corpus", __file__], "--test-corpus"),
        (["--corpus", __file__], "--test-corpus"),
        (["--tokenizer", "bpe"], "--tokenizer"),
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


def test_generate_refuses_what_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from agents.cli import generate as generate_cli

    for argv in ([str(tmp_path)], [str(tmp_path), "--n", "0"], [str(tmp_path), "--which", "best"]):
        with pytest.raises(SystemExit) as info:
            generate_cli.main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err


def test_a_run_folder_moved_elsewhere_evaluates_generates_and_resumes(tmp_path: Path, monkeypatch, capsys) -> None:
    """Trained from one directory with a relative corpus path, then moved and used from another."""
    from agents.cli import evaluate
    from agents.cli import generate as generate_cli

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    files = _files(home)
    relative = ["--corpus", "train.txt", "--test-corpus", "test.txt"]
    assert Path(files[1]).name == "train.txt"
    train_text.main([*relative, *TINY, "--out", "run"])
    config = json.loads((home / "run" / "config.json").read_text())
    assert config["corpus"] == str(home / "train.txt")  # stored by its absolute path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / "run").rename(elsewhere / "moved")
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    scores = evaluate.main(["moved", "--n", "12"])
    assert scores["nll_test"] > 0 and 0 <= scores["bleu2"] <= 1
    assert len(generate_cli.main(["moved", "--n", "3"])) == 3
    vocabulary = json.loads((elsewhere / "moved" / "vocabulary.json").read_text())
    kept = (elsewhere / "moved" / "vocabulary.json").read_text()
    vocabulary["vocabulary"]["tokens"].append("stranger")  # another run's vocabulary, one token longer
    (elsewhere / "moved" / "vocabulary.json").write_text(json.dumps(vocabulary))
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        generate_cli.main(["moved", "--n", "3"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "it is not this run's vocabulary" in err and err.count("\n") == 1, err
    (elsewhere / "moved" / "vocabulary.json").write_text(kept)
    # Resume: the run was complete, so it scores again; a missing corpus is one line naming the file.
    train_text.main(["--resume", "moved", "--no-progress"])
    (home / "train.txt").rename(home / "gone.txt")
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        evaluate.main(["moved", "--n", "12"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "is not there (moved or deleted?)" in err, err


@pytest.mark.parametrize(
    ("extra", "option", "words"),
    [
        (["--n-eval", "100000000"], "--n-eval", "expected an integer in [2, 10000000]"),
        (["--n-negatives", "100000000000"], "--n-negatives", "expected an integer in [1, 10000000]"),
        (["--alien"], "--test-corpus", "none of its 2 test sentences fits"),
    ],
)
def test_sizes_and_test_sentences_are_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], option: str, words: str
) -> None:
    files = _files(tmp_path)
    if extra == ["--alien"]:  # test sentences made of words the training sentences never use
        (tmp_path / "alien.txt").write_text("zz yy xx\nqq rr ss\n")
        files[3], extra = str(tmp_path / "alien.txt"), []
    with pytest.raises(SystemExit) as info:
        train_text.main([*files, *TINY, *extra, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and option in err and words in err, err
    assert not (tmp_path / "out" / "checkpoint.pt").exists()
