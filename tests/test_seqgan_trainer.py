"""The full SeqGAN schedule (agents.experiment.seqgan) on a tiny benchmark: metrics, outputs, exact resume."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import pickle
from pathlib import Path

import pytest
import torch
from helpers import TINY_CONFIG, Exploit, torch_bytes

from agents import REINFORCE
from agents.experiment.checkpoint import DIGEST_KEY, state_digest
from agents.experiment.run_benchmark import bleu_references
from agents.experiment.seqgan import (
    CHECKPOINT_NAME,
    PRESETS,
    CheckpointError,
    SeqGANConfig,
    SeqGANTrainer,
    load_checkpoint,
    unit_seed,
)

TINY = TINY_CONFIG


def _samples(out: Path) -> list[str]:
    return (out / "samples.txt").read_text().splitlines()


def _numbers(rows: list[dict]) -> list[tuple]:
    """Every metric of every row, without the wall-clock column."""
    return [tuple((k, v) for k, v in row.items() if k != "elapsed_s") for row in rows]


def test_schedule_order_and_counts() -> None:
    units = TINY.units()
    assert [p for p, _ in units] == ["mle"] * 3 + ["mle_continuation"] * 3 + ["d_pretrain"] * 2 + ["adversarial"] * 3
    assert dataclasses.replace(TINY, mle_continuation_epochs=0).units().count(("mle_continuation", 0)) == 0
    assert unit_seed(0, 1) != unit_seed(0, 2) != unit_seed(1, 1)


def test_full_run_writes_every_output(tmp_path: Path) -> None:
    trainer = SeqGANTrainer(TINY, tmp_path, checkpoint_every_s=0)
    rows = trainer.run()
    assert trainer.finished
    phases = [r["phase"] for r in rows]
    assert phases == ["mle"] * 4 + ["mle_continuation"] * 3 + ["d_pretrain"] * 2 + ["adversarial"] * 3
    for row in rows:
        if row["phase"] != "d_pretrain":
            assert 0 < row["nll_oracle"] < 3 * math.log(TINY.vocab_size)
            assert math.isfinite(row["nll_test"])
    adversarial = [r for r in rows if r["phase"] == "adversarial"]
    assert [r["step"] for r in adversarial] == [4, 5, 6]  # Figure 2's x axis continues after pretraining
    assert all(0 <= r["mean_reward"] <= 1 and math.isfinite(r["d_loss"]) for r in adversarial)
    assert all(0 <= r["d_acc_real"] <= 1 and 0 <= r["d_acc_fake"] <= 1 for r in adversarial)

    with open(tmp_path / "metrics.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows)
    assert float(table[-1]["nll_oracle"]) == rows[-1]["nll_oracle"]
    assert len(_samples(tmp_path)) == TINY.n_eval
    assert all(len(line.split()) == TINY.seq_len for line in _samples(tmp_path))
    assert (tmp_path / "nll_oracle.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any((tmp_path / "tensorboard").iterdir())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["nll_oracle_seqgan"] == adversarial[-1]["nll_oracle"]
    assert summary["config"] == json.loads((tmp_path / "config.json").read_text())

    model = REINFORCE.load(tmp_path / "generator.zip")  # the final G_θ, loadable on its own
    for a, b in zip(model.policy.generator.parameters(), trainer.generator.parameters(), strict=True):
        assert torch.equal(a, b)


def test_every_preset_rolls_out_the_current_generator() -> None:
    """Algorithm 1's β ← θ: after every adversarial epoch G_β equals G_θ; r > 0 is the delayed copy."""
    assert all(config.rollout_update_rate == 0 for config in PRESETS.values())
    trainer = SeqGANTrainer(TINY, None)
    trainer.run(max_units=len(TINY.units()) - 2)
    for _ in range(2):
        assert trainer.units[trainer.units_done][0] == "adversarial"
        trainer.run(max_units=1)
        beta, theta = trainer.rollout_policy.state_dict(), trainer.generator.state_dict()
        assert all(torch.equal(beta[name], theta[name]) for name in theta)
    delayed = SeqGANTrainer(dataclasses.replace(TINY, rollout_update_rate=0.8), None)
    delayed.run()
    assert not torch.equal(delayed.rollout_policy.w_out, delayed.generator.w_out)


