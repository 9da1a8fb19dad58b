"""The ``seqgan-gym`` console command: installed with the package, each subcommand run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import tiny_config

from agents.cli import COMMANDS
from agents.cli import run as console_run
from agents.cli.common import program, rerun
from agents.cli.evaluate import read_token_ids
from seqgan_gym.metrics import nll_oracle
from seqgan_gym.oracle import OracleLSTM

ROOT = Path(__file__).resolve().parents[1]
#: The installed script, beside this interpreter (``pip install`` puts it there).
SCRIPT = Path(sys.executable).parent / "seqgan-gym"
WORDS = ["a", "man", "dog", "rides", "sits", "on", "the", "horse", "bench", "beach", "."]


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, check=check, env=env)


def _corpus(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    path.write_text("".join(" ".join(rng.choice(WORDS, size=rng.integers(3, 8))) + "\n" for _ in range(n)))
    return path


def test_the_package_declares_the_command_and_ships_its_modules(tmp_path: Path) -> None:
    """What ``pip install .`` installs: the wheel's entry point and every command's module."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("seqgan_gym-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "[console_scripts]" in text and "seqgan-gym = agents.cli:main" in text
    for module in COMMANDS.values():
        assert module.replace(".", "/") + ".py" in names
    assert "agents/cli/common.py" in names and "seqgan_gym/tokenizers.py" in names
    assert {f"agents/hyperparams/{algo}.yml" for algo in ("ppo", "a2c", "trpo", "reinforce")} <= names  # RL Zoo's


def test_help_version_and_unknown_commands() -> None:
    assert SCRIPT.is_file(), "the package is not installed with its console script (pip install -e .)"
    shown = _run("--help").stdout
    assert all(name in shown for name in COMMANDS)
    assert _run("--version").stdout.startswith("seqgan-gym ")
    wrong = _run("train", check=False)
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "train-oracle" in wrong.stderr
    bad = _run("train-oracle", "--preset", "huge", check=False)
    assert (
        bad.returncode == 2 and bad.stderr.startswith("seqgan-gym train-oracle: error: ") and "--preset" in bad.stderr
    )


def test_errors_name_the_command_as_it_was_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(ROOT / "examples" / "train_oracle.py")])
    assert program("train-oracle", "train_oracle.py") == "train_oracle.py"
    assert rerun("train-oracle", "train_oracle.py").endswith("examples/train_oracle.py")
    monkeypatch.setattr(sys, "argv", [str(SCRIPT)])
    assert program("train-oracle", "train_oracle.py") == "seqgan-gym train-oracle"
    assert rerun("train-oracle", "train_oracle.py") == "seqgan-gym train-oracle"


