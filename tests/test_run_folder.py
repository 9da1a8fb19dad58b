"""The run folder: one writer at a time, never over someone else's files; damaged or forged checkpoints are
refused; and every stop of the command lines (Ctrl-C, a full disk, a bad file) is one true line."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import Exploit, tiny_config, torch_bytes

from agents.cli import train_oracle, train_text
from agents.experiment.checkpoint import DIGEST_KEY, state_digest
from agents.experiment.seqgan import (
    CHECKPOINT_NAME,
    CheckpointError,
    RunFolderError,
    SeqGANConfig,
    SeqGANTrainer,
    load_checkpoint,
)
from agents.experiment.text_runs import text_config
from seqgan_gym._io import FolderInUseError, folder_lock
from seqgan_gym.oracle import OracleLSTM

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_oracle.py"
# 1 MLE epoch, 1 D round, 2 adversarial epochs: units 1, 2, 3-4.
SMALL = tiny_config(mle_epochs=1, mle_continuation_epochs=0, d_pretrain_rounds=1, adversarial_epochs=2)
CLI = ["--checkpoint-every", "0", "--no-progress"]


def _config_file(tmp_path: Path, config: SeqGANConfig = SMALL, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(config.to_dict()))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _one_line_exit(capsys: pytest.CaptureFixture, info: pytest.ExceptionInfo, code: int = 2) -> str:
    """The command stopped with ``code`` and exactly one line on stderr, no traceback: that line."""
    err = capsys.readouterr().err
    assert info.value.code == code, err
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, err
    return err


# ---- 1. one writer at a time ----

_HOLDER = """
import sys
from contextlib import ExitStack
from seqgan_gym._io import folder_lock
with ExitStack() as stack:
    for folder in sys.argv[1:]:
        stack.enter_context(folder_lock(folder))
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_folder_locked_by_another_process_is_refused_everywhere(tmp_path: Path, capsys) -> None:
    run, empty = tmp_path / "run", tmp_path / "empty"
    SeqGANTrainer(SMALL, run).run(max_units=1)
    before = (run / CHECKPOINT_NAME).read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(run), str(empty)],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(FolderInUseError, match=f"in use by another run \\(process {holder.pid}\\)"):
            with folder_lock(run):
                pass
        with pytest.raises(FolderInUseError):
            SeqGANTrainer.resume(run)
        with pytest.raises(FolderInUseError):
            SeqGANTrainer(SMALL, empty).run()
        with pytest.raises(SystemExit) as info:
            train_oracle.main(["--resume", str(run), *CLI])
        err = _one_line_exit(capsys, info)
        assert "--resume: " in err and f"in use by another run (process {holder.pid})" in err
        with pytest.raises(SystemExit) as info:
            train_oracle.main(["--config", str(_config_file(tmp_path)), "--out", str(empty), *CLI])
        assert "in use by another run" in _one_line_exit(capsys, info)
        assert (run / CHECKPOINT_NAME).read_bytes() == before and sorted(p.name for p in empty.iterdir()) == [".lock"]
    finally:
        holder.kill()  # the OS drops a dead process's lock: never stale
        holder.communicate(timeout=60)
    SeqGANTrainer.resume(run).run()


def test_two_command_lines_into_one_folder_and_ctrl_c(tmp_path: Path) -> None:
    """The reproduction: a second run into a running run's folder, and --resume of it, are refused; then
    Ctrl-C stops the first with one line that says how to continue, and that works."""
    out = tmp_path / "run"
    config = _config_file(tmp_path, dataclasses.replace(SMALL, adversarial_epochs=5000))
    first = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--config", str(config), "--out", str(out), *CLI],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / CHECKPOINT_NAME).exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        for argv in (["--config", str(config), "--out", str(out)], ["--resume", str(out)]):
            second = subprocess.run(
                [sys.executable, str(SCRIPT), *argv, *CLI], env=_env(), capture_output=True, text=True, timeout=120
            )
            assert second.returncode == 2, second.stderr
            assert second.stderr.count("\n") == 1 and f"in use by another run (process {first.pid})" in second.stderr
        assert first.poll() is None  # the first run went on undisturbed
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 130, err
    assert err.count("\n") == 1 and "Traceback" not in err and f"--resume {out}" in err, err
    assert "train_oracle.py: interrupted; the last checkpoint is intact (unit " in err
    with folder_lock(out):  # released with the process
        pass


