"""Tune PPO, A2C and TRPO with Optuna for the swap table: NLL-oracle after its generator updates.

Every trial starts from the same pretrained G_θ and D (seed 0 of ``examples/swap_algorithms.py``),
trains for ``--updates`` generator updates with the swap table's D work, and is scored by NLL-oracle
on ``--n-eval`` samples at the end: the paper's metric, not the episode reward, which moves as D
trains. The search spaces are :mod:`agents.zoo`'s samplers (those of ``python -m agents.zoo ...
-optimize``); each study starts with the candidates of :data:`CANDIDATES` (the library defaults
first). REINFORCE with the paper's settings runs once on the same budget: the gain to reach.

The studies live in ``--out/studies.db`` (SQLite): run the command again with the same ``--out`` and
it adds trials up to ``--trials`` per algorithm, where it stopped.

    python examples/tune_algorithms.py --algorithms PPO A2C TRPO --trials 16 --out results/tuning

``--objective beyond_frontier`` scores a trial on the quality-diversity plane instead: its final
NLL-oracle minus the start's temperature frontier at its final NLL-test (the start G_θ sampled at
τ in ``FRONTIER_TEMPERATURES``, read where the trial's NLL-test is). A trial that only sharpens G
scores about 0 there however low its NLL-oracle; below 0 is a gain beyond what lowering τ buys.

Writes to --out: tuning.md (best settings per algorithm against REINFORCE) and trials.csv.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import optuna
import torch
from swap_algorithms import pretrain, run_one, start_frontier

import seqgan_gym  # noqa: F401  (registers SeqGAN-Oracle-v0)
from agents.cli.common import OneLineParser, int_at_least
from agents.zoo import SAMPLERS
from seqgan_gym import Discriminator, LSTMGenerator, OracleLSTM
from seqgan_gym._io import atomic_write, atomic_write_text
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.metrics import FrontierPoint, beyond_frontier, nll_oracle
from seqgan_gym.oracle import DEFAULT_ORACLE_SEED

SEED = 0
TUNABLE = ("PPO", "A2C", "TRPO", "REINFORCE")
#: What a trial minimises: its final NLL-oracle, or that minus the start's frontier at its NLL-test.
OBJECTIVES = ("nll_oracle", "beyond_frontier")
#: The first trials of every study, in its sampler's terms: the library defaults, then the
#: paper's policy gradient as the algorithm can express it (Adam at 0.01, one step on the whole
#: batch, raw Q_t as the advantage: no normalisation, a critic that never moves), then a variant.
CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "PPO": [
        {"learning_rate": 3e-4, "max_grad_norm": 0.5, "n_epochs": 10, "batch_size": 320, "clip_range": 0.2,
         "ent_coef": 0.0, "normalize_advantage": True, "vf_coef": 0.5},
        {"learning_rate": 0.01, "max_grad_norm": 5.0, "n_epochs": 1, "batch_size": 1280, "clip_range": 0.2,
         "ent_coef": 0.0, "normalize_advantage": False, "vf_coef": 0.0},
        {"learning_rate": 3e-3, "max_grad_norm": 5.0, "n_epochs": 4, "batch_size": 320, "clip_range": 0.2,
         "ent_coef": 0.0, "normalize_advantage": False, "vf_coef": 0.5},
    ],
    "A2C": [
        {"use_rms_prop": True, "optimizer_eps": 1e-5, "learning_rate": 7e-4, "max_grad_norm": 0.5, "ent_coef": 0.0,
         "normalize_advantage": False, "vf_coef": 0.5},
        {"use_rms_prop": False, "optimizer_eps": 1e-8, "learning_rate": 0.01, "max_grad_norm": 5.0, "ent_coef": 0.0,
         "normalize_advantage": False, "vf_coef": 0.0},
        {"use_rms_prop": False, "optimizer_eps": 1e-5, "learning_rate": 0.01, "max_grad_norm": 5.0, "ent_coef": 0.0,
         "normalize_advantage": False, "vf_coef": 0.0},
    ],
    "TRPO": [
        {"learning_rate": 1e-3, "target_kl": 0.01, "batch_size": 128, "normalize_advantage": True,
         "n_critic_updates": 10, "cg_damping": 0.1},
        {"learning_rate": 1e-4, "target_kl": 0.1, "batch_size": 1280, "normalize_advantage": False,
         "n_critic_updates": 5, "cg_damping": 0.1},
        {"learning_rate": 1e-3, "target_kl": 0.05, "batch_size": 1280, "normalize_advantage": False,
         "n_critic_updates": 10, "cg_damping": 0.1},
        {"learning_rate": 1e-7, "target_kl": 0.1, "batch_size": 1280, "normalize_advantage": False,
         "n_critic_updates": 5, "cg_damping": 0.1},
        {"learning_rate": 1e-7, "target_kl": 0.3, "batch_size": 1280, "normalize_advantage": False,
         "n_critic_updates": 5, "cg_damping": 0.1},
        {"learning_rate": 1e-7, "target_kl": 0.1, "batch_size": 1280, "normalize_advantage": False,
         "n_critic_updates": 5, "cg_damping": 0.001},
        {"learning_rate": 1e-7, "target_kl": 0.3, "batch_size": 1280, "normalize_advantage": False,
         "n_critic_updates": 5, "cg_damping": 0.001},
    ],
    "REINFORCE": [{"learning_rate": 0.01, "max_grad_norm": 5.0, "baseline": None}],
}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/tuning"), help="the studies' folder (resumed)")
    parser.add_argument("--algorithms", nargs="+", choices=TUNABLE, default=["PPO", "A2C", "TRPO"])
    parser.add_argument("--trials", type=int_at_least(1), default=16, help="trials per algorithm, in all")
    parser.add_argument("--updates", type=int_at_least(1), default=30, help="generator updates per trial")
    parser.add_argument("--n-eval", type=int_at_least(1), default=2000, help="samples of the final NLL-oracle")
    parser.add_argument(
        "--objective", choices=OBJECTIVES, default="nll_oracle", help="what a trial minimises (see the docstring)"
    )
    args = parser.parse_args(argv)
    # The swap table's schedule (examples/swap_algorithms.py defaults), evaluated at the start and the end.
    args.mle_epochs, args.d_pretrain_rounds, args.n_rollouts, args.n_negatives = 20, 5, 16, 1000
    args.eval_every = args.updates
    return args


def shared_start(args: argparse.Namespace, oracle: OracleLSTM) -> tuple[LSTMGenerator, Discriminator]:
    """Seed 0's pretrained G_θ and D, kept in ``--out/start.pt`` (weights only) for every later call."""
    path = args.out / "start.pt"
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=True)
        generator = LSTMGenerator(oracle.vocab_size, oracle.seq_len)
        generator.load_state_dict(state["generator"])
        torch.manual_seed(0)
        discriminator = Discriminator(oracle.vocab_size, oracle.seq_len)
        discriminator.load_state_dict(state["discriminator"])
        return generator, discriminator
    generator, discriminator, _ = pretrain(args, oracle, SEED)
    with atomic_write(path, "wb") as f:
        torch.save({"generator": generator.state_dict(), "discriminator": discriminator.state_dict()}, f)
    return generator, discriminator


