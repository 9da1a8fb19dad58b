"""Sizes a user can ask for are bounded, Ctrl-C is one line, and an output file is checked before the work."""

from __future__ import annotations

import errno
import pickle
from pathlib import Path

import pytest

import agents.cli.evaluate
import agents.cli.generate
import agents.experiment.generate
from agents.cli import evaluate, generate
from seqgan_gym.oracle import OracleLSTM


def _one_line(capsys: pytest.CaptureFixture, info: pytest.ExceptionInfo, code: int) -> str:
    err = capsys.readouterr().err
    assert info.value.code == code and err.count("\n") == 1, err
    return err


def test_generate_bounds_n_and_stops_cleanly_on_ctrl_c(tmp_path: Path, capsys, monkeypatch) -> None:
    with pytest.raises(SystemExit) as info:
        generate.main([str(tmp_path), "--n", "100000001"])
    err = _one_line(capsys, info, 2)
    assert "--n" in err and "[1, 10000000]" in err

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(agents.experiment.generate, "generate", interrupted)  # imported by the command when it runs
    with pytest.raises(SystemExit) as info:
        generate.main([str(tmp_path), "--n", "5"])
    assert "interrupted" in _one_line(capsys, info, 130)


def _oracle_and_samples(tmp_path: Path) -> tuple[Path, Path]:
    oracle = OracleLSTM.seeded(seed=3, vocab_size=12, seq_len=20, emb_dim=8, hidden_dim=8)
    oracle_file = tmp_path / "target_params_py3.pkl"
    oracle_file.write_bytes(pickle.dumps(oracle.paper_arrays()))
    samples = tmp_path / "samples.txt"
    samples.write_text("".join(" ".join(str((i + j) % 12) for j in range(20)) + "\n" for i in range(20)))
    return oracle_file, samples


def test_evaluate_checks_its_json_file_before_scoring_and_a_failed_write_is_one_line(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    oracle_file, samples = _oracle_and_samples(tmp_path)
    argv = ["--samples", str(samples), "--oracle-file", str(oracle_file)]
    for target, words in ((tmp_path / "no" / "such" / "scores.json", "does not exist"), (tmp_path, "is a folder")):
        with pytest.raises(SystemExit) as info:
            evaluate.main([*argv, "--json", str(target)])
        err = _one_line(capsys, info, 2)
        assert "--json" in err and words in err
    scores = evaluate.main([*argv, "--json", str(tmp_path / "scores.json")])
    assert (tmp_path / "scores.json").is_file() and "nll_oracle" in scores
    capsys.readouterr()

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(agents.cli.evaluate, "atomic_write_json", full_disk)
    with pytest.raises(SystemExit) as info:
        evaluate.main([*argv, "--json", str(tmp_path / "again.json")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.strip().splitlines()[-1].endswith("No space left on device"), err
    assert "Traceback" not in err


def test_evaluate_names_what_is_wrong_once(tmp_path: Path, capsys) -> None:
    """Each refusal is led by the option (or the run folder) at fault, and says it once."""
    oracle_file, samples = _oracle_and_samples(tmp_path)
    short = tmp_path / "short.txt"
    short.write_text("1 2 3\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    fake = tmp_path / "fake.pkl"
    fake.write_text("garbage\n")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a man rides a horse\n")
    cases = [
        (["--samples", str(short), "--oracle-file", str(oracle_file)], "--samples: line 1 must hold 20 token ids"),
        (["--samples", str(empty), "--oracle-file", str(oracle_file)], f"--samples: {str(empty)!r} is empty"),
        (["--samples", str(samples), "--oracle-file", str(fake)], "--oracle-file: oracle file"),
        (["--samples", str(samples), "--corpus", str(corpus)], "--test-corpus: a --corpus file needs its test"),
        ([str(tmp_path)], f"{str(tmp_path)!r} holds no run"),
        ([str(tmp_path), "--samples", str(short)], f"{str(tmp_path)!r} holds no run"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as info:
            evaluate.main(argv)
        err = _one_line(capsys, info, 2)
        assert err.startswith(f"seqgan-gym evaluate: error: {message}"), (argv, err)
        lead = message.split(":")[0].split(" ")[0]
        assert err.count(lead) == 1, (argv, err)  # not "--samples: --samples: ..."


def test_evaluate_refuses_sampling_options_with_a_samples_file(tmp_path: Path, capsys) -> None:
    """``--samples`` scores a file as it is: --n, --seed, --temperature and --which would be ignored."""
    _, samples = _oracle_and_samples(tmp_path)
    for option, value in (("--which", "mle"), ("--n", "5"), ("--seed", "3"), ("--temperature", "0.5")):
        with pytest.raises(SystemExit) as info:
            evaluate.parse_args([str(tmp_path), "--samples", str(samples), option, value])
        err = _one_line(capsys, info, 2)
        assert f"{option}: these choose the run's own samples" in err, err
    args = evaluate.parse_args([str(tmp_path)])
    assert (args.which, args.n, args.seed, args.temperature) == ("method", 2000, 0, 1.0)
