"""The student pack: one notebook per chapter, without the solutions.

Scope: turn the committed chapters (book/*.ipynb, with their folded solutions) into student
notebooks, as teachers of executable books ask for (fastbook's `clean/` folder, Neuromatch's
student notebooks, the UvA notebooks' unanswered versions). Nothing generated is committed:
`make student` writes them into a build folder.

The notebooks are written by otter-grader's `otter assign` (grading.py builds its master
notebook from each chapter), so every graded exercise also gets an autograder test. The chapters
carry the markup, so that the pack follows every edit of the book:
- a cell tagged `solution` is a worked answer (code or markdown) or a hidden assertion that
  would give an answer away. It is dropped, or, when its metadata has a `student` entry,
  replaced by that text: the scaffold (what to compute, a stub that says "your answer here",
  and the self-check call where one exists, `cl.checks.*`); when its metadata also has a
  `student_answer` entry (the question of a "why" exercise), a markdown cell for the written
  answer follows it;
- a cell tagged `remove-cell` is one of the book's hidden assertions (its checks of the
  claims in the prose, which the HTML hides): it is dropped, so that a failing check never
  stops a student's "Run all", and no check shows a student the value it expects;
- a code cell tagged `exercise` belongs to an exercise's statement and is kept as it is;
- every other cell is kept. Outputs and execution counts are cleared; the setup cell stays.

    python -m cae_lib.student [BOOK_DIR] [OUT_DIR]      # defaults: book _build/student
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

SOLUTION, EXERCISE, SCAFFOLD, HIDDEN = "solution", "exercise", "student", "remove-cell"
ANSWER = "student_answer"            # the question a written-answer cell follows
STUB = "your answer here"
BANNER = (                          # plain Markdown: students open it in Jupyter
    "> **Student version.** The worked solutions of this chapter are removed. Each exercise "
    "cell says what to compute and holds a stub that says *your answer here*. Where the "
    "exercise has a self-check, the cell calls it: it prints *Correct* or *Not yet*, with a "
    "hint. The book's hidden checks of its own claims are left out too.")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def scaffold(cell) -> str | None:
    """The student text of a solution cell, or None when the cell is simply dropped."""
    s = cell.get("metadata", {}).get(SCAFFOLD)
    if s is None:
        return None
    return "".join(s) if isinstance(s, list) else str(s)


def answer_cell(question: str):
    """The markdown cell for a student's written answer to a "why" question."""
    return nbformat.v4.new_markdown_cell(
        f"**Your answer.** {question} *(Write it here, in a few sentences.)*")


def _check_title(nb) -> None:
    kept = [c for c in nb.cells if HIDDEN not in tags(c)
            and (SOLUTION not in tags(c) or scaffold(c) is not None)]
    if not kept or kept[0].cell_type != "markdown":
        raise ValueError("a chapter must open with its title (a markdown cell); it does not.")


def _finish(st: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """otter assign's student notebook, with empty outputs and the banner under the title."""
    for cell in st.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    st.cells.insert(1, nbformat.v4.new_markdown_cell(BANNER))
    nbformat.validate(st)
    return st


def student_notebook(nb: nbformat.NotebookNode, stem: str = "00_chapter"
                     ) -> nbformat.NotebookNode:
    """The student version of one chapter, written by otter-grader's `otter assign` from the
    chapter's master notebook (grading.master_notebook); `nb` is not changed."""
    from . import grading
    _check_title(nb)
    with tempfile.TemporaryDirectory() as tmp:
        path, _, _ = grading.assign(nb, stem, Path(tmp))
        return _finish(nbformat.read(path, as_version=4))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def chapters(book_dir) -> list[Path]:
    found = sorted(Path(book_dir).glob("[0-9]*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no chapters (NN_name.ipynb) in {book_dir}: pass the book "
                                f"folder of a checkout, e.g. `python -m cae_lib.student book`.")
    return found


def build(book_dir="book", out_dir="_build/student", grader_dir=None) -> list[dict]:
    """Write one student notebook per chapter into out_dir, and out_dir.zip beside it; and, for
    the teacher, into grader_dir (default: the folder `autograder` beside out_dir) each
    chapter's otter autograder (<chapter>.zip), its worked key (<chapter>-key.ipynb, the
    solutions, for `make grade`'s full-marks check) and questions.json ({chapter: [graded
    questions]}). Returns one row per chapter: name, exercises scaffolded, self-checks, graded
    questions, cells dropped."""
    from . import grading
    out_dir = Path(out_dir)
    grader_dir = Path(grader_dir) if grader_dir else out_dir.parent / "autograder"
    out_dir.mkdir(parents=True, exist_ok=True)
    grader_dir.mkdir(parents=True, exist_ok=True)
    rows, questions = [], {}
    for path in chapters(book_dir):
        nb = nbformat.read(path, as_version=4)
        _check_title(nb)
        with tempfile.TemporaryDirectory() as tmp:
            spath, zpath, names = grading.assign(nb, path.stem, Path(tmp))
            student = _finish(nbformat.read(spath, as_version=4))
            _write_atomic(grader_dir / f"{path.stem}.zip", zpath.read_bytes())
            key = zpath.parent / path.name
            _write_atomic(grader_dir / f"{path.stem}-key.ipynb", key.read_bytes())
        questions[path.stem] = names
        _write_atomic(out_dir / path.name, nbformat.writes(student).encode())
        texts = [scaffold(c) for c in nb.cells if SOLUTION in tags(c)]
        code = [t for t in texts if t and STUB in t]
        rows.append({"chapter": path.name, "scaffolds": len(code),
                     "self-checks": sum("checks.check_" in t for t in code),
                     "graded": len(names),
                     "dropped": sum(t is None for t in texts)})
    _write_atomic(grader_dir / "questions.json", json.dumps(questions, indent=1).encode())
    zpath = out_dir.with_suffix(".zip")
    tmp = zpath.with_name(zpath.name + f".tmp{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for row in rows:
                z.write(out_dir / row["chapter"], f"cae-student/{row['chapter']}")
        os.replace(tmp, zpath)
    finally:
        tmp.unlink(missing_ok=True)
    return rows


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    book_dir = args[0] if args else "book"
    out_dir = args[1] if len(args) > 1 else "_build/student"
    rows = build(book_dir, out_dir)
    print(f"{'chapter':<36} {'exercises':>9} {'self-checks':>11} {'graded':>6} "
          f"{'cells dropped':>13}")
    for r in rows:
        print(f"{r['chapter']:<36} {r['scaffolds']:>9} {r['self-checks']:>11} "
              f"{r['graded']:>6} {r['dropped']:>13}")
    print(f"\nStudent notebooks in {out_dir}/ and {Path(out_dir).with_suffix('.zip')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
