"""Autograding with otter-grader (cae_lib/grading.py): the master notebooks, the graded tests,
and real `otter assign` / `otter run` on a small chapter that needs no trained model. The
chapters themselves are graded after `make cache`, in tests/test_student_run.py."""
from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

import nbformat
import pytest

import cae_lib as cl
from cae_lib import grading, student

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9]*.ipynb"))


def _graded(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        text = student.scaffold(cell) if student.SOLUTION in student.tags(cell) else None
        if text and cell.cell_type == "code" and grading.check_call(text):
            yield cell, text


def _stored(tree) -> set:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)} | \
        {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_graded_answer_is_defined_by_the_worked_solution(path):
    """The key scores full marks only if the solution defines what the test reads: every name
    the student's scaffold assigns and the test reads must be assigned by the solution too."""
    for cell, text in _graded(path):
        test = grading.test_source(grading.check_call(text))
        read = {n.id for n in ast.walk(ast.parse(test)) if isinstance(n, ast.Name)}
        missing = (read & _stored(ast.parse(text))) - _stored(ast.parse(cell.source))
        assert not missing, f"{path.name}: the solution never sets {sorted(missing)}:\n{test}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_test_is_the_self_check_the_student_calls(path):
    """So the pack with its stubs scores zero wherever the self-check says "Not yet" on the
    stub (tests/test_student_run.py asserts that for every stub, in every chapter)."""
    for _, text in _graded(path):
        call = ast.parse(grading.check_call(text), mode="eval").body
        test = ast.parse(grading.test_source(grading.check_call(text)), mode="eval").body
        assert ast.unparse(test.func) == "cl.checks.graded"
        assert ast.dump(test.args[0]) == ast.dump(call.func)
        assert [ast.dump(a) for a in test.args[1:]] == [ast.dump(a) for a in call.args]
        assert [ast.dump(k) for k in test.keywords] == [ast.dump(k) for k in call.keywords]


def test_question_names_follow_the_exercise_numbers():
    nb = nbformat.read(ROOT / "book" / "03_training_and_contraction.ipynb", as_version=4)
    master, names = grading.master_notebook(nb, "03_training_and_contraction")
    assert names == ["q03_3"]
    assert not any(student.HIDDEN in student.tags(c) for c in master.cells)


def test_graded_is_silent_when_correct_and_carries_the_hint_when_not():
    assert cl.checks.graded(cl.checks.check_dae_noise, (0.1 * 784) ** 0.5, lam=0.1,
                            d=784) is None
    with pytest.raises(AssertionError, match="Not yet") as err:
        cl.checks.graded(cl.checks.check_dae_noise, 0.1 * 784, lam=0.1, d=784)
    assert "Hint:" in str(err.value) and "sqrt" not in str(err.value)   # not the formula
    with pytest.raises(AssertionError, match="your answer here"):
        cl.checks.graded(cl.checks.check_dae_noise, None, lam=0.1, d=784)


def test_triple_quotes_in_a_graded_exercise_are_refused():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T")])
    cell = nbformat.v4.new_code_cell('lam = 1  # """')
    cell.metadata = {"tags": ["solution"],
                     "student": "lam = None   # your answer here\n"
                                "cl.checks.check_dae_noise(lam)"}
    nb.cells.append(cell)
    with pytest.raises(ValueError, match="triple quotes"):
        grading.master_notebook(nb, "09_t")


def test_grade_names_missing_inputs(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        grading.grade(tmp_path / "none", tmp_path)
    with pytest.raises(FileNotFoundError, match="make student"):
        grading.grade(tmp_path, tmp_path / "nothing")
    assert grading.main(["grade", str(tmp_path / "none")]) == 2
    assert "not a folder" in capsys.readouterr().err


TINY = [
    ("markdown", "# 09 A tiny chapter", None),
    ("code", "import cae_lib as cl", None),
    ("code", "# Exercise 1: the noise for lam = 0.1\nnoise_std = (0.1 * 784) ** 0.5\n"
             "assert cl.checks.check_dae_noise(noise_std, lam=0.1, d=784)",
     "# Exercise 1: which noise_std matches lam = 0.1?\nnoise_std = None   # your answer here\n"
     "cl.checks.check_dae_noise(noise_std, lam=0.1, d=784)"),
    ("code", "# Exercise 2: the share\nshare = 5 / 784\n"
             "assert cl.checks.check_random_share(share, k=5, d=784)",
     "# Exercise 2: the share of a random direction\nshare = None   # your answer here\n"
     "cl.checks.check_random_share(share, k=5, d=784)"),
]


@pytest.fixture(scope="module")
def tiny_pack(tmp_path_factory):
    """A two-question chapter through make student's path: otter assign, key, autograder."""
    book = tmp_path_factory.mktemp("book")
    cells = []
    for kind, src, scaffold in TINY:
        cell = getattr(nbformat.v4, f"new_{kind}_cell")(src)
        if scaffold:
            cell.metadata = {"tags": ["solution"], "student": scaffold}
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, book / "09_tiny.ipynb")
    out = tmp_path_factory.mktemp("pack")
    student.build(book, out / "student")
    return out


def _submission(path: Path, nb) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_otter_grades_right_wrong_stub_and_crash(tiny_pack, tmp_path):
    """A fully right notebook scores full marks, a wrong answer loses exactly its question,
    the stubs score zero, and a notebook whose kernel dies still gets a row."""
    grader = tiny_pack / "autograder"
    assert (grader / "09_tiny.zip").exists()
    key = nbformat.read(grader / "09_tiny-key.ipynb", as_version=4)
    stub = nbformat.read(tiny_pack / "student" / "09_tiny.ipynb", as_version=4)
    assert stub.cells[1].source == student.BANNER
    assert "0.1 * 784" not in nbformat.writes(stub)          # no answer in the pack
    subs = tmp_path / "subs"
    _submission(subs / "right" / "09_tiny.ipynb", key)
    _submission(subs / "stub" / "09_tiny.ipynb", stub)
    wrong = nbformat.from_dict(key)
    cell = next(c for c in wrong.cells if "share = 5 / 784" in c.source)
    cell.source = cell.source.replace("share = 5 / 784", "share = 5 / 28")
    _submission(subs / "wrong" / "09_tiny.ipynb", wrong)
    crash = nbformat.from_dict(stub)
    crash.cells.insert(2, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    _submission(subs / "crash" / "09_tiny.ipynb", crash)
    _submission(subs / "other" / "notes.ipynb", stub)
    out = tmp_path / "grades.csv"
    rows = {r["submission"].split("/")[0]: r
            for r in grading.grade(subs, grader, out, jobs=2)}
    assert (rows["right"]["q09_1"], rows["right"]["q09_2"], rows["right"]["total"]) == \
        (1.0, 1.0, 2.0)
    assert (rows["wrong"]["q09_1"], rows["wrong"]["q09_2"], rows["wrong"]["total"]) == \
        (1.0, 0.0, 1.0)
    assert rows["stub"]["total"] == 0.0 and rows["stub"]["possible"] == 2.0
    assert rows["crash"]["total"] == 0.0 and rows["crash"]["error"]
    assert rows["other"]["error"].startswith("no chapter matches")
    with open(out, newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 5 and set(table[0]) >= {"q09_1", "q09_2", "total", "error"}
    assert re.fullmatch(r"[\d.]+", table[0]["total"])
