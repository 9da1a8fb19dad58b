"""The algorithm-swap example's command line: bad options exit with status 2 and one line naming the option."""

from __future__ import annotations

import warnings
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


def test_seeds_and_the_settings_each_algorithm_runs_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.zoo import algorithm_kwargs
    from seqgan_gym.sb3 import make_sb3_vec_env

    monkeypatch.chdir(tmp_path)
    assert swap_algorithms.parse_args(["--seeds", "0", "1", "2"]).seeds == [0, 1, 2]
    env = make_sb3_vec_env(n_envs=2, n_rollouts=None, vocab_size=12, seq_len=4, n_real=16)
    ppo = swap_algorithms.build("PPO", env, seed=0)
    tuned = algorithm_kwargs("ppo")
    assert (ppo.n_epochs, ppo.learning_rate, ppo.normalize_advantage) == (
        tuned["n_epochs"], tuned["learning_rate"], tuned["normalize_advantage"],
    )  # fmt: skip
    assert ppo.n_steps == 4 and ppo.gamma == 0.0  # one episode per sub-env per update, returns Q_t
    defaults = swap_algorithms.build("PPO-defaults", env, seed=0)
    assert (defaults.n_epochs, defaults.learning_rate, defaults.batch_size) == (10, 3e-4, 320)
    assert swap_algorithms.build("REINFORCE-terminal", env, seed=0).gamma == 1.0
    assert swap_algorithms.build("A2C", env, seed=0, learning_rate=0.5).learning_rate == 0.5  # a trial's change


def test_tuning_candidates_lie_in_the_search_spaces() -> None:
    import optuna
    import tune_algorithms

    from agents.zoo import SAMPLERS

    for name, candidates in tune_algorithms.CANDIDATES.items():
        for params in candidates:
            trial = optuna.trial.FixedTrial(params)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # optuna warns of a value outside a distribution
                SAMPLERS[name.lower()](trial, 1, 64, {})
            assert trial.params == params, name  # every value one the sampler could have drawn
    assert tune_algorithms.parse_args(["--trials", "3"]).eval_every == 30  # evaluated at the start and the end


def test_resume_runs_only_the_pairs_a_cut_short_run_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A run stopped after its first algorithm continues with --resume: done pairs are kept, the rest run once."""
    ran: list[tuple[str, int]] = []
    cut = [True]  # the first A2C run is cut short

    def fake_run(name: str, args: object, oracle: object, start: object, seed: int) -> dict:
        if name == "A2C" and cut:
            cut.clear()
            ran.append(("cut", seed))
            raise KeyboardInterrupt
        ran.append((name, seed))
        nll = 9.0 - 0.1 * len(ran)
        return {"name": name, "seed": seed, "curve": [[0, 9.0], [2, nll]], "nll_test": [9.0, 9.1], "wall_s": 1.0}

    clock = [0.0]

    def fake_pretrain(args: object, oracle: object, seed: int) -> tuple[None, None, None]:
        clock[0] += 100 + 10 * seed  # seed 0 takes 100 s, seed 1 110 s
        return None, None, None

    monkeypatch.setattr(swap_algorithms, "pretrain", fake_pretrain)
    monkeypatch.setattr(swap_algorithms.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(swap_algorithms, "run_one", fake_run)
    monkeypatch.setattr(swap_algorithms.OracleLSTM, "seeded", staticmethod(lambda seed: None))
    out = tmp_path / "swap"
    argv = ["--out", str(out), "--algorithms", "PPO,A2C", "--updates", "2", "--eval-every", "2", "--seeds", "0", "1"]
    with pytest.raises(KeyboardInterrupt):
        swap_algorithms.main(argv)
    assert ran == [("PPO", 0), ("cut", 0)]
    with pytest.raises(SystemExit):  # without --resume the folder is not empty
        swap_algorithms.parse_args(argv)
    assert "--resume" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # other settings than the run it would continue
        swap_algorithms.parse_args([*argv, "--resume", "--n-eval", "10"])
    assert "--n-eval 2000" in capsys.readouterr().err
    assert swap_algorithms.main([*argv, "--resume"]) == 0
    assert ran[2:] == [("A2C", 0), ("PPO", 1), ("A2C", 1)]
    table = (out / "results.md").read_text()
    assert "seeds 0 1" in table and table.count("| 2 |") == 2  # every algorithm over both seeds
    assert "(105 s a seed)" in table  # seed 0 pretrained twice (cut short, resumed) counts once
    assert (out / "curves.csv").read_text().count("\n") == 1 + 4 * 2


def test_table_shows_the_tuning_budget_and_a_finished_run_redraws_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NLL-oracle after the tuning's 10 updates sits beside the end; --resume with nothing left rewrites the table."""

    def fake_run(name: str, args: object, oracle: object, start: object, seed: int) -> dict:
        curve = [[0, 9.0], [10, 8.5 + seed / 10], [12, 8.7]]
        return {"name": name, "seed": seed, "curve": curve, "nll_test": [9.0, 9.1], "wall_s": 1.0}

    monkeypatch.setattr(swap_algorithms, "pretrain", lambda args, oracle, seed: (None, None, None))
    monkeypatch.setattr(swap_algorithms, "run_one", fake_run)
    monkeypatch.setattr(swap_algorithms.OracleLSTM, "seeded", staticmethod(lambda seed: None))
    out = tmp_path / "swap"
    argv = ["--out", str(out), "--algorithms", "PPO", "--updates", "12", "--eval-every", "2", "--seeds", "0", "1"]
    assert swap_algorithms.main(argv) == 0
    table = (out / "results.md").read_text()
    assert "| NLL-oracle, start | after 10 updates | NLL-oracle, end |" in table
    assert "| 9.000 ± 0.000 | 8.550 ± 0.071 | 8.700 ± 0.000 |" in table  # seeds at 8.5 and 8.6 after 10
    assert "`python examples/swap_algorithms.py --seeds 0 1 --algorithms PPO`" in table  # the run's own command
    (out / "results.md").unlink()
    assert swap_algorithms.main([*argv, "--resume"]) == 0
    assert (out / "results.md").read_text() == table