def test_sigterm_stops_after_the_unit_under_way_with_a_checkpoint(tmp_path: Path) -> None:
    """``kill`` (a batch scheduler's preemption) stops like Ctrl-C: the unit under way finishes and is
    checkpointed (no periodic checkpoint is due), one line says how to continue, and that works."""
    out = tmp_path / "run"
    config = _config_file(tmp_path, dataclasses.replace(SMALL, adversarial_epochs=5000))
    run = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--config",
            str(config),
            "--out",
            str(out),
            "--checkpoint-every",
            "1e4",
            "--no-progress",
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        for line in run.stdout:  # the rows as they come: stop once an adversarial epoch has ended
            if re.search(r"adversarial epoch +1:", line):
                break
        run.send_signal(signal.SIGTERM)
        out_text, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert err.count("\n") == 1 and "Traceback" not in err and f"--resume {out}" in err, err
    assert "stopping after the unit under way" in out_text
    # The phases' ends checkpoint at unit 2 at the latest; a later one was written by the stop.
    stopped_at = load_checkpoint(out / CHECKPOINT_NAME)["units_done"]
    assert stopped_at >= 3
    resumed = SeqGANTrainer.resume(out)
    resumed.run(max_units=1)
    assert resumed.units_done == stopped_at + 1


# ---- 2. only into a new or empty folder, or the run being resumed ----


def test_a_new_run_never_writes_over_files(tmp_path: Path, capsys) -> None:
    precious = tmp_path / "U"
    precious.mkdir()
    (precious / "config.json").write_text("precious\n")
    config = _config_file(tmp_path)
    with pytest.raises(SystemExit) as info:
        train_oracle.main(["--config", str(config), "--out", str(precious), *CLI])
    err = _one_line_exit(capsys, info)
    assert "--out" in err and "is not empty (config.json) and holds no run to resume" in err
    with pytest.raises(RunFolderError, match="not empty"):
        SeqGANTrainer(SMALL, precious).run()
    train_args = ["--corpus", str(precious / "config.json"), "--test-corpus", str(precious / "config.json")]
    with pytest.raises(SystemExit) as info:
        train_text.main([*train_args, "--out", str(precious), "--batch-size", "1"])
    assert "--out" in _one_line_exit(capsys, info)
    assert sorted(p.name for p in precious.iterdir()) == ["config.json"]  # untouched, not even a lock file
    assert (precious / "config.json").read_text() == "precious\n"

    finished = tmp_path / "finished"
    SeqGANTrainer(SMALL, finished).run()
    before = {p.name: p.read_bytes() for p in finished.iterdir() if p.is_file()}
    for attempt in (lambda t: t.run(), lambda t: t.save_checkpoint()):
        with pytest.raises(RunFolderError, match="already holds a run"):
            attempt(SeqGANTrainer(SMALL, finished))
    assert {p.name: p.read_bytes() for p in finished.iterdir() if p.is_file()} == before
    with pytest.raises(SystemExit) as info:
        train_oracle.main(["--config", str(config), "--out", str(finished), *CLI])
    assert f"--resume {finished}" in _one_line_exit(capsys, info)
    resumed = SeqGANTrainer.resume(finished)  # its own run: it may write there
    resumed.save_checkpoint()
    assert resumed.units_done == len(SMALL.units())


def test_a_run_writes_on_into_its_own_folder(tmp_path: Path) -> None:
    trainer = SeqGANTrainer(SMALL, tmp_path / "run")
    trainer.run(max_units=1)
    trainer.run(max_units=1)  # the folder now holds this trainer's files: it goes on
    assert trainer.units_done == 2
    with folder_lock(tmp_path / "only_lock"):
        pass
    SeqGANTrainer(SMALL, tmp_path / "only_lock").run(max_units=1)  # a lock file alone: empty


