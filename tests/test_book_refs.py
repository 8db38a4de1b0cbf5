"""Every equation a page refers to ({eq}`label`) is defined somewhere in the book (a labelled
display, `$$ ... $$ (label)`, or a {math} block's `:label:`), and every {doc} and {cite} target exists: a reference to a deleted
equation renders as plain text in the HTML, and nothing else would catch it."""
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def _texts():
    for path in sorted(BOOK.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        yield path.name, "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for path in sorted(BOOK.glob("*.md")):
        yield path.name, path.read_text()


def test_every_equation_reference_has_a_labelled_equation():
    texts = dict(_texts())
    labels = {m for t in texts.values()                      # $$ ... $$ (label), or
              for m in re.findall(r"\$\$\s*\(([\w-]+)\)|:label:\s*([\w-]+)", t)}
    labels = {a or b for a, b in labels}                     # a {math} block's :label:
    assert {"cae-loss", "rifai", "chain", "gram-form", "dae-expansion", "dae-lam"} <= labels
    missing = [(name, ref) for name, t in texts.items()
               for ref in re.findall(r"\{eq\}`([\w-]+)`", t) if ref not in labels]
    assert not missing, f"{{eq}} references without a labelled equation: {missing}"


def test_every_doc_and_citation_target_exists():
    bib = (BOOK / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([\w-]+),", bib))
    docs = {p.stem for p in BOOK.glob("*.ipynb")} | {p.stem for p in BOOK.glob("*.md")}
    for name, t in _texts():
        for ref in re.findall(r"\{doc\}`([\w/.-]+)`", t):
            assert Path(ref).name in docs, (name, ref)
        for group in re.findall(r"\{cite(?::[tp])?\}`([^`]+)`", t):
            for key in group.split(","):
                assert key.strip() in keys, (name, key)
