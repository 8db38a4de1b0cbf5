"""Run by `make book`: zip the built HTML book for readers with no network.

    python tests/zip_book.py [_build/html] [_build/cae-book-html.zip]

The zip holds one folder, cae-book-html/, with the whole HTML book; unzipped
anywhere, cae-book-html/index.html opens from disk with math (MathJax is in
_static/mathjax), figures, frame sliders and folded solutions working.
tests/test_browser.py opens every page of it from disk in Chromium.
"""
import sys
import zipfile
from pathlib import Path

html = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
out = Path(sys.argv[2] if len(sys.argv) > 2 else "_build/cae-book-html.zip")
if not (html / "index.html").is_file():
    sys.exit(f"{html}/index.html is missing: build the book first (make book)")
top = out.name.removesuffix(".zip")
tmp = out.with_name(out.name + ".part")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(html.rglob("*")):
        if f.is_file() and f.name != ".buildinfo":
            z.write(f, f"{top}/{f.relative_to(html).as_posix()}")
    z.write(Path(__file__).resolve().parent.parent / "LICENSE",
            f"{top}/LICENSE.txt")
tmp.replace(out)
print(f"offline copy: {out} ({out.stat().st_size / 2**20:.1f} MiB); "
      f"unzip it and open {top}/index.html")