# ---- 4. the checkpoint's digest ----


def test_a_flipped_byte_in_a_tensor_is_refused_and_old_checkpoints_still_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    SeqGANTrainer(SMALL, out).run(max_units=2)
    data = (out / CHECKPOINT_NAME).read_bytes()
    state = torch.load(io.BytesIO(data), weights_only=True)
    assert state[DIGEST_KEY] == state_digest(state)
    at = data.find(state["discriminator"]["output.weight"].numpy().tobytes())
    assert at > 0
    damaged = bytearray(data)
    damaged[at + 2] ^= 0x10  # a bit of one float of D: loads fine, wrong
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / CHECKPOINT_NAME).write_bytes(bytes(damaged))
    with pytest.raises(CheckpointError, match="do not match its SHA-256 digest"):
        SeqGANTrainer.resume(tmp_path / "damaged")
    for bad in (3, "f" * 63, "not hex" * 9):
        (tmp_path / "damaged" / CHECKPOINT_NAME).write_bytes(torch_bytes({**state, DIGEST_KEY: bad}))
        with pytest.raises(CheckpointError, match="not a SHA-256 digest"):
            SeqGANTrainer.resume(tmp_path / "damaged")

    # A checkpoint of format 1 from before the digest (a live run's): it resumes, and goes on with a digest.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / CHECKPOINT_NAME).write_bytes(torch_bytes({k: v for k, v in state.items() if k != DIGEST_KEY}))
    whole = SeqGANTrainer(SMALL).run()
    rows = SeqGANTrainer.resume(legacy).run()
    assert [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows] == [
        {k: v for k, v in r.items() if k != "elapsed_s"} for r in whole
    ]
    assert DIGEST_KEY in torch.load(legacy / CHECKPOINT_NAME, weights_only=True)


# ---- 11. forged fields ----


