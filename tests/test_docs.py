"""The documentation site builds with warnings as errors (``mkdocs build --strict``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs tools are in the dev extra: bash scripts/setup.sh dev")
pytest.importorskip("mkdocstrings", reason="the docs tools are in the dev extra: bash scripts/setup.sh dev")

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's notice about its successor
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml")]
    result = subprocess.run(
        [*command, "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    envs = (site / "api" / "envs" / "index.html").read_text(encoding="utf-8")
    for text in ("TokenGenerationEnv", "Action Space", "Observation Space", "Rewards", "Episode End", "Arguments"):
        assert text in envs
    agents = (site / "api" / "agents" / "index.html").read_text(encoding="utf-8")
    assert "REINFORCE" in agents and ":param" not in agents  # the Sphinx fields were parsed
    tutorial = (site / "tutorials" / "seqgan_as_rl" / "index.html").read_text(encoding="utf-8")
    assert "Monte Carlo" in tutorial and "data:image/png;base64" in tutorial  # rendered with its outputs
