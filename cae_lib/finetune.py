"""Fine-tuning a classifier from a pretrained encoder, with or without tangent propagation.

Scope: the supervised half of two protocols of the CAE papers.
  * Rifai, Vincent, Muller, Glorot & Bengio (2011), Table 1: initialise an MLP with a learned
    encoder (its weights and biases), put a softmax layer on the code, and fine-tune the whole
    network on labelled digits; the test error ranks the unsupervised criteria.
  * Rifai, Dauphin, Vincent, Bengio & Muller (2011c), the Manifold Tangent Classifier (MTC):
    the same fine-tuning plus the tangent propagation penalty of Simard et al. (1992) along the
    top singular directions of the CAE's Jacobian (`tangents.tangents`):
        loss = cross_entropy + tangent_weight * tangent_prop_penalty(classifier, x, T)
    with the penalty a MEAN over the batch of the SUM over the k tangents (eq. tprop).

The classifier is the encoder's Linear+Sigmoid stack (784 -> ... -> code) followed by one
Linear layer to the 10 classes (logits). `pretrained=False` gives the same network with the
initial weights of an untrained autoencoder of the same architecture (the plain-MLP baseline).

Data: the first `n_labels` of the 20,000 training digits the autoencoders learned from (a
small-label regime: the unsupervised phase saw all 20,000 images, the classifier sees only
n_labels labels); hyper-parameters are chosen on the validation split (the last 10,000
training digits) and the result is reported on the full 10,000-digit test set.

`FineTuneConfig` is frozen and keys a cache file next to the models (`fine_tuned`), so
`make cache` computes every fine-tuning of the book ahead of time (catalog.py), once.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .cache import TrainConfig, atomic_save, default_cache_dir, require_cached, trained
from .data import load_mnist, load_validation
from .device import default_device
from .model import ContractiveAutoencoder, check_number
from .seeds import book_seed, training_seed
from .tangents import tangent_prop_penalty, tangents

FINETUNE_VERSION = 1
N_CLASSES = 10


@dataclass(frozen=True)
class FineTuneConfig:
    encoder: TrainConfig            # the autoencoder whose encoder initialises the classifier
    pretrained: bool = True         # False: the same network, untrained (the plain MLP)
    n_labels: int = 1_000           # the first n_labels training digits, with their labels
    epochs: int = 30
    batch_size: int = 100
    lr: float = 1e-3                # Adam
    tangent_weight: float = 0.0     # > 0: + tangent_weight * tangent_prop_penalty (the MTC)
    n_tangents: int = 0             # k, the top singular directions of J_f used as tangents
    tangents_from: TrainConfig | None = None   # whose J_f gives them (default: `encoder`)
    seed: int = 0                   # the replicate of the fine-tuning (init of the top layer,
                                    # batch order); with book_seed, see seeds.py
    book_seed: int = field(default_factory=book_seed)

    def __post_init__(self):
        if not isinstance(self.encoder, TrainConfig):
            raise TypeError(f"encoder must be a cae_lib.TrainConfig; got "
                            f"{type(self.encoder).__name__}.")
        if not isinstance(self.pretrained, bool):
            raise ValueError(f"pretrained must be True or False; got {self.pretrained!r}.")
        for name in ("n_labels", "epochs", "batch_size"):
            check_number(name, getattr(self, name), integer=True, positive=True)
        check_number("lr", self.lr, positive=True)
        check_number("tangent_weight", self.tangent_weight)
        check_number("n_tangents", self.n_tangents, integer=True)
        if (self.tangent_weight > 0) != (self.n_tangents > 0):
            raise ValueError(f"tangent propagation needs both tangent_weight > 0 and "
                             f"n_tangents > 0 (got {self.tangent_weight} and "
                             f"{self.n_tangents}); set both, or neither.")
        training_seed(self.book_seed, self.seed)

    @property
    def source(self) -> TrainConfig:
        """The autoencoder whose Jacobian gives the tangents."""
        return self.tangents_from or self.encoder

    def identity(self) -> dict:
        d = asdict(self)
        d["encoder"] = self.encoder.identity()
        d["tangents_from"] = self.tangents_from.identity() if self.tangents_from else None
        return d

    def key(self) -> str:
        blob = json.dumps({"version": FINETUNE_VERSION, **self.identity()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def filename(self) -> str:
        kind = "pre" if self.pretrained else "rand"
        tp = f"-tp{self.tangent_weight:g}k{self.n_tangents}" if self.n_tangents else ""
        return (f"ft-{kind}-n{self.n_labels}{tp}-s{self.book_seed}.{self.seed}-"
                f"{self.key()}.pt")


@dataclass(frozen=True)
class FineTuned:
    val_acc: float                  # accuracy on the validation split (for choosing)
    test_acc: float                 # ... on the full test set (for reporting)
    correct: torch.Tensor           # (10000,) bool: which test digits it classifies right

    @property
    def test_error(self) -> float:
        return 1.0 - self.test_acc


def classifier(model: ContractiveAutoencoder) -> nn.Sequential:
    """A copy of the model's encoder with a Linear layer to the 10 classes on top."""
    return nn.Sequential(copy.deepcopy(model.encoder), nn.Linear(model.latent_dim, N_CLASSES))


