"""The answer key and the printable exercise sheet, from the executed book (`make answers`).

Scope: for each chapter, the exercise statements (its "Exercises" section, each with its
minutes) and, in the key, what each worked solution printed when the book was last built (the
values and the one-sentence "Answer: ..." line) and the folded solution text. A teacher gets the
expected values of that build's realisation (CAE_SEED) without running anything; another seed
trains other models and gives other numbers of the same kind. The executed chapters are read
from the jupyter-cache that `make book` fills, so the key always matches the book's source:
a chapter edited since the last build is refused with the fix. Written as Markdown and as
self-contained HTML (printable, no network; formulas stay in their TeX source).

    python -m cae_lib.answers [BOOK_DIR] [OUT_DIR] [--cache _build/.jupyter_cache]
"""
from __future__ import annotations

import argparse
import html
import os
import re
import sys
from pathlib import Path

import nbformat

from .student import SOLUTION, HIDDEN, chapters, tags

EXERCISE = re.compile(r"^(?:#+\s*Exercise|```\{admonition\} Solution) (\d+)", re.M)
CSS = ("body{font-family:sans-serif;max-width:48em;margin:2em auto;line-height:1.45}"
       "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}"
       "h2{border-top:1px solid #ccc;padding-top:.8em}@media print{h2{break-before:page}}")


def executed(path: Path, cache_dir: Path) -> nbformat.NotebookNode:
    """The chapter as the last `make book` executed it (from the jupyter-cache)."""
    from jupyter_cache import get_cache
    nb = nbformat.read(path, as_version=4)
    try:
        _, merged = get_cache(str(cache_dir)).merge_match_into_notebook(nb)
    except KeyError:
        raise FileNotFoundError(
            f"{path.name} has no executed copy in {cache_dir} that matches its source (it was "
            "edited since the last build, or the book was never built here). Fix: run "
            "`make book` first, then `make answers`.") from None
    return merged


def statements(nb) -> str:
    """The chapter's exercise statements, as Markdown."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or SOLUTION in tags(cell):
            continue
        if "## Exercises" in cell.source:
            out.append(cell.source[cell.source.index("## Exercises") + len("## Exercises"):])
        elif re.match(r"## Exercise \d+", cell.source):           # chapter 7: one per section
            out.append("#" + cell.source)
    return "\n\n".join(s.strip() for s in out)


def _printed(cell) -> str:
    text = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stdout":
            text.append(o.get("text", ""))
        elif "text/plain" in o.get("data", {}) and "image/png" not in o.get("data", {}):
            text.append(o["data"]["text/plain"] + "\n")
        elif "image/png" in o.get("data", {}):
            text.append("(a figure)\n")
    return "".join(text).strip()


def solutions(nb) -> dict[int, list[str]]:
    """{exercise number: [Markdown blocks]}: what each worked solution printed, and the folded
    solution texts, in order. The exercise is the one the cell names ("# Exercise 2"), else the
    last exercise heading or solution seen."""
    out: dict[int, list[str]] = {}
    current = 0
    for cell in nb.cells:
        found = EXERCISE.search(cell.source)
        if cell.cell_type == "markdown" and SOLUTION not in tags(cell):
            if found and cell.source.lstrip().startswith("## Exercise"):
                current = int(found.group(1))
            continue
        if SOLUTION not in tags(cell) or HIDDEN in tags(cell):
            continue
        if found:
            current = int(found.group(1))
        if cell.cell_type == "code":
            printed = _printed(cell)
            if printed:
                out.setdefault(current, []).append(f"```text\n{printed}\n```")
        elif not cell.source.lstrip().startswith("### Solutions") and current:
            text = re.sub(r"^```\{admonition\}[^\n]*\n(:class:[^\n]*\n)?|\n```\s*$", "",
                          cell.source.strip())            # a folded box: its text only
            out.setdefault(current, []).append(text.strip())
    out.pop(0, None)
    return out


def _html(title: str, markdown: str) -> str:
    from markdown_it import MarkdownIt
    body = MarkdownIt("commonmark").enable("table").render(markdown)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title)}</title><style>{CSS}</style></head><body>\n{body}"
            "</body></html>\n")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _seed(nbs) -> str:
    """The CAE_SEED the chapters were executed with, as their setup lines report it."""
    for nb in nbs:
        for cell in nb.cells:
            found = re.search(r"CAE_SEED=(\d+)", _printed(cell)) if cell.cell_type == "code" \
                else None
            if found:
                return found.group(1)
    return "unknown"


def build(book_dir="book", out_dir="_build/answers", cache_dir="_build/.jupyter_cache"
          ) -> dict[str, int]:
    """Write answers.md, answers.html (the key) and exercises.html (the sheet) into out_dir.
    Returns {chapter file: exercises with a recorded answer}."""
    out_dir, counts = Path(out_dir), {}
    runs = [(path, executed(path, Path(cache_dir))) for path in chapters(book_dir)]
    sheet, key = ["# Exercises"], ["# Answer key"]
    seed = _seed(nb for _, nb in runs)
    key.append(f"Values from the book as last built here, with `CAE_SEED={seed}`; another seed"
               " trains other models and gives other numbers of the same kind. "
               "Keep this page from the class.")
    for path, nb in runs:
        title = nb.cells[0].source.splitlines()[0].lstrip("# ").strip()
        text, answers = statements(nb), solutions(nb)
        if not text:
            continue
        counts[path.name] = len(answers)
        sheet += [f"## {title}", text]
        key += [f"## {title}", text]
        for n in sorted(answers):
            key += [f"### Exercise {n}: the worked solution's results", *answers[n]]
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / "answers.md", "\n\n".join(key) + "\n")
    _write(out_dir / "answers.html", _html("Answer key", "\n\n".join(key)))
    _write(out_dir / "exercises.html", _html("Exercises", "\n\n".join(sheet)))
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m cae_lib.answers")
    p.add_argument("book_dir", nargs="?", default="book")
    p.add_argument("out_dir", nargs="?", default="_build/answers")
    p.add_argument("--cache", default="_build/.jupyter_cache")
    args = p.parse_args(argv)
    try:
        counts = build(args.book_dir, args.out_dir, args.cache)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 1
    for name, n in counts.items():
        print(f"{name:<36} {n} exercises answered")
    print(f"Answer key: {args.out_dir}/answers.html (and .md); exercise sheet: "
          f"{args.out_dir}/exercises.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
