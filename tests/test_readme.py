"""The README's usage examples run as written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block(marker: str) -> str:
    """The README's one ```python block that contains ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    matching = [b for b in blocks if marker in b]
    assert len(matching) == 1, f"README.md must have exactly one python example with {marker!r}"
    return matching[0]


def test_readme_quick_start_trains(capsys) -> None:
    """The front door's example: make the env and its wrapper, pretrain, learn with the callbacks."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    block = _python_block("model.learn(")
    assert blocks[0] == block, "the quick start is the README's first python example"
    assert len(block.strip().splitlines()) <= 18
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    model, callbacks = namespace["model"], namespace["callbacks"]
    assert model._n_updates == 2  # two generator updates, each followed by the callbacks
    history = callbacks[2].history
    assert [steps for steps, _, _ in history] == [0, 64 * 20, 2 * 64 * 20]
    printed = ast.literal_eval(capsys.readouterr().out.strip().splitlines()[-1])  # NLL-oracle, before and after
    assert printed == [round(nll, 3) for _, nll, _ in history]
    assert all(3.0 < nll < 12.0 for nll in printed)  # plausible NLL-oracles, nats per token


def test_readme_env_example_runs(capsys) -> None:
    namespace: dict = {}
    exec(compile(_python_block("MonteCarloRewardWrapper(env"), str(README), "exec"), namespace)
    rewards = namespace["rewards"]
    assert rewards.shape == (64,) and ((rewards >= 0) & (rewards <= 1)).all()
    printed = float(capsys.readouterr().out.strip().splitlines()[-1])  # the example prints NLL-oracle
    assert 5.0 < printed < 20.0


def test_readme_text_example_runs(capsys) -> None:
    exec(compile(_python_block("SeqGAN-Text-v0"), str(README), "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("[") and 0.0 <= float(lines[-1]) <= 1.0  # two decoded samples, then BLEU-2


def test_readme_is_a_front_door() -> None:
    """The two commands first, at most 150 lines: the rest lives in docs/."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, len(lines)
    commands = [line.split("#")[0].strip() for line in lines[3:5]]
    assert lines[2] == "```bash" and commands == ["bash scripts/main.sh", "bash scripts/test.sh"]
