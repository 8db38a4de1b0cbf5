"""Run by `make book` after the build: the HTML must hold every chapter, its figures, and the
kernel-free sliders of chapter 6. Exits non-zero with a message naming what is missing."""
import re
import sys
from pathlib import Path

html = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
toc = Path("_toc.yml").read_text()
problems = []
for page in re.findall(r"file: (\S+)", toc):
    f = html / f"{page}.html"
    if not f.exists():
        problems.append(f"{f} is missing")
        continue
    text = f.read_text()
    if Path(f"{page}.ipynb").exists():
        imgs = re.findall(r'<img [^>]*src="[^"]*_images/[^"]+"', text)
        if not imgs:
            problems.append(f"{f} has no computed figure")
        if "Traceback (most recent call last)" in text:
            problems.append(f"{f} shows a traceback")
ch6 = html / "book/06_explore_lambda_noise.html"
if ch6.exists():
    sliders = ch6.read_text().count('type="range"')
    if sliders < 2:
        problems.append(f"{ch6} has {sliders} kernel-free slider(s); expected 2")
if problems:
    sys.exit("built book check failed:\n  " + "\n  ".join(problems))
print(f"built book check passed: {len(re.findall(r'file: ', toc))} pages, chapter 6 sliders present")
