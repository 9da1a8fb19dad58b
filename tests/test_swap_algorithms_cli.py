"""The algorithm-swap example's command line: bad options exit with status 2 and one line naming the option."""

from __future__ import annotations

import warnings
from pathlib import Path

import oracle_demo
import pytest
import swap_algorithms

from seqgan_gym.metrics import FrontierPoint


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--algorithms", "DQN"], "--algorithms"),
        (["--algorithms", ","], "--algorithms"),
        (["--updates", "0"], "--updates"),
        (["--n-rollouts", "x"], "--n-rollouts"),
        (["--mle-epochs", "-1"], "--mle-epochs"),
        (["--eval-every", "0"], "--eval-every"),
        (["--kl-coef", "-1"], "--kl-coef"),
        (["--oracle-file", __file__], "--oracle-file"),  # exists, but is no oracle: refused before training
        (["--oracle-file", "no-such-file.pkl"], "--oracle-file"),
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
    defaults = swap_algorithms.parse_args([])
    assert defaults.algorithms == list(swap_algorithms.DEFAULT_ALGORITHMS) and defaults.kl_coef == 0.1
    assert not any(name.endswith("-KL") for name in defaults.algorithms)  # asked for by name
    kl = swap_algorithms.parse_args(["--algorithms", "PPO,PPO-KL", "--kl-coef", "0.05"])
    assert (kl.algorithms, kl.kl_coef) == (["PPO", "PPO-KL"], 0.05)
    for bad in ("-1", "nan", "inf", "x"):
        with pytest.raises(SystemExit):
            swap_algorithms.parse_args(["--kl-coef", bad])


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
    monkeypatch.setattr(swap_algorithms, "start_frontier", lambda *args: [FrontierPoint(1.0, 9.0, 9.0)])
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
    monkeypatch.setattr(swap_algorithms, "start_frontier", lambda *args: [FrontierPoint(1.0, 9.0, 9.0)])
    monkeypatch.setattr(swap_algorithms, "run_one", fake_run)
    monkeypatch.setattr(swap_algorithms.OracleLSTM, "seeded", staticmethod(lambda seed: None))
    out = tmp_path / "swap"
    argv = ["--out", str(out), "--algorithms", "PPO", "--updates", "12", "--eval-every", "2", "--seeds", "0", "1"]
    assert swap_algorithms.main(argv) == 0
    table = (out / "results.md").read_text()
    assert "| NLL-oracle, start | after 10 updates | NLL-oracle, end |" in table
    assert "| 9.000 ± 0.000 | 8.550 ± 0.071 | 8.700 ± 0.000 |" in table  # seeds at 8.5 and 8.6 after 10
    command = "`python examples/swap_algorithms.py --seeds 0 1 --algorithms PPO --updates 12 --eval-every 2`"
    assert command in table  # the run's own command
    (out / "results.md").unlink()
    assert swap_algorithms.main([*argv, "--resume"]) == 0
    assert (out / "results.md").read_text() == table


def test_the_beyond_frontier_objective_scores_sharpening_as_no_gain() -> None:
    """A trial that only lowers τ scores 0 on beyond_frontier, though its NLL-oracle fell; a real gain is < 0."""
    import argparse

    import torch
    import tune_algorithms

    from seqgan_gym import LSTMGenerator, OracleLSTM
    from seqgan_gym.metrics import FrontierPoint, nll_oracle, nll_test

    points = [FrontierPoint(0.8, 8.0, 9.5), FrontierPoint(0.9, 8.5, 9.0), FrontierPoint(1.0, 9.0, 8.8)]
    assert tune_algorithms.frontier_objective(points, 8.25, 9.25) == pytest.approx(0.0)  # on it (interpolated)
    assert tune_algorithms.frontier_objective(points, 8.0, 9.25) == pytest.approx(-0.25)  # beyond it
    assert tune_algorithms.frontier_objective(points, 9.1, 8.5) == pytest.approx(
        0.1
    )  # better coverage: vs the best point

    oracle = OracleLSTM.seeded(seed=1, vocab_size=12, seq_len=6, emb_dim=8, hidden_dim=8)
    start = LSTMGenerator(12, 6, emb_dim=8, hidden_dim=8)
    start.load_state_dict(oracle.state_dict())  # a start that fits the oracle: lowering τ lowers NLL-oracle
    args = argparse.Namespace(n_eval=400)
    frontier = swap_algorithms.start_frontier(args, oracle, start, 0)
    assert [p.temperature for p in frontier] == list(swap_algorithms.FRONTIER_TEMPERATURES)
    # The start sharpened to τ = 0.85: the trial's evaluation sets are the frontier's (seeds 0 and 1).
    samples = start.sample(400, generator=torch.Generator().manual_seed(0), temperature=0.85)
    held_out = oracle.sample(400, generator=torch.Generator().manual_seed(1))
    sharpened = (nll_oracle(oracle, samples), nll_test(start, held_out, temperature=0.85))
    at_one = next(p for p in frontier if p.temperature == 1.0)
    assert sharpened[0] < at_one.quality  # NLL-oracle alone calls it a gain ...
    assert tune_algorithms.frontier_objective(frontier, *sharpened) == pytest.approx(0.0, abs=1e-9)  # ... this does not
    assert tune_algorithms.parse_args(["--objective", "beyond_frontier"]).objective == "beyond_frontier"