def test_discriminator_accuracy_counts_each_class(monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = SeqGANTrainer(TINY, None)
    real = trainer.held_out
    # A D that calls exactly the held-out real sequences real: both accuracies are 1.
    monkeypatch.setattr(
        trainer.discriminator,
        "prob_real",
        lambda tokens: (tokens.unsqueeze(1) == real.unsqueeze(0)).all(-1).any(-1).float(),
    )
    accuracy = trainer.discriminator_accuracy(0, n=16)
    assert accuracy["d_acc_real"] == 1.0
    assert accuracy["d_acc_fake"] > 0.5  # samples that repeat a held-out sequence count as misjudged
    monkeypatch.setattr(trainer.discriminator, "prob_real", lambda tokens: torch.ones(len(tokens)))
    assert trainer.discriminator_accuracy(0, n=16) == {"d_acc_real": 1.0, "d_acc_fake": 0.0}


def test_row_time_includes_its_unit() -> None:
    trainer = SeqGANTrainer(TINY, None)
    rows = trainer.run(max_units=2)
    assert [r["phase"] for r in rows] == ["mle"] * 3
    assert rows[0]["elapsed_s"] == 0.0  # the untrained generator, before any unit
    assert 0.0 < rows[1]["elapsed_s"] <= rows[2]["elapsed_s"] <= round(trainer.elapsed_s, 3)


def test_same_seed_same_run_and_another_seed_differs(tmp_path: Path) -> None:
    a = SeqGANTrainer(TINY, tmp_path / "a").run()
    b = SeqGANTrainer(TINY, tmp_path / "b").run()
    c = SeqGANTrainer(dataclasses.replace(TINY, seed=12), tmp_path / "c").run()
    assert _numbers(a) == _numbers(b)
    assert _samples(tmp_path / "a") == _samples(tmp_path / "b")
    assert _numbers(a) != _numbers(c)


@pytest.mark.parametrize("method", ["pg_bleu", "scheduled_sampling"])
def test_baselines_share_the_pretrained_start_and_resume_exactly(tmp_path: Path, method: str) -> None:
    """Table 1's baselines: the same pretraining as SeqGAN, then their own training; resume stays exact."""
    config = dataclasses.replace(TINY, method=method, mle_continuation_epochs=0)
    phase = config.method_phase
    assert config.units() == [("mle", i) for i in range(3)] + [(phase, i) for i in range(3)]  # no D pretraining
    seqgan = SeqGANTrainer(TINY).run()
    trainer = SeqGANTrainer(config, tmp_path / "whole")
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    rows = trainer.run()
    pretraining = [r for r in rows if r["phase"] == "mle"]
    assert _numbers(pretraining) == _numbers([r for r in seqgan if r["phase"] == "mle"])
    trained = [r for r in rows if r["phase"] == phase]
    assert len(trained) == 3 and all(math.isfinite(r["nll_oracle"]) for r in trained)
    assert trained[-1]["nll_oracle"] != pretraining[-1]["nll_oracle"]  # it trained G_θ
    assert all("d_loss" not in r for r in trained)
    assert all(torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters(), strict=True))
    if method == "scheduled_sampling":
        # The paper's curriculum by default: ε falls by 0.002 before every epoch.
        assert [r["truth_prob"] for r in trained] == pytest.approx([0.998, 0.996, 0.994], abs=1e-12)
    else:
        assert all(0 <= r["mean_reward"] <= 1 for r in trained)  # BLEU
    summary = json.loads((tmp_path / "whole" / "summary.json").read_text())
    assert summary["method"] == method and summary[f"nll_oracle_{method}"] == trained[-1]["nll_oracle"]
    assert f"{method}_minus_mle" in summary and "nll_oracle_seqgan" not in summary

    out = tmp_path / "pieces"
    SeqGANTrainer(config, out, checkpoint_every_s=1e9).run(max_units=4)
    resumed = SeqGANTrainer.resume(out).run()
    assert _numbers(resumed) == _numbers(rows)
    assert _samples(out) == _samples(tmp_path / "whole")


@pytest.mark.parametrize("stops", [[1], [4, 3], [7, 1, 1]])
def test_resume_equals_uninterrupted_bit_for_bit(tmp_path: Path, stops: list[int]) -> None:
    whole = SeqGANTrainer(TINY, tmp_path / "whole").run()
    out = tmp_path / "pieces"
    trainer = SeqGANTrainer(TINY, out, checkpoint_every_s=1e9)
    for n in stops:  # stop after n units, then start again from the checkpoint in a new trainer
        trainer.run(max_units=n)
        del trainer
        trainer = SeqGANTrainer.resume(out)
    assert trainer.units_done == sum(stops)
    rows = trainer.run()
    assert _numbers(rows) == _numbers(whole)
    assert _samples(out) == _samples(tmp_path / "whole")
    assert (out / "metrics.csv").read_text().count("\n") == len(whole) + 1


