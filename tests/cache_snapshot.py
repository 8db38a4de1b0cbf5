"""Prove that `make cache` covers the book: `make test` records the model cache after
`make cache`, builds the book, and checks that the build wrote nothing there (a chapter that
trained or scored a model that `cae_lib.catalog` does not list would add a file).

    python tests/cache_snapshot.py save  SNAPSHOT.json
    python tests/cache_snapshot.py check SNAPSHOT.json     # exit 1, naming each change
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from cae_lib.cache import default_cache_dir


def snapshot(folder: Path) -> dict:
    return {p.name: [p.stat().st_size, p.stat().st_mtime_ns]
            for p in sorted(folder.iterdir()) if p.is_file()} if folder.is_dir() else {}


def main(argv) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, path = argv[0], Path(argv[1])
    folder = default_cache_dir()
    now = snapshot(folder)
    if mode == "save":
        if not now:
            print(f"error: the model cache {folder} is empty: run `make cache` first.",
                  file=sys.stderr)
            return 1
        path.write_text(json.dumps(now))
        print(f"{len(now)} files in {folder} recorded")
        return 0
    before = json.loads(path.read_text())
    added = sorted(set(now) - set(before))
    removed = sorted(set(before) - set(now))
    changed = sorted(n for n in set(now) & set(before) if now[n] != before[n])
    for kind, names in (("added", added), ("removed", removed), ("rewritten", changed)):
        for n in names:
            print(f"model cache file {kind} after `make cache`: {n}", file=sys.stderr)
    if added or removed or changed:
        print(f"error: the book changed the model cache {folder} that `make cache` had filled: "
              f"add what it trained or scored to cae_lib/catalog.py.", file=sys.stderr)
        return 1
    print(f"model cache unchanged by the book: {len(now)} files in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