def test_tuning_on_the_beyond_frontier_objective_writes_its_table(tmp_path: Path, monkeypatch) -> None:
    """main() end to end with a stand-in for the training: each trial's objective is read off the frontier."""
    import types

    import tune_algorithms

    from seqgan_gym import Discriminator, LSTMGenerator, OracleLSTM

    oracle = OracleLSTM.seeded(seed=1, vocab_size=12, seq_len=6, emb_dim=8, hidden_dim=8)
    start = LSTMGenerator(12, 6, emb_dim=8, hidden_dim=8)
    start.load_state_dict(oracle.state_dict())
    monkeypatch.setattr(tune_algorithms, "OracleLSTM", types.SimpleNamespace(seeded=lambda seed: oracle))
    monkeypatch.setattr(tune_algorithms, "shared_start", lambda args, o: (start, Discriminator(12, 6)))
    outcomes = iter([(3.0, 2.6), (2.9, 2.55), (3.1, 2.5)])  # (NLL-oracle, NLL-test) of the trials in turn

    def fake_run(name: str, args: object, o: object, pair: object, seed: int, **params: object) -> dict:
        nll, test = next(outcomes)
        return {"curve": [(0, 3.3), (1, nll)], "nll_test": [2.5, test], "wall_s": 0.0}

    monkeypatch.setattr(tune_algorithms, "run_one", fake_run)
    out = tmp_path / "tuning"
    argv = ["--algorithms", "PPO", "--trials", "2", "--n-eval", "200", "--objective", "beyond_frontier"]
    assert tune_algorithms.main([*argv, "--out", str(out)]) == 0
    frontier = swap_algorithms.start_frontier(tune_algorithms.parse_args(["--n-eval", "200"]), oracle, start, 0)
    rows = [line.split(",") for line in (out / "trials.csv").read_text().splitlines()[1:]]
    rows = [r for r in rows if r[2] == "COMPLETE"]  # (the third enqueued candidate waits)
    assert [r[0] for r in rows] == ["PPO", "PPO"]
    for row, (nll, test) in zip(rows, [(2.9, 2.55), (3.1, 2.5)], strict=True):
        assert float(row[3]) == pytest.approx(tune_algorithms.frontier_objective(frontier, nll, test))
        assert (float(row[4]), float(row[5])) == (nll, test)
    table = (out / "tuning.md").read_text()
    assert "Objective: NLL-oracle minus the start's temperature frontier" in table
    assert "--objective beyond_frontier" in table
    reinforce = tune_algorithms.frontier_objective(frontier, 3.0, 2.6)  # the first trial: REINFORCE's reference
    assert f"settings on the same budget: {reinforce:.3f}" in table


def test_a_run_keeps_its_last_evaluation_s_samples_and_the_kl_variant_trains_otherwise(tmp_path: Path) -> None:
    import argparse

    import torch

    from seqgan_gym import OracleLSTM
    from seqgan_gym.metrics import nll_oracle

    oracle = OracleLSTM.seeded(seed=1, vocab_size=12, seq_len=4, emb_dim=8, hidden_dim=8)
    args = argparse.Namespace(
        out=tmp_path, mle_epochs=1, d_pretrain_rounds=1, updates=2, eval_every=1, n_rollouts=2, n_negatives=16,
        n_eval=64, kl_coef=0.5,
    )  # fmt: skip
    generator, discriminator, _ = swap_algorithms.pretrain(args, oracle, 0)
    runs = {
        name: swap_algorithms.run_one(name, args, oracle, (generator, discriminator), 0) for name in ("PPO", "PPO-KL")
    }
    for name, run in runs.items():
        lines = (tmp_path / "samples" / f"{name}_seed0.txt").read_text().splitlines()
        samples = torch.tensor([[int(token) for token in line.split()] for line in lines])
        assert samples.shape == (64, 4)
        assert nll_oracle(oracle, samples) == pytest.approx(run["curve"][-1][1], abs=1e-6)  # the scored samples
    assert runs["PPO"]["curve"][0] == runs["PPO-KL"]["curve"][0]  # the same start ...
    assert runs["PPO"]["curve"][-1] != runs["PPO-KL"]["curve"][-1]  # ... other rewards, another G
    frontier = swap_algorithms.start_frontier(args, oracle, generator, 0)
    at_one = next(p for p in frontier if p.temperature == 1.0)
    assert at_one.quality == pytest.approx(runs["PPO"]["curve"][0][1], abs=1e-6)  # the runs' own evaluation sets
    assert at_one.coverage == pytest.approx(runs["PPO"]["nll_test"][0], abs=1e-6)
