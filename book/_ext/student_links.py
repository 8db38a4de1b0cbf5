"""Local Sphinx extension (listed in _config.yml): each chapter page links its student notebook.

`make book` writes the student pack first (`make student`: _build/student/<chapter>.ipynb and
_build/student.zip, without the solutions). Here every chapter page whose student notebook
exists gets a note under its title: a download link to that notebook, how to open it (Jupyter
in a clone of the book, or Colab by uploading it), and the whole pack as one zip. At the end of
the build the notebooks and the zip are copied into the HTML (student/), so the links work from
disk and in the zip of the book. A bare `jupyter-book build .` without the pack adds no links.
The teacher's autograders and worked keys (_build/autograder) are never copied.
"""
import re
import shutil
from pathlib import Path


def _pack(app) -> Path:
    return Path(app.srcdir) / "_build" / "student"


def _note(stem: str) -> str:
    return (
        '<div class="admonition note student-pack">'
        '<p class="admonition-title">Student version of this chapter</p>'
        f'<p><a class="reference download" href="../student/{stem}.ipynb" download>'
        f'<code>{stem}.ipynb</code></a>: the chapter without its worked solutions; each '
        'exercise has a cell with a stub and, where one exists, its self-check. Open it in '
        'Jupyter inside a clone of the book (<code>make lab</code>), or in Colab '
        '(<em>File, Upload notebook</em>: its first cell installs <code>cae_lib</code>). '
        'All chapters: <a class="reference download" href="../student.zip" download>'
        '<code>student.zip</code></a>.</p></div>')


def add_link(app, pagename, templatename, context, doctree):
    stem = pagename.rsplit("/", 1)[-1]
    if not pagename.startswith("book/0") or "body" not in context:
        return
    if not (_pack(app) / f"{stem}.ipynb").is_file():
        return
    body = context["body"]
    end = re.search(r"</h1>", body)
    at = end.end() if end else 0
    context["body"] = body[:at] + _note(stem) + body[at:]


def copy_pack(app, exception):
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    src = _pack(app)
    if not src.is_dir():
        return
    dst = Path(app.outdir) / "student"
    dst.mkdir(exist_ok=True)
    for f in sorted(src.glob("*.ipynb")):
        shutil.copy2(f, dst / f.name)
    if src.with_suffix(".zip").is_file():
        shutil.copy2(src.with_suffix(".zip"), Path(app.outdir) / "student.zip")


def setup(app):
    app.connect("html-page-context", add_link)
    app.connect("build-finished", copy_pack)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
