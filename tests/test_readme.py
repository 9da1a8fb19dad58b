"""The README's usage examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "README.md has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    rewards = namespace["rewards"]
    assert rewards.shape == (64,) and ((rewards >= 0) & (rewards <= 1)).all()
    printed = float(capsys.readouterr().out.strip().splitlines()[-1])  # the example prints NLL-oracle
    assert 5.0 < printed < 20.0


def test_readme_text_example_runs(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    text_blocks = [b for b in blocks if "SeqGAN-Text-v0" in b]
    assert len(text_blocks) == 1, "README.md has no SeqGAN-Text-v0 example"
    exec(compile(text_blocks[0], str(README), "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("[") and 0.0 <= float(lines[-1]) <= 1.0  # two decoded samples, then BLEU-2
