"""The line every chapter's setup cell prints about the model cache: which folder, whether it
holds the book's models for this realisation (CAE_SEED), and what a miss costs.

Scope: a reader or student who opens a chapter with no cache, a typo in CAE_CACHE_DIR, or
another CAE_SEED than the cache was filled with, learns it in the first cell, not minutes
later from a cell that trains silently. With CAE_CACHE_ZIP set it first unpacks a teacher's
cache zip (cache_zip.py). It counts the files of `catalog.catalog()` (every
model and probe score of the book, three training runs per compared configuration) in
`cache.default_cache_dir()`; it trains and writes nothing.

    print(cl.cache_report())
"""
from __future__ import annotations

from pathlib import Path

from .cache import default_cache_dir, readonly_reason
from .seeds import book_seed

# Measured on the 2-core AMD EPYC development machine (one thread each, 2026-12-07, CAE_SEED=4):
# a one-layer model of the paper's size (5 epochs) 16 to 19 s, a deep AE or DAE 18 to 20 s, a
# deep CAE 132 to 143 s, a probe score 2 to 10 s.
MISS_COST = "10 s to 2.5 min per MNIST model on a 2-core CPU, a few seconds on a GPU"


def cache_report(cache_dir=None) -> str:
    """One line: the cache folder, how many of the book's files for this CAE_SEED it holds,
    and, when some are missing, what that costs and how to fix it."""
    from .cache_zip import unpack_zip
    from .catalog import catalog                      # imported here: catalog imports widgets
    folder = Path(cache_dir or default_cache_dir()).absolute()
    added = unpack_zip(cache_dir=folder)              # CAE_CACHE_ZIP, when set
    entries = catalog()
    have = sum((folder / e.filename).exists() for e in entries)
    try:
        ro = readonly_reason(folder)
    except ValueError as err:                         # a bad CAE_CACHE_READONLY: say so here
        ro = str(err)
    mode = f" (read-only: {ro})" if ro else ""
    mode += f" (unpacked {added} files from CAE_CACHE_ZIP)" if added else ""
    line = (f"model cache: {folder}{mode} | {have} of {len(entries)} files of realisation "
            f"CAE_SEED={book_seed()} present")
    if have == len(entries):
        return line + ": nothing will train."
    where = "in memory, for this session only" if ro else "and saves it"
    return (line + f". A cell that needs a missing model trains it {where} ({MISS_COST}). "
            f"Fix: run `make cache` once (same CAE_SEED), or set CAE_CACHE_DIR to the absolute "
            f"path of a filled cache (your teacher's).")