def _sample_texts(out: Path) -> dict[str, list[tuple[int, str]]]:
    """TensorBoard's text summaries in ``out``: ``{tag: [(step, text)]}``, read back from the event files."""
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

    events = EventAccumulator(str(out / "tensorboard"), size_guidance={TENSORS: 0})
    events.Reload()
    return {
        tag: [(e.step, e.tensor_proto.string_val[0].decode()) for e in events.Tensors(tag)]
        for tag in events.Tags()[TENSORS]
    }


def test_tensorboard_shows_samples_of_each_evaluation(tmp_path: Path) -> None:
    rows = SeqGANTrainer(dataclasses.replace(TINY, eval_every=2), tmp_path).run()
    texts = _sample_texts(tmp_path)
    for phase in ("mle", "mle_continuation", "adversarial"):
        steps = [r["step"] for r in rows if r["phase"] == phase and "nll_oracle" in r]
        assert [step for step, _ in texts[f"samples/{phase}/text_summary"]] == steps, phase
    assert not any("d_pretrain" in tag for tag in texts)  # D rounds evaluate no generator
    # The last evaluation scored the final G_θ on the stream samples.txt is drawn from: its first rows.
    shown = [line for line in texts["samples/adversarial/text_summary"][-1][1].split("\n") if line]
    assert shown == _samples(tmp_path)[:5]


def test_resumed_tensorboard_keeps_the_samples_of_the_checkpointed_rows(tmp_path: Path) -> None:
    SeqGANTrainer(TINY, tmp_path / "whole").run()
    out = tmp_path / "run"
    trainer = SeqGANTrainer(TINY, out, checkpoint_every_s=1e9)
    trainer.run(max_units=4)
    checkpoint = (out / CHECKPOINT_NAME).read_bytes()
    trainer.run(max_units=1)  # its sample text is on disk; then a crash before the next checkpoint
    (out / CHECKPOINT_NAME).write_bytes(checkpoint)
    del trainer
    SeqGANTrainer.resume(out).run()
    assert _sample_texts(out) == _sample_texts(tmp_path / "whole")


def test_checkpoint_is_weights_only_and_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = SeqGANTrainer(TINY, tmp_path)
    trainer.run(max_units=2)
    path = tmp_path / CHECKPOINT_NAME
    state = torch.load(path, weights_only=True)
    assert state["units_done"] == 2
    before = path.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)  # the write fails before the rename
    with pytest.raises(OSError, match="No space left"):
        trainer.run(max_units=1)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_bad_checkpoints_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint"):
        SeqGANTrainer.resume(tmp_path)
    SeqGANTrainer(TINY, tmp_path / "run").run(max_units=1)
    good = (tmp_path / "run" / CHECKPOINT_NAME).read_bytes()

    cases = {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "foreign": torch_bytes({"weights": torch.zeros(3)}),
        "newer": torch_bytes({**torch.load(io.BytesIO(good), weights_only=True), "format_version": 99}),
        "malicious": pickle.dumps(Exploit(tmp_path / "pwned")),
        "malicious_torch": torch_bytes(Exploit(tmp_path / "pwned")),
    }
    for name, data in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / CHECKPOINT_NAME).write_bytes(data)
        with pytest.raises(CheckpointError) as err:
            SeqGANTrainer.resume(tmp_path / name)
        assert str(tmp_path / name / CHECKPOINT_NAME) in str(err.value), name
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(CheckpointError) as refused:  # torch's page of unsafe advice, as one short clause
        load_checkpoint(tmp_path / "malicious_torch" / CHECKPOINT_NAME)
    assert "it asks for io.open, which a file of weights never holds" in str(refused.value), refused.value
    assert "weights_only" not in str(refused.value) and "\x1b" not in str(refused.value)
    with pytest.raises(CheckpointError, match="format 99"):
        load_checkpoint(tmp_path / "newer" / CHECKPOINT_NAME)

    other = SeqGANTrainer(dataclasses.replace(TINY, vocab_size=13), tmp_path / "other")
    with pytest.raises(CheckpointError, match="another configuration"):
        other.load_state_dict(load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME))


