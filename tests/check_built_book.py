"""Run by `make book` after the build. The HTML must hold every page of
_toc.yml; every chapter its computed figures, each with an alt text that says
what it shows; chapter 6 its two kernel-free sliders; and every page with math
the book's own MathJax, no script from the web. Exits non-zero with a message
naming what is missing. tests/test_browser.py then opens the pages in
Chromium."""
import re
import sys
from pathlib import Path

from notebook_setup import bad_alt_text

html = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
toc = Path("_toc.yml").read_text()
pages = re.findall(r"(?:root|file): (\S+)", toc)
problems = []
n_images = 0
HOW = '(cell metadata {"mystnb": {"image": {"alt": "..."}}})'


for page in pages:
    f = html / f"{page}.html"
    if not f.exists():
        problems.append(f"{f} is missing")
        continue
    text = f.read_text()
    if re.search(r"""<script[^>]+src=["']https?://""", text):
        problems.append(f"{f} loads a script from the web")
    if 'class="math' in text and "_static/mathjax/" not in text:
        problems.append(f"{f} has math but not the book's own MathJax")
    for tag in re.findall(r"<img [^>]*>", text):
        n_images += 1
        alt = re.search(r'alt="([^"]*)"', tag)
        alt = alt.group(1) if alt else ""
        computed = re.search(r'src="(data:image|[^"]*_images/)', tag)
        if not alt.strip() or (computed and bad_alt_text(alt)):
            src = re.search(r'src="([^"]{0,60})', tag)
            problems.append(f"{f}: image {src.group(1) if src else '?'} has "
                            f"alt text {alt!r}; say what it shows {HOW}")
    if Path(f"{page}.ipynb").exists():
        imgs = re.findall(r'<img [^>]*src="[^"]*_images/[^"]+"', text)
        if not imgs:
            problems.append(f"{f} has no computed figure")
        if "Traceback (most recent call last)" in text:
            problems.append(f"{f} shows a traceback")
        stem = Path(page).name
        if Path("_build/student").is_dir():          # make book writes the pack first
            if f'href="../student/{stem}.ipynb"' not in text:
                problems.append(f"{f} does not link its student notebook")
            if not (html / "student" / f"{stem}.ipynb").is_file():
                problems.append(f"{html}/student/{stem}.ipynb is missing")
ch6 = html / "book/06_explore_lambda_noise.html"
if ch6.exists():
    sliders = ch6.read_text().count('type="range"')
    if sliders < 2:
        problems.append(f"{ch6} has {sliders} kernel-free slider(s); "
                        "expected 2")
if (html / "autograder").exists() or list(html.rglob("*-key.ipynb")):
    problems.append(f"{html} holds a worked key or autograder: keep them out of the book")
if not (html / "_static/mathjax/tex-chtml.js").is_file():
    problems.append(f"{html}/_static/mathjax is missing "
                    "(sphinx-mathjax-offline)")
if problems:
    sys.exit("built book check failed:\n  " + "\n  ".join(problems))
print(f"built book check passed: {len(pages)} pages, {n_images} images with "
      "alt text, chapter 6 sliders present, MathJax served by the book")
