"""benchmarks/gpu_paper_run.sh, the paper's schedule in one GPU sitting, in its CPU- and CI-sized form."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import phase_times  # benchmarks/phase_times.py
from helpers import tiny_config

from seqgan_gym.oracle import OracleLSTM

ROOT = Path(__file__).resolve().parents[1]


def test_the_script_runs_a_short_schedule_on_the_cpu_and_prints_the_phase_times(tmp_path: Path) -> None:
    oracle = OracleLSTM.seeded(seed=3, vocab_size=12, seq_len=6, emb_dim=8, hidden_dim=8)
    oracle_file = tmp_path / "target_params_py3.pkl"  # the authors' format, at a tiny size
    oracle_file.write_bytes(pickle.dumps(oracle.paper_arrays()))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**tiny_config().to_dict(), "adversarial_epochs": 2}))
    out = tmp_path / "run"
    env = {**os.environ, "SEQGAN_DEVICE": "cpu", "SEQGAN_PRESET": "quick"}
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_paper_run.sh"), str(oracle_file), str(out), "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (out / "samples.txt").is_file() and (out / "metrics.csv").is_file()
    lines = done.stdout.splitlines()
    assert any(line.split()[:1] == ["adversarial"] and line.endswith(" s") for line in lines)
    assert lines[-1].startswith("wall time, set-up excluded: ")
    seconds = phase_times.phase_seconds(phase_times.read_metrics(out / "metrics.csv"))
    assert list(seconds) == ["mle", "mle_continuation", "d_pretrain", "adversarial"]
    assert all(value >= 0 for value in seconds.values())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["oracle_file"] == str(oracle_file)
