"""The student pack (`make student`, cae_lib.student): built from the committed chapters, valid,
without outputs, with the setup cell, a scaffold for every exercise and no solution code.
Executing the student notebooks is tests/test_student_run.py (after `make cache`)."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import nbformat
import pytest

import cae_lib.checks
from cae_lib import student

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9]*.ipynb"))
CHECK_CALL = re.compile(r"checks\.(check_\w+)\(")


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("pack") / "student"
    rows = student.build(BOOK, out)
    return out, rows


def _exercise_cells(nb):
    """Cells from the exercises on: after the '## Exercises' heading, or, in the chapter that
    is all exercises, after the setup cell."""
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown" and "## Exercises" in c.source:
            return nb.cells[i + 1:]
    if nb.cells[0].source.startswith("# Exercises"):
        return nb.cells[2:]
    raise AssertionError("no '## Exercises' section")


def _significant_lines(src: str) -> set[str]:
    out = set()
    for line in src.splitlines():
        s = line.strip()
        if len(s) > 12 and not s.startswith("#") and s not in ("plt.tight_layout(); plt.show()",):
            out.add(s)
    return out


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_cell_is_marked(path):
    nb = nbformat.read(path, as_version=4)
    cells = _exercise_cells(nb)
    code = [c for c in cells if c.cell_type == "code"]
    assert code, "no exercise code"
    for c in code:
        t = student.tags(c)
        assert student.SOLUTION in t or student.EXERCISE in t, (
            f"{path.name}: a code cell after the exercises is neither a solution nor part of an "
            f"exercise; tag it 'solution' (with a 'student' scaffold) or 'exercise':\n"
            f"{c.source[:200]}")
    scaffolds = [student.scaffold(c) for c in code if student.SOLUTION in student.tags(c)]
    scaffolds = [s for s in scaffolds if s]
    assert scaffolds, f"{path.name}: no exercise has a scaffold"
    for s in scaffolds:
        assert student.STUB in s, f"{path.name}: a scaffold without a stub:\n{s}"
        for line in s.splitlines():
            assert len(line) <= 80, f"{path.name}: scaffold line over 80 characters: {line}"
        for name in CHECK_CALL.findall(s):
            assert hasattr(cae_lib.checks, name), f"{path.name}: no cl.checks.{name}"


def test_pack_files(pack):
    out, rows = pack
    assert [r["chapter"] for r in rows] == [p.name for p in CHAPTERS]
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in CHAPTERS]
    with zipfile.ZipFile(out.with_suffix(".zip")) as z:
        assert sorted(z.namelist()) == sorted(f"cae-student/{p.name}" for p in CHAPTERS)
    assert sum(r["scaffolds"] for r in rows) >= 25
    assert sum(r["self-checks"] for r in rows) >= 15


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_is_clean(pack, path):
    out, _ = pack
    nb = nbformat.read(path, as_version=4)
    st = nbformat.read(out / path.name, as_version=4)
    nbformat.validate(st)
    assert st.cells[0].source == nb.cells[0].source                 # the title
    assert "Student version" in st.cells[1].source
    setup = [c.source for c in nb.cells if c.source.startswith("# Setup:")]
    assert len(setup) == 1 and setup[0] in [c.source for c in st.cells]
    ids = [c.get("id") for c in st.cells]
    assert len(set(ids)) == len(ids)
    for c in st.cells:
        assert student.SOLUTION not in student.tags(c)
        assert student.HIDDEN not in student.tags(c)         # no hidden assertion
        assert student.SCAFFOLD not in c.metadata
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_survives(pack, path):
    out, _ = pack
    nb = nbformat.read(path, as_version=4)
    st = nbformat.read(out / path.name, as_version=4)
    kept = "\n".join(c.source for c in nb.cells if student.SOLUTION not in student.tags(c))
    kept += "\n".join(student.scaffold(c) or "" for c in nb.cells)
    allowed = _significant_lines(kept)
    student_lines = set()
    for c in st.cells:
        student_lines |= {line.strip() for line in c.source.splitlines()}
    n_checked = 0
    for c in nb.cells:
        if student.SOLUTION not in student.tags(c):
            continue
        for line in _significant_lines(c.source) - allowed:
            n_checked += 1
            assert line not in student_lines, f"{path.name}: solution line survives: {line}"
    assert n_checked > 0
    text = "\n".join(c.source for c in st.cells)
    assert "Answer:" not in text and "Solution 1" not in text


def test_stub_in_a_chapter_without_title_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    with pytest.raises(ValueError, match="title"):
        student.student_notebook(nb)


def test_missing_book_folder_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m cae_lib.student"):
        student.build(tmp_path / "nothing", tmp_path / "out")


def test_solution_markup_round_trip():
    sol = nbformat.v4.new_code_cell("x = 42\nprint('Answer: 42')",
                                    metadata={"tags": ["hide-cell", "solution"],
                                              "student": "x = None   # your answer here"})
    drop = nbformat.v4.new_code_cell("assert x == 42", metadata={"tags": ["remove-cell",
                                                                          "solution"]})
    hidden = nbformat.v4.new_code_cell("assert y == 1", metadata={"tags": ["remove-cell"]})
    keep = nbformat.v4.new_code_cell("y = 1", metadata={"tags": ["exercise"]})
    keep.outputs = [nbformat.v4.new_output("stream", text="1")]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), sol, drop, keep,
                                         hidden])
    st = student.student_notebook(nb)
    assert [c.source for c in st.cells[2:]] == ["x = None   # your answer here", "y = 1"]
    assert st.cells[2].metadata == {} and st.cells[3].outputs == []
    assert nb.cells[1].source.startswith("x = 42")                   # the input is unchanged


def test_every_why_question_has_a_written_answer_cell(pack):
    """Exercises 1.3, 3.3, 6.2 and 6.3 ask why: the pack gives each a markdown answer cell
    right after its scaffold."""
    out, _ = pack
    asked = 0
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        questions = [c.metadata[student.ANSWER] for c in nb.cells
                     if student.ANSWER in c.metadata]
        st = nbformat.read(out / path.name, as_version=4)
        for q in questions:
            i = next(i for i, c in enumerate(st.cells) if q in c.source)
            assert st.cells[i].cell_type == "markdown" and "Your answer" in st.cells[i].source
            assert student.STUB in st.cells[i - 1].source          # after the scaffold
            asked += 1
    assert asked >= 4


def test_a_why_question_gets_a_markdown_cell():
    sol = nbformat.v4.new_code_cell("print('Answer: because')", metadata={
        "tags": ["solution"], "student": "x = None   # your answer here",
        "student_answer": "Why?"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), sol])
    st = student.student_notebook(nb)
    assert [c.cell_type for c in st.cells] == ["markdown", "markdown", "code", "markdown"]
    assert st.cells[3].source.startswith("**Your answer.** Why?")
    assert st.cells[2].metadata == {}
