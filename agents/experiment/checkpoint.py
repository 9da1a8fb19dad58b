"""The trainer's checkpoint: what it holds, and how it is written, read and resumed.

A checkpoint is ``out_dir/checkpoint.pt``, one ``torch.save`` of a dict of tensors and plain Python
values, so that ``torch.load(weights_only=True)`` reads it without running any code. It holds the
state of a run between two units; every unit seeds its random streams from ``(seed, unit index)``
(:mod:`agents.experiment.streams`), so that state is all a bit-exact resume needs:

* ``format_version`` and ``kind``: :data:`CHECKPOINT_FORMAT` and :data:`CHECKPOINT_KIND`;
* ``config``: the run's ``SeqGANConfig.to_dict()``; ``oracle_sha256``: the SHA-256 of its
  ``oracle_file`` (``None``: the seeded oracle);
* ``units_done``, ``elapsed_s`` (the training time) and ``rows`` (the metrics rows so far);
* ``generator`` and ``generator_optimizer``: G_θ and its policy-gradient Adam; ``mle_optimizer``:
  G_θ's MLE Adam (pretraining, Scheduled Sampling); ``rollout_policy``: G_β;
* ``discriminator`` and ``discriminator_optimizer``: D_φ and its Adam;
* ``mle_generator`` and ``mle_generator_optimizer``: Figure 2's MLE-only control and its Adam
  (``None`` before the end of pretraining);
* ``num_timesteps`` and ``n_updates``: REINFORCE's counters;
* ``sha256``: :func:`state_digest` of the rest, so that a damaged file (a flipped byte in a tensor) is
  refused. Checkpoints of format 1 written before it was added have none, and are read as before.

It is written to a temporary file, then renamed over the last one, so a crash or a full disk leaves
the previous checkpoint whole. Reading checks everything before anything is used: the digest, the
keys, the configuration, the counters, the rows and the tensors' shapes; a checkpoint that holds a
non-finite value is neither written nor read.
"""

from __future__ import annotations

import hashlib
import io
import math
import numbers
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from agents.experiment.config import LATER_FIELDS, PHASES, SeqGANConfig
from agents.experiment.records import METRIC_COLUMNS, RUN_FILES
from seqgan_gym._checks import non_finite_names
from seqgan_gym._io import atomic_write, describe_load_error, folder_lock, remove_stale_temporaries

if TYPE_CHECKING:
    from agents.experiment.schedule import UnitSchedule

_Trainer = TypeVar("_Trainer", bound="UnitSchedule")

#: The checkpoint's file name in a run's ``out_dir``.
CHECKPOINT_NAME = "checkpoint.pt"
#: The version of the keys above and their meaning; a checkpoint of another version is refused.
CHECKPOINT_FORMAT = 1
#: The ``kind`` of a trainer checkpoint, which tells it from any other file ``torch.save`` wrote.
CHECKPOINT_KIND = "seqgan-gym SeqGANTrainer"