@torch.no_grad()
def accuracy(clf: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 5_000
             ) -> tuple[float, torch.Tensor]:
    """(accuracy, (N,) bool correctness) of the classifier's argmax on x (N, d)."""
    dev = next(clf.parameters()).device
    pred = torch.cat([clf(x[i:i + chunk].to(dev)).argmax(1).cpu()
                      for i in range(0, len(x), chunk)])
    ok = pred == y.cpu()
    return float(ok.float().mean()), ok


def run(config: FineTuneConfig, device=None, cache_dir=None) -> FineTuned:
    """Fine-tune as `config` says (no cache): the pretrained models come from `trained`."""
    device = torch.device(device) if device is not None else default_device()
    enc_cfg = config.encoder
    if config.pretrained:
        model, _ = trained(enc_cfg, device=device, progress=False, cache_dir=cache_dir)
    else:                           # the untrained autoencoder's initial weights
        torch.manual_seed(enc_cfg.torch_seed)
        model = ContractiveAutoencoder(784, enc_cfg.hidden_dims, enc_cfg.latent_dim,
                                       tied=enc_cfg.tied)
    seed = training_seed(config.book_seed, config.seed)
    torch.manual_seed(seed)
    clf = classifier(model).to(device).train()
    digits = load_mnist(n_train=config.n_labels, dataset=enc_cfg.dataset)
    x, y = digits.x_train.to(device), digits.y_train.to(device)        # (n, 784), (n,)
    T = None
    if config.n_tangents:
        source, _ = trained(config.source, device=device, progress=False, cache_dir=cache_dir)
        T = torch.cat([tangents(source, x[i:i + 250], config.n_tangents)
                       for i in range(0, len(x), 250)])                # (n, k, 784)
    opt = torch.optim.Adam(clf.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(config.epochs):
        total = torch.zeros((), device=device)        # read once per epoch: no per-step sync
        for idx in torch.randperm(len(x), generator=gen).split(config.batch_size):
            idx = idx.to(device)
            loss = F.cross_entropy(clf(x[idx]), y[idx])
            if T is not None:
                loss = loss + config.tangent_weight * tangent_prop_penalty(clf, x[idx], T[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total = total + loss.detach()
        if not math.isfinite(float(total)):
            raise FloatingPointError(f"non-finite fine-tuning loss in epoch {epoch + 1} of "
                                     f"{config.filename()}; try a smaller lr or tangent_weight.")
    clf.eval()
    x_val, y_val = load_validation(dataset=enc_cfg.dataset)
    test = load_mnist(n_train=1, dataset=enc_cfg.dataset)
    val_acc, _ = accuracy(clf, x_val, y_val)
    test_acc, correct = accuracy(clf, test.x_test, test.y_test)
    return FineTuned(val_acc, test_acc, correct)


def fine_tuned(config: FineTuneConfig, *, device=None, cache_dir=None) -> FineTuned:
    """`run(config)`, kept in the model cache (read with weights_only=True; anything unreadable
    is recomputed), so a chapter fine-tunes nothing that `make cache` did already."""
    if not isinstance(config, FineTuneConfig):
        raise TypeError(f"config must be a cae_lib.finetune.FineTuneConfig; got "
                        f"{type(config).__name__}.")
    path = Path(cache_dir or default_cache_dir()) / config.filename()
    why = "missing"
    if path.exists():
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
            if d.get("key") != config.key():
                raise ValueError("it was written for another configuration")
            return FineTuned(d["val_acc"], d["test_acc"], d["correct"])
        except Exception as err:
            why = f"unusable ({err})"
            warnings.warn(f"ignoring fine-tuning file {path}: {err}; recomputing.",
                          RuntimeWarning, stacklevel=2)
    require_cached(path, why)
    result = run(config, device=device, cache_dir=cache_dir)
    atomic_save({"key": config.key(), **asdict(result)}, path)
    return result
