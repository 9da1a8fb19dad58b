"""Swap the RL algorithm: REINFORCE, PPO, A2C, TRPO and the terminal-reward baseline, one SeqGAN loop.

Every algorithm starts from the same pretrained G_θ (MLE) and D (discriminator pretraining) on the
default seeded oracle, trains the generator for the same number of generator updates (64
sequences each) with the same discriminator work after each (``DiscriminatorTrainingCallback``),
the rollout-policy sync (``RolloutPolicySync``) and NLL-oracle evaluations (``OracleNLLCallback``).
Changing the algorithm is one line: ``PPO(GeneratorPolicy, env, gamma=0.0)`` instead of
``REINFORCE("LSTMGeneratorPolicy", env)``. PPO, A2C and TRPO run with the tuned settings that RL
Zoo reads too (``agents/hyperparams/*.yml``, found by ``examples/tune_algorithms.py``) and with their
libraries' defaults. The terminal-reward baseline is REINFORCE on the bare env (no Monte Carlo
rewards, γ = 1).

    python examples/swap_algorithms.py --seeds 0 1 2 --out docs/results/swap_algorithms

``--oracle-file`` runs it on the authors' oracle (LantaoYu/SeqGAN's ``save/target_params_py3.pkl``).
``PPO-KL``, ``A2C-KL`` and ``TRPO-KL`` (asked for by name in ``--algorithms``) add a KL penalty to the
pretrained start, weight ``--kl-coef`` (``seqgan_gym.rewards.kl_penalty``). Each run is also read
against its seed's start on the quality-diversity plane: how far its end lies beyond the start G_θ's
temperature frontier (sampled on the runs' own evaluation sets), the gain that lowering τ cannot buy.

Writes to --out: results.md (the table), nll_oracle.png (the curves), curves.csv and summary.json,
after every algorithm, and samples/<algorithm>_seed<k>.txt, the samples of each run's last evaluation.
``--resume`` continues a cut-short run from its summary.json: the pairs of
seed and algorithm it holds are kept, the others run (each pair's result does not depend on which
ran before it in the process: every run starts from its seed's pretrained pair and seeds).
Measured times and results: docs/results/README.md.
TRPO needs sb3-contrib (``pip install -e .[contrib]``; the dev set-up has it).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger

import seqgan_gym  # noqa: F401  (registers SeqGAN-Oracle-v0)
from agents import REINFORCE, GeneratorPolicy, mle_pretrain, pretrain_discriminator
from agents.callbacks import DiscriminatorTrainingCallback, OracleNLLCallback, RolloutPolicySync
from agents.cli.common import (
    OneLineParser,
    existing_file,
    folder_contents,
    int_at_least,
    non_negative_number,
    output_dir,
)
from agents.cli.common import seed as seed_type
from agents.sweeps.table1_runs import FRONTIER_TEMPERATURES
from agents.zoo import algorithm_kwargs
from seqgan_gym import Discriminator, LSTMGenerator, OracleLSTM
from seqgan_gym._io import atomic_write_json, atomic_write_png, atomic_write_text
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.metrics import FrontierPoint, beyond_frontier, nll_oracle, nll_test
from seqgan_gym.oracle import DEFAULT_ORACLE_SEED, OracleLoadError
from seqgan_gym.sb3 import SB3VecEnv, make_sb3_vec_env

N_ENVS = 64  # sequences per generator update (paper: 64)


def _trpo_class() -> type[BaseAlgorithm]:
    try:
        from sb3_contrib import TRPO
    except ImportError:
        raise SystemExit("TRPO needs sb3-contrib: pip install -e .[contrib]") from None
    return TRPO


def build(name: str, env: SB3VecEnv, seed: int, **changes: Any) -> BaseAlgorithm:
    """Algorithm ``name`` of :data:`ALGORITHMS` on ``env``: its settings, updated by ``changes``."""
    seq_len = env.get_attr("seq_len")[0]
    algo = name.split("-")[0]
    if name.endswith("-defaults"):  # the library's own settings; one update = one episode per sub-env
        settings = {"n_steps": seq_len, "gamma": 0.0, **({"batch_size": 320} if algo == "PPO" else {})}
    else:  # the tuned settings RL Zoo reads too (agents/hyperparams/<algo>.yml)
        settings = algorithm_kwargs(algo.lower())
        settings.update({k: seq_len for k in ("n_steps",) if k in settings})
    settings.update(changes)
    if algo == "REINFORCE":
        gamma = {"gamma": 1.0} if name == "REINFORCE-terminal" else {}
        return REINFORCE("LSTMGeneratorPolicy", env, seed=seed, **{**settings, **gamma})
    cls = {"PPO": PPO, "A2C": A2C}.get(algo) or _trpo_class()
    return cls(GeneratorPolicy, env, seed=seed, **settings)


#: name -> (Monte Carlo rewards?, what it is). One generator update = one episode of each of the
#: 64 sub-envs (n_steps = T), for every algorithm.
ALGORITHMS: dict[str, tuple[bool, str]] = {
    "REINFORCE": (True, "the paper's loss, gamma 0"),
    "PPO": (True, "tuned (agents/hyperparams/ppo.yml)"),
    "A2C": (True, "tuned (agents/hyperparams/a2c.yml)"),
    "TRPO": (True, "tuned (agents/hyperparams/trpo.yml)"),
    "PPO-defaults": (True, "SB3 defaults, gamma 0"),
    "A2C-defaults": (True, "SB3 defaults, gamma 0"),
    "TRPO-defaults": (True, "sb3-contrib defaults, gamma 0"),
    "REINFORCE-terminal": (False, "bare env: D(Y) at the end only, gamma 1"),
    "PPO-KL": (True, "tuned, KL penalty to the start (--kl-coef)"),
    "A2C-KL": (True, "tuned, KL penalty to the start (--kl-coef)"),
    "TRPO-KL": (True, "tuned, KL penalty to the start (--kl-coef)"),
}
#: The algorithms a run without ``--algorithms`` trains (the KL variants are asked for by name).
DEFAULT_ALGORITHMS = tuple(name for name in ALGORITHMS if not name.endswith("-KL"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=output_dir, default="results/swap_algorithms", help="a new or empty output folder"
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out (same settings)")
    parser.add_argument(
        "--algorithms", default=",".join(DEFAULT_ALGORITHMS), help=f"comma-separated, of {', '.join(ALGORITHMS)}"
    )
    parser.add_argument("--oracle-file", type=existing_file, default=None, help="the authors' target_params_py3.pkl")
    parser.add_argument("--kl-coef", type=non_negative_number, default=0.1, help="the -KL variants' KL penalty weight")
    parser.add_argument("--mle-epochs", type=int_at_least(0), default=20, help="MLE pretraining epochs")
    parser.add_argument("--d-pretrain-rounds", type=int_at_least(0), default=5, help="D pretraining rounds")
    parser.add_argument("--updates", type=int_at_least(1), default=30, help="generator updates per algorithm")
    parser.add_argument("--n-rollouts", type=int_at_least(1), default=16, help="Monte Carlo completions N")
    parser.add_argument("--n-negatives", type=int_at_least(1), default=1000, help="D negatives per update")
    parser.add_argument("--eval-every", type=int_at_least(1), default=5, help="updates between evaluations")
    parser.add_argument("--n-eval", type=int_at_least(1), default=2000, help="samples per NLL-oracle")
    parser.add_argument("--seeds", type=seed_type, nargs="+", default=[0], help="seeds, each a pretraining and a run")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.algorithms.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALGORITHMS]
    if unknown or not names:
        parser.error(f"--algorithms must name some of {list(ALGORITHMS)}, got {args.algorithms!r}")
    args.algorithms = names
    args.oracle = None  # the authors' oracle, loaded now: a bad file is one line before any training
    if args.oracle_file is not None:
        try:
            args.oracle = OracleLSTM.from_paper_file(args.oracle_file)
        except OracleLoadError as err:
            parser.error(f"argument --oracle-file: {err}")
    args.done, args.earlier_pretrain_s = [], {}
    if args.resume:
        args.done = _earlier_results(parser, args)
    elif folder_contents(args.out):
        parser.error(f"argument --out: {str(args.out)!r} is not empty: choose a new or empty folder, or --resume")
    return args


#: What a resumed run must share with the run it continues (the rest may differ: seeds, algorithms).
_SAME_SETTINGS = (
    "mle_epochs", "d_pretrain_rounds", "updates", "n_rollouts", "n_negatives", "eval_every", "n_eval", "oracle_file",
    "kl_coef",
)  # fmt: skip
#: The values of settings added later, for the summary.json of a run made before them.
_ADDED_SETTINGS = {"oracle_file": None, "kl_coef": 0.1}


def _earlier_results(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The results in ``--out/summary.json`` of a run with the same settings (exits with one line if none)."""
    path = args.out / "summary.json"
    try:
        earlier = json.loads(path.read_text())
        settings, results = earlier["args"], earlier["results"]
        settings = {**_ADDED_SETTINGS, **settings}
        changed = [k for k in _SAME_SETTINGS if settings[k] != getattr(args, k)]
        done = [r for r in results if r["name"] in ALGORITHMS and isinstance(r["seed"], int) and r["curve"]]
        # Seconds of each seed's latest pretraining (a total, in older files: not carried over).
        if isinstance(earlier["pretrain_s"], dict):
            args.earlier_pretrain_s = {str(k): float(v) for k, v in earlier["pretrain_s"].items()}
    except (OSError, ValueError, KeyError, TypeError) as err:
        parser.error(f"argument --resume: no earlier run to continue in {str(path)!r} ({err})")
    if changed:
        shown = ", ".join(f"--{k.replace('_', '-')} {settings[k]}" for k in changed)
        parser.error(f"argument --resume: the run in {str(args.out)!r} has other settings ({shown})")
    return done


