"""How `make cache` trains the catalog: a pool of worker processes, threads, and the GPU.

Scope: `fill(entries, cache_dir, jobs)`, the scheduler behind `python -m cae_lib.catalog`, and
the helpers that order the catalog's entries (`on_cpu_only`, `cost`, `needs`). What is trained
is `catalog.catalog()`; how one entry is trained is
`catalog.train_entry` (looked up at call time, so a test may replace either).

On a CPU, everything missing is computed in one pool of single-threaded worker processes, one
per core (`fill`): the models the most expensive first, and each probe score or fine-tuning
queued once the models it reads (`needs`) are there, behind the entries already waiting.
Small layers and 2-D toys are per-step overhead that a second thread cannot hide, so separate
processes finish sooner; a deep CAE, whose closed-form penalty is large matrix products, is no
exception on two cores: on a two-core AVX2 machine (2026-12-05) one took 101 s alone on one
thread, 103 to 108 s as two at once on one thread each, and 61 s alone with both threads, so
one thread each on two cores does more per second. On the AMD EPYC development machine the
earlier schedule (the deep CAEs first, two at a time, the odd one out with both threads; then
the other models; then the scores: three rounds, 139 + 516 + 155 s, with a barrier between
them) took 809 s for the catalog at CAE_SEED=0, and the pool 784 s at CAE_SEED=2, about half
of the 1,558 CPU seconds its entries took.
On a GPU (`--jobs` default: one worker per core but one), the MNIST models train on the GPU in
this process while the 2-D toys, which always train on one CPU thread, train in worker
processes on the otherwise idle cores; then the probe scores, here. The table ends with each
round's wall time. Either way a toy comes out bit for bit the same (toys always train on one
thread); an MNIST model's weights may differ from a run on another thread count in the last
bits only.
"""
from __future__ import annotations

import os
import sys
import time
from multiprocessing import get_context
from queue import SimpleQueue
from pathlib import Path

import torch

from .cache import TrainConfig, default_cache_dir, readonly_reason
from .data import load_mnist
from .device import default_device
from .toy import ToyConfig


def _catalog():
    from . import catalog                 # imported here: catalog re-exports this module
    return catalog


def _stamp(path: Path):
    """What identifies a file's content on disk, or None when it is missing."""
    if not path.exists():
        return None
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def default_jobs() -> int:
    """Worker processes for the single-threaded rounds: one per torch thread on a CPU; on a
    GPU, one per CPU core but one (the 2-D toys train on the CPU beside the GPU's work)."""
    if default_device().type != "cpu":
        return max(1, (os.cpu_count() or 2) - 1)
    return max(1, torch.get_num_threads())


def on_cpu_only(entry) -> bool:
    """True for a 2-D toy: it always trains on one CPU thread, whatever the device."""
    return not entry.scores and isinstance(entry.config, ToyConfig)


def cost(entry) -> float:
    """A rough relative cost of an entry (multiply-adds per training run), to start the longest
    ones first in the worker pool, so that no worker is left with a long model at the end."""
    cfg = entry.config
    if isinstance(cfg, ToyConfig):
        return 2.0 if cfg.gamma or cfg.stacked else 1.0    # CAE+H, or two layers in turn
    if not isinstance(cfg, TrainConfig):                              # a fine-tuning (5b)
        return 4e5 * (1 + cfg.n_tangents / 2)
    dims = [784, *cfg.hidden_dims, cfg.latent_dim]
    macs = sum(a * b for a, b in zip(dims, dims[1:]))                 # encoder (= decoder)
    if entry.scores:                                                  # the probe: codes x 10
        return 1e3 * cfg.latent_dim
    n = cfg.n_train or 60_000
    return macs * n * cfg.epochs * (3 if cfg.lam > 0 and cfg.hidden_dims else 1)


def needs(entry) -> tuple:
    """The model configurations an entry reads: a probe score, its model; a fine-tuning, its
    pretrained encoder and the autoencoder that gives its tangents; a model, nothing."""
    cfg = entry.config
    if isinstance(cfg, TrainConfig):
        return (cfg,) if entry.scores else ()
    if isinstance(cfg, ToyConfig):
        return ()
    return tuple(dict.fromkeys(([cfg.encoder] if cfg.pretrained else [])
                               + ([cfg.source] if cfg.n_tangents else [])))


def _one_thread() -> None:
    torch.set_num_threads(1)


def _timed(args) -> tuple[int, float]:
    """In a worker: (index, seconds) after training one entry."""
    i, entry, cache_dir = args
    t0 = time.perf_counter()
    _catalog().train_entry(entry, cache_dir)
    return i, time.perf_counter() - t0


