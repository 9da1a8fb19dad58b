"""The algorithm-swap example's command line: bad options exit with status 2 and one line naming the option."""

from __future__ import annotations

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


def test_algorithm_subsets_parse() -> None:
    args = swap_algorithms.parse_args(["--algorithms", "PPO, REINFORCE"])
    assert args.algorithms == ["PPO", "REINFORCE"]
    assert swap_algorithms.parse_args([]).algorithms == list(swap_algorithms.ALGORITHMS)
