"""Every model the book trains, by name, and `make cache`, which trains them ahead of time.

Scope: the list of (readable name, config) pairs of every model a chapter, an exercise solution
or a library helper of the book trains (MNIST `cache.TrainConfig`s and 2-D `toy.ToyConfig`s),
and a command that fills the model cache with them. It adds no model of its own: a cold build of
the whole book writes exactly these files (tests/test_catalog.py checks the chapters' literal
configurations against this list). It also lists the linear-probe scores that chapters 3 and 6
compute (`evaluation.scored`, cached next to each model) and chapter 5b's fine-tunings
(`finetune.fine_tuned`, `replication.all_finetunes`): `make cache` computes them too, after the
models, so that no chapter waits for anything.

    python -m cae_lib.catalog            # train what is missing, then print a table
    python -m cae_lib.catalog --list     # the table of names, files and what is cached; no training
    python -m cae_lib.catalog --jobs 1   # one model after another
    CAE_SEED=1 python -m cae_lib.catalog # the models of realisation 1 (see seeds.py)

How `make cache` schedules the training (a worker pool, threads, the GPU) is
`schedule.fill`, re-exported here.

The cache folder is `cache.default_cache_dir()` (env CAE_CACHE_DIR). A teacher runs `make cache`
once, copies the folder to a shared drive, and students set CAE_CACHE_DIR to it (read-only mode,
see cache.py); `--list` there shows whether the copy is complete.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Union

from .cache import PAPER_EPOCHS, TrainConfig, default_cache_dir, trained
from .evaluation import probe_data, scored, scores_path
from .finetune import FineTuneConfig, fine_tuned
from .schedule import cost, default_jobs, fill, needs, on_cpu_only  # noqa: F401
from .replication import all_finetunes, table1_candidates
from .seeds import book_seed, replicates
from .toy import ToyConfig, toy_trained
from .widgets import sweep_replicates

Config = Union[TrainConfig, ToyConfig, FineTuneConfig]


@dataclass(frozen=True)
class Entry:
    name: str                       # readable, unique
    config: Config
    scores: bool = False            # True: computed from trained models (probe scores of the
                                    # model, or a fine-tuning), once its models are trained

    @property
    def filename(self) -> str:
        if isinstance(self.config, FineTuneConfig):
            return self.config.filename()
        return scores_path(self.config).name if self.scores else self.config.filename()


def paper_config(lam: float, tied: bool = True, dataset: str = "mnist") -> TrainConfig:
    """The one-layer 784-1000 CAE of Rifai et al. (2011) with cross-entropy (chapters 3, 4b, 7),
    PAPER_EPOCHS (5) epochs on 20,000 digits."""
    return TrainConfig(hidden_dims=(), latent_dim=1000, tied=tied, loss="bce", lam=lam,
                       dataset=dataset, epochs=PAPER_EPOCHS)


FASHION_N_TRAIN = 5_000   # exercise 7.6's budget: a quarter of chapter 3's digits


def fashion_config(lam: float, seed: int = 0) -> TrainConfig:
    """Exercise 7.6: the paper's tied model on the first 5,000 Fashion-MNIST training images."""
    return replace(paper_config(lam, dataset="fashion"), n_train=FASHION_N_TRAIN, seed=seed)