def test_non_finite_state_is_never_checkpointed(tmp_path: Path) -> None:
    trainer = SeqGANTrainer(TINY, tmp_path)
    trainer.run(max_units=1)
    before = (tmp_path / CHECKPOINT_NAME).read_bytes()
    with torch.no_grad():
        trainer.discriminator.output.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="discriminator"):
        trainer.save_checkpoint()
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == before


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"mle_epochs": -1}, "mle_epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_rollouts": 1.5}, "n_rollouts"),
        ({"generator_lr": 0}, "generator_lr"),
        ({"discriminator_lr": float("nan")}, "discriminator_lr"),
        ({"rollout_update_rate": 1.0}, "rollout_update_rate"),
        ({"n_negatives": 0}, "n_negatives"),
        ({"oracle_file": 3}, "oracle_file"),
        ({"discriminator_filter_sizes": (1, 2)}, "discriminator_filter_sizes"),
        ({"discriminator_precision": "fp16"}, "discriminator_precision"),
        ({"seed": True}, "seed"),
        ({"method": "mle"}, "method"),
        ({"bleu_max_n": 0}, "bleu_max_n"),
        ({"bleu_smoothing": "method7"}, "bleu_smoothing"),
        ({"bleu_reference_fraction": 0.0}, "bleu_reference_fraction"),
        ({"bleu_reference_fraction": 1.5}, "bleu_reference_fraction"),
        ({"sampling_schedule": "cosine"}, "sampling_schedule"),
        ({"sampling_schedule": "exponential", "sampling_k": 2.0}, "sampling_k"),
    ],
)
def test_config_rejects_bad_values(changes: dict, name: str) -> None:
    with pytest.raises((TypeError, ValueError), match=name):
        dataclasses.replace(TINY, **changes)


def test_pg_bleu_scores_against_a_seeded_share_of_the_real_set() -> None:
    """The authors' PG-BLEU: BLEU-3, no smoothing, 40% of the real set (here an exact, seeded count)."""
    assert (TINY.bleu_max_n, TINY.bleu_smoothing, TINY.bleu_reference_fraction) == (3, "none", 0.4)
    real = torch.arange(100).reshape(100, 1).repeat(1, 4)
    a, b, c = (bleu_references(real, 0.4, seed) for seed in (0, 0, 1))
    assert a.shape == (40, 4) and torch.equal(a, b) and not torch.equal(a, c)
    rows = a[:, 0].tolist()
    assert rows == sorted(set(rows)) and torch.equal(a, real[rows])  # distinct rows, in the real set's order
    assert torch.equal(bleu_references(real, 1.0, 0), real) and bleu_references(real, 0.001, 0).shape == (1, 4)
    trainer = SeqGANTrainer(dataclasses.replace(TINY, method="pg_bleu", bleu_max_n=2, bleu_smoothing="method1"))
    scorer = trainer.env.get_attr("discriminator")[0]
    assert (scorer.max_n, scorer._scorer.smoothing, scorer._scorer.num_references) == (2, "method1", 26)


def test_config_round_trip_and_unknown_fields() -> None:
    assert SeqGANConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ValueError, match="bogus"):
        SeqGANConfig.from_dict({**TINY.to_dict(), "bogus": 1})
    assert PRESETS["paper"] == SeqGANConfig()
    assert PRESETS["paper"].units().count(("adversarial", 199)) == 1


def test_trainer_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="config"):
        SeqGANTrainer({"mle_epochs": 1}, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="checkpoint_every_s"):
        SeqGANTrainer(TINY, tmp_path, checkpoint_every_s=-1)
    with pytest.raises(ValueError, match="device"):
        SeqGANTrainer(TINY, tmp_path, device="gpu0")
    if not torch.cuda.is_available():  # CUDA asked for where there is none: a clear error, not a crash later
        with pytest.raises(ValueError, match="CUDA"):
            SeqGANTrainer(TINY, tmp_path, device="cuda")
    with pytest.raises(ValueError, match="max_units"):
        SeqGANTrainer(TINY, tmp_path).run(max_units=-1)


def test_trainer_accepts_infinite_checkpoint_interval(tmp_path: Path) -> None:
    """``checkpoint_every_s=math.inf``: checkpoints at the end of each phase (and of ``run``) only."""
    trainer = SeqGANTrainer(TINY, tmp_path, checkpoint_every_s=math.inf)
    trainer.run(max_units=1)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["units_done"] == 1