@pytest.fixture(scope="module")
def good_state(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("good")
    SeqGANTrainer(SMALL, out).run(max_units=2)
    return torch.load(out / CHECKPOINT_NAME, weights_only=True)


def _hostile_oracle(folder: Path) -> tuple[str, str]:
    path = folder / "target_params.pkl"
    path.write_bytes(pickle.dumps(Exploit(folder / "pwned")))
    import hashlib

    return str(path), hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("units_done=-5", r"units_done must be an integer in \[0, 4\]"),
        ("units_done=999", r"units_done must be an integer in \[0, 4\]"),
        ("units_done=True", r"units_done must be an integer"),
        ("vocab_size=10**12", r"does not fit its configuration: size mismatch for generator 'embedding'"),
        ("hidden_dim=4096", r"does not fit its configuration: size mismatch for generator 'w_h'"),
        ("seed=2**64", r"invalid configuration.*seed must be in \[0, 4294967295\]"),
        ("seed=-1", r"invalid configuration.*seed"),
        ("rows='text'", r"rows must be a list"),
        ("rows=[1, 2, 3]", r"row 0 is not a metrics row"),
        ("rows=phase", r"row 1 is not a metrics row"),
        ("elapsed_s=-1", r"elapsed_s must be a number of seconds"),
        ("mle_generator=None", r"mle_generator must be a dict of tensors"),
        ("extra key", r"unknown keys \['bogus'\]"),
        ("oracle_file=hostile", r"cannot build the run of its configuration.*not a plain pickle"),
        ("oracle_file, no digest", r"oracle_sha256 must be the SHA-256 of its oracle_file"),
        ("oracle_file moved", r"cannot be read.*put it back"),
    ],
)
def test_forged_fields_are_a_checkpoint_error(tmp_path: Path, good_state: dict, name: str, match: str) -> None:
    """Each a CheckpointError naming the field, with or without a digest made to fit the forgery."""
    state = {k: v for k, v in good_state.items() if k != DIGEST_KEY}
    config = dict(state["config"])
    changes: dict = {
        "units_done=-5": {"units_done": -5},
        "units_done=999": {"units_done": 999},
        "units_done=True": {"units_done": True},
        "rows='text'": {"rows": "text"},
        "rows=[1, 2, 3]": {"rows": [1, 2, 3]},
        "rows=phase": {"rows": [state["rows"][0], {**state["rows"][1], "phase": "evil"}, *state["rows"][2:]]},
        "elapsed_s=-1": {"elapsed_s": -1.0},
        "mle_generator=None": {"mle_generator": None, "mle_generator_optimizer": None},
        "extra key": {"bogus": 1},
    }.get(name, {})
    in_config = {"vocab_size=10**12": 10**12, "hidden_dim=4096": 4096, "seed=2**64": 2**64, "seed=-1": -1}
    if name in in_config:
        changes = {"config": {**config, name.split("=")[0]: in_config[name]}}
    elif name.startswith("oracle_file"):
        path, digest = _hostile_oracle(tmp_path)
        if name == "oracle_file moved":
            path = str(tmp_path / "moved" / "target_params.pkl")
        changes = {"config": {**config, "oracle_file": path}, "oracle_sha256": None if "no digest" in name else digest}
    forged = {**state, **changes}
    for digest in (False, True):  # a forger may as well recompute the digest: the fields are checked anyway
        folder = tmp_path / f"forged_{digest}"
        folder.mkdir()
        (folder / CHECKPOINT_NAME).write_bytes(
            torch_bytes({**forged, DIGEST_KEY: state_digest(forged)} if digest else forged)
        )
        with pytest.raises(CheckpointError, match=match) as info:
            SeqGANTrainer.resume(folder)
        assert str(folder / CHECKPOINT_NAME) in str(info.value)
    assert not (tmp_path / "pwned").exists()


# ---- 7, 8, 10, 19: the command line ----


@pytest.mark.parametrize("method", ["pg_bleu", "scheduled_sampling"])
def test_baselines_from_a_config_file_finish_with_their_summary(tmp_path: Path, method: str, capsys) -> None:
    config = _config_file(tmp_path, dataclasses.replace(SMALL, method=method))
    summary = train_oracle.main(["--config", str(config), "--out", str(tmp_path / "run"), *CLI])
    out = capsys.readouterr().out
    assert summary["method"] == method and f"nll_oracle_{method}" in out and f"{method}_minus_mle" in out
    assert "10 MLE epochs" not in out  # quick's description: not what runs
    assert f"schedule ({method}): 1 MLE epochs, 0 MLE-continuation epochs, 2 " in out


def test_start_up_lines_describe_the_schedule_that_runs(tmp_path: Path) -> None:
    config = _config_file(tmp_path, dataclasses.replace(SMALL, mle_epochs=7))
    args = train_oracle.parse_args(["--config", str(config)])
    line = train_oracle.describe_config(args, train_oracle.make_config(args))
    assert "10 MLE epochs" not in line and "changed by --config" in line
    assert "7 MLE epochs" in train_oracle.describe_schedule(train_oracle.make_config(args))
    args = train_oracle.parse_args(["--preset", "fast"])
    assert "50 MLE epochs" in train_oracle.describe_config(args, train_oracle.make_config(args))
    args = train_oracle.parse_args(["--preset", "fast", "--mle-epochs", "3"])
    assert "changed by --mle-epochs" in train_oracle.describe_config(args, train_oracle.make_config(args))


