"""Table 1's methods on the quality-diversity plane: each row against its seed's MLE temperature frontier.

A lower NLL-oracle is a gain only where it is not bought with coverage: sampling the MLE control at
τ < 1 lowers NLL-oracle too, with no training. Each SeqGAN trial keeps the control's frontier (its
NLL-oracle and NLL-test at :data:`~agents.sweeps.table1_runs.FRONTIER_TEMPERATURES`, in
``mle_seed<k>/summary.json``), so every row of the seed (a folder ``<row>_seed<k>``) is read against it:
the frontier's NLL-oracle at the row's own NLL-test, and the row's distance below it
(``beyond``: positive when the row lies beyond the frontier, better than sharpening the control).
Each row also counts the distinct sequences of its ``samples.txt``: NLL-test does not see a generator that
piles much of its mass onto a few likely sequences (such a collapse lies far "beyond" the frontier), the
count does.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from agents.sweeps.table1_runs import ROWS
from seqgan_gym.metrics import FrontierPoint, beyond_frontier, frontier_at


def distinct_samples(samples_file: Path) -> tuple[int, int] | None:
    """(distinct sequences, samples) of a ``samples.txt`` (one sequence a line); ``None`` if it is absent or empty."""
    lines = samples_file.read_text().splitlines() if samples_file.is_file() else []
    return (len(set(lines)), len(lines)) if lines else None


def frontier_rows(folder: Path) -> list[dict[str, Any]]:
    """Every row folder of ``folder`` with a frontier for its seed: row, seed, NLL-oracle, NLL-test, frontier, beyond.

    ``frontier`` and ``beyond`` are ``None`` where the frontier's sharpening branch does not reach the
    row's NLL-test (a row that covers the held-out set better than the control at any τ of the sweep);
    ``distinct`` is :func:`distinct_samples` of the row's ``samples.txt``.
    """
    frontiers: dict[int, list[FrontierPoint]] = {}
    for path in sorted(folder.glob("mle_seed*/summary.json")):
        summary = json.loads(path.read_text())
        points = [FrontierPoint(p["temperature"], p["nll_oracle"], p["nll_test"]) for p in summary.get("frontier", [])]
        if points:
            frontiers[int(summary["seed"])] = points
    rows = []
    for row in ROWS:
        for path in sorted(folder.glob(f"{row}_seed*/summary.json")):
            summary = json.loads(path.read_text())
            seed = int(summary["seed"])
            if seed not in frontiers or summary.get("nll_oracle") is None or summary.get("row", row) != row:
                continue
            at = frontier_at(frontiers[seed], summary["nll_test"])
            frontier = None if at is None else at[0]
            beyond = beyond_frontier(frontiers[seed], summary["nll_oracle"], summary["nll_test"])
            rows.append(
                {
                    "row": row,
                    "seed": seed,
                    "nll_oracle": summary["nll_oracle"],
                    "nll_test": summary["nll_test"],
                    "frontier": frontier,
                    "frontier_tau": None if at is None else at[1],
                    "beyond": beyond,
                    "distinct": distinct_samples(path.parent / "samples.txt"),
                }
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """One line per row and seed, then each row's mean distance beyond the frontier over its seeds.

    A row with many repeated samples is read by its distinct count first: its place "beyond" the frontier
    is bought by collapse, which NLL-test alone does not show.
    """
    lines = [
        "| row | seed | NLL-oracle | NLL-test | MLE frontier at that NLL-test (τ) | beyond the frontier "
        "| distinct samples |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        at = "not reached" if r["frontier"] is None else f"{r['frontier']:.3f} ({r['frontier_tau']:.2f})"
        beyond = "-" if r["beyond"] is None else f"{r['beyond']:+.3f}"
        distinct = "-" if r.get("distinct") is None else f"{r['distinct'][0]:,} of {r['distinct'][1]:,}"
        lines.append(
            f"| {r['row']} | {r['seed']} | {r['nll_oracle']:.3f} | {r['nll_test']:.3f} | {at} | {beyond} | {distinct} |"
        )
    lines += [
        "",
        "| row | seeds | mean beyond the frontier | seeds beyond it | fewest distinct samples |",
        "|---|---|---|---|---|",
    ]
    for row in dict.fromkeys(r["row"] for r in rows):
        of_row = [r for r in rows if r["row"] == row]
        values = [r["beyond"] for r in of_row if r["beyond"] is not None]
        mean = f"{statistics.mean(values):+.3f}" if values else "-"
        ahead = sum(v > 0 for v in values)
        counts = [r["distinct"] for r in of_row if r.get("distinct") is not None]
        fewest = "-" if not counts else "{:,} of {:,}".format(*min(counts, key=lambda c: c[0] / c[1]))
        lines.append(f"| {row} | {len(of_row)} | {mean} | {ahead} of {len(values)} | {fewest} |")
    return "\n".join(lines) + "\n"
