"""Many trainer runs at once: seeds × methods × any ``SeqGANConfig`` field, as Ray Tune trials.

A :class:`Sweep` is a grid over a base configuration (a preset with changes): every combination of
``seeds``, ``methods`` and the values of ``grid`` is one trial, and every trial is one
:class:`~agents.experiment.seqgan.SeqGANTrainer` run (:func:`seqgan_trial`). With ``search="optuna"``,
Optuna picks ``num_samples`` points of the ``search`` ranges instead of a grid; ``scheduler="asha"``
stops the worst trials early (ASHA). :func:`run_sweep` runs it on a Ray started inside this
process (no ``address``: as many trials at once as the cores allow, ``cpus_per_trial`` torch
threads each) or on a running Ray cluster (``address="auto"`` or ``"ray://HOST:PORT"``).

Each trial reports to Tune after every evaluation: ``nll_oracle`` and ``nll_test`` of G_θ (the latest
evaluation), those of the MLE control (``nll_oracle_mle``), the unit it reached and the node it runs
on, with the run folder as the checkpoint (the trainer's own bit-exact checkpoint inside). A sweep
stopped midway continues with :func:`run_sweep` ``(resume=True)`` (Tune's restore): every trial
starts again from its last reported checkpoint, and ends with the numbers of an uninterrupted sweep.
The table of a finished sweep is :mod:`agents.sweeps.seed_table`.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from agents.experiment.config import METHOD_PHASES, PRESETS, SeqGANConfig

#: Fields a sweep sets per trial itself: not for ``changes``, ``grid`` or ``search``.
TRIAL_FIELDS = ("seed", "method")
#: Search algorithms and early-stopping schedulers :func:`run_sweep` knows.
SEARCHES = ("grid", "optuna")
SCHEDULERS = ("none", "asha")
#: Where the sweep's settings are kept in its folder (``resume`` reads them back).
SWEEP_FILE = "sweep.json"
#: Tune's experiment folder inside the sweep's folder.
TRIALS_DIR = "trials"
#: The integer fields of :class:`SeqGANConfig` (a search samples them as integers).
INTEGER_FIELDS = frozenset(f.name for f in dataclasses.fields(SeqGANConfig) if f.type in ("int", "int | None"))
#: The metric Optuna and ASHA minimise.
METRIC = "nll_oracle"


@dataclasses.dataclass(frozen=True)
class Sweep:
    """What a sweep runs; checked when made, so a bad field fails before Ray starts.

    :param base: the configuration every trial starts from (a preset with changes).
    :param seeds: the runs' seeds (``SeqGANConfig.seed``), at least one.
    :param methods: ``SeqGANConfig.method`` values: ``"seqgan"``, ``"pg_bleu"``, ``"scheduled_sampling"``.
        Baselines skip the MLE control (``mle_continuation_epochs=0``): the SeqGAN trials train it.
    :param grid: field -> values; every combination is a trial (with every seed and method).
    :param search: field -> ``(low, high, log)``, sampled by Optuna (``search_alg="optuna"``).
    :param search_alg: ``"grid"`` or ``"optuna"``. :param num_samples: Optuna's trials.
    :param scheduler: ``"none"`` or ``"asha"`` (early stopping on ``nll_oracle``).
    :param cpus_per_trial: CPUs Ray reserves per trial, and its torch threads.
    """

    base: SeqGANConfig
    seeds: tuple[int, ...]
    methods: tuple[str, ...] = ("seqgan",)
    grid: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    search: dict[str, tuple[float, float, bool]] = dataclasses.field(default_factory=dict)
    search_alg: str = "grid"
    num_samples: int = 1
    scheduler: str = "none"
    cpus_per_trial: int = 1

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        for name, values in (("seeds", self.seeds), ("methods", self.methods)):
            if len(set(values)) != len(values):  # a repeated one would run twice and count once
                raise ValueError(f"{name} must not repeat, got {list(values)}")
        unknown = sorted(set(self.methods) - set(METHOD_PHASES))
        if not self.methods or unknown:
            raise ValueError(f"methods must be some of {list(METHOD_PHASES)}, got {list(self.methods)}")
        if self.search_alg not in SEARCHES:
            raise ValueError(f"search_alg must be one of {list(SEARCHES)}, got {self.search_alg!r}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {list(SCHEDULERS)}, got {self.scheduler!r}")
        for name, value in (("num_samples", self.num_samples), ("cpus_per_trial", self.cpus_per_trial)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        check_fields("grid", self.grid)
        check_fields("search", self.search)
        if (self.search_alg == "optuna") != bool(self.search):
            raise ValueError("search ranges (--tune) need search_alg='optuna' (--search optuna), and it needs them")
        if self.search_alg == "optuna" and (len(self.seeds) > 1 or len(self.methods) > 1 or self.grid):
            raise ValueError("an Optuna search runs one seed and one method, without a grid: sweep seeds afterwards")
        for low, high, _ in self.search.values():
            if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and low < high):
                raise ValueError(f"a search range must be LOW < HIGH, got {low!r}, {high!r}")
        for point in self.points():  # every trial's configuration is valid (SeqGANConfig checks its fields)
            self.trial_config(point)

    def points(self) -> list[dict[str, Any]]:
        """Every grid trial's fields (an Optuna search: its one seed and method, ranges at their low ends)."""
        names = [*TRIAL_FIELDS, *self.grid]
        values = [self.seeds, self.methods, *self.grid.values()]
        fixed = {name: low for name, (low, _, _) in self.search.items()}
        return [{**dict(zip(names, combo, strict=True)), **fixed} for combo in itertools.product(*values)]

    def trial_config(self, fields: dict[str, Any]) -> SeqGANConfig:
        """The run of one trial: ``base`` with the trial's fields (a baseline without the MLE control)."""
        fields = {k: (round(v) if k in INTEGER_FIELDS and isinstance(v, float) else v) for k, v in fields.items()}
        if fields.get("method", self.base.method) != "seqgan":
            fields.setdefault("mle_continuation_epochs", 0)
        return dataclasses.replace(self.base, **fields)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["base"] = self.base.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sweep:
        data = dict(data)
        base = {k: tuple(v) if isinstance(v, list) else v for k, v in data.pop("base").items()}
        data["seeds"], data["methods"] = tuple(data["seeds"]), tuple(data["methods"])
        data["grid"] = {k: tuple(v) for k, v in data["grid"].items()}
        data["search"] = {k: tuple(v) for k, v in data["search"].items()}
        return cls(base=SeqGANConfig.from_dict(base), **data)