#: The keys of a checkpoint, in order (:data:`DIGEST_KEY` follows them in the file).
CHECKPOINT_KEYS: tuple[str, ...] = (
    "format_version",
    "kind",
    "config",
    "oracle_sha256",
    "units_done",
    "elapsed_s",
    "rows",
    "generator",
    "generator_optimizer",
    "mle_optimizer",
    "rollout_policy",
    "discriminator",
    "discriminator_optimizer",
    "mle_generator",
    "mle_generator_optimizer",
    "num_timesteps",
    "n_updates",
)
#: The key of the checkpoint's digest (:func:`state_digest`); optional in format 1, checked when there.
DIGEST_KEY = "sha256"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed: missing, truncated, damaged, forged or from another version."""


def trainer_state(trainer: UnitSchedule) -> dict[str, Any]:
    """The checkpoint of ``trainer``: everything between two units (``SeqGANTrainer.state_dict``).

    :raises RuntimeError: the trainer stopped inside a unit, so its state is not between two units.
    :raises FloatingPointError: a value is not finite.
    """

    def optional(module: torch.nn.Module | torch.optim.Optimizer | None) -> dict[str, Any] | None:
        return None if module is None else module.state_dict()

    state = {
        "format_version": CHECKPOINT_FORMAT,
        "kind": CHECKPOINT_KIND,
        "config": trainer.config.to_dict(),
        "oracle_sha256": trainer.oracle_sha256,
        "units_done": trainer.units_done,
        "elapsed_s": trainer.elapsed_s,
        "rows": trainer.rows,
        "generator": trainer.generator.state_dict(),
        "generator_optimizer": trainer.model.policy.optimizer.state_dict(),
        "mle_optimizer": trainer.mle_optimizer.state_dict(),
        "rollout_policy": trainer.rollout_policy.state_dict(),
        "discriminator": trainer.discriminator.state_dict(),
        "discriminator_optimizer": trainer.discriminator_optimizer.state_dict(),
        "mle_generator": optional(trainer.mle_generator),
        "mle_generator_optimizer": optional(trainer.mle_generator_optimizer),
        "num_timesteps": trainer.model.num_timesteps,
        "n_updates": trainer.model._n_updates,
    }
    if trainer._broken_unit is not None:
        raise RuntimeError(
            f"refusing to checkpoint: this trainer stopped inside {trainer._broken_unit}, so its state is not "
            "between two units; resume from its last checkpoint"
        )
    bad = non_finite_names(state)
    if bad:
        raise FloatingPointError(f"refusing to checkpoint non-finite values in {', '.join(map(repr, bad))}")
    return state


def load_trainer_state(trainer: UnitSchedule, state: dict[str, Any]) -> None:
    """Restore what :func:`trainer_state` saved into ``trainer``, built with the same config.

    :raises CheckpointError: the checkpoint belongs to another configuration or oracle file.
    """
    theirs, ours = {**LATER_FIELDS, **state["config"]}, trainer.config.to_dict()
    if theirs != ours:
        differ = [
            f"{k}={theirs.get(k)!r} (here {ours.get(k)!r})"
            for k in sorted(set(theirs) | set(ours), key=str)
            if theirs.get(k) != ours.get(k)
        ]
        raise CheckpointError(f"the checkpoint belongs to another configuration: {', '.join(differ)}")
    if state["oracle_sha256"] != trainer.oracle_sha256:
        raise CheckpointError("the checkpoint was trained against another oracle file")
    check_state(state, "the checkpoint")  # every part, before any of it reaches the trainer
    trainer.generator.load_state_dict(state["generator"])
    trainer.model.policy.optimizer.load_state_dict(state["generator_optimizer"])
    trainer.mle_optimizer.load_state_dict(state["mle_optimizer"])
    trainer.rollout_policy.load_state_dict(state["rollout_policy"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    trainer.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
    if state["mle_generator"] is not None:
        trainer._end_of_pretraining()  # creates the control's modules; their state follows
        assert trainer.mle_generator is not None and trainer.mle_generator_optimizer is not None
        trainer.rollout_policy.load_state_dict(state["rollout_policy"])
        trainer.mle_generator.load_state_dict(state["mle_generator"])
        trainer.mle_generator_optimizer.load_state_dict(state["mle_generator_optimizer"])
    trainer.model.num_timesteps = int(state["num_timesteps"])
    trainer.model._n_updates = int(state["n_updates"])
    trainer.units_done = int(state["units_done"])
    trainer.elapsed_s = float(state["elapsed_s"])
    trainer.records.rows = list(state["rows"])
    trainer.model.policy.forget()


def write_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` and its digest to ``path`` atomically: the previous file there stays valid until the rename.

    :raises OSError: the write failed (e.g. a full disk): the error names the file; the previous
        checkpoint, if there is one, is intact (what to do about it is the caller's to say, once).
    """
    buffer = io.BytesIO()
    torch.save({**state, DIGEST_KEY: state_digest(state)}, buffer)
    try:
        with atomic_write(path, "wb") as f:
            f.write(buffer.getbuffer())
    except OSError as err:  # e.g. ENOSPC: the rename never happened, so the last checkpoint is whole
        if err.errno is None:
            raise OSError(f"could not write the checkpoint {str(path)!r}: {err}") from err
        raise type(err)(err.errno, err.strerror, str(path)) from err
    return path


def state_digest(state: dict[str, Any]) -> str:
    """The SHA-256 of a checkpoint's values (hex): every tensor's bytes, dtype and shape, and every plain value.

    The configuration is left out: it is checked on its own (valid, and fitting the tensors' shapes),
    so that an edited configuration is reported as what it is.
    """
    digest = hashlib.sha256()
    _hash_tree(digest, {k: v for k, v in state.items() if k not in (DIGEST_KEY, "config")})
    return digest.hexdigest()


