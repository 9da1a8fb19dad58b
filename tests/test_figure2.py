"""Figure 2: the plot of one run (``agents.experiment.figure2``) and of several (``benchmarks/figure2.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import figure2
import pytest

from agents.experiment import figure2 as figure2_plot
from agents.experiment.figure2 import plot_figure2, plot_nll_oracle
from agents.experiment.records import METRIC_COLUMNS, read_metrics

PNG = b"\x89PNG\r\n\x1a\n"
PRETRAINING = [11.4, 10.0, 9.6, 9.4, 9.3, 9.25, 9.2, 9.18, 9.16, 9.15, 9.14]  # MLE epochs 0..10


def _rows(method_phase: str = "adversarial", shift: float = 0.0, eval_every: int = 1) -> list[dict[str, Any]]:
    """A run as the trainer records it: 10 MLE epochs, 6 of the control, 2 D rounds, 6 of the method."""

    def evaluated(epoch: int, n: int) -> bool:
        return epoch % eval_every == 0 or epoch == n

    rows: list[dict[str, Any]] = []
    for epoch, nll in enumerate(PRETRAINING):
        row = {"phase": "mle", "epoch": epoch, "step": epoch, "g_loss": 7.0}
        rows.append({**row, "nll_oracle": nll + shift} if evaluated(epoch, 10) else row)
    for phase, start, slope in (("mle_continuation", 9.14, -0.002), (method_phase, 9.10, -0.05)):
        if phase == method_phase:
            rows += [{"phase": "d_pretrain", "epoch": r, "step": r, "d_loss": 0.5} for r in (1, 2)]
        for epoch in range(1, 7):
            row = {"phase": phase, "epoch": epoch, "step": 10 + epoch, "g_loss": 1.0}
            if evaluated(epoch, 6):
                row["nll_oracle"] = start + slope * epoch + shift
            rows.append(row)
    return rows


def _figure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *runs: list[dict[str, Any]], **kwargs: Any) -> Any:
    """The matplotlib figure ``plot_figure2`` draws for ``runs`` (caught before it is written and closed)."""
    drawn = []
    monkeypatch.setattr(figure2_plot, "atomic_write_png", lambda path, fig: drawn.append(fig) or Path(path))
    plot_figure2(list(runs), tmp_path / "figure2.png", **kwargs)
    return drawn[0]


def _texts(fig: Any) -> str:
    """The figure's own texts (its title among them)."""
    return " ".join(t.get_text() for t in fig.texts)


def _post_values(rows: list[dict[str, Any]]) -> list[float]:
    return [r["nll_oracle"] for r in rows if r["phase"] not in ("mle", "d_pretrain") and "nll_oracle" in r]


def test_two_panels_the_right_one_zoomed_on_what_follows_pretraining(monkeypatch, tmp_path: Path) -> None:
    rows = _rows()
    fig = _figure(monkeypatch, tmp_path, rows)
    whole, zoom = fig.axes
    low, high = zoom.get_ylim()
    post = [*_post_values(rows), PRETRAINING[-1]]  # the curves start from the pretrained value
    assert low <= min(post) and max(post) <= high
    assert high < PRETRAINING[3] and high - low < 0.5  # the early pretraining values are off the zoomed panel
    assert whole.get_ylim()[1] >= PRETRAINING[0] and whole.get_xlim()[0] <= 0 <= 16 <= whole.get_xlim()[1]
    # Both curves after pretraining start at epoch 0 from the last MLE value.
    curves = {line.get_label(): line for line in zoom.get_lines()}
    for label in ("SeqGAN (adversarial)", "MLE continued (control)"):
        assert curves[label].get_xdata()[0] == 0 and curves[label].get_ydata()[0] == PRETRAINING[-1]
        assert list(curves[label].get_xdata()) == list(range(7))
    assert "end of pretraining" in " ".join(t.get_text() for t in whole.texts)
    assert (
        "one generator update + its D rounds" in zoom.get_xlabel() and "one pass over the real set" in zoom.get_xlabel()
    )
    assert not zoom.collections  # one run: no band


@pytest.mark.parametrize(("phase", "label"), [("pg_bleu", "PG-BLEU"), ("scheduled_sampling", "Scheduled Sampling")])
def test_baselines_and_sparse_evaluations(monkeypatch, tmp_path: Path, phase: str, label: str) -> None:
    rows = _rows(phase, eval_every=2)
    fig = _figure(monkeypatch, tmp_path, rows)
    zoom = fig.axes[1]
    curves = {line.get_label(): line for line in zoom.get_lines()}
    assert list(curves[label].get_xdata()) == [0, 2, 4, 6]  # the evaluated epochs only
    low, high = zoom.get_ylim()
    assert low <= min(_post_values(rows)) and high < PRETRAINING[3]