def frontier_objective(frontier: list[FrontierPoint], quality: float, coverage: float) -> float:
    """What beyond_frontier minimises: ``quality`` minus the frontier at ``coverage`` (< 0: beyond it).

    A coverage better than the frontier's best is read against that best point (the frontier held flat).
    """
    beyond = beyond_frontier(frontier, quality, coverage)
    return -beyond if beyond is not None else quality - min(frontier, key=lambda p: p.coverage).quality


def tune(
    name: str,
    args: argparse.Namespace,
    oracle: OracleLSTM,
    start: tuple,
    storage: str,
    frontier: list[FrontierPoint] | None = None,
) -> optuna.Study:
    """Run ``name``'s study up to ``--trials`` finished trials (``frontier``: the beyond_frontier objective's)."""
    suffix = "" if args.objective == "nll_oracle" else f"-{args.objective}"  # a study per objective
    study = optuna.create_study(
        study_name=f"{name}-{args.updates}{suffix}", storage=storage, load_if_exists=True, direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=SEED, n_startup_trials=5),
    )  # fmt: skip
    for candidate in CANDIDATES[name]:  # each once, also when the list grew after the study began
        study.enqueue_trial(candidate, skip_if_exists=True)
    sample = SAMPLERS[name.lower()]

    def objective(trial: optuna.Trial) -> float:
        params = sample(trial, 1, 64, {})
        try:
            result = run_one(name, args, oracle, start, SEED, **params)
        except (FloatingPointError, ValueError, RuntimeError) as err:  # a diverging setting
            print(f"  trial {trial.number}: {type(err).__name__}: {err}", flush=True)
            raise optuna.TrialPruned() from err
        nll, test = result["curve"][-1][1], result["nll_test"][-1]
        trial.set_user_attr("wall_s", result["wall_s"])
        trial.set_user_attr("nll_oracle", nll)
        trial.set_user_attr("nll_test", test)
        if not (math.isfinite(nll) and math.isfinite(test)):
            return float("inf")
        return nll if frontier is None else frontier_objective(frontier, nll, test)

    finished = [t for t in study.trials if t.state.is_finished()]
    remaining = args.trials - len(finished)
    if remaining > 0:
        study.optimize(objective, n_trials=remaining)
    return study