def test_train_oracle_then_generate_and_evaluate(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(mle_epochs=1, d_pretrain_rounds=1, adversarial_epochs=1).to_dict()))
    out = tmp_path / "run"
    trained = _run("train-oracle", "--config", str(config), "--out", str(out), "--no-progress")
    assert trained.stderr == "" and "seqgan_minus_mle" in trained.stdout
    assert (out / "summary.json").is_file() and (out / "samples.txt").is_file()

    lines = _run("generate", str(out), "--n", "5", "--seed", "2").stdout.splitlines()
    assert len(lines) == 5 and all(len(line.split()) == 6 for line in lines)  # token ids, T = 6 a line

    scores = tmp_path / "scores.json"
    _run("evaluate", str(out), "--samples", str(out / "samples.txt"), "--json", str(scores))
    written = json.loads(scores.read_text())
    oracle = OracleLSTM.seeded(3, 12, 6, 8, 8)  # the tiny config's oracle
    expected = nll_oracle(oracle, read_token_ids(str(out / "samples.txt"), 12, 6))
    assert written["nll_oracle"] == pytest.approx(expected, rel=1e-6)
    fresh = console_run(["evaluate", str(out), "--n", "40", "--seed", "1"])
    assert fresh["n"] == 40 and fresh["nll_oracle"] > 0 and fresh["nll_test"] > 0

    huge = _run("generate", str(out), "--n", str(10**12), check=False)  # refused at once, not sampled for hours
    assert huge.returncode == 2 and huge.stderr.count("\n") == 1 and "[1, 10000000]" in huge.stderr, huge.stderr

    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n")
    refused = _run("evaluate", str(out), "--samples", str(bad), check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "line 1" in refused.stderr


def test_train_text_then_generate_and_evaluate_a_samples_file(tmp_path: Path) -> None:
    train, test = _corpus(tmp_path / "train.txt", 48, 0), _corpus(tmp_path / "test.txt", 30, 1)
    out = tmp_path / "text"
    tiny = ["--mle-epochs", "2", "--d-pretrain-rounds", "1", "--adversarial-epochs", "1", "--batch-size", "8"]
    tiny += ["--n-rollouts", "2", "--n-negatives", "16", "--n-eval", "12", "--no-progress"]
    _run("train-text", "--corpus", str(train), "--test-corpus", str(test), *tiny, "--out", str(out))
    lines = _run("generate", str(out), "--n", "30", "--temperature", "0.7").stdout.splitlines()
    assert len(lines) == 30 and all(word in WORDS for line in lines for word in line.split())

    samples = tmp_path / "samples.txt"
    samples.write_text("a man rides the horse\nthe dog sits on the bench .\n")
    shown = _run("evaluate", "--samples", str(samples), "--corpus", str(train), "--test-corpus", str(test)).stdout
    scores = dict(line.split(maxsplit=1) for line in shown.splitlines())
    assert {"bleu2", "bleu5", "self_bleu2", "self_bleu4"} <= set(scores) and scores["n"] == "2"
    assert 0 < float(scores["bleu2"]) <= 1
    from_run = console_run(["evaluate", str(out), "--samples", str(out / "samples_text.txt")])
    assert from_run["n"] == 12 and 0 <= from_run["bleu2"] <= 1
    # The samples train-text scored, read back from their file: the same numbers as its table.
    table = json.loads((out / "results.json").read_text())["table"]["SeqGAN"]
    again = console_run(["evaluate", str(out), "--samples", str(out / "samples_seqgan.txt")])
    assert {k: again[k] for k in table} == table
    # Token ids scored as text would score 0 on every BLEU without a word: refused, naming the cause.
    ids = tmp_path / "ids.txt"
    ids.write_text("3 5 7 1 0\n2 2 4 9 0\n")
    for argv in (
        [str(out), "--samples", str(ids)],
        ["--samples", str(ids), "--corpus", str(train), "--test-corpus", str(test)],
    ):
        done = _run("evaluate", *argv, check=False)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "--samples: none of its 8 distinct words occurs in the test set" in done.stderr, done.stderr
        assert "token ids" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["evaluate"], "--samples"),
        (["evaluate", "--samples", __file__], "--corpus / --oracle-file"),
        (["evaluate", "somewhere", "--corpus", "coco"], "--corpus / --oracle-file"),
        (["evaluate", "no-such-run"], "no-such-run"),
        (["generate", "no-such-run"], "no-such-run"),
        (["generate"], "run"),
        (["evaluate", "--samples", __file__, "--corpus", "nosuch.txt"], "--corpus"),
        (["train-text", "--seq-len", "20000"], "--seq-len"),
    ],
)
def test_bad_input_is_one_line(argv: list[str], option: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        console_run(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err, err


def test_refusals_name_the_option_once_and_point_to_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Each message is led once by what is at fault, and says what to type instead."""
    train, empty, not_json = _corpus(tmp_path / "train.txt", 8, 0), tmp_path / "empty.txt", tmp_path / "t.json"
    empty.write_text("")
    not_json.write_text("a b c\n")
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"not a checkpoint")
    cases = [
        # A built-in corpus's name as the test file: it has its own test set.
        (["train-text", "--corpus", str(train), "--test-corpus", "coco"], "argument --test-corpus: ", "--corpus coco"),
        (["evaluate", "--corpus", str(train), "--test-corpus", "poems"], "argument --test-corpus: ", "--corpus poems"),
        # The loader's own "corpus: " is not repeated after argparse's "--corpus: ".
        (["train-text", "--corpus", str(empty)], f"argument --corpus: {str(empty)!r} is empty", None),
        # The tokenizer's errors are the tokenizer's, not the corpus's.
        (
            ["train-text", "--corpus", str(train), "--test-corpus", str(train), "--tokenizer", str(not_json)],
            "error: --tokenizer: ",
            "tokenizer.json",
        ),
        # A file, or the checkpoint itself, where a run folder is asked for.
        (["evaluate", str(train)], f"error: {str(train)!r} is a file, not a run folder", None),
        (["generate", str(train)], f"error: {str(train)!r} is a file, not a run folder", None),
        (["generate", str(checkpoint)], "is the run's checkpoint: name its folder", repr(str(checkpoint.parent))),
    ]
    for argv, lead, hint in cases:
        with pytest.raises(SystemExit) as info:
            console_run(argv)
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.count("\n") == 1 and lead in err, (argv, err)
        assert err.count("corpus: ") <= 1 and err.count(str(train)) <= 1, err
        assert hint is None or hint in err, (argv, err)


def test_warnings_are_one_line_led_by_the_command(tmp_path: Path) -> None:
    """A library warning reaches a command-line user as one line, without Python's class and source line."""
    train = tmp_path / "train.txt"
    train.write_text("a b c\n" * 10 + " ".join(["w"] * 500) + "\n")  # one stray line over the 100-token cap
    done = _run(
        "train-text", "--corpus", str(train), "--test-corpus", str(_corpus(tmp_path / "test.txt", 4, 1)),
        "--out", str(tmp_path / "out"), check=False,
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if ": warning: " in line]
    assert lines == [
        f"seqgan-gym train-text: warning: corpus {str(train)!r}: seq_len=None became T=3 (the longest line "
        "within the 99th percentile of the line lengths and 100), which drops 1 of 11 lines (the longest has "
        "500 tokens); choose T with seq_len (--seq-len of seqgan-gym train-text)"
    ], done.stderr
    assert "UserWarning" not in done.stderr and "warnings.warn" not in done.stderr, done.stderr


def test_examples_run_the_same_commands(tmp_path: Path) -> None:
    """``python examples/X.py`` is the command, its errors named by the script the user typed."""
    for name in ("train_oracle", "train_text", "generate"):
        script = ROOT / "examples" / f"{name}.py"
        shown = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, check=True)
        assert shown.stdout.startswith(f"usage: {name}.py")
    wrong = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "generate.py"), str(tmp_path)], capture_output=True, text=True
    )
    assert wrong.returncode == 2 and wrong.stderr.startswith("generate.py: error: ")


def test_output_that_cannot_be_written_ends_like_other_tools() -> None:
    """A reader that went away (``| head``): quiet, status 141; a full device: one line, status 1."""
    process = subprocess.Popen([str(SCRIPT), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the command writes a line
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141 and err == ""
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(SCRIPT), "--version"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert (
        done.returncode == 1 and done.stderr == "seqgan-gym: error: cannot write the output: No space left on device\n"
    )
