"""The trainer's checkpoint: what it holds, and how it is written, read and resumed.

A checkpoint is ``out_dir/checkpoint.pt``, one ``torch.save`` of a dict of tensors and plain Python
values, so that ``torch.load(weights_only=True)`` reads it without running any code. It holds the
state of a run between two units; every unit seeds its random streams from ``(seed, unit index)``
(:mod:`agents.streams`), so that state is all a bit-exact resume needs:

* ``format_version`` and ``kind``: :data:`CHECKPOINT_FORMAT` and :data:`CHECKPOINT_KIND`;
* ``config``: the run's ``SeqGANConfig.to_dict()``; ``oracle_sha256``: the SHA-256 of its
  ``oracle_file`` (``None``: the seeded oracle);
* ``units_done``, ``elapsed_s`` (the training time) and ``rows`` (the metrics rows so far);
* ``generator`` and ``generator_optimizer``: G_θ and its policy-gradient Adam; ``mle_optimizer``:
  G_θ's MLE Adam (pretraining, Scheduled Sampling); ``rollout_policy``: G_β;
* ``discriminator`` and ``discriminator_optimizer``: D_φ and its Adam;
* ``mle_generator`` and ``mle_generator_optimizer``: Figure 2's MLE-only control and its Adam
  (``None`` before the end of pretraining);
* ``num_timesteps`` and ``n_updates``: REINFORCE's counters.

It is written to a temporary file, then renamed over the last one, so a crash or a full disk leaves
the previous checkpoint whole. A checkpoint that holds a non-finite value is neither written nor read.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from agents.config import SeqGANConfig
from seqgan_gym._checks import non_finite_names
from seqgan_gym._io import atomic_write

if TYPE_CHECKING:
    from agents.schedule import UnitSchedule

_Trainer = TypeVar("_Trainer", bound="UnitSchedule")

#: The checkpoint's file name in a run's ``out_dir``.
CHECKPOINT_NAME = "checkpoint.pt"
#: The version of the keys above and their meaning; a checkpoint of another version is refused.
CHECKPOINT_FORMAT = 1
#: The ``kind`` of a trainer checkpoint, which tells it from any other file ``torch.save`` wrote.
CHECKPOINT_KIND = "seqgan-gym SeqGANTrainer"


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed: missing, truncated, foreign or from another version."""


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
    if state["config"] != trainer.config.to_dict():
        theirs, ours = state["config"], trainer.config.to_dict()
        differ = [
            f"{k}={theirs.get(k)!r} (here {ours.get(k)!r})"
            for k in sorted(set(theirs) | set(ours), key=str)
            if theirs.get(k) != ours.get(k)
        ]
        raise CheckpointError(f"the checkpoint belongs to another configuration: {', '.join(differ)}")
    if state["oracle_sha256"] != trainer.oracle_sha256:
        raise CheckpointError("the checkpoint was trained against another oracle file")
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
    """Write ``state`` to ``path`` atomically: the previous file there stays valid until the rename.

    :raises OSError: the write failed (e.g. a full disk); the message says the previous file is intact.
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        with atomic_write(path, "wb") as f:
            f.write(buffer.getbuffer())
    except OSError as err:  # e.g. ENOSPC: the rename never happened, so the last checkpoint is whole
        message = (
            f"could not write the checkpoint {str(path)!r} ({err.strerror or err}); the previous checkpoint "
            "there is intact: make room, then resume from it"
        )
        raise (OSError(message) if err.errno is None else type(err)(err.errno, message)) from err
    return path


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
            f"{str(path)!r} is not a readable seqgan-gym checkpoint ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(state, dict) or state.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"{str(path)!r} is not a seqgan-gym SeqGANTrainer checkpoint")
    if state.get("format_version") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format {state.get('format_version')!r}; this version reads "
            f"format {CHECKPOINT_FORMAT}"
        )
    bad = non_finite_names(state)
    if bad:
        raise CheckpointError(f"{str(path)!r} holds non-finite values in {', '.join(map(repr, bad))}")
    return state


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
    state = load_checkpoint(path)
    # A crash between writing a temporary file and its rename leaves it behind; it was never the checkpoint.
    for stale in out_dir.glob(f".{CHECKPOINT_NAME}.*.tmp"):
        stale.unlink(missing_ok=True)
    try:
        config = SeqGANConfig.from_dict(_as_config_dict(state["config"]))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{str(path)!r} holds an invalid configuration: {err!r}") from err
    trainer = cls(config, out_dir, device, checkpoint_every_s, on_row)
    try:
        trainer.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
        raise CheckpointError(f"{str(path)!r} does not fit its configuration: {err}") from err
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
