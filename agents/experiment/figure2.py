"""Figure 2 of the paper: NLL-oracle of SeqGAN (or a baseline) beside MLE continued from the same start.

Two panels: the whole run with the end of pretraining marked, and a zoom on what follows pretraining,
where the method's gain lives. One run's rows draw its curves; several runs' rows draw their mean with a
band (:data:`BANDS`). Used for a run's ``nll_oracle.png`` and by ``benchmarks/figure2.py``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.config import METHOD_PHASES
from seqgan_gym._io import atomic_write_png

#: Figure 2's curves after pretraining, by phase: (label, short name for the x axis, colour).
_CURVES: dict[str, tuple[str, str, str]] = {
    "adversarial": ("SeqGAN (adversarial)", "SeqGAN", "tab:red"),
    "pg_bleu": ("PG-BLEU", "PG-BLEU", "tab:green"),
    "scheduled_sampling": ("Scheduled Sampling", "Scheduled Sampling", "tab:purple"),
    "mle_continuation": ("MLE continued (control)", "MLE", "tab:blue"),
}
#: What one epoch of each phase is, for the x axes.
_EPOCH_MEANING = {
    "mle": "one pass over the real set",
    "mle_continuation": "one pass over the real set",
    "adversarial": "one generator update + its D rounds",
    "pg_bleu": "one generator update",
    "scheduled_sampling": "one pass over the real set",
}
#: The curves Figure 2 can draw, and their axis names.
METRIC_NAMES = {"nll_oracle": "NLL-oracle", "nll_test": "NLL-test"}
#: The bands :func:`plot_figure2` draws around the mean of several runs.
BANDS = {"minmax": "min–max", "sd": "±1 sd"}


def figure2_title(configs: Sequence[Mapping[str, Any]]) -> str:
    """Figure 2's title for runs of these configurations (``config.json`` dicts): the oracle and the seeds."""
    oracles = sorted(
        {
            f"oracle {Path(c['oracle_file']).name}" if c.get("oracle_file") else f"seeded oracle {c.get('oracle_seed')}"
            for c in configs
            if not c.get("corpus")
        }
    )
    seeds = sorted({c["seed"] for c in configs if "seed" in c})
    seed_text = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}" if seeds else ""
    corpora = sorted({Path(c["corpus"]).name for c in configs if c.get("corpus")})
    if corpora:  # text runs: no oracle, NLL-test on the corpus' test sentences
        return f"NLL-test on {', '.join(corpora)}" + (f" ({seed_text})" if seed_text else "")
    details = "; ".join([*oracles, *([seed_text] if seed_text else [])])
    return "NLL-oracle on the synthetic benchmark" + (f" ({details})" if details else "")


def plot_nll_oracle(
    rows: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    title: str = "",
    method: str | None = None,
    metric: str = "nll_oracle",
) -> Path:
    """Figure 2 of the paper from one run's metrics rows (:func:`plot_figure2` of that run alone).

    :param method: whose curve to draw after pretraining (``None``: the method the rows hold).
    :param metric: the column drawn, ``"nll_oracle"`` or (a text run) ``"nll_test"``.
    """
    return plot_figure2([rows], path, title=title, method=method, metric=metric)