def test_checkpoint_keys_and_format_are_stable(tmp_path: Path) -> None:
    """Checkpoints written by any version of format 1 hold exactly these keys: resume depends on it."""
    SeqGANTrainer(TINY, tmp_path).run(max_units=4)  # past the end of pretraining: the control exists
    state = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    # The format, frozen here in the test (not read from agents.experiment.checkpoint, which it guards).
    frozen = "format_version kind config oracle_sha256 units_done elapsed_s rows generator generator_optimizer"
    frozen += " mle_optimizer rollout_policy discriminator discriminator_optimizer mle_generator"
    frozen += " mle_generator_optimizer num_timesteps n_updates"
    assert list(state) == frozen.split()
    assert state["format_version"] == 1 and state["kind"] == "seqgan-gym SeqGANTrainer"
    assert state["mle_generator"] is not None and state["oracle_sha256"] is None


def test_a_checkpoint_from_before_the_text_fields_resumes(tmp_path: Path) -> None:
    """A format-1 checkpoint whose config has no corpus, test_corpus, tokenizer: an oracle run, resumed as one."""
    whole = SeqGANTrainer(TINY, tmp_path / "whole").run()
    out = tmp_path / "old"
    SeqGANTrainer(TINY, out).run(max_units=3)
    state = load_checkpoint(out / CHECKPOINT_NAME)
    for name in ("corpus", "test_corpus", "tokenizer"):
        del state["config"][name]
    state[DIGEST_KEY] = state_digest(state)
    torch.save(state, out / CHECKPOINT_NAME)
    assert _numbers(SeqGANTrainer.resume(out).run()) == _numbers(whole)


def test_only_the_command_lines_set_the_allocator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The trainer leaves the process's allocator alone; train-oracle's entry point sets it."""
    import agents.cli.train_oracle
    import seqgan_gym._malloc

    calls: list[int] = []
    monkeypatch.setattr(seqgan_gym._malloc, "keep_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(agents.cli.train_oracle, "keep_freed_memory", lambda: calls.append(2) or True)
    SeqGANTrainer(TINY)
    assert calls == []
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(dataclasses.replace(TINY, mle_epochs=1, adversarial_epochs=0).to_dict()))
    agents.cli.train_oracle.main(["--config", str(config), "--out", str(tmp_path / "run"), "--no-progress"])
    assert calls == [2]


def test_agents_seqgan_exports_the_names_of_its_modules() -> None:
    """Callers import the config, the presets, the checkpoint helpers and the streams from agents.experiment.seqgan."""
    import agents.experiment.checkpoint
    import agents.experiment.config
    import agents.experiment.records
    import agents.experiment.schedule
    import agents.experiment.seqgan
    import agents.experiment.streams

    homes = {
        agents.experiment.config: ["PHASES", "METHOD_PHASES", "SeqGANConfig", "PRESETS"],
        agents.experiment.checkpoint: ["CHECKPOINT_NAME", "CheckpointError", "load_checkpoint"],
        agents.experiment.streams: ["stream_seed", "unit_seed"],
        agents.experiment.schedule: ["resolve_device"],
        agents.experiment.records: ["plot_nll_oracle"],
    }
    for module, names in homes.items():
        for name in names:
            assert getattr(agents.experiment.seqgan, name) is getattr(module, name), name
            assert name in agents.experiment.seqgan.__all__, name
    assert SeqGANTrainer.METRIC_COLUMNS == agents.experiment.records.METRIC_COLUMNS


def test_units_to_next_evaluation_stops_right_after_each_evaluation() -> None:
    """run(max_units=units_to_next_evaluation()) ends each call with a new evaluated row (a sweep reports there)."""
    trainer = SeqGANTrainer(dataclasses.replace(TINY, eval_every=2, mle_epochs=3, adversarial_epochs=4))
    stops = []
    while not trainer.finished:
        ahead = trainer.units_to_next_evaluation()
        trainer.run(max_units=ahead)
        stops.append((trainer.rows[-1]["phase"], trainer.rows[-1]["epoch"], ahead))
        assert trainer.rows[-1].get("nll_oracle") is not None
    # MLE 2 and 3 (the last), the control's 2 and 4, then D pretraining's 2 rounds ride with adversarial epoch 2.
    assert stops == [
        ("mle", 2, 2), ("mle", 3, 1), ("mle_continuation", 2, 2), ("mle_continuation", 4, 2),
        ("adversarial", 2, 4), ("adversarial", 4, 2),
    ]  # fmt: skip