def _hash_tree(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}:".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}:".encode())
        for key, item in value.items():
            _hash_tree(digest, key)
            _hash_tree(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)}:".encode())
        for item in value:
            _hash_tree(digest, item)
    else:  # None, bool, int, float (repr round-trips), str
        digest.update(f"{type(value).__name__}:{value!r};".encode())


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a trainer checkpoint without executing anything (``torch.load(weights_only=True)``).

    :raises CheckpointError: missing, truncated or foreign file, or another format version.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f"no checkpoint at {str(path)!r}") from err
    except Exception as err:  # untrusted bytes: truncated or forged files fail in many ways
        raise CheckpointError(
            f"{str(path)!r} is not a readable seqgan-gym checkpoint ({describe_load_error(err)})"
        ) from err
    if not isinstance(state, dict) or state.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"{str(path)!r} is not a seqgan-gym SeqGANTrainer checkpoint")
    if state.get("format_version") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format {state.get('format_version')!r}; this version reads "
            f"format {CHECKPOINT_FORMAT}"
        )
    if DIGEST_KEY in state:  # format 1 from before the digest has none: read as before
        expected = state.pop(DIGEST_KEY)
        if not (isinstance(expected, str) and _HEX_DIGEST.fullmatch(expected)):
            raise CheckpointError(f"{str(path)!r} is damaged: its {DIGEST_KEY!r} is not a SHA-256 digest")
        if state_digest(state) != expected:
            raise CheckpointError(
                f"{str(path)!r} is damaged: its contents do not match its SHA-256 digest (a changed or corrupted "
                "file); resume from a good copy"
            )
    check_state(state, repr(str(path)))
    bad = non_finite_names(state)
    if bad:
        raise CheckpointError(f"{str(path)!r} holds non-finite values in {', '.join(map(repr, bad))}")
    return state


def check_state(state: dict[str, Any], where: str) -> SeqGANConfig:
    """Check every part of a checkpoint's ``state`` (without its digest) before any of it is used.

    :param where: names the checkpoint in the messages.
    :return: its configuration.
    :raises CheckpointError: a key missing or unknown, an invalid configuration, a counter out of
        range, rows that are not metrics rows, or tensors that do not fit the configuration.
    """
    missing = [k for k in CHECKPOINT_KEYS if k not in state]
    unknown = sorted(map(str, set(state) - set(CHECKPOINT_KEYS)))
    if missing or unknown:
        raise CheckpointError(f"{where} is damaged: keys missing {missing}, unknown keys {unknown}")
    try:
        config = SeqGANConfig.from_dict(_as_config_dict(state["config"]))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{where} holds an invalid configuration: {err!r}") from err

    def bad(key: str, expected: str) -> CheckpointError:
        return CheckpointError(f"{where} is damaged: {key} must be {expected}, got {_short(state[key])}")

    units = len(config.units())
    units_done = state["units_done"]
    if not _is_int(units_done) or not 0 <= units_done <= units:
        raise bad("units_done", f"an integer in [0, {units}] (the units of its configuration)")
    for key in ("num_timesteps", "n_updates"):
        if not _is_int(state[key]) or state[key] < 0:
            raise bad(key, "an integer >= 0")
    elapsed = state["elapsed_s"]
    if not (isinstance(elapsed, numbers.Real) and not isinstance(elapsed, bool) and 0 <= elapsed < math.inf):
        raise bad("elapsed_s", "a number of seconds >= 0")
    digest = state["oracle_sha256"]
    if (config.oracle_file is None) != (digest is None) or not (digest is None or _HEX_DIGEST.fullmatch(str(digest))):
        raise bad("oracle_sha256", "the SHA-256 of its oracle_file (None for the seeded oracle)")
    _check_rows(state["rows"], units_done, where)
    pretrained = units_done >= config.mle_epochs  # the MLE control exists from the end of pretraining on
    for key in ("generator", "rollout_policy", "discriminator", "mle_generator"):
        if not (key == "mle_generator" and not pretrained and state[key] is None) and not _is_tensors(state[key]):
            raise bad(key, "a dict of tensors" + (" (pretraining is over)" if key == "mle_generator" else ""))
    for key in ("generator_optimizer", "mle_optimizer", "discriminator_optimizer", "mle_generator_optimizer"):
        if not (key == "mle_generator_optimizer" and not pretrained and state[key] is None):
            if not (isinstance(state[key], dict) and {"state", "param_groups"} <= set(state[key])):
                raise bad(key, "an optimiser's state_dict")
    if state["mle_generator"] is not None and units_done < config.mle_epochs:
        raise bad("mle_generator", "None before the end of pretraining")
    _check_shapes(state, config, where)
    return config