def _mnist() -> list[tuple[str, TrainConfig]]:
    """Chapters 1-7: the deep 784-256-128-64 models, the one-layer paper models, Fashion-MNIST."""
    base = TrainConfig()
    out = [("AE", base),                                              # chapters 1-7
           ("DAE noise_std 0.3", replace(base, noise_std=0.3)),       # 3, 4, 5, 6, 7
           ("CAE lam 0.1", replace(base, lam=0.1)),                   # 3, 4, 5, 6, 7
           ("CAE lam 0.1, seed 1", replace(base, lam=0.1, seed=1)),   # 4, exercise 7.2
           ("CAE lam 0.1, seed 2", replace(base, lam=0.1, seed=2)),   # 3, 4, 5: replicates
           *[(f"{name}, seed {r}", replace(base, seed=r, **kw))         # 3, 4, 5: replicates
             for name, kw in [("AE", {}), ("DAE noise_std 0.3", dict(noise_std=0.3))]
             for r in (1, 2)]]
    for tied, lams in ((True, (0.0, 0.001, 0.01)), (False, (0.0, 0.001))):  # chapter 3 (4b:
        for lam in lams:                                                   # tied 0.001; ex. 7.1)
            out.append((f"paper {'tied' if tied else 'untied'}, lam {lam:g}",
                        paper_config(lam, tied)))
    out += [(f"paper {'tied' if tied else 'untied'}, lam {lam:g}, seed {r}",   # 3: the
             replace(paper_config(lam, tied), seed=r))                 # replicates of
            for tied, lams in ((True, (0.0, 0.001, 0.01)), (False, (0.0, 0.001)))
            for lam in lams for r in replicates() if r]                # its tying test
    for r, rep in sweep_replicates().items():      # chapter 6's sweep on the paper's model,
        for (kind, value), cfg in rep.items():     # every replicate (its lam 0, 0.001, 0.01
            what = (f"paper tied DAE, noise_std {value:g}" if kind == "noise" and value
                    else f"paper tied, lam {cfg.lam:g}")  # of replicate 0: chapter 3's above)
            out.append((what + (f", seed {r}" if r else ""), cfg))
    for r in replicates():                          # chapter 5b: Table 1's AE+wd, CAE+H
        for key, cfg in table1_candidates(r).items():
            if key[0] in ("AE+wd", "CAE+H"):
                out.append((f"5b: paper tied {key[0]} {key[1]:g}" + (f", seed {r}" if r else ""),
                            cfg))
    out += [(f"4b chains: paper tied, lam 0.001, seed {r}",             # 4b: replicates
             replace(paper_config(0.001), seed=r)) for r in replicates() if r]
    for lam in (0.0, 0.001):                                          # exercise 7.6: three
        for r in replicates():                                        # runs, 5,000 images
            out.append((f"Fashion-MNIST paper tied, lam {lam:g}" + (f", seed {r}" if r else ""),
                        fashion_config(lam, seed=r)))
    return out


CAE_H_TOYS = ((0.3, 1.0), (1.0, 3.0), (0.3, 10.0))   # chapter 5b: (lam, gamma), sigma_h 0.2


def _toy() -> list[tuple[str, ToyConfig]]:
    """Chapters 1b, 4b and 5b: 2-D autoencoders on the circle, replicates 0, 1, 2 of each
    configuration (every toy claim rests on all three)."""
    kinds = [(f"toy lam {lam:g}", dict(lam=lam))                        # 1b, 4b
             for lam in (0.0, 0.03, 0.1, 0.3, 1.0)]
    kinds += [(f"toy lam {lam:g}, thick ring 0.15", dict(lam=lam, data_noise_std=0.15))
              for lam in (0.0, 0.3)]                                    # exercise 1b.2
    kinds += [(f"toy DAE sigma {s:g}", dict(noise_std=s))               # 4b, exercise 4b.2
              for s in (0.2, 0.1, 0.05, 0.025, 0.035)]
    kinds += [(f"toy CAE+H lam {lam:g} gamma {g:g}", dict(lam=lam, gamma=g,  # 5b
                                                          gamma_noise_std=0.2))
              for lam, g in CAE_H_TOYS]
    kinds += [(f"toy stacked lam {lam:g}", dict(lam=lam, stacked=True))    # exercise 5b.3
              for lam in (0.0, 0.1)]
    return [(name + (f", seed {r}" if r else ""), ToyConfig(seed=r, **kw))
            for name, kw in kinds for r in replicates()]


def _scored() -> list[tuple[str, TrainConfig]]:
    """The models whose probe scores the book computes: chapter 3's comparison and paper
    models (exercise 3.2), and every replicate of chapter 6's sweep (exercise 7.1)."""
    names: dict = {}
    for name, cfg in _mnist():                     # the name `catalog` keeps: the first one
        names.setdefault(cfg, name)
    cfgs = [replace(paper_config(lam), seed=r) for lam in (0.0, 0.001, 0.01)
             for r in replicates()]                                          # chapter 3
    cfgs += [replace(TrainConfig(), seed=r, **kw) for r in replicates()      # 3, 4: seeds
             for kw in ({}, dict(noise_std=0.3), dict(lam=0.1))]
    cfgs += [cfg for rep in sweep_replicates().values() for cfg in rep.values()]   # 6
    return [(names[cfg], cfg) for cfg in dict.fromkeys(cfgs)]


