"""The main job's command line: bad options exit with status 2 and one line naming the option."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from agents.cli import train_oracle


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--preset", "slow"], "--preset"),
        (["--seed", "-1"], "--seed"),
        (["--seed", "x"], "--seed"),
        (["--device", "gpu0"], "--device"),
        (["--checkpoint-every", "nan"], "--checkpoint-every"),
        (["--oracle-file", "/nonexistent/target_params.pkl"], "--oracle-file"),
        (["--mle-epochs", "-3"], "--mle-epochs"),
        (["--n-eval", "0"], "--n-eval"),
        (["--resume", "/nonexistent/run"], "--resume"),
        (["--resume", ".", "--seed", "1"], "--seed"),
    ],
)
def test_bad_options_exit_2_with_one_line(argv: list[str], option: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_oracle.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err, err


def test_presets_and_overrides_make_the_config() -> None:
    config = train_oracle.make_config(train_oracle.parse_args(["--preset", "fast", "--seed", "4", "--mle-epochs", "7"]))
    assert (config.seed, config.mle_epochs, config.adversarial_epochs) == (4, 7, 50)
    assert train_oracle.make_config(train_oracle.parse_args([])).mle_epochs == 10  # quick by default


def test_help_explains_every_option(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        train_oracle.parse_args(["--help"])
    text = capsys.readouterr().out
    for option in ("--preset", "--out", "--oracle-file", "--seed", "--device", "--resume", "paper", "fast", "quick"):
        assert option in text


def test_config_file_sets_fields_and_options_override_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        '{"vocab_size": 12, "seq_len": 6, "discriminator_filter_sizes": [1, 2], '
        '"discriminator_num_filters": [4, 4], "seed": 3}'
    )
    config = train_oracle.make_config(train_oracle.parse_args(["--config", str(path), "--mle-epochs", "2"]))
    assert (config.vocab_size, config.seq_len, config.seed, config.mle_epochs) == (12, 6, 3, 2)
    assert config.discriminator_filter_sizes == (1, 2) and config.adversarial_epochs == 12  # the rest: quick's
    assert train_oracle.make_config(train_oracle.parse_args(["--config", str(path), "--seed", "0"])).seed == 0
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"")
    for argv, option in (
        (["--resume", str(tmp_path / "run"), "--config", str(path)], "--config"),
        (["--config", str(tmp_path)], "--config"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            train_oracle.parse_args(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1 and option in err, err
    path.write_text('{"vocab_size": 1}')
    with pytest.raises(SystemExit):
        train_oracle.parse_args(["--config", str(path)])
    assert "vocab_size must be in [2, inf]" in capsys.readouterr().err


def _tiny_config_file(tmp_path: Path) -> Path:
    """A run of a few seconds: 1 MLE epoch, no control, 1 D round, 1 adversarial epoch, at toy sizes."""
    from helpers import tiny_config

    config = tiny_config(mle_epochs=1, mle_continuation_epochs=0, d_pretrain_rounds=1, adversarial_epochs=1)
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config.to_dict()))
    return path


def test_size_flags_override_the_preset_and_the_config_file(tmp_path: Path) -> None:
    argv = ["--vocab-size", "30", "--seq-len", "7", "--n-samples", "100"]
    config = train_oracle.make_config(train_oracle.parse_args(argv))
    assert (config.vocab_size, config.seq_len, config.n_eval, config.mle_epochs) == (30, 7, 100, 10)  # quick's rest
    assert train_oracle.make_config(train_oracle.parse_args(["--n-eval", "100"])).n_eval == 100  # the older name
    path = _tiny_config_file(tmp_path)
    config = train_oracle.make_config(train_oracle.parse_args(["--config", str(path), "--seq-len", "5"]))
    assert (config.vocab_size, config.seq_len, config.n_eval) == (12, 5, 48)  # the file's, but T from the flag
    args = train_oracle.parse_args(["--seq-len", "8"])
    assert "changed by --seq-len" in train_oracle.describe_config(args, train_oracle.make_config(args))


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--vocab-size", "1"], "--vocab-size"),
        (["--vocab-size", "10000001"], "--vocab-size"),
        (["--vocab-size", "many"], "--vocab-size"),
        (["--seq-len", "0"], "--seq-len"),
        (["--seq-len", "10001"], "--seq-len"),
        (["--n-samples", "0"], "--n-samples"),
        (["--n-samples", "1e3"], "--n-samples"),
        (["--resume", ".", "--seq-len", "5"], "--seq-len"),
    ],
)
def test_bad_sizes_exit_2_with_one_line(argv: list[str], option: str, capsys: pytest.CaptureFixture) -> None:
    test_bad_options_exit_2_with_one_line(argv, option, capsys)


def test_sizes_that_do_not_fit_the_config_file_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:  # the file's discriminator has filters of width 3
        train_oracle.parse_args(["--config", str(_tiny_config_file(tmp_path)), "--seq-len", "2"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert "--seq-len" in err and "discriminator_filter_sizes" in err, err


def test_the_oracle_file_sets_the_vocabulary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from seqgan_gym.oracle import OracleLSTM

    oracle = tmp_path / "target_params.pkl"
    oracle.write_bytes(
        pickle.dumps(OracleLSTM.seeded(3, vocab_size=12, seq_len=6, emb_dim=8, hidden_dim=8).paper_arrays())
    )
    config = train_oracle.make_config(train_oracle.parse_args(["--oracle-file", str(oracle), "--seq-len", "9"]))
    assert (config.vocab_size, config.seq_len) == (12, 9)  # V: the file's (not quick's 5,000); T: any
    assert train_oracle.make_config(train_oracle.parse_args(["--oracle-file", str(oracle), "--vocab-size", "12"]))
    other = tmp_path / "other.json"
    other.write_text('{"vocab_size": 40}')
    for argv, option in (
        (["--oracle-file", str(oracle), "--vocab-size", "13"], "--vocab-size sets vocab_size=13"),
        (["--oracle-file", str(oracle), "--config", str(other)], "--config sets vocab_size=40"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            train_oracle.parse_args(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1, err
        assert option in err and "has a vocabulary of 12" in err, err
    # The flag wins over the file's field: no conflict when the flag agrees with the oracle.
    argv = ["--oracle-file", str(oracle), "--config", str(other), "--vocab-size", "12"]
    assert train_oracle.make_config(train_oracle.parse_args(argv)).vocab_size == 12


def test_a_tiny_run_with_sizes_by_flag(tmp_path: Path) -> None:
    out = tmp_path / "run"
    sizes = ["--vocab-size", "9", "--seq-len", "5", "--n-samples", "20"]
    argv = ["--config", str(_tiny_config_file(tmp_path)), *sizes, "--out", str(out), "--no-progress"]
    summary = train_oracle.main([*argv, "--checkpoint-every", "0"])
    assert (summary["config"]["vocab_size"], summary["config"]["seq_len"], summary["config"]["n_eval"]) == (9, 5, 20)
    lines = (out / "samples.txt").read_text().splitlines()
    assert len(lines) == 20 and all(len(line.split()) == 5 for line in lines)
    assert all(0 <= int(token) < 9 for line in lines for token in line.split())
    assert json.loads((out / "config.json").read_text())["seq_len"] == 5


def test_a_text_runs_config_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = tmp_path / "text.json"
    text.write_text(json.dumps({**json.loads(_tiny_config_file(tmp_path).read_text()), "corpus": "coco"}))
    with pytest.raises(SystemExit) as exit_info:
        train_oracle.parse_args(["--config", str(text)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert "--config names a corpus ('coco')" in err and "train-text" in err, err
