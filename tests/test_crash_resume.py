"""Crashes lose nothing: a run killed with SIGKILL at random moments, a crash between a checkpoint's
write and its rename, and a full disk each leave the last checkpoint whole, and ``--resume`` ends
with the same metrics and samples as a run that was never interrupted (bit for bit, CPU)."""

from __future__ import annotations

import csv
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from agents.cli import train_oracle
from agents.experiment.seqgan import CHECKPOINT_NAME, SeqGANConfig, SeqGANTrainer, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_oracle.py"

# 21 units, each checkpointed (--checkpoint-every 0): a few seconds of training in all.
CONFIG = {
    "vocab_size": 12,
    "seq_len": 6,
    "emb_dim": 8,
    "hidden_dim": 8,
    "oracle_seed": 3,
    "n_real": 64,
    "discriminator_emb_dim": 8,
    "discriminator_filter_sizes": [1, 2, 3],
    "discriminator_num_filters": [4, 4, 4],
    "mle_epochs": 6,
    "d_pretrain_rounds": 3,
    "d_pretrain_epochs": 1,
    "adversarial_epochs": 6,
    "batch_size": 8,
    "n_rollouts": 2,
    "d_steps": 1,
    "k_epochs": 1,
    "n_negatives": 32,
    "n_eval": 48,
    "seed": 11,
}
N_UNITS = 6 + 6 + 3 + 6


def _config() -> SeqGANConfig:
    return SeqGANConfig.from_dict({k: tuple(v) if isinstance(v, list) else v for k, v in CONFIG.items()})


def _metrics(out: Path) -> list[dict[str, str]]:
    """metrics.csv without the wall-clock column."""
    with (out / "metrics.csv").open(newline="") as f:
        return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in csv.DictReader(f)]


def _outputs(out: Path) -> tuple[list[dict[str, str]], str, list[torch.Tensor]]:
    state = load_checkpoint(out / CHECKPOINT_NAME)
    return _metrics(out), (out / "samples.txt").read_text(), list(state["generator"].values())


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.json"
    path.write_text(json.dumps(CONFIG))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], str, list[torch.Tensor]]:
    """The uninterrupted run, in this process."""
    out = tmp_path_factory.mktemp("reference")
    SeqGANTrainer(_config(), out).run()
    return _outputs(out)


def _same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and a[1] == b[1] and all(torch.equal(x, y) for x, y in zip(a[2], b[2], strict=True))


def _env() -> dict[str, str]:
    threads = str(torch.get_num_threads())  # the same kernels as the reference run in this process
    return {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "PYTHONPATH": str(ROOT)}


def _argv(config_file: Path, out: Path) -> list[str]:
    common = ["--checkpoint-every", "0", "--no-progress"]
    if (out / CHECKPOINT_NAME).exists():
        return [sys.executable, str(SCRIPT), "--resume", str(out), *common]
    return [sys.executable, str(SCRIPT), "--config", str(config_file), "--out", str(out), *common]


def _units_logged(out: Path) -> int:
    """Units done by the running process, from metrics.csv (written atomically: a header, then a row per unit)."""
    try:
        return max(0, (out / "metrics.csv").read_text().count("\n") - 2)
    except FileNotFoundError:
        return 0


def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(
    tmp_path: Path, config_file: Path, reference: tuple
) -> None:
    out = tmp_path / "run"
    rng = random.Random(int(os.environ.get("SEQGAN_CRASH_SEED", "7")))
    # One kill in pretraining, one in the MLE control or D pretraining, one in the adversarial epochs.
    targets = [rng.randint(1, 5), rng.randint(7, 14), rng.randint(16, N_UNITS - 2)]
    units_at_kill = []
    for target in targets:
        process = subprocess.Popen(
            _argv(config_file, out), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        while process.poll() is None and _units_logged(out) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.2))  # a random moment of the next unit or of its checkpoint's write
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL, err.decode()
        units_at_kill.append(load_checkpoint(out / CHECKPOINT_NAME)["units_done"])  # always whole and loadable
    last = subprocess.run(_argv(config_file, out), env=_env(), capture_output=True, timeout=120)
    assert last.returncode == 0, last.stderr.decode()
    assert units_at_kill == sorted(units_at_kill) and units_at_kill[0] >= 1 and units_at_kill[-1] < N_UNITS
    assert _same(_outputs(out), reference)
    assert not list(out.glob(".*.tmp"))  # what a kill left half-written was cleaned on resume


_DIE_AT_RENAME = """
import os, runpy, signal, sys
import seqgan_gym._io as io_
count, replace = [0], os.replace
def dying_replace(src, dst):
    if os.path.basename(dst) == "checkpoint.pt":
        count[0] += 1
        if count[0] == int(os.environ["DIE_AT"]):
            os.kill(os.getpid(), signal.SIGKILL)  # the temporary file is written and synced, never renamed
    replace(src, dst)
io_.os.replace = dying_replace
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))  # as when the script runs: its folder first
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_crash_between_write_and_rename_keeps_the_previous_checkpoint(
    tmp_path: Path, config_file: Path, reference: tuple
) -> None:
    out = tmp_path / "run"
    argv = [sys.executable, "-c", _DIE_AT_RENAME, *_argv(config_file, out)[1:]]
    done = subprocess.run(argv, env={**_env(), "DIE_AT": "3"}, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    leftovers = list(out.glob(f".{CHECKPOINT_NAME}.*.tmp"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0
    assert load_checkpoint(out / CHECKPOINT_NAME)["units_done"] == 2  # the 2nd checkpoint, whole
    SeqGANTrainer.resume(out).run()  # (the command line's --resume runs in the test above)
    assert _same(_outputs(out), reference)
    assert not list(out.glob(".*.tmp"))


def test_no_space_left_stops_with_a_clear_message_and_keeps_the_checkpoint(
    tmp_path: Path, config_file: Path, reference: tuple, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = tmp_path / "run"
    argv = ["--config", str(config_file), "--out", str(out), "--checkpoint-every", "0", "--no-progress"]
    calls, fsync = [0], os.fsync

    def full_disk(fd: int) -> None:
        calls[0] += 1
        if calls[0] > 12:  # a while into the run, every write fails
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(SystemExit) as info:
        train_oracle.main(argv)
    message = str(info.value.code)
    assert message.startswith("seqgan-gym train-oracle: error: [Errno 28] ") and "\n" not in message
    assert "No space left on device" in message and f"--resume {out}" in message
    assert "the last checkpoint is intact" in message
    units = load_checkpoint(out / CHECKPOINT_NAME)["units_done"]
    assert 0 < units < N_UNITS
    assert not list(out.glob(".*.tmp"))
    monkeypatch.setattr(os, "fsync", fsync)  # space again
    train_oracle.main(["--resume", str(out), "--checkpoint-every", "0", "--no-progress"])
    capsys.readouterr()
    assert _same(_outputs(out), reference)


def test_table1_with_a_damaged_checkpoint_says_so_in_one_line(tmp_path: Path, capsys) -> None:
    import table1

    (tmp_path / "seqgan").mkdir()
    (tmp_path / "seqgan" / CHECKPOINT_NAME).write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(SystemExit) as info:
        table1.main(["--out", str(tmp_path), "--no-progress"], base=_config())
    message = str(info.value.code)
    assert message.startswith("table1.py: error: --out ") and "\n" not in message
    assert f"{tmp_path / 'seqgan' / CHECKPOINT_NAME}" in message and "not a readable seqgan-gym checkpoint" in message
    capsys.readouterr()