def test_seeds_are_bounded(tmp_path: Path, capsys) -> None:
    assert SeqGANConfig(seed=2**32 - 1, oracle_seed=2**32 - 1).seed == 2**32 - 1
    for field, value in (("seed", 2**32), ("oracle_seed", 2**64), ("seed", -1)):
        with pytest.raises(ValueError, match=rf"{field} must be in \[0, 4294967295\]"):
            SeqGANConfig(**{field: value})
    import table1

    for parse, argv in (
        (train_oracle.parse_args, ["--seed", "4294967296"]),
        (train_text.main, ["--seed", "4294967296"]),
        (table1.parse_args, ["--seed", str(2**64)]),
        (train_oracle.parse_args, ["--config", str(_config_file(tmp_path, name="ok.json"))]),
    ):
        if "--config" in argv:
            Path(argv[1]).write_text(json.dumps({"oracle_seed": 2**64}))
        with pytest.raises(SystemExit) as info:
            parse(argv)
        err = _one_line_exit(capsys, info)
        assert argv[0] in err and "4294967295" in err, err
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"a man rides horse {i % 7}\n" for i in range(70)))
    with pytest.raises(ValueError, match="seed"):
        text_config(corpus, test_corpus=corpus, seed=2**32)


def test_bad_oracle_files_are_one_line(tmp_path: Path, capsys) -> None:
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x80\x04not a pickle at all")
    with pytest.raises(SystemExit) as info:
        train_oracle.main(
            ["--config", str(_config_file(tmp_path)), "--oracle-file", str(garbage), "--out", str(tmp_path / "x"), *CLI]
        )
    assert "--oracle-file: oracle file" in _one_line_exit(capsys, info)

    oracle = OracleLSTM.seeded(seed=3, vocab_size=12, seq_len=6, emb_dim=8, hidden_dim=8)
    paper = tmp_path / "target_params.pkl"
    paper.write_bytes(pickle.dumps(oracle.paper_arrays()))
    out = tmp_path / "run"
    SeqGANTrainer(dataclasses.replace(SMALL, oracle_file=str(paper)), out).run(max_units=1)
    paper.rename(tmp_path / "moved.pkl")
    with pytest.raises(SystemExit) as info:
        train_oracle.main(["--resume", str(out), *CLI])
    err = _one_line_exit(capsys, info)
    assert "--resume: " in err and f"the oracle file {str(paper)!r}, which cannot be read" in err


# ---- 14. train_text on a small corpus ----


