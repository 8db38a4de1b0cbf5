"""A teacher's model cache as one zip: `make cache-zip` writes it, CAE_CACHE_ZIP unpacks it.

Scope: a class whose students cannot share a drive gets the cache as a file. The teacher runs
`make cache-zip` (after `make cache`): every file of the book's catalog for this CAE_SEED goes
into _build/cae-cache-seed<N>.zip. A student sets CAE_CACHE_ZIP to the downloaded zip; the
first chapter's setup cell (`cache_report`) or `make cache` unpacks the files that the cache
folder lacks, each written to a temporary name and renamed, under a lock, so that two kernels
starting at once do not collide. Only plain file names ending in .pt are taken from the zip
(no folders, no paths that leave the cache folder); a file already in the cache is kept.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

from .cache import default_cache_dir, readonly_reason

_LOCK_SECONDS = 600


def write_zip(out, cache_dir=None) -> tuple[Path, int]:
    """Zip the catalog's files that are in the cache folder into `out` (atomically).
    Returns (path, number of files); a FileNotFoundError names what is missing."""
    from .catalog import catalog
    folder = Path(cache_dir or default_cache_dir()).absolute()
    names = [e.filename for e in catalog()]
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(names)} files are missing from "
                                f"{folder} (e.g. {missing[0]}). Fix: run `make cache` with the "
                                f"same CAE_SEED and CAE_CACHE_DIR first.")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:   # .pt files barely shrink
            for n in names:
                z.write(folder / n, n)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out, len(names)


def unpack_zip(zip_path=None, cache_dir=None) -> int:
    """Unpack the zip named by `zip_path` (default: env CAE_CACHE_ZIP; nothing when unset) into
    the cache folder; returns how many files were added. Clear errors for a missing or broken
    zip and for a read-only cache folder."""
    from filelock import FileLock
    zip_path = zip_path or os.environ.get("CAE_CACHE_ZIP", "").strip()
    if not zip_path:
        return 0
    zip_path = Path(zip_path).expanduser()
    if not zip_path.is_file():
        raise FileNotFoundError(f"CAE_CACHE_ZIP={zip_path} is not a file. Fix: point it at the "
                                f"cache zip your teacher gave you (absolute path), or unset it.")
    folder = Path(cache_dir or default_cache_dir()).absolute()
    try:
        z = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise ValueError(f"CAE_CACHE_ZIP={zip_path} is not a readable zip ({err}). Fix: "
                         f"download it again, or unset CAE_CACHE_ZIP.") from None
    with z:
        names = [n for n in z.namelist()
                 if n.endswith(".pt") and "/" not in n and "\\" not in n
                 and not n.startswith(".")]
        todo = [n for n in names if not (folder / n).exists()]
        if not todo:
            return 0
        reason = readonly_reason(folder)
        if reason:
            raise PermissionError(f"cannot unpack CAE_CACHE_ZIP into {folder}: it is read-only "
                                  f"({reason}). Fix: point CAE_CACHE_DIR at a writable folder.")
        folder.mkdir(parents=True, exist_ok=True)
        added = 0
        with FileLock(str(folder / ".unpack.lock"), timeout=_LOCK_SECONDS):
            for n in todo:
                if (folder / n).exists():              # another kernel was first
                    continue
                tmp = folder / f".{n}.tmp{os.getpid()}"
                try:
                    tmp.write_bytes(z.read(n))
                    os.replace(tmp, folder / n)
                    added += 1
                finally:
                    tmp.unlink(missing_ok=True)
    return added


def main(argv=None) -> int:
    import sys
    from .seeds import book_seed
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        out = args[0] if args else f"_build/cae-cache-seed{book_seed()}.zip"
        path, n = write_zip(out)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{n} files of {default_cache_dir().absolute()} in {path} "
          f"({path.stat().st_size / 2**20:.0f} MiB). Students: set CAE_CACHE_ZIP to its "
          f"absolute path; the first chapter they open unpacks it.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
