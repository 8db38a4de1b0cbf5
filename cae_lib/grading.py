"""Autograding the student pack with otter-grader: the chapters as otter master notebooks,
`otter assign` to write each student notebook and its autograder, `otter run` to grade.

Scope: every exercise whose student cell calls a self-check (`cl.checks.check_*`) is a graded
question worth one point. In the master notebook (otter-grader's assign format) the chapter's
worked solution is the question's solution block, what the student sees is the prompt (the
scaffold from the chapter's `student` metadata, stub and self-check call included), and the
question's one test calls the same self-check on the student's variables through
`checks.graded`: it passes when the check says Correct, and otherwise fails with the check's
own verdict and hint, so a grade report teaches what the self-check teaches. Everything else
follows `student.py`'s markup (hidden assertions dropped, scaffolds kept, a cell for each
written answer). Grading runs otter's non-containerised runner, offline, in this environment.

    python -m cae_lib.grading grade SUBMISSIONS [--autograders _build/autograder] [--out CSV]

writes one CSV row per submitted notebook (matched to its chapter by file name): each
question's points, the total, the maximum, and an error column (a notebook that crashes, or
that otter cannot run, still gets its row, with zero points where nothing could be checked).

Reference: otter-grader, UC Berkeley Data Science Education Program,
https://otter-grader.readthedocs.io (assign format v1, `otter run`).
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import io
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from .student import ANSWER, HIDDEN, SOLUTION, answer_cell, scaffold, tags

CHECK_PREFIX = "check_"


def check_call(text: str) -> str | None:
    """The source of the self-check call in a scaffold (`...check_x(...)`), or None."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr.startswith(CHECK_PREFIX):
            return ast.get_source_segment(text, node)
    return None


def test_source(call: str) -> str:
    """The question's test: the same check through `checks.graded` (silent when Correct)."""
    tree = ast.parse(call, mode="eval").body
    fn = ast.get_source_segment(call, tree.func)
    args = call[call.index("(", len(fn)) + 1:call.rindex(")")].strip()
    return f"cl.checks.graded({fn}, {args})" if args else f"cl.checks.graded({fn})"


def question_name(stem: str, text: str, fallback: int) -> str:
    """q01_3 for exercise 3 of chapter 01 (from the scaffold's "# Exercise 3:" line), q04b_2,
    ...; `fallback` numbers an exercise whose scaffold does not say."""
    found = re.search(r"#\s*Exercise\s+(\d+)", text)
    return f"q{stem.split('_')[0]}_{found.group(1) if found else fallback}"


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def master_notebook(nb: nbformat.NotebookNode, stem: str) -> tuple[nbformat.NotebookNode, list]:
    """(otter master notebook of one chapter, [question names]). `nb` is not changed."""
    cells, names = [_raw(
        f"# ASSIGNMENT CONFIG\nname: {stem}\ninit_cell: false\ncheck_all_cell: false\n"
        f"export_cell: false\nrun_tests: false\nsolutions_pdf: false\ngenerate: true\n")], []
    exercise = 0
    for cell in nb.cells:
        cell = nbformat.from_dict(cell)
        t = tags(cell)
        if HIDDEN in t:                                  # the book's hidden assertions
            continue
        if SOLUTION not in t:
            cell.metadata.pop("student", None)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            cells.append(cell)
            continue
        text = scaffold(cell)
        if text is None:                                 # a worked answer with no scaffold
            continue
        exercise += 1
        question = cell.metadata.get(ANSWER)
        call = check_call(text) if cell.cell_type == "code" else None
        if call is None:                                 # not autograded: the scaffold
            kind = nbformat.v4.new_code_cell if cell.cell_type == "code" \
                else nbformat.v4.new_markdown_cell
            cells.append(kind(text))
        else:
            if '"""' in text or '"""' in cell.source:
                raise ValueError(f"{stem}: a graded exercise may not contain triple quotes "
                                 f"(they hold the prompt in the master notebook):\n{text}")
            name = question_name(stem, text, exercise)
            if name in names:
                raise ValueError(f"{stem}: two graded exercises are both {name}.")
            names.append(name)
            body = (f"# BEGIN SOLUTION NO PROMPT\n{cell.source}\n# END SOLUTION\n"
                    f'""" # BEGIN PROMPT\n{text}\n"""; # END PROMPT')
            cells += [_raw(f"# BEGIN QUESTION\nname: {name}\npoints: 1\ncheck_cell: false"),
                      _raw("# BEGIN SOLUTION"), nbformat.v4.new_code_cell(body),
                      _raw("# END SOLUTION"), _raw("# BEGIN TESTS"),
                      nbformat.v4.new_code_cell(test_source(call)),
                      _raw("# END TESTS"), _raw("# END QUESTION")]
        if question:                                     # a "why" question
            cells.append(answer_cell(question))
    out = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    out.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}
    out.cells = cells
    return out, names