def check_fields(what: str, fields: dict[str, Any]) -> None:
    """``fields`` name :class:`SeqGANConfig` fields a sweep may vary (not ``seed``/``method``: own options)."""
    allowed = sorted(f.name for f in dataclasses.fields(SeqGANConfig) if f.name not in TRIAL_FIELDS)
    for name, values in fields.items():
        if name in TRIAL_FIELDS:
            raise ValueError(f"{what}: {name!r} is set by the sweep's own option, --{name}s")
        if name not in allowed:
            raise ValueError(f"{what}: unknown SeqGANConfig field {name!r}; allowed: {allowed}")
        if what != "changes" and not values:  # a grid's or a search's values
            raise ValueError(f"{what}: {name!r} needs at least one value")
        if what == "grid" and len(set(map(repr, values))) != len(values):  # a repeat would run twice, count once
            raise ValueError(f"{what}: {name!r} must not repeat a value, got {list(values)}")


def base_config(preset: str, changes: dict[str, Any]) -> SeqGANConfig:
    """Preset ``preset`` with ``changes`` (field -> value), checked by :class:`SeqGANConfig`."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    check_fields("changes", changes)
    return dataclasses.replace(PRESETS[preset], **changes)


def trial_metrics(rows: list[dict[str, Any]], summary: dict[str, Any] | None) -> dict[str, Any]:
    """What a trial reports: G_θ's and the MLE control's latest evaluations; the run's summary once finished.

    Every report has :data:`METRIC` (Optuna and ASHA need it in each): G_θ's latest NLL-oracle, which
    stays the pretrained one while only the MLE control trains.
    """
    metrics: dict[str, Any] = {"phase": rows[-1]["phase"], "epoch": rows[-1]["epoch"]}
    for row in rows:
        prefix = "mle_" if row["phase"] == "mle_continuation" else ""
        for key in ("nll_oracle", "nll_test", "mean_reward"):
            if row.get(key) is not None:
                name = f"{key}_mle" if prefix else key
                metrics[name] = float(row[key])
    metrics["nll_oracle_random"] = rows[0].get("nll_oracle")  # the untrained G_θ: Table 1's Random
    if summary is not None:
        metrics.update({k: v for k, v in summary.items() if isinstance(v, (int, float, str)) or v is None})
        metrics["finished"] = True  # the whole schedule ran (Tune's own "done" also marks trials ASHA stopped)
    return metrics