def plot_figure2(
    runs: Sequence[Sequence[Mapping[str, Any]]],
    path: str | os.PathLike[str],
    title: str = "",
    method: str | None = None,
    band: str = "minmax",
    metric: str = "nll_oracle",
) -> Path:
    """Figure 2 from the metrics rows of one or more runs, written atomically as PNG.

    Left: the whole run, MLE pretraining continuing into the curves after it, the end of pretraining
    marked. Right: what follows pretraining, the method's curve beside the MLE-continuation control,
    both from the pretrained value (epoch 0), the y axis fitted to them. With several runs each curve is
    the mean over the runs that reach its epoch, in a band (``band``: ``"minmax"`` or ``"sd"``, one
    standard deviation); runs evaluated at other epochs are interpolated linearly onto the union of them.

    :param runs: each run's rows (``phase``, ``epoch``, ``step``, ``nll_oracle`` where evaluated).
    :param method: whose curve to draw after pretraining (``None``: every method the runs hold).
    :param metric: the column drawn: ``"nll_oracle"`` or ``"nll_test"`` (text runs have no oracle).
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {list(BANDS)}, got {band!r}")
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {list(METRIC_NAMES)}, got {metric!r}")
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    wanted = METHOD_PHASES.values() if method is None else [METHOD_PHASES[method]]
    present = {r["phase"] for rows in runs for r in rows}
    after = [p for p in _CURVES if p in present and (p in wanted or p == "mle_continuation")]
    ends = sorted({e for e in (_end_of_pretraining(rows) for rows in runs) if e is not None})
    several = len(runs) > 1

    fig, (whole, zoom) = plt.subplots(1, 2, figsize=(12, 4.8), dpi=120)
    _draw(whole, [_points(rows, ("mle",), "step", metric) for rows in runs], "0.35", "MLE pretraining", band)
    low, high = math.inf, -math.inf
    for phase in after:
        label, _, color = _CURVES[phase]
        _draw(whole, [_points(rows, (phase,), "step", metric, start=True) for rows in runs], color, None, band)
        y_low, y_high = _draw(
            zoom, [_points(rows, (phase,), "epoch", metric, start=True) for rows in runs], color, label, band
        )
        if math.isfinite(y_low):  # the curve's last value, beside its end
            x, y = zoom.get_lines()[-1].get_xdata()[-1], zoom.get_lines()[-1].get_ydata()[-1]
            zoom.annotate(
                f"{y:.3f}", (x, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8, color=color
            )
        low, high = min(low, y_low), max(high, y_high)
    for end in ends:
        whole.axvline(end, color="0.5", linestyle=":", linewidth=1.2)
        whole.annotate(
            f"end of pretraining\n(epoch {end})",
            (end, 1),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -6),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=9,
            color="0.3",
        )
    if math.isfinite(low):
        pad = max(0.08 * (high - low), 0.005)
        zoom.set_ylim(low - pad, high + pad)
        right = max(x for rows in runs for x, _ in _points(rows, tuple(after), "step", metric, start=True))
        corner, width, height = (ends[0], low - pad), right - ends[0], high - low + 2 * pad
        label = "the right panel's window"
        whole.add_patch(Rectangle(corner, width, height, fill=False, linestyle="--", color="0.55", label=label))
        starts = [
            p[1] for rows in runs if (p := _pretrained(rows, metric)) and _points(rows, tuple(after), "epoch", metric)
        ]
        zoom.plot([0], [float(np.mean(starts))], "o", color="0.2", markersize=4, label="pretrained G_θ (epoch 0)")
    else:
        message = "no evaluated epoch after pretraining yet"
        zoom.text(0.5, 0.5, message, ha="center", va="center", transform=zoom.transAxes)

    whole.set_title("all epochs")
    whole.set_xlabel(
        f"epoch (MLE pretraining: {_EPOCH_MEANING['mle']} each)"
        + ("\nafter it, epochs as on the right" if after else "")
    )
    whole.set_ylabel(f"{METRIC_NAMES[metric]} (nats per token)")
    zoom.set_title("after pretraining, zoomed")
    meanings = [f"{_CURVES[p][1]}: {_EPOCH_MEANING[p]}" for p in after]
    zoom.set_xlabel("epoch after pretraining\n" + ("; " if len(meanings) <= 2 else "\n").join(meanings))
    for ax in (whole, zoom):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9)
    runs_text = f"lines: mean of {len(runs)} runs; shaded: {BANDS[band]} across them" if several else ""
    fig.suptitle((title or f"{METRIC_NAMES[metric]} of the run") + (f"\n{runs_text}" if runs_text else ""))
    fig.tight_layout()
    return atomic_write_png(path, fig)


def _end_of_pretraining(rows: Sequence[Mapping[str, Any]]) -> int | None:
    """The step of the last MLE pretraining epoch, once a later phase has begun (else ``None``)."""
    mle = [r["step"] for r in rows if r["phase"] == "mle"]
    return mle[-1] if mle and any(r["phase"] != "mle" for r in rows) else None


def _pretrained(rows: Sequence[Mapping[str, Any]], metric: str) -> tuple[int, float] | None:
    """``(step, metric)`` of the last evaluated MLE pretraining epoch, if any."""
    mle = [(r["step"], r[metric]) for r in rows if r["phase"] == "mle" and r.get(metric) is not None]
    return mle[-1] if mle else None


def _points(
    rows: Sequence[Mapping[str, Any]], phases: tuple[str, ...], x: str, metric: str, start: bool = False
) -> list[tuple[float, float]]:
    """``(x, metric)`` of the evaluated rows of ``phases``; ``start``: from the pretrained value at epoch 0."""
    points = [(r[x], r[metric]) for r in rows if r["phase"] in phases and r.get(metric) is not None]
    pretrained = _pretrained(rows, metric)
    if start and points and pretrained is not None:  # every curve after pretraining starts from its last value
        points.insert(0, (pretrained[0] if x == "step" else 0, pretrained[1]))
    return points


def _draw(
    ax: Any, curves: list[list[tuple[float, float]]], color: str, label: str | None, band: str
) -> tuple[float, float]:
    """The mean of ``curves`` (and their band, if several) on ``ax``; the lowest and highest y drawn."""
    curves = [c for c in curves if c]
    if not curves:
        return math.inf, -math.inf
    xs = np.array(sorted({x for curve in curves for x, _ in curve}), dtype=float)
    values = np.full((len(curves), len(xs)), np.nan)
    for i, curve in enumerate(curves):
        cx, cy = (np.array(v, dtype=float) for v in zip(*curve, strict=True))
        inside = (xs >= cx[0]) & (xs <= cx[-1])  # a run that stopped early adds nothing beyond its last epoch
        values[i, inside] = np.interp(xs[inside], cx, cy)
    count = np.sum(~np.isnan(values), axis=0)
    mean = np.nanmean(values, axis=0)
    if band == "sd":
        spread = np.sqrt(np.nansum((values - mean) ** 2, axis=0) / np.maximum(count - 1, 1))
        lower, upper = mean - spread, mean + spread
    else:
        lower, upper = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    ax.plot(xs, mean, color=color, label=label, linewidth=1.6)
    if len(curves) > 1:
        ax.fill_between(xs, lower, upper, color=color, alpha=0.2, linewidth=0)
    return float(lower.min()), float(upper.max())