def test_a_corpus_smaller_than_a_batch_is_refused_at_once(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "small.txt"
    corpus.write_text("".join(f"a man rides horse {i % 7}\n" for i in range(40)))
    argv = ["--corpus", str(corpus), "--test-corpus", str(corpus), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as info:
        train_text.main(argv)
    err = _one_line_exit(capsys, info)
    assert "--batch-size: the corpus has 40 training sentences, fewer than a batch of 64" in err
    assert not (tmp_path / "out").exists()  # refused before anything was made
    assert train_text.make_config(train_text.parse_args([*argv, "--batch-size", "40"])).n_real == 40  # accepted
    with pytest.raises(ValueError, match="batch_size: the corpus has 40 training sentences"):
        text_config(corpus, test_corpus=corpus)


# ---- 16, 18: stops, and what they leave ----


def test_a_write_failure_gives_true_advice_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config_file(tmp_path)
    fsync = os.fsync

    def full_disk_after(n: int):
        calls = [0]

        def fail(fd: int) -> None:
            calls[0] += 1
            if calls[0] > n:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            fsync(fd)

        return fail

    monkeypatch.setattr(os, "fsync", full_disk_after(0))  # the very first write: no checkpoint yet
    with pytest.raises(SystemExit) as info:
        train_oracle.main(["--config", str(config), "--out", str(tmp_path / "early"), *CLI])
    message = str(info.value.code)
    assert message.startswith("seqgan-gym train-oracle: error: [Errno 28] No space left on device")
    assert "no checkpoint was written yet, so there is nothing to resume" in message
    assert "intact" not in message and "--resume" not in message

    monkeypatch.setattr(os, "fsync", full_disk_after(8))
    with pytest.raises(SystemExit) as info:
        train_oracle.main(["--config", str(config), "--out", str(tmp_path / "late"), *CLI])
    message = str(info.value.code)
    assert message.count("intact") == 1 and message.count("--resume") == 1 and message.count("\n") == 0, message


def test_ctrl_c_prints_how_to_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    config = _config_file(tmp_path)
    run_unit = SeqGANTrainer._run_unit

    def interrupted_at(unit: int):
        def run(self: SeqGANTrainer, phase: str, index: int) -> None:
            if self.units_done == unit:
                raise KeyboardInterrupt
            run_unit(self, phase, index)

        return run

    monkeypatch.setattr(SeqGANTrainer, "_run_unit", interrupted_at(0))
    with pytest.raises(SystemExit) as info:
        train_oracle.main(["--config", str(config), "--out", str(tmp_path / "early"), *CLI])
    assert "interrupted; no checkpoint was written yet" in _one_line_exit(capsys, info, 130)

    out = tmp_path / "run"
    monkeypatch.setattr(SeqGANTrainer, "_run_unit", interrupted_at(2))
    with pytest.raises(SystemExit) as info:
        train_oracle.main(["--config", str(config), "--out", str(out), *CLI])
    err = _one_line_exit(capsys, info, 130)
    # Run in-process (not as examples/train_oracle.py): the advice is the console command's.
    assert "interrupted; the last checkpoint is intact (unit 2 of 4): continue with " in err
    assert err.rstrip().endswith(f"seqgan-gym train-oracle --resume {out}")
    monkeypatch.setattr(SeqGANTrainer, "_run_unit", run_unit)
    assert train_oracle.main(["--resume", str(out), *CLI])["units_done"] == 4


def test_resume_removes_stale_temporary_files_of_its_own_only(tmp_path: Path) -> None:
    SeqGANTrainer(SMALL, tmp_path).run(max_units=1)
    ours = [".metrics.csv.k3_9abcd.tmp", ".summary.json.zzzzzzzz.tmp", ".checkpoint.pt.a1b2c3d4.tmp"]
    theirs = [".notes.txt.abcdefgh.tmp", "metrics.csv.tmp", ".metrics.csv.tmp"]
    for name in ours + theirs:
        (tmp_path / name).write_text("left by a kill -9")
    SeqGANTrainer.resume(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == sorted(theirs)


def _scalars(folder: Path) -> dict[str, list[int]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "tensorboard"))
    events.Reload()
    return {tag: [e.step for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_shows_each_epoch_once_after_a_resume(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    SeqGANTrainer(SMALL, whole).run()
    out = tmp_path / "run"
    trainer = SeqGANTrainer(SMALL, out, checkpoint_every_s=1e9)
    trainer.run(max_units=2)
    checkpoint = (out / CHECKPOINT_NAME).read_bytes()
    trainer.run(max_units=1)  # its events are on disk; then a crash before the next checkpoint
    (out / CHECKPOINT_NAME).write_bytes(checkpoint)
    del trainer
    SeqGANTrainer.resume(out).run()
    steps = _scalars(out)
    assert steps == _scalars(whole) and all(len(s) == len(set(s)) for s in steps.values()), steps


def test_a_stop_request_ends_the_run_between_units_and_it_resumes_exactly(tmp_path: Path) -> None:
    """What Ctrl-C does in train_oracle.py: the unit under way finishes, a checkpoint is written, then
    KeyboardInterrupt; the run resumed from there ends as an uninterrupted one."""
    rows_seen: list[dict] = []
    trainer = SeqGANTrainer(SMALL, tmp_path / "run")
    trainer.on_row = lambda row: (rows_seen.append(row), setattr(trainer, "stop_requested", len(rows_seen) == 3))
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    stopped_at = trainer.units_done
    assert 0 < stopped_at < len(trainer.units)
    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["units_done"] == stopped_at
    resumed = SeqGANTrainer.resume(tmp_path / "run")
    resumed.run()
    uninterrupted = SeqGANTrainer(SMALL, tmp_path / "whole")
    uninterrupted.run()

    def numbers(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]

    assert numbers(resumed.rows) == numbers(uninterrupted.rows)
