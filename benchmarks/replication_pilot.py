"""Pilot of the paper's Table 1 and of the Manifold Tangent Classifier at the book's size.

Not part of the book build: a script run by hand that prints what a chapter will compute, so
that its cost and its outcome are known before it enters `make cache`. Every number it prints
is measured in this run; the models it trains go to the model cache (CAE_CACHE_DIR), so a later
`make cache` reuses them.

Table 1 (Rifai et al. 2011, MNIST): AE, AE+wd, DAE, CAE and CAE+H pretrained in the paper's
tied one-layer form (784-1000 sigmoid, cross-entropy; 20,000 digits, 5 epochs: chapter 6's
sweep models), then an MLP initialised with each encoder and fine-tuned on the first 1,000
labelled digits (`finetune.py`), against the same MLP from its untrained initial weights.
The hyper-parameters are chapter 6's validation choices for the DAE (noise_std 0.7) and the
CAE (lam 1e-3), and for AE+wd and CAE+H the arguments below. They were chosen on the
validation split, never the test set: `--select --seeds 0` prints each candidate's validation
probe accuracy (at 10 epochs, before the book halved them, replicate 0 of CAE_SEED=0 gave
wd 1e-5 and gamma 1e-3, the values that
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

from cae_lib.evaluation import probe_data, scored
from cae_lib.finetune import fine_tuned
from cae_lib.replication import (GAMMA, GAMMA_NOISE_STD, GAMMA_PILOT, N_LABELS, N_TANGENTS,
                                 PAPER_TABLE1, TANGENT_WEIGHT, WD, WD_PILOT, mtc_finetunes,
                                 pilot_cae_h, table1_candidates, table1_finetunes)
from cae_lib.seeds import mean_se

CHOSEN = {"AE": 0.0, "DAE": 0.7, "CAE": 1e-3}   # chapter 6's validation choices (5b: the same)


def row(name, errs, paper=None, secs=0.0):
    m, se = mean_se(errs)
    cells = " ".join(f"{e:6.2f}" for e in errs)
    ref = f"{paper:6.2f}" if paper is not None else "     -"
    print(f"{name:<22} {m:6.2f} +- {se:4.2f}   runs: {cells}   paper: {ref}   ({secs:.0f} s)",
          flush=True)


def table1_runs(r, wd, gamma, gamma_noise_std, n_labels) -> dict:
    """name -> the fine-tuning of replicate r: chapter 5b's configurations
    (`replication.table1_finetunes`), with AE+wd's and CAE+H's weights as given."""
    fts = {k: replace(ft, n_labels=n_labels) for k, ft in table1_finetunes(r).items()}
    out = {"MLP, untrained": fts["MLP", 0.0]}
    out.update({fam: fts[fam, value] for fam, value in CHOSEN.items()})
    out["AE+wd"] = replace(fts["AE+wd", WD], encoder=replace(
        table1_candidates(r)["AE+wd", WD], weight_decay=wd))
    out["CAE+H"] = replace(out["CAE"], encoder=replace(
        pilot_cae_h(r), gamma=gamma, gamma_noise_std=gamma_noise_std))
    return {k: out[k] for k in ("MLP, untrained", "AE", "AE+wd", "DAE", "CAE", "CAE+H")}


def table1(seeds, wd, gamma, s_h, n_labels, test):
    what = "test error %" if test else "validation error %"
    print(f"Table 1 at the book's size: fine-tuned on {n_labels} labels, {what}, mean +- "
          f"seed-level s.e.")
    runs = {r: table1_runs(r, wd, gamma, s_h, n_labels) for r in seeds}
    for name in runs[seeds[0]]:
        errs, t0 = [], time.perf_counter()
        for r in seeds:
            res = fine_tuned(runs[r][name])
            errs.append(100 * (res.test_error if test else 1 - res.val_acc))
        row(name, errs, PAPER_TABLE1.get(name) if test else None, time.perf_counter() - t0)


def mtc(seeds, betas, k, n_labels, test):
    print(f"MTC, deep 784-256-128-64 CAE (lam 0.1), {n_labels} labels, k = {k} tangents: "
          f"{'test' if test else 'validation'} error %, mean +- s.e.")
    names = {"MLP": "MLP, untrained", "AE": "AE-initialised", "CAE": "CAE-initialised"}
    for name in [*names, *[f"MTC, weight {b:g}" for b in betas]]:
        t0, res = time.perf_counter(), []
        for r in seeds:                          # chapter 5b's configurations
            fts = mtc_finetunes(r)
            ft = fts[name] if name in names else replace(
                fts["MTC"], tangent_weight=float(name.rsplit(" ", 1)[1]), n_tangents=k)
            res.append(fine_tuned(replace(ft, n_labels=n_labels)))
        row(names.get(name, name), [100 * (x.test_error if test else 1 - x.val_acc)
                                    for x in res], None, time.perf_counter() - t0)


def select(seeds, wds, hs):
    data = probe_data()
    ae, cae_h = table1_candidates(0)["AE", 0.0], pilot_cae_h(0)
    for name, cfg in [*[(f"AE+wd {w:g}", replace(ae, weight_decay=w)) for w in wds],
                      *[(f"CAE+H gamma {g:g}, noise {s:g}",
                         replace(cae_h, gamma=g, gamma_noise_std=s)) for g, s in hs]]:
        vals = [scored(replace(cfg, seed=r), data, progress=False).probe_val for r in seeds]
        print(f"{name:<28} validation probe accuracy {sum(vals) / len(vals):.4f} "
              f"({' '.join(f'{v:.4f}' for v in vals)})", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--table1", action="store_true")
    p.add_argument("--mtc", action="store_true")
    p.add_argument("--select", action="store_true")
    p.add_argument("--wd", type=float, default=WD)
    p.add_argument("--gamma", type=float, default=GAMMA)
    p.add_argument("--gamma-noise-std", type=float, default=GAMMA_NOISE_STD)
    p.add_argument("--betas", type=float, nargs="+", default=[0.01, TANGENT_WEIGHT])
    p.add_argument("--k", type=int, default=N_TANGENTS)
    p.add_argument("--n-labels", type=int, default=N_LABELS)
    p.add_argument("--test", action="store_true", help="print test errors (after choosing)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    if a.select:
        select(a.seeds, WD_PILOT, [(g, GAMMA_NOISE_STD) for g in GAMMA_PILOT])
    if a.table1:
        table1(a.seeds, a.wd, a.gamma, a.gamma_noise_std, a.n_labels, a.test)
    if a.mtc:
        mtc(a.seeds, a.betas, a.k, a.n_labels, a.test)


if __name__ == "__main__":
    main()
