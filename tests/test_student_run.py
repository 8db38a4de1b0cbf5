"""Run every notebook of the student pack that `make student` wrote into _build/student, top to
bottom, as a class would: `make test` runs this after `make cache`, with CAE_CACHE_READONLY=1.
Every cell must run; every exercise stub that a self-check calls must answer "Not yet: your
answer here", not a traceback; and no model may be missing from the read-only cache."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cae_lib import student

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import nbclient_poll  # noqa: E402

# The build's fix for nbclient issue 312 (book/_ext/nbclient_poll.py): after cells that drive
# widgets, nbclient's one long poll can miss a reply that has arrived, and wait for the whole
# cell timeout with the kernel idle. Seen here once with two student notebooks run at once:
# both kernels idle, the run still waiting after 17 minutes.
nbclient_poll.patch()
CHAPTERS = sorted((ROOT / "book").glob("[0-9]*.ipynb"))
PACK = ROOT / "_build" / "student"


def _text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}")
        else:
            parts.append(str(o.get("data", {}).get("text/plain", "")))
    return "".join(parts)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_runs(tmp_path, path):
    if not (PACK / path.name).exists():
        pytest.fail(f"no student notebook {PACK / path.name}: run `make student` first.")
    nb = nbformat.read(PACK / path.name, as_version=4)
    assert nb.cells[1].source == student.BANNER
    # Every model comes from the cache (CAE_CACHE_REQUIRED=1 under make test), so no cell
    # trains: 600 s bounds a stuck kernel well above the slowest chapter's whole run.
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    calls = [c for c in nb.cells
             if c.cell_type == "code" and re.search(r"checks\.check_\w+\(", c.source)
             and student.STUB in c.source]
    for c in calls:
        assert "Not yet: your answer here" in _text(c), (
            f"{path.name}: the stub should answer 'Not yet: your answer here':\n{c.source}\n"
            f"--- output ---\n{_text(c)}")
    for c in nb.cells:
        assert "training it in memory" not in _text(c), (
            f"{path.name}: a model was missing from the read-only cache:\n{_text(c)}")