def test_several_runs_draw_the_mean_in_a_band(monkeypatch, tmp_path: Path) -> None:
    a, b = _rows(shift=-0.02), _rows(shift=0.02, eval_every=2)  # b evaluated every other epoch: interpolated
    fig = _figure(monkeypatch, tmp_path, a, b)
    zoom = fig.axes[1]
    seqgan = next(line for line in zoom.get_lines() if line.get_label() == "SeqGAN (adversarial)")
    assert list(seqgan.get_xdata()) == list(range(7))
    assert seqgan.get_ydata()[3] == pytest.approx(9.10 - 0.05 * 3)  # b's epoch 3 lies between its 2 and 4
    assert len(zoom.collections) == 2  # a band per curve
    assert "min–max" in _texts(fig)
    low, _ = zoom.get_ylim()
    assert low <= min(_post_values(a))
    assert "±1 sd" in _texts(_figure(monkeypatch, tmp_path, a, b, band="sd"))
    with pytest.raises(ValueError, match="band"):
        plot_figure2([a], tmp_path / "x.png", band="iqr")


def test_the_per_run_plot_is_written(tmp_path: Path) -> None:
    assert plot_nll_oracle(_rows(), tmp_path / "nll_oracle.png").read_bytes()[:8] == PNG
    during_pretraining = [r for r in _rows() if r["phase"] == "mle"][:4]
    assert plot_nll_oracle(during_pretraining, tmp_path / "early.png").read_bytes()[:8] == PNG


def _run_folder(folder: Path, rows: list[dict[str, Any]], seed: int) -> Path:
    """A run folder as examples/train_oracle.py writes it: metrics.csv and config.json."""
    folder.mkdir(parents=True)
    lines = [",".join(METRIC_COLUMNS)]
    lines += [",".join("" if row.get(c) is None else str(row[c]) for c in METRIC_COLUMNS) for row in rows]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"seed": seed, "oracle_seed": 2017, "oracle_file": None}))
    return folder


def test_the_command_reads_run_folders_and_writes_a_png(tmp_path: Path, capsys) -> None:
    a = _run_folder(tmp_path / "a", _rows(shift=-0.01), 0)
    b = _run_folder(tmp_path / "b", _rows(shift=0.01, eval_every=2), 1)
    assert read_metrics(a / "metrics.csv") == _rows(shift=-0.01)  # typed as the trainer made them
    out = tmp_path / "figs" / "figure2.png"
    assert figure2.main([str(a), str(b), "--out", str(out)]) == out
    assert out.read_bytes()[:8] == PNG
    assert figure2.main([str(a), "--out", str(a / "nll_oracle.png"), "--band", "sd"]).read_bytes()[:8] == PNG
    assert figure2.figure2_title([{"seed": 0, "oracle_seed": 2017}, {"seed": 1}]).endswith("seeds 0, 1)")


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        (lambda d: d.mkdir(), [], "no metrics.csv"),
        (lambda d: (d.mkdir(), (d / "metrics.csv").write_text("a,b\n1,2\n")), [], "no column phase"),
        (
            lambda d: (d.mkdir(), (d / "metrics.csv").write_text("phase,epoch,step,nll_oracle\nmle,0,0,nan\n")),
            [],
            "nan",
        ),
        (
            lambda d: (d.mkdir(), (d / "metrics.csv").write_text("phase,epoch,step,nll_oracle\nmle,1,1,\n")),
            [],
            "no eval",
        ),
        (lambda d: None, [], "no metrics.csv"),
        (lambda d: d.mkdir(), ["--band", "iqr"], "--band"),
    ],
)
def test_the_command_refuses_bad_folders_in_one_line(tmp_path: Path, capsys, setup, extra, message) -> None:
    good = _run_folder(tmp_path / "good", _rows(), 0)
    bad = tmp_path / "bad"
    setup(bad)
    with pytest.raises(SystemExit) as info:
        figure2.main([str(good), str(bad), "--out", str(tmp_path / "f.png"), *extra])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "f.png").exists()
    with pytest.raises(SystemExit) as info:
        figure2.main([str(good), "--out", str(tmp_path / "f.txt")])
    assert info.value.code == 2 and "--out" in capsys.readouterr().err
