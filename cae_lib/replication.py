"""The models and fine-tunings of chapter 5b: the paper's Table 1 and the Manifold Tangent
Classifier, at the book's size, every one trained three times.

Table 1 of Rifai, Vincent, Muller, Glorot & Bengio (2011) ranks unsupervised criteria by the
test error of an MLP initialised with the learned encoder and fine-tuned on the labels. Here:

  * pretraining: the paper's tied one-layer 784-1000 sigmoid autoencoder with cross-entropy
    (`catalog.paper_config`: 20,000 digits, 5 epochs), the same models as chapter 6's sweep
    for AE, DAE and CAE, plus AE+wd (weight decay on the encoder's weights) and CAE+H (Rifai
    et al. 2011b, not in the CAE paper's table: the CAE's lam 1e-3 plus gamma * the Hessian
    term of `higher_order`, one corruption of std GAMMA_NOISE_STD per digit and step);
  * fine-tuning: the first N_LABELS = 1,000 of those digits with their labels, 30 epochs of Adam
    (`finetune.FineTuneConfig`), against the same MLP from its untrained initial weights;
  * choice: the DAE's noise_std and the CAE's lam on the VALIDATION split (the last 10,000
    training digits), by the fine-tuned accuracy averaged over the three runs, among chapter
    6's grid; AE+wd's weight decay and CAE+H's gamma were chosen by validation
    probe accuracy, replicate 0 of CAE_SEED=0 (`benchmarks/replication_pilot.py --select`), in
    a pilot among WD_PILOT and GAMMA_PILOT at 10 epochs, before the book halved them, and
    are fixed here to keep the build short.

The MTC of Rifai, Dauphin, Vincent, Bengio & Muller (2011c) fine-tunes the CAE-initialised MLP
with tangent propagation along the CAE's top N_TANGENTS singular directions. Here the CAE is the
book's deep 784-256-128-64 model (lam 0.1, chapters 3-5), so no new model is trained, and the
weight of the penalty, TANGENT_WEIGHT, was chosen in a pilot among (0.01, 0.1) by validation
accuracy.
"""
from __future__ import annotations

from dataclasses import replace

from .cache import TrainConfig
from .finetune import FineTuneConfig
from .seeds import replicates

N_LABELS = 1_000
WD_PILOT, WD = (1e-5, 1e-4, 1e-3), 1e-5
GAMMA_PILOT, GAMMA, GAMMA_NOISE_STD = (1e-3, 1e-2), 1e-3, 0.1
DAE_GRID = (0.7, 1.5)                          # chapter 6's noise_std > 0
CAE_GRID = (5e-5, 1e-3, 1e-2)                  # chapter 6's lam > 0
N_TANGENTS, TANGENT_WEIGHT = 10, 0.1
PAPER_TABLE1 = {"AE": 1.78, "AE+wd": 1.68, "DAE": 1.18, "CAE": 1.14}   # MNIST test error, %


def _paper(**kw) -> TrainConfig:
    from .catalog import paper_config            # imported here: catalog imports this module
    return replace(paper_config(0.0), **kw)


def table1_candidates(replicate: int = 0) -> dict[tuple[str, float], TrainConfig]:
    """(family, value) -> the pretrained model of that replicate: the AE (value 0), AE+wd,
    every DAE and CAE of the grids, and CAE+H (value: its gamma)."""
    out = {("AE", 0.0): _paper(seed=replicate),
           ("AE+wd", WD): _paper(weight_decay=WD, seed=replicate)}
    out.update({("DAE", s): _paper(noise_std=s, seed=replicate) for s in DAE_GRID})
    out.update({("CAE", lam): _paper(lam=lam, seed=replicate) for lam in CAE_GRID})
    out[("CAE+H", GAMMA)] = pilot_cae_h(replicate)
    return out


def pilot_cae_h(replicate: int = 0) -> TrainConfig:
    """Table 1's CAE+H of that replicate (the pilot's choice): the CAE's lam 1e-3 plus gamma."""
    return _paper(lam=1e-3, gamma=GAMMA, gamma_noise_std=GAMMA_NOISE_STD, seed=replicate)


def table1_finetunes(replicate: int = 0) -> dict[tuple[str, float], FineTuneConfig]:
    """(family, value) -> the fine-tuning of that replicate, with ("MLP", 0.0) the untrained
    network; the fine-tuning's own seed is the replicate's."""
    out = {("MLP", 0.0): FineTuneConfig(_paper(seed=replicate), pretrained=False,
                                        n_labels=N_LABELS, seed=replicate)}
    out.update({key: FineTuneConfig(cfg, n_labels=N_LABELS, seed=replicate)
                for key, cfg in table1_candidates(replicate).items()})
    return out


def mtc_finetunes(replicate: int = 0) -> dict[str, FineTuneConfig]:
    """The MTC comparison of that replicate: untrained, AE- and CAE-initialised MLPs, and the
    CAE-initialised MLP with tangent propagation on the CAE's own tangents."""
    cae, ae = TrainConfig(lam=0.1, seed=replicate), TrainConfig(seed=replicate)
    return {"MLP": FineTuneConfig(cae, pretrained=False, n_labels=N_LABELS, seed=replicate),
            "AE": FineTuneConfig(ae, n_labels=N_LABELS, seed=replicate),
            "CAE": FineTuneConfig(cae, n_labels=N_LABELS, seed=replicate),
            "MTC": FineTuneConfig(cae, n_labels=N_LABELS, seed=replicate,
                                  tangent_weight=TANGENT_WEIGHT, n_tangents=N_TANGENTS)}


def choose(val: dict, family: str) -> float:
    """The value of `family` with the highest mean validation accuracy over the runs;
    val: {(family, value): [validation accuracy of each run]}. Ties: the first listed."""
    keys = [k for k in val if k[0] == family]
    if not keys:
        raise ValueError(f"no candidates of family {family!r}; have {sorted(set(val))}.")
    return max(keys, key=lambda k: sum(val[k]) / len(val[k]))[1]


def all_finetunes() -> list[tuple[str, FineTuneConfig]]:
    """(readable name, config) of every fine-tuning of chapter 5b, every replicate (for
    `make cache`)."""
    out = []
    for r in replicates():
        tail = f", seed {r}" if r else ""
        out += [(f"5b fine-tuned: Table 1 {fam} {value:g}{tail}", ft)
                for (fam, value), ft in table1_finetunes(r).items()]
        out += [(f"5b fine-tuned: MTC comparison, {name}{tail}", ft)
                for name, ft in mtc_finetunes(r).items()]
    return out
