"""The records of a run: its metrics rows, and the files and displays they go to.

In a run's ``out_dir``: ``config.json``; ``metrics.csv``, one row per epoch (columns
:data:`METRIC_COLUMNS`), rewritten atomically after every row; ``tensorboard/``, Figure 2's curves,
the losses and, at each evaluation, the first :data:`TEXT_SAMPLES` samples as text (tag
``samples/<phase>``); ``nll_oracle.png``, Figure 2 (:func:`plot_nll_oracle`; ``nll_test.png`` for a
text run); and, once the schedule is done, ``samples.txt`` (the final samples, one sequence of token
ids per line), ``generator.zip`` (``REINFORCE.load``) and ``summary.json`` (:meth:`RunRecords.summary`).
A text run also keeps ``vocabulary.json`` (:mod:`agents.experiment.text_runs`) and ``samples_text.txt`` (the
final samples decoded); its TensorBoard samples are decoded text, and its curves are NLL-test (there
is no oracle).

TensorBoard's event files are rewritten from the rows whenever a process starts writing them, so a
resumed run shows each epoch once (the units a crash cut short run again, and their points with them).

Figure 2 is drawn by :func:`~agents.experiment.figure2.plot_figure2` from the rows of one run or of several
(``benchmarks/figure2.py`` reads them back from ``metrics.csv`` with :func:`read_metrics`).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import torch

from agents.experiment.config import PHASES, SeqGANConfig
from agents.experiment.figure2 import figure2_title, plot_nll_oracle
from agents.experiment.text_runs import write_vocabulary
from agents.reinforce import REINFORCE
from seqgan_gym._checks import non_finite_names
from seqgan_gym._io import atomic_write_json, atomic_write_text
from seqgan_gym.text import TextCorpus

#: The columns of ``metrics.csv``; a row leaves empty those it does not have.
METRIC_COLUMNS: tuple[str, ...] = (
    "phase",
    "epoch",
    "step",
    "nll_oracle",
    "nll_test",
    "g_loss",
    "d_loss",
    "mean_reward",
    "d_acc_real",
    "d_acc_fake",
    "truth_prob",
    "elapsed_s",
)
#: The files of a run's ``out_dir``, each written atomically (``tensorboard/`` is a folder beside them).
RUN_FILES: tuple[str, ...] = (
    "config.json",
    "metrics.csv",
    "nll_oracle.png",
    "nll_test.png",
    "checkpoint.pt",
    "samples.txt",
    "generator.zip",
    "summary.json",
    "vocabulary.json",
    "samples_text.txt",
)
#: How many of an evaluation's samples TensorBoard shows as text.
TEXT_SAMPLES = 5


class RunRecords:
    """The metrics rows of a run, each written out as it is added.

    :param config: the run (its method names the curves; its ``mle_epochs`` starts the x axis of
        what follows pretraining). :param out_dir: where the files go (``None``: the rows stay in memory).
    """

    def __init__(self, config: SeqGANConfig, out_dir: Path | None) -> None:
        self.config = config
        self.out_dir = out_dir
        #: One dict per row: ``phase``, ``epoch``, ``step``, the metrics of the epoch and ``elapsed_s``.
        self.rows: list[dict[str, Any]] = []
        #: A text run's corpus: its vocabulary decodes samples (``None`` on an oracle).
        self.corpus: TextCorpus | None = None
        self._writer: Any = None

    def add(self, row: dict[str, Any], elapsed_s: float, samples: torch.Tensor | None = None) -> dict[str, Any]:
        """Append ``row`` (``phase``, ``epoch`` and metrics) with its ``step`` and ``elapsed_s``, and write it out.

        :param samples: ``LongTensor[n, T]``, the samples the row's evaluation scored: TensorBoard shows the
            first :data:`TEXT_SAMPLES` of them as text.
        :raises FloatingPointError: a metric is not finite (nothing is written).
        """
        bad = non_finite_names(row)
        if bad:  # a metric is the last place a fault can show before it reaches metrics.csv and the checkpoint
            raise FloatingPointError(f"non-finite {', '.join(f'{k}={row[k]!r}' for k in bad)}")
        # Figure 2's x axis: pretraining epochs, then adversarial (or continued MLE) epochs after them.
        offset = 0 if row["phase"] in ("mle", "d_pretrain") else self.config.mle_epochs
        row = {"step": offset + row["epoch"], **row, "elapsed_s": round(elapsed_s, 3)}
        self.rows.append(row)
        if self.out_dir is not None:
            self._write_csv()
            self._tensorboard(row, samples)
        return row

    def curve(self, phase: str, column: str = "nll_oracle") -> list[tuple[int, float]]:
        """``(step, value)`` of ``column`` over the rows of ``phase`` that have it."""
        return [(r["step"], r[column]) for r in self.rows if r["phase"] == phase and r.get(column) is not None]

    def summary(self, units_done: int, units: int, elapsed_s: float, device: torch.device) -> dict[str, Any]:
        """The run's headline numbers: NLL-oracle after pretraining, of the method and of the MLE control.

        Keys name the method: ``nll_oracle_seqgan`` and ``seqgan_minus_mle`` for SeqGAN,
        ``nll_oracle_pg_bleu`` and ``pg_bleu_minus_mle`` for PG-BLEU, and so on.
        """

        metric = self.config.metric  # a text run has no oracle: its keys are nll_test_...

        def last(phase: str) -> float | None:
            points = self.curve(phase, metric)
            return points[-1][1] if points else None

        method = self.config.method
        final, mle = last(self.config.method_phase), last("mle_continuation")
        return {
            "method": method,
            f"{metric}_pretrained": last("mle"),
            f"{metric}_{method}": final,
            f"{metric}_mle_continuation": mle,
            f"{method}_minus_mle": None if final is None or mle is None else final - mle,
            "units_done": units_done,
            "units": units,
            "training_seconds": round(elapsed_s, 1),
            "device": str(device),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "config": self.config.to_dict(),
        }

    def write_config(self) -> None:
        """``config.json``: the run's ``SeqGANConfig.to_dict()``; a text run's ``vocabulary.json`` too."""
        assert self.out_dir is not None
        atomic_write_json(self.out_dir / "config.json", self.config.to_dict())
        if self.corpus is not None:
            write_vocabulary(self.out_dir, self.corpus)

    def write_plot(self) -> Path:
        """``nll_oracle.png``: Figure 2 from the rows so far (a text run's ``nll_test.png``: it has no oracle)."""
        assert self.out_dir is not None
        title = figure2_title([self.config.to_dict()])
        path = self.out_dir / f"{self.config.metric}.png"
        return plot_nll_oracle(self.rows, path, title=title, method=self.config.method, metric=self.config.metric)

    def lines(self, samples: torch.Tensor) -> list[str]:
        """Samples ``[n, T]`` as lines: a text run's decoded, an oracle run's as token ids."""
        if self.corpus is not None:
            return self.corpus.decode(samples)
        return [" ".join(map(str, sequence)) for sequence in samples.tolist()]

    def write_results(self, samples: torch.Tensor, model: REINFORCE, summary: dict[str, Any]) -> None:
        """The files of a finished run: ``samples.txt``, ``generator.zip`` and ``summary.json``.

        :param samples: ``LongTensor[n, T]``, the final samples of G_θ, one line each.
        :param model: the trained REINFORCE model, saved for ``REINFORCE.load``.
        :param summary: the run's headline numbers (:meth:`summary`).
        """
        assert self.out_dir is not None
        atomic_write_text(
            self.out_dir / "samples.txt", "\n".join(" ".join(map(str, r)) for r in samples.tolist()) + "\n"
        )
        if self.corpus is not None:
            atomic_write_text(self.out_dir / "samples_text.txt", "\n".join(self.lines(samples)) + "\n")
        model.save(self.out_dir / "generator.zip")
        atomic_write_json(self.out_dir / "summary.json", summary)

    def flush(self) -> None:
        """Hand what TensorBoard has buffered to its files."""
        if self._writer is not None:
            self._writer.flush()

    def _write_csv(self) -> None:
        assert self.out_dir is not None
        lines = [",".join(METRIC_COLUMNS)]
        for row in self.rows:
            lines.append(",".join(_csv_cell(row.get(column)) for column in METRIC_COLUMNS))
        atomic_write_text(self.out_dir / "metrics.csv", "\n".join(lines) + "\n")

    def _tensorboard(self, row: dict[str, Any], samples: torch.Tensor | None) -> None:
        assert self.out_dir is not None
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter  # imported only when writing results

            # A resumed run: the events on disk may hold points of units after its checkpoint, which run
            # again now. TensorBoard would show both; so its files start over from the rows, which the
            # checkpoint holds (purge_step cannot do it: the D pretraining steps restart at 1).
            folder = self.out_dir / "tensorboard"
            old_files = list(folder.glob("events.out.tfevents.*"))
            # The checkpoint holds no samples: the texts of the rows it holds are kept from the old files.
            texts = _sample_texts(folder, {(r["phase"], r["step"]) for r in self.rows[:-1]}) if old_files else []
            for old in old_files:
                old.unlink(missing_ok=True)
            self._writer = SummaryWriter(str(folder))
            for earlier in self.rows[:-1]:
                self._scalars(earlier)
            for tag, text, step in texts:
                self._writer.add_text(tag, text, step)
        self._scalars(row)
        if samples is not None:
            lines = self.lines(samples[:TEXT_SAMPLES])
            # Markdown: a blank line keeps each sequence on a line of its own.
            self._writer.add_text(f"samples/{row['phase']}", "\n\n".join(lines), row["step"])

    def _scalars(self, row: dict[str, Any]) -> None:
        # Pretraining rows start both curves, as in Figure 2.
        method = self.config.method
        curves = {"mle": (method, "mle"), "mle_continuation": ("mle",), self.config.method_phase: (method,)}
        for name in ("nll_oracle", "nll_test"):
            if row.get(name) is not None:
                for curve in curves.get(row["phase"], ()):
                    self._writer.add_scalar(f"{name}/{curve}", row[name], row["step"])
        for name in ("g_loss", "d_loss", "mean_reward", "d_acc_real", "d_acc_fake"):
            if row.get(name) is not None:
                self._writer.add_scalar(f"{row['phase']}/{name}", row[name], row["step"])


def progress_bar(units: int, units_done: int) -> Any:
    """A tqdm bar over the ``units`` of a run, ``units_done`` of them already done."""
    from tqdm.auto import tqdm

    return tqdm(total=units, initial=units_done, unit="epoch", dynamic_ncols=True)


def advance(bar: Any, phase: str, row: dict[str, Any]) -> None:
    """One unit of ``phase`` done on ``bar``, showing the NLL-oracle of its last ``row`` if it has one."""
    bar.set_description(phase)
    for metric in ("nll_oracle", "nll_test"):  # a text run has no oracle
        if metric in row:
            bar.set_postfix({metric: f"{row[metric]:.4f}"}, refresh=False)
            break
    bar.update(1)


def _sample_texts(folder: Path, keep: set[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """``(tag, text, step)`` of the sample texts in ``folder``'s event files whose ``(phase, step)`` is in ``keep``."""
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={TENSORS: 0})  # 0: every event, none sampled away
    events.Reload()
    texts = []
    for name in events.Tags()[TENSORS]:
        parts = name.split("/")  # add_text("samples/<phase>") stores "samples/<phase>/text_summary"
        if len(parts) == 3 and parts[0] == "samples":
            for event in events.Tensors(name):
                if (parts[1], event.step) in keep and event.tensor_proto.string_val:
                    texts.append((f"samples/{parts[1]}", event.tensor_proto.string_val[0].decode(), event.step))
    return texts


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a run's ``metrics.csv``, typed as the trainer makes them (empty cells left out).

    :raises ValueError: not a ``metrics.csv`` of a run (a missing column, an unknown phase, a bad number).
    """
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("phase", "epoch", "step", "nll_oracle") if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{str(path)!r} is not a run's metrics.csv: no column {', '.join(missing)}")
        rows = []
        for line, cells in enumerate(reader, start=2):
            try:
                if cells["phase"] not in PHASES:
                    raise ValueError(f"unknown phase {cells['phase']!r}")
                row: dict[str, Any] = {
                    "phase": cells["phase"],
                    "epoch": int(cells["epoch"]),
                    "step": int(cells["step"]),
                }
                for name in METRIC_COLUMNS[3:]:
                    if cells.get(name):
                        row[name] = float(cells[name])
                        if not math.isfinite(row[name]):
                            raise ValueError(f"{name} is {cells[name]}")
            except (TypeError, ValueError) as err:  # TypeError: a short line leaves None in its cells
                raise ValueError(f"{str(path)!r}, line {line}: {err}") from None
            rows.append(row)
    return rows
