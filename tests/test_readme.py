"""The README's usage example runs as written."""

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
