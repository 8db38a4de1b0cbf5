"""The book's seed knob, CAE_SEED, and the seeds every model and random draw derive from.

Scope: one integer n >= 0 (env CAE_SEED, default 0) picks a whole realisation of the book:
every model it trains and every random draw its chapters make. A claim about trained models
must hold for every n (the build is checked on seeds nobody tried), so a chapter never relies
on one training run: it trains `REPLICATES` models per compared configuration and reports
the spread across them (`mean_se`).

    CAE_SEED=1 make book                 # another realisation of every model and draw

A configuration (`cache.TrainConfig`, `toy.ToyConfig`) carries two numbers:
    book_seed  = CAE_SEED when the config was made (the realisation), and
    seed       = the replicate, 0, 1, 2, ... within that realisation.
Both are in the model cache's key, so two book seeds never share a file. The seed that
torch is given is `training_seed(book_seed, seed)` = 1000 * book_seed + seed (replicates
< 1000), so CAE_SEED=0 trains exactly the models it trained before the knob existed.
"""
from __future__ import annotations

import math
import os

import torch

REPLICATES = 3        # training runs per configuration that a claim compares
_STRIDE = 1000        # replicate seeds of one book seed: 1000 n, ..., 1000 n + 999


def book_seed() -> int:
    """CAE_SEED as an int >= 0 (0 when unset or empty); a clear ValueError otherwise."""
    raw = os.environ.get("CAE_SEED", "").strip()
    if raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(f"CAE_SEED={os.environ['CAE_SEED']!r} is not a whole number >= 0. "
                         f"Set it to 0, 1, 2, ... (e.g. CAE_SEED=1 make book), or unset it "
                         f"for the default realisation 0.")
    value = int(raw)
    return value


def check_seed(name: str, value) -> int:
    """An int >= 0 (not a bool), or a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0; got {value!r}.")
    return value


def training_seed(book: int, replicate: int) -> int:
    """The torch seed of replicate `replicate` in book realisation `book` (see above)."""
    check_seed("book_seed", book)
    check_seed("seed", replicate)
    if replicate >= _STRIDE:
        raise ValueError(f"seed (the replicate) must be below {_STRIDE}; got {replicate}.")
    return _STRIDE * book + replicate


def generator(stream: int = 0, device="cpu") -> torch.Generator:
    """A torch.Generator for the chapters' random draws (test points, noise, bootstraps),
    seeded from CAE_SEED and `stream` (use a different stream for independent draws)."""
    return torch.Generator(device=device).manual_seed(training_seed(book_seed(), stream))


def replicates(n: int = REPLICATES) -> range:
    """The replicate seeds 0, ..., n - 1 that a claim averages over."""
    check_seed("n", n)
    if n < 1:
        raise ValueError("n must be at least 1.")
    return range(n)


def mean_se(values) -> tuple[float, float]:
    """(mean, seed-level standard error) of one number measured on several training runs:
    s.e. = sample std (n - 1) / sqrt(n). Needs at least 2 values."""
    v = [float(x) for x in values]
    if len(v) < 2:
        raise ValueError(f"a seed-level s.e. needs at least 2 runs; got {len(v)}.")
    if not all(math.isfinite(x) for x in v):
        raise ValueError(f"non-finite value among the runs: {v}.")
    m = sum(v) / len(v)
    var = sum((x - m) ** 2 for x in v) / (len(v) - 1)
    return m, math.sqrt(var / len(v))