def fill(entries=None, cache_dir=None, progress: bool = True, jobs: int | None = None,
         rounds: dict | None = None, device=None) -> list[tuple[object, float | None]]:
    """Train every entry whose file is not in the cache (or is unusable: the loader retrains it).
    Returns [(entry, seconds spent training, or None when it was cached)], in catalog order.
    jobs > 1: the schedule of the module docstring; jobs = 1: one entry after another, here.
    `rounds`, if given, is filled with {round name: wall seconds}. `device`: where the MNIST
    models train (default `default_device()`); on a GPU with jobs > 1 the toys train in CPU
    worker processes while the GPU trains the MNIST models here."""
    from tqdm.auto import tqdm

    entries = _catalog().catalog() if entries is None else tuple(entries)
    cache_dir = Path(cache_dir or default_cache_dir())
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int; got {jobs!r}.")
    reason = readonly_reason(cache_dir)
    if reason:
        raise PermissionError(f"cannot fill the model cache {cache_dir}: it is read-only "
                              f"({reason}). Unset CAE_CACHE_READONLY, or point CAE_CACHE_DIR "
                              f"at a writable folder.")
    seconds: dict[int, float | None] = {}
    bar = tqdm(total=len(entries), desc="models", unit="model", disable=not progress,
               file=sys.stderr)

    def here(indices):                    # in this process, with every thread
        for i in indices:
            bar.set_postfix_str(entries[i].name, refresh=False)
            path = cache_dir / entries[i].filename
            before = _stamp(path)
            t0 = time.perf_counter()
            _catalog().train_entry(entries[i], cache_dir)
            took = time.perf_counter() - t0
            seconds[i] = None if before is not None and _stamp(path) == before else took
            bar.update(1)

    def workers(indices, beside=None, after=False):    # in single-threaded worker processes
        """after=True: the most expensive first, and an entry that reads models of `indices`
        (a score, a fine-tuning: `needs`) once they are trained; else in the order given."""
        if len(indices) < 2 and beside is None:
            return here(indices)
        for name in dict.fromkeys(entries[i].config.dataset for i in indices   # unpack the
                                  if isinstance(entries[i].config, TrainConfig)):  # files once,
            load_mnist(n_train=1, n_test=1, dataset=name)                        # not racing
        before = {i: _stamp(cache_dir / entries[i].filename) for i in indices}
        order = sorted(indices, key=lambda i: -cost(entries[i])) if after else list(indices)
        made = {entries[i].config: i for i in indices if not entries[i].scores}
        waits = {i: {made[c] for c in needs(entries[i]) if c in made} if after else set()
                 for i in order}
        results = SimpleQueue()           # (index, seconds) or a worker's exception
        with get_context("spawn").Pool(max(1, min(jobs, len(indices))),
                                       initializer=_one_thread) as pool:
            def submit(i):
                pool.apply_async(_timed, ((i, entries[i], cache_dir),), callback=results.put,
                                 error_callback=results.put)
            for i in order:
                if not waits[i]:
                    submit(i)
            if beside is not None:        # the GPU's work, here, while the workers run
                beside()
            for _ in order:
                got = results.get()
                if isinstance(got, BaseException):
                    raise got
                i, took = got
                unchanged = before[i] is not None and _stamp(cache_dir / entries[i].filename) \
                    == before[i]
                seconds[i] = None if unchanged else took
                bar.set_postfix_str(entries[i].name, refresh=False)
                bar.update(1)
                for j in order:           # what waited for this model, now ready
                    if i in waits[j]:
                        waits[j].discard(i)
                        if not waits[j]:
                            submit(j)

    rounds = {} if rounds is None else rounds

    def timed(name, fn, *args, **kw):
        t0 = time.perf_counter()
        fn(*args, **kw)
        rounds[name] = rounds.get(name, 0.0) + time.perf_counter() - t0

    everything = range(len(entries))
    gpu = torch.device(device).type != "cpu" if device is not None \
        else default_device().type != "cpu"
    if jobs == 1:
        timed("one after another", here, everything)
    else:
        missing = [i for i in everything if _stamp(cache_dir / entries[i].filename) is None]
        timed("check cached", here, [i for i in everything if i not in missing])
        if gpu:                           # MNIST on the GPU here, toys on the CPU beside it
            mnist = [i for i in missing if not on_cpu_only(entries[i])
                     and not entries[i].scores]
            timed("MNIST on the GPU, toys in CPU workers", workers,
                  [i for i in missing if on_cpu_only(entries[i])],
                  beside=lambda: here(mnist))
            scores = sorted([i for i in missing if entries[i].scores],
                            key=lambda i: -cost(entries[i]))
            timed("probe scores", here, scores)
        else:                             # one pool: every model and score, longest first,
            timed("models and scores, one worker per core", workers, missing,   # each score
                  after=True)                                  # once its models are there
    bar.close()
    return [(entries[i], seconds[i]) for i in everything]
