"""The main job's command line: bad options exit with status 2 and one line naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest
import train_oracle


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
