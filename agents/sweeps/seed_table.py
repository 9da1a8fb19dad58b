"""Table 1 across seeds: per method, the mean final NLL-oracle with a 95% confidence interval, and Welch's test.

The paper's p-values compare 10,000 samples of one run per method: they measure sampling noise. Here
each seed is one run, and the statistics are across runs: the mean of the seeds' final NLL-oracle, a
95% confidence interval from Student's t (``mean ± t(0.975, n-1) · sd / √n``), and the two-sided
p-value of Welch's t-test (unequal variances) between SeqGAN's seeds and each other method's. The
rows of one SeqGAN trial give four methods: SeqGAN, its MLE control (Figure 2's continued MLE), that
control at the temperature whose NLL-test matches SeqGAN's ("MLE, τ tuned", :mod:`agents.sweeps.table1_runs`)
and Random (the untrained G_θ, the same for every method of a seed). NLL-test (coverage) is tabulated
beside NLL-oracle (quality) where the trials report it.

:func:`method_values` reads a sweep's trial results (:func:`agents.sweeps.ray_sweep.run_sweep`);
:func:`seed_table` computes the statistics; :func:`write_tables` writes ``results.md``,
``trials.csv`` and ``table.json``.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

from agents.sweeps.sweep import TRIAL_FIELDS
from agents.sweeps.sweep_merge import TRIALS_FILE, compact_result
from seqgan_gym._io import atomic_write_json, atomic_write_text
from seqgan_gym.rewards import REWARDS, get_reward

#: The paper's Table 1 (NLL-oracle, one run per method).
PAPER_TABLE1 = {"Random": 10.310, "MLE": 9.038, "Scheduled Sampling": 8.985, "PG-BLEU": 8.946, "SeqGAN": 8.736}
#: Row order, and the trial method and summary key each row is read from (``{m}``: the metric); the
#: adversarial methods of ``seqgan_gym.rewards.REWARDS`` other than SeqGAN come before SeqGAN's own row.
_BASELINE_ROWS: dict[str, tuple[str | None, str]] = {
    "Random": (None, "{m}_random"),
    "MLE": ("seqgan", "{m}_mle_continuation"),
    "MLE, τ tuned": ("seqgan", "{m}_mle_tau"),
    "Scheduled Sampling": ("scheduled_sampling", "{m}_scheduled_sampling"),
    "PG-BLEU": ("pg_bleu", "{m}_pg_bleu"),
}


def method_rows() -> dict[str, tuple[str | None, str]]:
    """Table 1's rows, in order: row label -> (the trial method it is read from, its key)."""
    successors = {get_reward(name).label: (name, f"{{m}}_{name}") for name in REWARDS if name != "seqgan"}
    return {**_BASELINE_ROWS, **successors, "SeqGAN": ("seqgan", "{m}_seqgan")}


#: The columns of ``trials.csv`` after the trial's fields.
TRIAL_COLUMNS = (
    "nll_oracle_random",
    "nll_oracle",
    "nll_oracle_mle",
    "nll_oracle_mle_tau",
    "mle_tau",
    "nll_test",
    "nll_test_mle_continuation",
    "nll_test_mle_tau",
    "training_seconds",
    "node",
)


def group_of(result: dict[str, Any], grid: list[str]) -> str:
    """The label of a trial's grid point (``"n_rollouts=8, d_steps=2"``; ``""`` without a grid)."""
    return ", ".join(f"{name}={result[name]}" for name in grid)


def method_values(
    results: list[dict[str, Any]], grid: list[str], metric: str = "nll_oracle"
) -> dict[str, dict[str, dict[int, float]]]:
    """``{grid point: {method row: {seed: final metric}}}`` from the trials that ran their whole schedule.

    Trials an early-stopping scheduler ended are left out (they have no final value).
    """
    table: dict[str, dict[str, dict[int, float]]] = {}
    for result in results:
        if not result.get("finished"):
            continue
        rows = table.setdefault(group_of(result, grid), {})
        for row, (method, key) in method_rows().items():
            value = result.get(key.format(m=metric))
            if value is not None and (method is None or method == result["method"]):
                rows.setdefault(row, {})[int(result["seed"])] = float(value)
    return table


def confidence_interval(values: list[float], level: float = 0.95) -> float | None:
    """Half-width of the ``level`` confidence interval of the mean (Student's t); ``None`` for one value."""
    from scipy import stats  # Student's t distribution: scipy's, not ours

    if len(values) < 2:
        return None
    return float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values)))


