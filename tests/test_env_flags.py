"""Environment switches: the spellings of on and off, and a clear error for anything else."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seqgan_gym._env import env_flag

_NAME = "SEQGAN_GYM_TEST_SWITCH"


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_on_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(_NAME, value)
    assert env_flag(_NAME, default=False) is True


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF"])
def test_off_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(_NAME, value)
    assert env_flag(_NAME, default=True) is False


@pytest.mark.parametrize("default", [True, False])
def test_unset_or_empty_gives_the_default(monkeypatch: pytest.MonkeyPatch, default: bool) -> None:
    monkeypatch.delenv(_NAME, raising=False)
    assert env_flag(_NAME, default=default) is default
    monkeypatch.setenv(_NAME, "")
    assert env_flag(_NAME, default=default) is default


def test_other_values_name_the_variable_and_the_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_NAME, "disabled")
    with pytest.raises(ValueError, match=rf"{_NAME}='disabled': allowed values are 1, true, .* off"):
        env_flag(_NAME, default=True)


@pytest.mark.parametrize("name", ["SEQGAN_GYM_KEEP_FREED_MEMORY", "SEQGAN_GYM_ONEDNN_MATMUL"])
def test_a_bad_switch_fails_the_import_by_name(name: str) -> None:
    env = {**os.environ, name: "nope"}
    out = subprocess.run([sys.executable, "-c", "import seqgan_gym"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert f"ValueError: environment variable {name}='nope'" in out.stderr
