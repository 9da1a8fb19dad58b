"""The tutorial notebook runs top to bottom, at toy sizes (``SEQGAN_TUTORIAL_TINY=1``), so it cannot rot."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the docs tools are in the dev extra: bash scripts/setup.sh dev")
nbclient = pytest.importorskip("nbclient", reason="the docs tools are in the dev extra: bash scripts/setup.sh dev")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorials" / "seqgan_as_rl.ipynb"


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_stored_notebook_is_executed_and_small() -> None:
    """The notebook in the repository carries the outputs of a full-size run, with modest images."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code), "run it: jupyter execute --inplace ..."
    assert not any(o.get("output_type") == "error" for cell in code for o in cell.outputs)
    assert "V=1000" in _text(code[0]), "the stored outputs must come from the full-size run, not the tiny one"
    images = [o["data"]["image/png"] for cell in code for o in cell.outputs if "image/png" in o.get("data", {})]
    assert 1 <= len(images) <= 3
    assert all(len(base64.b64decode(image)) < 150_000 for image in images)
    assert NOTEBOOK.stat().st_size < 400_000


def test_tutorial_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQGAN_TUTORIAL_TINY", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert "V=50" in _text(code[0])  # the toy sizes were used
    assert "notebook ran in" in _text(code[-1])
    assert sum("image/png" in o.get("data", {}) for cell in code for o in cell.outputs) == 2  # both plots