def _check_rows(rows: Any, units_done: int, where: str) -> None:
    """Rows as the trainer writes them: one per unit and one for the untrained generator, of metrics."""
    if not isinstance(rows, list) or not units_done <= len(rows) <= units_done + 1:
        got = f"{len(rows)} rows" if isinstance(rows, list) else _short(rows)
        raise CheckpointError(f"{where} is damaged: rows must be a list of {units_done} or {units_done + 1}, got {got}")
    for i, row in enumerate(rows):
        ok = isinstance(row, dict) and set(row) <= set(METRIC_COLUMNS) and row.get("phase") in PHASES
        ok = ok and _is_int(row.get("epoch")) and _is_int(row.get("step"))
        ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in row.items() if k != "phase")
        if not ok:
            raise CheckpointError(f"{where} is damaged: row {i} is not a metrics row: {_short(row)}")


def _check_shapes(state: dict[str, Any], config: SeqGANConfig, where: str) -> None:
    """The tensors that carry the sizes must have the configuration's: nothing of another size gets built."""
    v, e, h = config.vocab_size, config.emb_dim, config.hidden_dim
    expected = [(k, "embedding", (v, e)) for k in ("generator", "rollout_policy", "mle_generator")]
    expected += [(k, "w_h", (h, 4 * h)) for k in ("generator", "rollout_policy", "mle_generator")]
    expected.append(("discriminator", "embedding.weight", (v, config.discriminator_emb_dim)))
    for key, name, shape in expected:
        tensor = (state[key] or {}).get(name)
        if tensor is not None and tuple(tensor.shape) != shape:
            raise CheckpointError(
                f"{where} does not fit its configuration: size mismatch for {key} {name!r}: shape "
                f"{tuple(tensor.shape)} in the checkpoint, {shape} for vocab_size={v}, emb_dim={e}, hidden_dim={h}"
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_tensors(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(t, torch.Tensor) for k, t in value.items())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def resume_trainer(
    cls: type[_Trainer],
    out_dir: str | os.PathLike[str],
    device: str | torch.device,
    checkpoint_every_s: float,
    on_row: Callable[[dict[str, Any]], None] | None,
) -> _Trainer:
    """A ``cls`` trainer for the run in ``out_dir``, at its last checkpoint (``SeqGANTrainer.resume``).

    :raises CheckpointError: the checkpoint is missing or unreadable, or does not fit its own configuration.
    """
    out_dir = Path(out_dir)
    path = out_dir / CHECKPOINT_NAME
    if not path.is_file():  # checked before the lock, which would make the folder
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    with folder_lock(out_dir):  # no other process is writing this run (its temporary files are not stale)
        state = load_checkpoint(path)
        # A crash between writing a temporary file and its rename leaves it behind; it was never the file.
        remove_stale_temporaries(out_dir, RUN_FILES)
        config = SeqGANConfig.from_dict(_as_config_dict(state["config"]))  # checked by load_checkpoint
        if config.oracle_file is not None:  # the file it names is read only if it is the one trained against
            try:
                found = file_sha256(config.oracle_file)
            except OSError as err:
                raise CheckpointError(
                    f"{str(path)!r} was trained against the oracle file {config.oracle_file!r}, which cannot be "
                    f"read ({err.strerror or err}): put it back"
                ) from err
            if found != state["oracle_sha256"]:
                raise CheckpointError(
                    f"{str(path)!r} was trained against another oracle file than the one now at {config.oracle_file!r}"
                )
        try:  # e.g. an oracle file that is not the paper's layout, sizes beyond the memory
            trainer = cls(config, out_dir, device, checkpoint_every_s, on_row)
        except (TypeError, ValueError, RuntimeError, MemoryError) as err:
            raise CheckpointError(f"{str(path)!r}: cannot build the run of its configuration: {err}") from err
        try:
            trainer.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
            raise CheckpointError(f"{str(path)!r} does not fit its configuration: {err}") from err
        trainer._claimed = True  # the folder holds this run: the trainer may write on into it
    return trainer


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the file at ``path``, hex: a checkpoint names the oracle file it was trained against."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _as_config_dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError("config is not a mapping")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
