"""Execute every chapter of the book twice, with a cold and then a warm model cache, and print
the wall time of each (the kernel start included). The data files must already be in place
(or CAE_DATA_MIRROR set); only the model cache starts empty, in a temporary folder.

    python benchmarks/book_time.py
    python benchmarks/book_time.py book/03_*.ipynb         # a subset
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - t0


def main():
    chapters = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "book").glob("[0-9]*.ipynb"))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CAE_CACHE_DIR"] = cache          # the kernels inherit it: a cold cache
        times = {"cold": {}, "warm": {}}
        for state in ("cold", "warm"):
            for ch in chapters:
                times[state][ch.name] = run(ch)
                print(f"{state:>5} {ch.name:<36} {times[state][ch.name]:7.1f} s", flush=True)
    print(f"\n{'chapter':<36} {'cold s':>8} {'warm s':>8}")
    for ch in chapters:
        print(f"{ch.name:<36} {times['cold'][ch.name]:8.1f} {times['warm'][ch.name]:8.1f}")
    cold, warm = sum(times["cold"].values()), sum(times["warm"].values())
    print(f"{'whole book':<36} {cold:8.1f} {warm:8.1f}")
    print(f"targets: cold <= 600 s {'ok' if cold <= 600 else 'MISSED'}; "
          f"warm <= 120 s {'ok' if warm <= 120 else 'MISSED'}")


if __name__ == "__main__":
    main()
