"""Run every notebook of the student pack that `make student` wrote into _build/student, top to
bottom, as a class would: `make test` runs this after `make cache`, with CAE_CACHE_READONLY=1.
Every cell must run; every exercise stub that a self-check calls must answer "Not yet: your
answer here", not a traceback; and no model may be missing from the read-only cache."""
from __future__ import annotations

import json
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


def test_otter_grades_a_real_chapter(tmp_path):
    """`make grade` on chapter 1 as a teacher meets it (after `make student`, from the cache):
    the worked key scores full marks, the pack's stubs score zero, and one wrong answer (in
    exercise 3's own cell) loses exactly that question."""
    from cae_lib import grading
    grader = ROOT / "_build" / "autograder"
    stem = "01_contractive_penalty"
    key = nbformat.read(grader / f"{stem}-key.ipynb", as_version=4)
    subs = tmp_path / "subs"
    for who, nb in [("key", key), ("stub", nbformat.read(PACK / f"{stem}.ipynb", 4))]:
        (subs / who).mkdir(parents=True)
        nbformat.write(nb, subs / who / f"{stem}.ipynb")
    cell = next(c for c in key.cells if "gram_form" in c.source and "form_J" in c.source)
    cell.source += "\ngram_form = 2 * gram_form   # every product counted twice"
    (subs / "wrong").mkdir()
    nbformat.write(key, subs / "wrong" / f"{stem}.ipynb")
    rows = {r["submission"].split("/")[0]: r
            for r in grading.grade(subs, grader, tmp_path / "grades.csv", jobs=1)}
    names = json.loads((grader / "questions.json").read_text())[stem]
    assert names == ["q01_1", "q01_2", "q01_3"]
    assert rows["key"]["total"] == 3.0, rows["key"]
    assert rows["stub"]["total"] == 0.0, rows["stub"]
    assert [rows["wrong"][q] for q in names] == [1.0, 1.0, 0.0], rows["wrong"]