def _otter() -> list[str]:
    exe = Path(sys.executable).with_name("otter")
    if not exe.exists():
        raise FileNotFoundError(f"otter-grader is not installed in {sys.prefix} (no {exe}). "
                                f"Fix: pip install -r requirements.txt (or make venv).")
    return [str(exe)]


def assign(nb: nbformat.NotebookNode, stem: str, work: Path) -> tuple[Path, Path, list]:
    """Run `otter assign` on the chapter's master notebook in `work`.
    Returns (student notebook, autograder zip, [question names])."""
    master, names = master_notebook(nb, stem)
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"{stem}.ipynb"
    nbformat.write(master, src)
    dist = work / "dist"
    # otter's own entry point, in this process: the same as `otter assign --no-pdfs`, run in
    # `work`, but without a new Python that imports otter for each chapter (0.03 s against
    # 4.2 s a chapter, measured here)
    from otter.assign import main as otter_assign
    said, here = io.StringIO(), os.getcwd()
    try:
        os.chdir(work)
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            otter_assign(str(src), str(dist), no_pdfs=True)
        error = ""
    except Exception as err:             # otter's message, with what it printed
        error = f"{type(err).__name__}: {err}"
    finally:
        os.chdir(here)
    zips = sorted((dist / "autograder").glob("*.zip"))
    if error or not zips:
        raise RuntimeError(f"otter assign failed on {stem}: {error}\n{said.getvalue()}")
    return dist / "student" / f"{stem}.ipynb", zips[-1], names


def grade_one(notebook: Path, autograder: Path, timeout: int = 1800) -> tuple[dict, str]:
    """({question: points}, error text or "") for one submission, by `otter run`."""
    with tempfile.TemporaryDirectory() as out:
        try:
            done = subprocess.run(_otter() + ["run", "--no-logo", "-a", str(autograder),
                                              "-o", out, str(notebook)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {}, f"otter run took over {timeout} s"
        path = Path(out) / "results.json"
        if not path.exists():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return {}, f"otter run failed (exit {done.returncode}): {last[-200:]}"
        results = json.loads(path.read_text())
    points = {t["name"]: float(t.get("score") or 0.0) for t in results["tests"]
              if t.get("max_score") is not None}
    return points, "" if done.returncode == 0 else f"otter run exit {done.returncode}"


def grade(submissions, autograders="_build/autograder", out="_build/grades.csv",
          jobs: int = 1) -> list[dict]:
    """Grade every .ipynb under `submissions` into the CSV `out` (written atomically), `jobs`
    notebooks at a time (each in its own `otter run`)."""
    submissions, autograders = Path(submissions), Path(autograders)
    if not submissions.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS={submissions} is not a folder of notebooks.")
    if not (autograders / "questions.json").exists():
        raise FileNotFoundError(f"no autograders in {autograders}: run `make student` first.")
    keys = json.loads((autograders / "questions.json").read_text())

    def one(nb: Path) -> dict:
        stem = next((s for s in keys if nb.stem.startswith(s.split("_")[0] + "_")), None)
        row = {"submission": str(nb.relative_to(submissions)), "chapter": stem or ""}
        if stem is None:
            row.update(total=0.0, possible=0.0, error="no chapter matches this file name "
                       "(keep the student notebook's name, e.g. 03_..._.ipynb)")
        else:
            points, err = grade_one(nb, autograders / f"{stem}.zip")
            row.update({q: points.get(q, 0.0) for q in keys[stem]})
            row.update(total=sum(points.get(q, 0.0) for q in keys[stem]),
                       possible=float(len(keys[stem])), error=err)
        return row

    notebooks = sorted(p for p in submissions.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    with ThreadPoolExecutor(max(1, jobs)) as pool:       # each row waits on a subprocess
        rows = list(pool.map(one, notebooks))
    columns = ["submission", "chapter"] + [q for s in keys for q in keys[s]] + \
        ["total", "possible", "error"]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    try:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, columns, restval="")
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m cae_lib.grading")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grade", help="grade a folder of student notebooks into a CSV")
    g.add_argument("submissions")
    g.add_argument("--autograders", default="_build/autograder")
    g.add_argument("--out", default="_build/grades.csv")
    g.add_argument("--jobs", type=int, default=1, help="notebooks graded at once")
    args = p.parse_args(argv)
    try:
        rows = grade(args.submissions, args.autograders, args.out, args.jobs)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for r in rows:
        print(f"{r['submission']:<48} {r['total']:>5g} / {r['possible']:g}  {r['error']}")
    print(f"{len(rows)} submissions graded into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