def catalog() -> tuple[Entry, ...]:
    """Every model of the book, once each, in chapter order (MNIST first, then the toys).
    A configuration listed twice (the sweep repeats chapter 3's) is kept under its first name."""
    entries: dict = {}
    for name, cfg in _mnist() + _toy():
        entries.setdefault(cfg, Entry(name, cfg))
    for name, cfg in _scored():
        entries.setdefault(("scores", cfg), Entry(f"scores: {name}", cfg, scores=True))
    for name, ft in all_finetunes():                                 # chapter 5b
        entries.setdefault(ft, Entry(name, ft, scores=True))
    names = [e.name for e in entries.values()]
    if len(set(names)) != len(names):
        raise ValueError(f"two different models share a name in the catalog: {names}")
    return tuple(entries.values())


_PROBE = {}                         # the probe splits, loaded once per process


def train_entry(entry: Entry, cache_dir: Path) -> None:
    """Train (or load) one model, or compute its scores, into `cache_dir`, with no progress bar
    of its own."""
    if isinstance(entry.config, FineTuneConfig):
        fine_tuned(entry.config, cache_dir=cache_dir)
    elif entry.scores:
        if "data" not in _PROBE:
            _PROBE["data"] = probe_data()
        scored(entry.config, _PROBE["data"], cache_dir=cache_dir, progress=False)
    elif isinstance(entry.config, ToyConfig):
        toy_trained(entry.config, cache_dir=cache_dir)
    else:
        trained(entry.config, cache_dir=cache_dir, progress=False)


def table(rows, column: str = "seconds") -> str:
    """The text table: model, seconds (or "cached" / "missing"), file."""
    width = max([len(e.name) for e, _ in rows] + [5])
    lines = [f"{'model':<{width}}  {column:>8}  file"]
    for entry, status in rows:
        cell = status if isinstance(status, str) else f"{status:8.1f}"
        lines.append(f"{entry.name:<{width}}  {cell:>8}  {entry.filename}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cae_lib.catalog",
                                     description="Train every model the book uses into the "
                                                 "model cache (CAE_CACHE_DIR), then list them.")
    parser.add_argument("--list", action="store_true",
                        help="print the models, their files and whether each is cached; train "
                             "nothing")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes for the small models (default: one per CPU "
                             "thread; 1 on a GPU, or to train one model after another here)")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be a positive int; got {args.jobs}.")
    try:
        seed = book_seed()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cache_dir = default_cache_dir()
    entries = catalog()
    from .cache_zip import unpack_zip
    try:
        unpacked = unpack_zip(cache_dir=cache_dir)          # CAE_CACHE_ZIP, when set
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if unpacked:
        print(f"unpacked {unpacked} files from CAE_CACHE_ZIP into {cache_dir.absolute()}")
    if args.list:
        rows = [(e, "cached" if (cache_dir / e.filename).exists() else "missing")
                for e in entries]
        print(table(rows, column="status"))
        n = sum(status == "cached" for _, status in rows)
        print(f"{n} of {len(rows)} files (models and probe scores) cached in "
              f"{cache_dir.absolute()}; CAE_SEED={seed}")
        return 0
    t0 = time.perf_counter()
    rounds: dict[str, float] = {}
    try:
        rows = fill(entries, cache_dir, jobs=args.jobs, rounds=rounds)
    except PermissionError as err:
        missing = [e.filename for e in entries if not (cache_dir / e.filename).exists()]
        if not missing:                    # a complete shared cache: nothing to do
            print(f"The model cache {cache_dir.absolute()} is read-only and holds all "
                  f"{len(entries)} files: nothing to train.")
            return 0
        print(f"error: {err} Missing: {', '.join(missing)}.", file=sys.stderr)
        return 1
    total = time.perf_counter() - t0
    print(table([(e, "cached" if s is None else s) for e, s in rows]))
    for name, took in rounds.items():
        print(f"round: {name}: {took:.1f} s")
    n = sum(s is not None for _, s in rows)
    print(f"{len(rows)} files (models and probe scores), {n} computed, {len(rows) - n} already "
          f"cached; total wall time "
          f"{total:.1f} s; cache folder {cache_dir.absolute()}; CAE_SEED={seed} (replicates "
          f"{list(replicates())} of each configuration that a claim compares)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