def write_results(args: argparse.Namespace, studies: dict[str, optuna.Study], reference: float, start: float) -> None:
    """tuning.md and trials.csv; ``reference`` is REINFORCE's objective, ``start`` the start G_θ's."""
    what = {
        "nll_oracle": "NLL-oracle",
        "beyond_frontier": "NLL-oracle minus the start's temperature frontier at the trial's NLL-test (< 0: beyond it)",
    }[args.objective]
    lines = [
        f"Objective: {what}, after {args.updates} generator updates from seed 0's pretrained start "
        f"(its value {start:.3f}), swap-table schedule, {args.n_eval} samples. REINFORCE with the paper's "
        f"settings on the same budget: {reference:.3f} (gain {start - reference:.3f}). "
        f"`python examples/tune_algorithms.py --trials {args.trials} --updates {args.updates} "
        f"--objective {args.objective}`",
        "",
        "| algorithm | trials | defaults | best | gain | best's NLL-oracle, NLL-test | best settings |",
        "|---|---|---|---|---|---|---|",
    ]
    csv = ["algorithm,trial,state,objective,nll_oracle,nll_test,params"]
    for name, study in studies.items():
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = study.best_trial
        settings = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
        nan = float("nan")  # a trial from before these were recorded
        measured = f"{best.user_attrs.get('nll_oracle', nan):.3f}, {best.user_attrs.get('nll_test', nan):.3f}"
        lines.append(
            f"| {name} | {len(done)} | {done[0].value:.3f} | {best.value:.3f} | {start - best.value:.3f} | "
            f"{measured} | {settings} |"
        )
        for t in study.trials:
            value = "" if t.value is None else t.value
            nll, test = t.user_attrs.get("nll_oracle", ""), t.user_attrs.get("nll_test", "")
            csv.append(f'{name},{t.number},{t.state.name},{value},{nll},{test},"{t.params}"')
    atomic_write_text(args.out / "tuning.md", "\n".join(lines) + "\n")
    atomic_write_text(args.out / "trials.csv", "\n".join(csv) + "\n")
    print("\n".join(lines[2:]))


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    oracle = OracleLSTM.seeded(seed=DEFAULT_ORACLE_SEED)
    start = shared_start(args, oracle)
    storage = f"sqlite:///{args.out.resolve() / 'studies.db'}"
    frontier = start_frontier(args, oracle, start[0], SEED) if args.objective == "beyond_frontier" else None
    # REINFORCE with the paper's settings (its study's first trial) is the gain to reach.
    once = argparse.Namespace(**{**vars(args), "trials": 1})
    reference = tune("REINFORCE", once, oracle, start, storage, frontier).trials[0]
    # The start G_θ's value, on the samples every trial's curve starts with (beyond_frontier: its τ = 1 point).
    start_nll = nll_oracle(oracle, start[0].sample(args.n_eval, generator=torch.Generator().manual_seed(SEED)))
    if frontier is not None:
        at_one = next(p for p in frontier if p.temperature == 1.0)
        start_value = frontier_objective(frontier, at_one.quality, at_one.coverage)
    else:
        start_value = start_nll
    studies = {name: tune(name, args, oracle, start, storage, frontier) for name in args.algorithms}
    # The table shows every algorithm tuned in this folder for these updates, not only this call's.
    suffix = "" if args.objective == "nll_oracle" else f"-{args.objective}"
    names = set(optuna.get_all_study_names(storage))
    for name in TUNABLE[:3]:
        if name not in studies and f"{name}-{args.updates}{suffix}" in names:
            studies[name] = optuna.load_study(study_name=f"{name}-{args.updates}{suffix}", storage=storage)
    studies = {name: studies[name] for name in TUNABLE if name in studies}
    write_results(args, studies, reference.value, start_value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
