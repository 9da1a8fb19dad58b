"""The algorithm-swap example's command line: bad options exit with status 2 and one line naming the option."""

from __future__ import annotations

from pathlib import Path

import oracle_demo
import pytest
import swap_algorithms


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--algorithms", "DQN"], "--algorithms"),
        (["--algorithms", ","], "--algorithms"),
        (["--updates", "0"], "--updates"),
        (["--n-rollouts", "x"], "--n-rollouts"),
        (["--mle-epochs", "-1"], "--mle-epochs"),
        (["--eval-every", "0"], "--eval-every"),
    ],
)
def test_bad_options_exit_2_with_one_line(argv: list[str], option: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        swap_algorithms.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err, err


def test_algorithm_subsets_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default --out, results/swap_algorithms, must be new or empty
    args = swap_algorithms.parse_args(["--algorithms", "PPO, REINFORCE"])
    assert args.algorithms == ["PPO", "REINFORCE"]
    assert swap_algorithms.parse_args([]).algorithms == list(swap_algorithms.ALGORITHMS)


@pytest.mark.parametrize("script", [swap_algorithms, oracle_demo])
def test_results_are_never_written_over(
    script: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """--out must be new or empty, the default folder included: a second run does not replace the first's results."""
    precious = tmp_path / "earlier"
    precious.mkdir()
    (precious / "results.md").write_text("a table someone needs\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert script.parse_args(["--out", str(empty)]).out == empty  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    default = tmp_path / script.parse_args([]).out  # type: ignore[attr-defined]  # new: accepted
    default.mkdir(parents=True)
    (default / "summary.json").write_text("{}")
    for argv in (["--out", str(precious)], []):
        with pytest.raises(SystemExit) as exit_info:
            script.parse_args(argv)  # type: ignore[attr-defined]
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--out" in err and "not empty" in err, err
    assert (precious / "results.md").read_text() == "a table someone needs\n"