def welch_p_value(a: list[float], b: list[float]) -> float | None:
    """Two-sided p-value of Welch's t-test between two groups of runs; ``None`` under two runs a side."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2 or (statistics.stdev(a) == 0 and statistics.stdev(b) == 0):
        return None
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def seed_table(values: dict[str, dict[int, float]]) -> list[dict[str, Any]]:
    """One row per method of ``values`` (``{method row: {seed: value}}``): n, mean, sd, 95% CI, p vs SeqGAN."""
    seqgan = list(values.get("SeqGAN", {}).values())
    rows = []
    for name in method_rows():
        if name not in values:
            continue
        runs = [values[name][seed] for seed in sorted(values[name])]
        rows.append(
            {
                "method": name,
                "seeds": sorted(values[name]),
                "n": len(runs),
                "mean": statistics.mean(runs),
                "sd": statistics.stdev(runs) if len(runs) > 1 else None,
                "ci95": confidence_interval(runs),
                "p_vs_seqgan": None if name == "SeqGAN" or not seqgan else welch_p_value(seqgan, runs),
                "paper": PAPER_TABLE1.get(name),
            }
        )
    return rows


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p_value(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def _mean_ci(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    return f"{row['mean']:.3f}" + ("" if row["ci95"] is None else f" ± {row['ci95']:.3f}")


def markdown(rows: list[dict[str, Any]], test_rows: list[dict[str, Any]] | None = None) -> str:
    """A table of :func:`seed_table`'s rows; with ``test_rows`` (the same of NLL-test), an NLL-test column."""
    tests = {row["method"]: row for row in test_rows or []}
    test_head, test_rule = (" NLL-test, mean ± 95% CI |", "---|") if tests else ("", "")
    lines = [
        "| method | seeds | NLL-oracle, mean ± 95% CI | sd | p, SeqGAN vs method (Welch, across seeds) |"
        f"{test_head} paper |",
        f"|---|---|---|---|---|{test_rule}---|",
    ]
    for row in rows:
        test = f" {_mean_ci(tests.get(row['method']))} |" if tests else ""
        lines.append(
            f"| {row['method']} | {row['n']} | {_mean_ci(row)} | {_number(row['sd'])} "
            f"| {_p_value(row['p_vs_seqgan'])} |{test} {_number(row['paper'])} |"
        )
    return "\n".join(lines)


def ranking(results: list[dict[str, Any]], fields: list[str]) -> str:
    """A search's trials, best first: their fields, the method's final NLL-oracle, the MLE control's."""
    lines = [
        "| rank | " + " | ".join(fields) + " | NLL-oracle | MLE control | schedule |",
        "|---" * (len(fields) + 4) + "|",
    ]
    ordered = sorted(results, key=lambda r: (not r.get("finished"), r.get("nll_oracle", math.inf)))
    for rank, result in enumerate(ordered, start=1):
        values = " | ".join(str(_cell(result.get(f))) for f in fields)
        state = "whole" if result.get("finished") else f"stopped at unit {result.get('unit')} of {result.get('units')}"
        lines.append(
            f"| {rank} | {values} | {_number(result.get('nll_oracle'))} | {_number(result.get('nll_oracle_mle'))} "
            f"| {state} |"
        )
    return "\n".join(lines)


def write_tables(
    out: Path, results: list[dict[str, Any]], grid: list[str], header: str, search: bool = False
) -> dict[str, Any]:
    """``results.md``, ``trials.csv``, ``table.json`` and ``trials.json`` (every trial's final result) in ``out``.

    A grid: one table per grid point (:func:`seed_table`). A search (``search``): its trials ranked
    (:func:`ranking`), ``grid`` naming the searched fields.
    """
    tables = {} if search else {group: seed_table(values) for group, values in method_values(results, grid).items()}
    test_tables = {
        group: seed_table(values) for group, values in method_values(results, grid, "nll_test").items() if not search
    }
    stopped = sum(not r.get("finished") for r in results)
    if stopped and not search:
        header += f" {stopped} trials stopped early (ASHA) are left out."
    parts = [header, ranking(results, grid)] if search else [header]
    for group, rows in sorted(tables.items()):
        parts += [f"### {group}" if group else "", markdown(rows, test_tables.get(group))]
    atomic_write_text(out / "results.md", "\n\n".join(p for p in parts if p) + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = [*TRIAL_FIELDS, *grid]
    writer.writerow([*fields, *TRIAL_COLUMNS, "finished"])
    ordered = sorted(results, key=lambda r: [str(r[f]) for f in fields])
    for result in ordered:
        cells = [*(result[f] for f in fields), *(_cell(result.get(c)) for c in TRIAL_COLUMNS)]
        writer.writerow([*cells, bool(result.get("finished"))])
    atomic_write_text(out / "trials.csv", buffer.getvalue())
    atomic_write_json(out / TRIALS_FILE, [compact_result(r) for r in ordered])
    data = {"header": header, "grid": grid, "tables": tables, "nll_test_tables": test_tables}
    atomic_write_json(out / "table.json", data)
    return data


def _cell(value: Any) -> Any:
    return f"{value:.6f}" if isinstance(value, float) else ("" if value is None else value)
