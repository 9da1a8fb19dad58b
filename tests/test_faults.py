"""Numerical faults: a NaN or infinity in a reward, a loss or a gradient stops training with an error
that names the step and the quantity, before the parameters change, and never reaches a file."""

from __future__ import annotations

import dataclasses
import io
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from helpers import tiny_config
from torch import nn

from agents import REINFORCE
from agents.experiment.seqgan import CHECKPOINT_NAME, CheckpointError, SeqGANTrainer, load_checkpoint
from agents.pretraining import mle_optimizer, mle_pretrain, pretrain_discriminator
from seqgan_gym._checks import all_finite
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.sb3 import make_sb3_vec_env

NAN = float("nan")
# One MLE epoch, two D pretraining rounds, three adversarial epochs: units 1, 2-3, 4-6.
SMALL = tiny_config(mle_epochs=1, mle_continuation_epochs=0)


def _nan_output(module: nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor:
    return torch.full_like(output, NAN)


def _nan_output_in_training(module: nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor:
    return torch.full_like(output, NAN) if module.training else output  # D's training only: rewards stay finite


def _nan_grad(grad: torch.Tensor) -> torch.Tensor:
    return torch.full_like(grad, NAN)


def _state(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(a: list[torch.Tensor], module: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, module.parameters(), strict=True))


def _assert_files_finite(out: Path, units_done: int) -> None:
    """The run's files after a fault: the last checkpoint loads, is finite and is the one before the fault."""
    state = load_checkpoint(out / CHECKPOINT_NAME)
    assert state["units_done"] == units_done
    assert all_finite(state)
    text = (out / "metrics.csv").read_text().lower()
    assert "nan" not in text and "inf" not in text
    assert not list(out.glob(".*.tmp"))


def _fault_run(
    tmp_path: Path, units_before: int, inject: Callable[[SeqGANTrainer], object], match: str
) -> SeqGANTrainer:
    """Run ``units_before`` units, inject the fault, run on: the error names the step; nothing is written after it."""
    trainer = SeqGANTrainer(SMALL, tmp_path, checkpoint_every_s=0)
    trainer.run(max_units=units_before)
    inject(trainer)
    generator, discriminator = _state(trainer.generator), _state(trainer.discriminator)
    before = (tmp_path / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(FloatingPointError, match=match):
        trainer.run()
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == before
    _assert_files_finite(tmp_path, units_before)
    with pytest.raises(RuntimeError, match="stopped inside"):  # its state is half a unit on: never checkpointed
        trainer.save_checkpoint()
    with pytest.raises(RuntimeError, match="stopped inside"):
        trainer.run()
    trainer.saved = (generator, discriminator)  # type: ignore[attr-defined]
    return trainer


def test_discriminator_returning_nan_stops_at_the_reward_and_the_run_resumes_intact(tmp_path: Path) -> None:
    whole = SeqGANTrainer(SMALL).run()
    out = tmp_path / "run"
    trainer = _fault_run(
        out,
        3,
        lambda t: t.discriminator.output.register_forward_hook(_nan_output),
        r"^adversarial epoch 1 \(unit 4 of 6\): non-finite reward at generator update 1 \(timestep \d+\): "
        r"\d+ NaN and 0 infinite of 48 values, the first at index \(0, 0\); the policy was not updated",
    )
    assert _same(trainer.saved[0], trainer.generator)  # type: ignore[attr-defined]
    resumed = SeqGANTrainer.resume(out).run()  # no data lost: the run goes on from the last checkpoint
    assert [{k: v for k, v in r.items() if k != "elapsed_s"} for r in resumed] == [
        {k: v for k, v in r.items() if k != "elapsed_s"} for r in whole
    ]


def test_nan_discriminator_loss_in_pretraining(tmp_path: Path) -> None:
    trainer = _fault_run(
        tmp_path,
        1,
        lambda t: t.discriminator.output.register_forward_hook(_nan_output_in_training),
        r"^d_pretrain epoch 1 \(unit 2 of 6\): non-finite discriminator loss at epoch 1 of 1, batch 1 of 1: nan; "
        "D was not updated",
    )
    assert _same(trainer.saved[1], trainer.discriminator)  # type: ignore[attr-defined]


def test_nan_discriminator_loss_in_the_d_steps(tmp_path: Path) -> None:
    _fault_run(
        tmp_path,
        3,
        lambda t: t.discriminator.output.register_forward_hook(_nan_output_in_training),
        r"^adversarial epoch 1 \(unit 4 of 6\): d-step 1 of 2 after the generator update at timestep 48: "
        r"non-finite discriminator loss at epoch 1 of 1, batch 1 of 1",
    )


def test_nan_discriminator_gradient(tmp_path: Path) -> None:
    _fault_run(
        tmp_path,
        1,
        lambda t: t.discriminator.highway_lin.weight.register_hook(_nan_grad),
        r"^d_pretrain epoch 1 \(unit 2 of 6\): non-finite discriminator parameters after epoch 1 of 1 "
        r"\(a non-finite gradient",
    )


def test_nan_generator_gradient_in_the_policy_gradient(tmp_path: Path) -> None:
    trainer = _fault_run(
        tmp_path,
        3,
        lambda t: t.generator.w_out.register_hook(_nan_grad),
        r"^adversarial epoch 1 \(unit 4 of 6\): non-finite gradient norm at generator update 1 \(timestep 48\): nan",
    )
    assert _same(trainer.saved[0], trainer.generator)  # type: ignore[attr-defined]
    assert trainer.model._n_updates == 0


def test_nan_generator_gradient_in_mle(tmp_path: Path) -> None:
    trainer = SeqGANTrainer(SMALL, tmp_path)
    before = _state(trainer.generator)
    trainer.generator.w_out.register_hook(_nan_grad)
    with pytest.raises(FloatingPointError, match=r"^mle epoch 1 \(unit 1 of 6\): non-finite generator gradient norm "):
        trainer.run()
    assert _same(before, trainer.generator)
    assert not (tmp_path / CHECKPOINT_NAME).exists()  # the fault came before the first checkpoint


def test_infinite_loss_of_the_policy_gradient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = SeqGANTrainer(SMALL, tmp_path)
    trainer.run(max_units=3)
    monkeypatch.setattr(trainer.generator, "weighted_nll", lambda actions, weights: torch.tensor(math.inf))
    with pytest.raises(FloatingPointError, match=r"non-finite loss at generator update 1 \(timestep 48\): inf"):
        trainer.run()


def test_library_functions_name_the_epoch(tiny_oracle, tiny_discriminator: Discriminator) -> None:
    real = tiny_oracle.sample(64, generator=torch.Generator().manual_seed(0))
    generator = LSTMGenerator(12, 6, 8, 8)
    generator.embedding.register_hook(_nan_grad)
    with pytest.raises(FloatingPointError, match=r"^MLE epoch 1 of 2: non-finite generator gradient norm at batch 1"):
        mle_pretrain(generator, real, epochs=2, batch_size=16)
    tiny_discriminator.output.register_forward_hook(_nan_output_in_training)
    with pytest.raises(FloatingPointError, match=r"^discriminator pretraining round 1 of 3: non-finite discriminator"):
        pretrain_discriminator(tiny_discriminator, LSTMGenerator(12, 6, 8, 8), real, rounds=3, epochs=1)
    assert mle_optimizer(LSTMGenerator(12, 6, 8, 8)).state == {}  # nothing half-built


def test_reinforce_refuses_to_save_or_load_non_finite_weights(tiny_oracle, tmp_path: Path) -> None:
    env = make_sb3_vec_env(n_envs=4, n_rollouts=None, oracle=tiny_oracle, n_real=16)
    model = REINFORCE("LSTMGeneratorPolicy", env, policy_kwargs={"emb_dim": 8, "hidden_dim": 8}, seed=0)
    model.save(tmp_path / "good.zip")
    with torch.no_grad():
        model.policy.generator.b_out[3] = math.inf
    with pytest.raises(
        FloatingPointError, match=r"refusing to save non-finite values in \['policy\.generator\.b_out'\]"
    ):
        model.save(tmp_path / "bad.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.zip"]

    import zipfile

    with zipfile.ZipFile(tmp_path / "good.zip") as src, zipfile.ZipFile(tmp_path / "crafted.zip", "w") as dst:
        buffer = io.BytesIO()
        torch.save(model.policy.state_dict(), buffer)
        for name in src.namelist():
            dst.writestr(name, buffer.getvalue() if name == "policy.pth" else src.read(name))
    with pytest.raises(ValueError, match=r"crafted\.zip.* holds non-finite values in \['generator\.b_out'\]"):
        REINFORCE.load(tmp_path / "crafted.zip")


def test_checkpoint_with_non_finite_values_is_refused(tmp_path: Path) -> None:
    SeqGANTrainer(SMALL, tmp_path / "run").run(max_units=1)
    state = load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)
    state["rows"][-1]["g_loss"] = NAN
    (tmp_path / "crafted").mkdir()
    torch.save(state, tmp_path / "crafted" / CHECKPOINT_NAME)
    with pytest.raises(CheckpointError, match=re.escape("holds non-finite values in 'rows'")):
        SeqGANTrainer.resume(tmp_path / "crafted")


def test_a_nan_metric_never_reaches_metrics_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = SeqGANTrainer(dataclasses.replace(SMALL, d_pretrain_rounds=0), tmp_path)
    monkeypatch.setattr(trainer, "evaluate", lambda generator: {"nll_oracle": NAN, "nll_test": 1.0})
    with pytest.raises(FloatingPointError, match=r"non-finite nll_oracle=nan"):
        trainer.run()
    assert not (tmp_path / "metrics.csv").exists()
