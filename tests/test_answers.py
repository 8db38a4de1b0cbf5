"""`make answers` (cae_lib/answers.py): the answer key holds each exercise's statement and what
its worked solution printed in the build, the sheet only the statements, and a chapter edited
since the build is refused with the fix. A tiny chapter, executed by a real kernel."""
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from nbclient import NotebookClient

from cae_lib import answers


def _chapter(book: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb.cells = [md("# 09 A tiny chapter\n\nText."), code("print('setup: CAE_SEED=7 present')"),
                md("## Exercises\n\n1. **Add.** *(about 5 min)* What is 6 * 7?\n"
                   "2. **Why.** *(about 5 min)* Why?")]
    solution = code("# Exercise 1\nprint('Answer: 42')")
    solution.metadata["tags"] = ["hide-cell", "solution"]
    hidden = code("assert 6 * 7 == 42")
    hidden.metadata["tags"] = ["remove-cell", "solution"]
    text = md("```{admonition} Solution 2\n:class: dropdown\nBecause it is so.\n```")
    text.metadata["tags"] = ["solution"]
    nb.cells += [solution, hidden, text]
    book.mkdir()
    path = book / "09_tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_key_has_the_printed_answers_and_the_sheet_only_the_questions(tmp_path):
    path = _chapter(tmp_path / "book")
    cache = get_cache(str(tmp_path / "cache"))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3", record_timing=False).execute()
    cache.cache_notebook_bundle(CacheBundleIn(nb, uri=str(path)), overwrite=True)
    counts = answers.build(tmp_path / "book", tmp_path / "out", tmp_path / "cache")
    assert counts == {"09_tiny.ipynb": 2}
    key = (tmp_path / "out" / "answers.md").read_text()
    assert "CAE_SEED=7" in key and "*(about 5 min)*" in key
    assert "Answer: 42" in key and "Because it is so." in key
    assert "assert 6 * 7" not in key and "admonition" not in key     # hidden, unwrapped
    sheet = (tmp_path / "out" / "exercises.html").read_text()
    assert "What is 6 * 7?" in sheet and "Answer: 42" not in sheet and "so." not in sheet
    assert "<pre>" in (tmp_path / "out" / "answers.html").read_text()

    edited = nbformat.read(path, as_version=4)                     # edited since the build
    edited.cells[3].source += "\nprint('more')"
    nbformat.write(edited, path)
    with pytest.raises(FileNotFoundError, match="make book"):
        answers.build(tmp_path / "book", tmp_path / "out", tmp_path / "cache")