def pretrain(
    args: argparse.Namespace, oracle: OracleLSTM, seed: int
) -> tuple[LSTMGenerator, Discriminator, torch.Tensor]:
    """The start every algorithm of ``seed`` shares: G_θ after MLE and D after pretraining."""
    torch.manual_seed(seed)
    env = make_sb3_vec_env(n_envs=N_ENVS, n_rollouts=None, oracle=oracle)
    real = env.get_attr("real_data")[0]
    generator = LSTMGenerator(oracle.vocab_size, oracle.seq_len, generator=torch.Generator().manual_seed(seed))
    discriminator: Discriminator = env.get_attr("discriminator")[0]
    start = time.perf_counter()
    mle_pretrain(generator, real, epochs=args.mle_epochs)
    pretrain_discriminator(
        discriminator,
        generator,
        real,
        rounds=args.d_pretrain_rounds,
        epochs=1,
        n_negatives=args.n_negatives,
        sample_generator=torch.Generator().manual_seed(seed),
    )
    print(
        f"seed {seed}: pretrained G ({args.mle_epochs} MLE epochs) and D ({args.d_pretrain_rounds} rounds) "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return generator, discriminator, real


def start_frontier(
    args: argparse.Namespace, oracle: OracleLSTM, generator: LSTMGenerator, seed: int
) -> list[FrontierPoint]:
    """The start G_θ's (NLL-oracle, NLL-test) at each τ of ``FRONTIER_TEMPERATURES``.

    On the evaluation sets of ``OracleNLLCallback(seed=seed)`` in every run: ``n_eval`` samples drawn
    with ``seed``, ``n_eval`` held-out oracle sequences drawn with ``seed + 1``. A run's end point read
    against it says whether the algorithm did better than lowering the start's temperature.
    """
    held_out = oracle.sample(args.n_eval, generator=torch.Generator().manual_seed(seed + 1))
    points = []
    for tau in FRONTIER_TEMPERATURES:
        samples = generator.sample(args.n_eval, generator=torch.Generator().manual_seed(seed), temperature=tau)
        points.append(FrontierPoint(tau, nll_oracle(oracle, samples), nll_test(generator, held_out, temperature=tau)))
    return points


def run_one(
    name: str,
    args: argparse.Namespace,
    oracle: OracleLSTM,
    start_pair: tuple[LSTMGenerator, Discriminator],
    seed: int,
    **changes: Any,
) -> dict[str, Any]:
    """Train one algorithm from the shared start; its NLL-oracle curve and wall time.

    :param changes: settings that replace the algorithm's own (the tuning's trials).
    """
    generator, discriminator = start_pair
    monte_carlo = ALGORITHMS[name][0]
    torch.manual_seed(seed)
    env = make_sb3_vec_env(
        n_envs=N_ENVS,
        n_rollouts=args.n_rollouts if monte_carlo else None,
        rollout_policy=copy.deepcopy(generator),  # G_β starts as the pretrained G_θ
        kl_coef=args.kl_coef if name.endswith("-KL") else 0.0,
        oracle=oracle,
        discriminator=copy.deepcopy(discriminator),
    )
    model = build(name, env, seed, **changes)
    model.set_logger(Logger(folder=None, output_formats=[]))
    model.policy.generator.load_state_dict(generator.state_dict())
    evaluation = OracleNLLCallback(args.eval_every, n_samples=args.n_eval, n_held_out=args.n_eval, seed=seed)
    callbacks: list[BaseCallback] = [
        DiscriminatorTrainingCallback(d_steps=1, k_epochs=1, n_negatives=args.n_negatives, seed=seed),
        evaluation,
    ]
    if monte_carlo:
        callbacks.insert(0, RolloutPolicySync())
    seq_len = oracle.seq_len
    start = time.perf_counter()
    model.learn(args.updates * N_ENVS * seq_len, callback=callbacks)
    wall = time.perf_counter() - start
    curve = [(steps // (N_ENVS * seq_len), nll) for steps, nll, _ in evaluation.history]
    tests = [test for _, _, test in evaluation.history]
    print(
        f"seed {seed} {name:20s} NLL-oracle {curve[0][1]:.3f} -> {curve[-1][1]:.3f}, NLL-test {tests[0]:.3f} -> "
        f"{tests[-1]:.3f}  [{wall:.0f} s]",
        flush=True,
    )
    # The samples of the last evaluation, drawn again from the same stream, for anyone to re-score.
    final = model.policy.generator.sample(args.n_eval, generator=torch.Generator().manual_seed(seed))
    samples = Path(args.out) / "samples" / f"{name}_seed{seed}.txt"
    samples.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(samples, "".join(" ".join(map(str, row)) + "\n" for row in final.tolist()))
    return {"name": name, "seed": seed, "curve": curve, "nll_test": tests, "wall_s": wall}


def _mean_spread(values: list[float]) -> str:
    """``mean ± sd`` over seeds (just the value for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


#: The tuning's budget (`examples/tune_algorithms.py --updates 10`): the table shows NLL-oracle there too.
TUNING_UPDATES = 10


def _at_update(run: dict[str, Any], update: int) -> float | None:
    """NLL-oracle of ``run`` after ``update`` generator updates, ``None`` if not evaluated there."""
    return next((nll for u, nll in run["curve"] if u == update), None)


def _beyond_reinforce(runs: list[dict[str, Any]], results: list[dict[str, Any]]) -> str:
    """On how many seeds ``runs`` lie farther beyond their start's frontier than REINFORCE's run of that seed."""
    reinforce = {r["seed"]: r.get("beyond") for r in results if r["name"] == "REINFORCE"}
    pairs = [(r["beyond"], reinforce[r["seed"]]) for r in runs if r.get("beyond") is not None
             and reinforce.get(r["seed"]) is not None]  # fmt: skip
    if not pairs or runs[0]["name"] == "REINFORCE":
        return "-"
    return f"{sum(mine > theirs for mine, theirs in pairs)} of {len(pairs)}"


def write_results(args: argparse.Namespace, results: list[dict[str, Any]], pretrain_s: dict[str, float]) -> None:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    # After the tuning's budget as well as at the end, where the curve has that point.
    at_tuning = TUNING_UPDATES < args.updates and all(_at_update(r, TUNING_UPDATES) is not None for r in results)
    tuning_column = f" after {TUNING_UPDATES} updates |" if at_tuning else ""
    lines = [
        f"| algorithm | setting | NLL-oracle, start |{tuning_column} NLL-oracle, end | gain | best "
        "| NLL-test, start → end | beyond the start's frontier | seeds beyond REINFORCE's | wall time (s) | seeds |",
        "|---|---|---|" + ("---|" if at_tuning else "") + "---|---|---|---|---|---|---|---|",
    ]
    names = [name for name in ALGORITHMS if any(r["name"] == name for r in results)]
    for name in names:
        runs = [r for r in results if r["name"] == name]
        starts, ends = [r["curve"][0][1] for r in runs], [r["curve"][-1][1] for r in runs]
        best = [min(v for _, v in r["curve"]) for r in runs]
        gains = [a - b for a, b in zip(starts, ends, strict=True)]
        tests = [statistics.mean(r["nll_test"][i] for r in runs) for i in (0, -1)]
        at_budget = [v for r in runs if (v := _at_update(r, TUNING_UPDATES)) is not None]
        tuning_cell = f" {_mean_spread(at_budget)} |" if at_tuning else ""
        beyond = [r["beyond"] for r in runs if r.get("beyond") is not None]
        beyond_cell = f"{_mean_spread(beyond)} ({len(beyond)} seeds)" if beyond else "-"
        lines.append(
            f"| {name} | {ALGORITHMS[name][1]} | {_mean_spread(starts)} |{tuning_cell} {_mean_spread(ends)} | "
            f"{_mean_spread(gains)} | {_mean_spread(best)} | {tests[0]:.3f} → {tests[1]:.3f} | {beyond_cell} "
            f"| {_beyond_reinforce(runs, results)} | {statistics.mean(r['wall_s'] for r in runs):.0f} | {len(runs)} |"
        )
    seeds = " ".join(str(s) for s in sorted({r["seed"] for r in results}))
    # The command that made it (the options it differs from the defaults in).
    subset = "" if names == list(DEFAULT_ALGORITHMS) else f" --algorithms {','.join(names)}"
    if any(name.endswith("-KL") for name in names):
        subset += f" --kl-coef {args.kl_coef:g}"
    if args.oracle_file is not None:
        subset += f" --oracle-file {Path(args.oracle_file).name}"
    for option, default in (("updates", 30), ("eval_every", 5)):
        if getattr(args, option) != default:
            subset += f" --{option.replace('_', '-')} {getattr(args, option)}"
    oracle = "the authors' oracle" if args.oracle_file is not None else "the seeded oracle"
    header = (
        f"On {oracle}: "
        f"{args.updates} generator updates of {N_ENVS} sequences each, N={args.n_rollouts} Monte Carlo completions, "
        f"1 D epoch on {args.n_negatives} fresh negatives + as many real sequences after each update; shared start "
        f"per seed: {args.mle_epochs} MLE epochs, {args.d_pretrain_rounds} D pretraining rounds"
        + (f" ({statistics.mean(pretrain_s.values()):.0f} s a seed)" if pretrain_s else "")
        + f". NLL-oracle on {args.n_eval} samples every {args.eval_every} updates"
        + (f" (after {TUNING_UPDATES}: the budget the tuned settings were chosen for)" if at_tuning else "")
        + "; gain = start - end; beyond the start's frontier: the start G_θ sampled at lower τ reaches the "
        "run's NLL-test with this much more NLL-oracle (> 0: a gain that sharpening cannot buy; its seeds in "
        "brackets), and on how many seeds an algorithm lies farther beyond it than REINFORCE; samples of each run's "
        "last evaluation in samples/; mean ± "
        f"sd over seeds {seeds}; NLL-test (G's NLL of {args.n_eval} held-out oracle samples: it rises as G drops "
        f"modes) as a mean; the wall time of each algorithm (mean per seed) includes its D training and "
        f"evaluations. `python examples/swap_algorithms.py --seeds {seeds}{subset}`"
    )
    atomic_write_text(out / "results.md", header + "\n\n" + "\n".join(lines) + "\n")
    csv = ["algorithm,seed,update,nll_oracle"] + [
        f'"{r["name"]}",{r["seed"]},{update},{nll:.6f}' for r in results for update, nll in r["curve"]
    ]
    atomic_write_text(out / "curves.csv", "\n".join(csv) + "\n")
    kept = {k: v for k, v in vars(args).items() if k not in ("done", "earlier_pretrain_s", "oracle")}
    arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in kept.items()}
    atomic_write_json(out / "summary.json", {"args": arguments, "results": results, "pretrain_s": pretrain_s})

    import matplotlib

    matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for name in names:
        curves = [r["curve"] for r in results if r["name"] == name]
        updates = [u for u, _ in curves[0]]
        mean = [statistics.mean(c[i][1] for c in curves) for i in range(len(updates))]
        ax.plot(updates, mean, marker="o", markersize=3, label=name, linestyle="--" if "-" in name else "-")
    ax.set_xlabel("generator update (64 sequences)")
    ax.set_ylabel("NLL-oracle (nats per token), mean over seeds")
    ax.set_title("Same SeqGAN loop, different RL algorithms")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write_png(out / "nll_oracle.png", fig)
    print("\n".join(lines))
    print(f"results in {out}/")


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    args = parse_args(argv)
    # The authors' oracle (LantaoYu/SeqGAN), read by parse_args, or the env's default seeded one.
    oracle = args.oracle if args.oracle is not None else OracleLSTM.seeded(seed=DEFAULT_ORACLE_SEED)
    results, pretrain_s = list(args.done), dict(args.earlier_pretrain_s)
    for seed in args.seeds:
        todo = [name for name in args.algorithms if not any(r["name"] == name and r["seed"] == seed for r in results)]
        if not todo:
            continue
        start = time.perf_counter()
        generator, discriminator, _ = pretrain(args, oracle, seed)
        pretrain_s[str(seed)] = time.perf_counter() - start
        frontier = start_frontier(args, oracle, generator, seed)
        for name in todo:
            result = run_one(name, args, oracle, (generator, discriminator), seed)
            result["beyond"] = beyond_frontier(frontier, result["curve"][-1][1], result["nll_test"][-1])
            results.append(result)
            write_results(args, results, pretrain_s)  # what is done so far: --resume continues from it
    if results and len(results) == len(args.done):
        write_results(args, results, pretrain_s)  # a resumed run with nothing left still redraws its table
    return 0


if __name__ == "__main__":
    sys.exit(main())
