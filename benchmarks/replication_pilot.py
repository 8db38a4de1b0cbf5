"""Pilot of the paper's Table 1 and of the Manifold Tangent Classifier at the book's size.

Not part of the book build: a script run by hand that prints what a chapter will compute, so
that its cost and its outcome are known before it enters `make cache`. Every number it prints
is measured in this run; the models it trains go to the model cache (CAE_CACHE_DIR), so a later
`make cache` reuses them.

Table 1 (Rifai et al. 2011, MNIST): AE, AE+wd, DAE, CAE and CAE+H pretrained in the paper's
tied one-layer form (784-1000 sigmoid, cross-entropy; 20,000 digits, 10 epochs: chapter 6's
sweep models), then an MLP initialised with each encoder and fine-tuned on the first 1,000
labelled digits (`finetune.py`), against the same MLP from its untrained initial weights.
The hyper-parameters are chapter 6's validation choices for the DAE (noise_std 0.7) and the
CAE (lam 1e-3), and for AE+wd and CAE+H the arguments below. They were chosen on the
validation split, never the test set: `--select --seeds 0` prints each candidate's validation
probe accuracy (replicate 0 of CAE_SEED=0 gave wd 1e-5 and gamma 1e-3, the values that
`cae_lib.replication` fixes). `--table1` and `--mtc` print validation accuracies, and the test
errors (+- seed-level s.e.) only with `--test`, once the choices are made.

MTC (Rifai et al. 2011c): the deep 784-256-128-64 CAE of chapters 3-5 gives the tangents (top
k right singular vectors of J_f) and the initial weights; fine-tuned on 1,000 labels with and
without tangent propagation, against the AE-initialised and the untrained MLP.

    python benchmarks/replication_pilot.py --select --seeds 0
    python benchmarks/replication_pilot.py --table1 --mtc --seeds 0 1 2 [--test]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from cae_lib.cache import TrainConfig
from cae_lib.catalog import paper_config
from cae_lib.evaluation import probe_data, scored
from cae_lib.finetune import FineTuneConfig, fine_tuned
from cae_lib.seeds import mean_se

PAPER = {"AE": 1.78, "AE+wd": 1.68, "DAE": 1.18, "CAE": 1.14}   # their Table 1, test error %


def families(wd: float, gamma: float, gamma_noise_std: float) -> dict:
    base = paper_config(0.0)
    return {"MLP, untrained": None, "AE": base, "AE+wd": replace(base, weight_decay=wd),
            "DAE": replace(base, noise_std=0.7), "CAE": paper_config(1e-3),
            "CAE+H": replace(paper_config(1e-3), gamma=gamma,
                             gamma_noise_std=gamma_noise_std)}   # = replication.pilot_cae_h


def row(name, errs, paper=None, secs=0.0):
    m, se = mean_se(errs)
    cells = " ".join(f"{e:6.2f}" for e in errs)
    ref = f"{paper:6.2f}" if paper is not None else "     -"
    print(f"{name:<22} {m:6.2f} +- {se:4.2f}   runs: {cells}   paper: {ref}   ({secs:.0f} s)",
          flush=True)


def table1(seeds, wd, gamma, s_h, n_labels, test):
    what = "test error %" if test else "validation error %"
    print(f"Table 1 at the book's size: fine-tuned on {n_labels} labels, {what}, mean +- "
          f"seed-level s.e.")
    for name, cfg in families(wd, gamma, s_h).items():
        errs, t0 = [], time.perf_counter()
        for r in seeds:
            enc = replace(cfg if cfg is not None else paper_config(0.0), seed=r)
            ft = FineTuneConfig(enc, pretrained=cfg is not None, n_labels=n_labels, seed=r)
            res = fine_tuned(ft)
            errs.append(100 * (res.test_error if test else 1 - res.val_acc))
        row(name, errs, PAPER.get(name) if test else None, time.perf_counter() - t0)


def mtc(seeds, betas, k, n_labels, test):
    print(f"MTC, deep 784-256-128-64 CAE (lam 0.1), {n_labels} labels, k = {k} tangents: "
          f"{'test' if test else 'validation'} error %, mean +- s.e.")
    cae, ae = replace(TrainConfig(), lam=0.1), TrainConfig()
    runs = {"MLP, untrained": lambda r: FineTuneConfig(replace(cae, seed=r), pretrained=False,
                                                       n_labels=n_labels, seed=r),
            "AE-initialised": lambda r: FineTuneConfig(replace(ae, seed=r), n_labels=n_labels,
                                                       seed=r),
            "CAE-initialised": lambda r: FineTuneConfig(replace(cae, seed=r), n_labels=n_labels,
                                                        seed=r)}
    for b in betas:
        runs[f"MTC, weight {b:g}"] = (lambda b: lambda r: FineTuneConfig(
            replace(cae, seed=r), n_labels=n_labels, seed=r, tangent_weight=b,
            n_tangents=k))(b)
    for name, make in runs.items():
        t0 = time.perf_counter()
        res = [fine_tuned(make(r)) for r in seeds]
        row(name, [100 * (x.test_error if test else 1 - x.val_acc) for x in res], None,
            time.perf_counter() - t0)


def select(seeds, wds, hs):
    data = probe_data()
    for name, cfg in [*[(f"AE+wd {w:g}", replace(paper_config(0.0), weight_decay=w))
                        for w in wds],
                      *[(f"CAE+H gamma {g:g}, noise {s:g}",
                         replace(paper_config(1e-3), gamma=g, gamma_noise_std=s))
                        for g, s in hs]]:
        vals = [scored(replace(cfg, seed=r), data, progress=False).probe_val for r in seeds]
        print(f"{name:<28} validation probe accuracy {sum(vals) / len(vals):.4f} "
              f"({' '.join(f'{v:.4f}' for v in vals)})", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--table1", action="store_true")
    p.add_argument("--mtc", action="store_true")
    p.add_argument("--select", action="store_true")
    p.add_argument("--wd", type=float, default=1e-5)
    p.add_argument("--gamma", type=float, default=1e-3)
    p.add_argument("--gamma-noise-std", type=float, default=0.1)
    p.add_argument("--betas", type=float, nargs="+", default=[0.01, 0.1])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--n-labels", type=int, default=1000)
    p.add_argument("--test", action="store_true", help="print test errors (after choosing)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    if a.select:
        select(a.seeds, [1e-5, 1e-4, 1e-3], [(1e-3, 0.1), (1e-2, 0.1)])
    if a.table1:
        table1(a.seeds, a.wd, a.gamma, a.gamma_noise_std, a.n_labels, a.test)
    if a.mtc:
        mtc(a.seeds, a.betas, a.k, a.n_labels, a.test)


if __name__ == "__main__":
    main()
