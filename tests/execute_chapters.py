"""Execute every chapter of the book, two at a time, into the jupyter-cache that the book build
reads (`make book` runs this between `make cache` and `jupyter-book build`).

    python tests/execute_chapters.py [--jobs N] [--cache _build/.jupyter_cache] [book/...ipynb]

(The cache is emptied first even when only some notebooks are named.)

Why: two kernels with one torch thread each keep the 2-core machine's cores busy without
competing for them (measured on 2026-12-07: the nine chapters besides chapter 2 in 148 s of
wall time, while their own run times, each beside another kernel, add up to 287 s).
Each chapter is run exactly as MyST-NB's "force" mode runs it (jupyter_cache's
`single_nb_execution`, the chapter's folder as working directory, the timeout of _config.yml,
errors not allowed), and the executed notebook is stored in the cache that MyST-NB's "cache"
mode reads (its default place, _build/.jupyter_cache); the cache is emptied first, so every
build executes every chapter. A chapter whose notebook metadata has
`cae_book.run_alone` (chapter 2, which times the penalty methods) runs afterwards on its own,
with every thread, so that no other kernel distorts its timings.

Any cell error (or a dead kernel) fails this script (exit 1) with the chapter, the cell and the
traceback, so nothing is cached and the build stops, as `nb_execution_raise_on_error` would.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from multiprocessing import get_context
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / "_build" / ".jupyter_cache"   # MyST-NB's default for `jupyter-book build .`


def _patch_nbclient() -> None:
    """The same sliced shell-socket poll as the build (book/_ext/nbclient_poll.py)."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import nbclient_poll                                 # noqa: E402
    nbclient_poll.patch()


def _single_thread() -> None:
    """Pool initializer: the kernels this worker starts use one thread each."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


# A kernel that dies before it answers its first request never ran a cell: two kernels started
# at the same moment can be handed the same free TCP port by jupyter_client, and the second one
# fails to bind it ("Address already in use"; seen once here, in a cold `make book`). Such a
# start is retried, with a new port; an error in a cell is never retried.
STARTUP_FAILURE = "Kernel died before replying to kernel_info"
STARTS = 3


def execute(path: str, timeout: int, starts: int = STARTS):
    """(path, executed notebook or None, seconds, error text or None) for one chapter."""
    from jupyter_cache.executors.utils import single_nb_execution
    t0 = time.perf_counter()
    for attempt in range(1, starts + 1):
        try:
            _patch_nbclient()
            nb = nbformat.read(path, as_version=4)
            result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                                         allow_errors=False, meta_override=True)
            error = None if result.err is None else result.exc_string
        except Exception:        # a dead kernel, say: report it with the chapter's name
            result, error = None, traceback.format_exc()
        if error is None:
            return path, result.nb, result.time, None
        if STARTUP_FAILURE not in error or attempt == starts:
            return path, None, time.perf_counter() - t0, error
        print(f"  {Path(path).name}: the kernel died at start (attempt {attempt} of {starts}); "
              "starting another", flush=True)


def chapters_of_toc(toc: Path) -> list[Path]:
    """The notebooks _toc.yml lists, in order."""
    files = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    files.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(yaml.safe_load(toc.read_text()))
    out = []
    for f in files:
        p = ROOT / f
        p = p if p.suffix else p.with_suffix(".ipynb")
        if p.suffix == ".ipynb" and p.exists():
            out.append(p)
    return out


def config_timeout() -> int:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    return int(cfg.get("execute", {}).get("timeout", 1800))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every notebook in _toc.yml")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="chapters run at once (default: 2, or 1 on a 1-core machine)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive int; got {args.jobs}.")
    paths = [p.resolve() for p in args.notebooks] or chapters_of_toc(ROOT / "_toc.yml")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")

    cache = get_cache(str(args.cache))
    cache.clear_cache()                                  # every build executes every chapter
    cache = get_cache(str(args.cache))

    alone = [p for p in paths
             if nbformat.read(p, as_version=4).metadata.get("cae_book", {}).get("run_alone")]
    shared = sorted((p for p in paths if p not in alone),   # longest first: a better packing
                    key=lambda p: -p.stat().st_size)
    timeout, results, t0 = config_timeout(), [], time.perf_counter()
    print(f"executing {len(paths)} chapters: {len(shared)} in {args.jobs} kernels of one "
          f"thread each, then {len(alone)} alone", flush=True)
    if shared:
        with get_context("spawn").Pool(args.jobs, initializer=_single_thread) as pool:
            for res in pool.imap_unordered(_star, [(str(p), timeout) for p in shared]):
                results.append((*res, "shared"))
                _report(results[-1])
    for p in alone:
        results.append((*execute(str(p), timeout), "alone"))
        _report(results[-1])

    failed = [(path, err) for path, nb, _, err, _ in results if err is not None]
    for path, err in failed:
        print(f"\n=== {Path(path).name} failed ===\n{err}", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} chapter(s) failed: "
              f"{', '.join(Path(p).name for p, _ in failed)}; nothing was cached. Fix the "
              f"cell named above (or run the chapter in `make lab`).", file=sys.stderr)
        return 1
    for path, nb, seconds, _, _ in results:
        cache.cache_notebook_bundle(CacheBundleIn(nb, uri=path,
                                                  data={"execution_seconds": seconds}),
                                    check_validity=False, overwrite=True)
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            print(f"error: the executed {Path(path).name} no longer matches its source (its "
                  f"code cells or cell metadata changed while it ran, or the file was edited); "
                  f"the build would execute it again, one after another. Run `make book` "
                  f"again.", file=sys.stderr)
            return 1
    print(f"{len(results)} chapters executed and cached in {time.perf_counter() - t0:.1f} s "
          f"(wall); cache {args.cache}", flush=True)
    return 0


def _star(args):
    return execute(*args)


def _report(row) -> None:
    path, _, seconds, err, mode = row
    status = "FAILED" if err else "ok"
    print(f"  {Path(path).name:<38} {seconds:7.1f} s  {mode:<6}  {status}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
