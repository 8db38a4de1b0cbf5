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
    for attempt in (1, 2, 3):      # a kernel that died at start (a port taken by a kernel
        try:                       # started at the same moment) ran nothing: start another
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(tmp_path)}}).execute()
            break
        except RuntimeError as err:
            if "Kernel died before replying to kernel_info" not in str(err) or attempt == 3:
                raise
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


# (chapter, the graded question made wrong, the cell it lives in, the wrong answer appended)
WRONG = [
    ("01_contractive_penalty", "q01_3", "gram_form = A_cost",
     "gram_form = 2 * gram_form   # every product counted twice"),
    ("04b_score_and_sampling", "q04b_1", "def mixture_score",
     "mixture_score = c1.score   # the first ring's score only"),
    ("07_exercises", "q07_5", "def my_penalty",
     "_right = my_penalty\nmy_penalty = lambda e, x: _right(e, x) * len(x)   # summed"),
]


@pytest.mark.parametrize("stem, question, marker, wrong", WRONG, ids=[w[0] for w in WRONG])
def test_otter_grades_right_wrong_stub_and_crash(tmp_path, stem, question, marker, wrong):
    """`make grade` on three chapters as a teacher meets them (after `make student`, from the
    cache): the worked key scores full marks, the pack's stubs score zero, one wrong answer (in
    its exercise's own cell) loses exactly that question, and a notebook whose kernel dies
    still gets its row, with zero points and the error."""
    from cae_lib import grading
    grader = ROOT / "_build" / "autograder"
    names = json.loads((grader / "questions.json").read_text())[stem]
    assert question in names and len(names) >= 2
    key = nbformat.read(grader / f"{stem}-key.ipynb", as_version=4)
    stub = nbformat.read(PACK / f"{stem}.ipynb", as_version=4)
    bad = nbformat.from_dict(key)
    cell = next(c for c in bad.cells if c.cell_type == "code" and marker in c.source)
    cell.source += "\n" + wrong
    crash = nbformat.from_dict(stub)
    crash.cells.insert(2, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    subs = tmp_path / "subs"
    for who, nb in [("key", key), ("stub", stub), ("wrong", bad), ("crash", crash)]:
        (subs / who).mkdir(parents=True)
        nbformat.write(nb, subs / who / f"{stem}.ipynb")
    rows = {r["submission"].split("/")[0]: r
            for r in grading.grade(subs, grader, tmp_path / "grades.csv", jobs=1)}
    assert rows["key"]["total"] == len(names), rows["key"]
    assert rows["stub"]["total"] == 0.0, rows["stub"]
    assert [rows["wrong"][q] for q in names] == [float(q != question) for q in names], \
        rows["wrong"]
    assert rows["crash"]["total"] == 0.0 and rows["crash"]["error"], rows["crash"]
    assert all(not rows[w]["error"] for w in ("key", "stub", "wrong")), rows
