"""A disk cache of trained models, so chapters share them instead of retraining.

A model is keyed by a hash of its full TrainConfig (book seed CAE_SEED and replicate
included, see seeds.py) plus CACHE_VERSION (bump it whenever
a change to the library would change what training produces). Files are written to a
temporary name and renamed into place (atomic on POSIX and Windows), and read with
torch.load(weights_only=True). A file that is corrupt, foreign, stale or non-finite is
reported with a warning and retrained, never trusted.

Cache folder: env CAE_CACHE_DIR, else .cache/models in the repository checkout,
else ~/.cache/cae_book/models. `make cache` (cae_lib.catalog) fills it with every model the book
uses.

Read-only mode, for a cache shared by a class (a teacher runs `make cache` and copies the folder
to a shared drive; students set CAE_CACHE_DIR to it): env CAE_CACHE_READONLY=1, or automatically
when the folder (or, if it is missing, its nearest existing parent) is not writable. Cached
models load as usual and nothing is ever written: no model file, no temporary file, no folder.
A model that is missing or unusable is trained in memory, with one warning that names it and the
fix, and kept in memory for the rest of the session (the process), so it trains once.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .data import _repo_root, load_mnist
from .device import default_device
from .model import ContractiveAutoencoder
from .seeds import book_seed, training_seed
from .training import History, train

CACHE_VERSION = 3
_LATER_FIELDS = {"gamma": 0.0, "gamma_noise_std": 0.1, "weight_decay": 0.0}
# The training budgets, set by a cold build's time on two CPU cores (a reader's `make book`):
# the one-layer 784-1000 models of Rifai et al. (2011) (`catalog.paper_config`, chapter 6's
# sweep, chapter 5b's Table 1) train PAPER_EPOCHS epochs, the deep 784-256-128-64 models (the
# TrainConfig default: chapters 1-7's AE, DAE and CAE) DEEP_EPOCHS, all on the same 20,000
# digits. Per epoch a one-layer model costs about as much as two to three deep plain AEs (the
# book trains 27), a deep CAE about seven (its exact penalty; the book trains 3). At 10 epochs
# each the one-layer models were about half of a cold `make cache`'s CPU time, so they went to
# 5. The deep models stay at 10: at 6 (tried on 2026-12-07) the plain AE was so far from
# trained that at CAE_SEED=2 chapter 5's spectra and chapter 5b's MTC comparison no longer
# showed what they show at 10 (the AE-initialised MLP was worse than the untrained one in two
# of three runs).
PAPER_EPOCHS = 5
DEEP_EPOCHS = 10


@dataclass(frozen=True)
class TrainConfig:
    hidden_dims: tuple[int, ...] = (256, 128)  # () is the one-layer CAE of Rifai et al. 2011
    latent_dim: int = 64
    lam: float = 0.0                # weight of the batch-mean ||J_f||_F^2; the reconstruction
                                    # loss is a mean over pixels and samples
    tied: bool = False              # True: decoder = transposed encoder weights (the paper's)
    loss: str = "mse"               # "mse" or "bce" (cross-entropy, as in Rifai et al. 2011)
    noise_std: float = 0.0          # > 0: denoising AE, Gaussian corruption of the input
    penalty: str = "analytic"       # how the penalty is computed; part of the key since
                                    # "hutchinson" trains a (slightly) different model
    epochs: int = DEEP_EPOCHS
    batch_size: int = 128
    lr: float = 3e-3                # deep sigmoid encoders learn slowly: at 1e-3 the plain AE is
                                    # still far from converged after 10 epochs
    n_train: int | None = 20_000    # a subset keeps a cold CPU build of the book in minutes;
                                    # None = all 60,000
    dataset: str = "mnist"          # or "fashion"
    seed: int = 0                   # the replicate (0, 1, 2, ...): with book_seed, seeds the
                                    # initial weights, batch order and noise
    book_seed: int = field(default_factory=book_seed)   # CAE_SEED when the config is made
    gamma: float = 0.0              # > 0: CAE+H, + gamma * cae_h_penalty (Rifai et al. 2011b)
    gamma_noise_std: float = 0.1    # its corruption std (read only when gamma > 0)
    weight_decay: float = 0.0       # > 0: + weight_decay * sum of the encoder's ||W_l||_F^2

    def __post_init__(self):
        from .training import check_loss
        check_loss(self.loss)
        if not isinstance(self.tied, bool):
            raise ValueError(f"tied must be True or False; got {self.tied!r}.")
        training_seed(self.book_seed, self.seed)        # both whole numbers >= 0

    @property
    def torch_seed(self) -> int:
        """The seed training is given: `seeds.training_seed(book_seed, seed)`."""
        return training_seed(self.book_seed, self.seed)

    def identity(self) -> dict:
        """The fields that identify the model: all of them, except that the fields added later
        are left out at their defaults (gamma_noise_std whenever gamma = 0), so that every
        model cached before they existed keeps its key, file and stored configuration."""
        fields_ = asdict(self)
        for name, default in _LATER_FIELDS.items():
            if fields_[name] == default:
                del fields_[name]
        if not self.gamma:
            fields_.pop("gamma_noise_std", None)
        return fields_

    def key(self) -> str:
        blob = json.dumps({"version": CACHE_VERSION, **self.identity()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def filename(self) -> str:
        kind = "-tied" if self.tied else ""
        extra = (f"-wd{self.weight_decay:g}" if self.weight_decay else "") + \
                (f"-h{self.gamma:g}" if self.gamma else "")      # AE+wd, CAE+H: readable
        return (f"{self.dataset}{kind}-lam{self.lam:g}-noise{self.noise_std:g}{extra}"
                f"-s{self.book_seed}.{self.seed}-{self.key()}.pt")


def default_cache_dir() -> Path:
    """CAE_CACHE_DIR, else the checkout's .cache/models, else ~/.cache/cae_book/models. A
    relative CAE_CACHE_DIR is read from the working folder of each process: a notebook's kernel
    runs in the notebook's folder, so give an absolute path (the Makefile makes it absolute)."""
    if os.environ.get("CAE_CACHE_DIR"):
        return Path(os.environ["CAE_CACHE_DIR"]).expanduser()
    repo = _repo_root()
    return repo / ".cache" / "models" if repo else Path.home() / ".cache" / "cae_book" / "models"


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def readonly_reason(cache_dir=None) -> str | None:
    """Why the cache folder must not be written to, or None when it may be."""
    flag = os.environ.get("CAE_CACHE_READONLY", "").strip().lower()
    if flag not in _TRUE + _FALSE:
        raise ValueError(f"CAE_CACHE_READONLY={os.environ['CAE_CACHE_READONLY']!r} is not "
                         f"understood; set it to 1 (a shared, read-only model cache) or 0, or "
                         f"unset it.")
    folder = Path(cache_dir or default_cache_dir()).absolute()
    if flag in _TRUE:
        return "CAE_CACHE_READONLY is set"
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def require_cached(path: Path, why: str) -> None:
    """With env CAE_CACHE_REQUIRED=1 (`make test`'s book and student runs), a model or score
    file that would be computed is an error instead: the run stops at once and names the file,
    rather than training for minutes, or hours, in the wrong folder."""
    flag = os.environ.get("CAE_CACHE_REQUIRED", "").strip().lower()
    if flag not in _TRUE + _FALSE:
        raise ValueError(f"CAE_CACHE_REQUIRED={os.environ['CAE_CACHE_REQUIRED']!r} is not "
                         f"understood; set it to 1 (every model must be cached) or 0, or unset "
                         f"it.")
    if flag in _TRUE:
        raise FileNotFoundError(
            f"{Path(path).name} is {why} in the model cache {Path(path).parent.absolute()}, and "
            f"CAE_CACHE_REQUIRED is set, so nothing may be trained here. Fix: run `make cache` "
            f"with the same CAE_SEED and CAE_CACHE_DIR (an absolute path: a relative one is "
            f"read from each notebook's own folder), or unset CAE_CACHE_REQUIRED.")


_IN_MEMORY: dict[str, dict] = {}   # path -> payload of a model a read-only cache could not hold


def remember(path: Path, payload: dict) -> None:
    """Keep a model trained in read-only mode for the rest of the session."""
    _IN_MEMORY[str(Path(path).absolute())] = payload


def recall(path: Path) -> dict | None:
    return _IN_MEMORY.get(str(Path(path).absolute()))


def warn_readonly_miss(path: Path, why: str, reason: str, stacklevel: int = 3) -> None:
    """The one warning of a read-only cache that lacks a usable model (see the docstring)."""
    warnings.warn(
        f"the model cache {path.parent} is read-only ({reason}) and {path.name} is {why}: "
        f"training it in memory for this session only, nothing is saved (minutes for an "
        f"MNIST model). To fix it, ask whoever set up the shared cache (the teacher) to run "
        f"`make cache` with CAE_CACHE_DIR pointing at it, or unset CAE_CACHE_READONLY, or "
        f"point CAE_CACHE_DIR at a writable folder of your own.",
        RuntimeWarning, stacklevel=stacklevel)


def build_model(config: TrainConfig) -> ContractiveAutoencoder:
    torch.manual_seed(config.torch_seed)
    return ContractiveAutoencoder(784, config.hidden_dims, config.latent_dim, tied=config.tied)


def _load(path: Path, config: TrainConfig, payload: dict | None = None):
    if payload is None:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    if (not isinstance(payload, dict) or payload.get("version") != CACHE_VERSION
            or payload.get("config") not in (json.dumps(config.identity()),   # either form
                                             json.dumps(asdict(config)))):     # of the same
        raise ValueError("it was written for another configuration or library version")
    model = build_model(config)
    model.load_state_dict(payload["state_dict"])  # strict: wrong shapes or keys raise
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise ValueError("it holds non-finite weights")
    return model, History(**payload["history"])


def _payload(config: TrainConfig, model, history: History) -> dict:
    return {"config": json.dumps(config.identity()), "version": CACHE_VERSION,
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "history": asdict(history)}


def _save(path: Path, config: TrainConfig, model, history: History) -> None:
    atomic_save(_payload(config, model, history), path)


def atomic_save(obj, path: Path) -> bool:
    """torch.save to a temporary name, then rename: a reader never sees a half-written file.
    Every write to the cache goes through here: in read-only mode (`readonly_reason`) it writes
    nothing, creates no folder, and returns False; otherwise True."""
    path = Path(path)
    if readonly_reason(path.parent):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def cached_path(config: TrainConfig, cache_dir=None) -> Path:
    return Path(cache_dir or default_cache_dir()) / config.filename()


def trained(config: TrainConfig = TrainConfig(), *, device=None, progress: bool = True,
            cache_dir=None) -> tuple[ContractiveAutoencoder, History]:
    """The model `config` describes, trained on MNIST (from the cache when it is there).
    Returns (model in eval mode on `device`, History)."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a cae_lib.TrainConfig; got {type(config).__name__}.")
    device = torch.device(device) if device is not None else default_device()
    path = cached_path(config, cache_dir)
    readonly = readonly_reason(path.parent)
    if readonly and recall(path) is not None:                # trained earlier this session
        model, history = _load(path, config, recall(path))
        return model.to(device).eval(), history
    why = "missing"
    if path.exists():
        try:
            model, history = _load(path, config)
            return model.to(device).eval(), history
        except Exception as err:  # corrupt, truncated, foreign or stale: retrain
            why = f"unusable ({err})"
            if not readonly:
                warnings.warn(f"ignoring model cache file {path}: {err}. Retraining and "
                              f"overwriting it.", RuntimeWarning, stacklevel=2)
    require_cached(path, why)
    if readonly:
        warn_readonly_miss(path, why, readonly)
    data = load_mnist(n_train=config.n_train, n_test=1, dataset=config.dataset)
    model = build_model(config)
    history = train(model, data.x_train, lam=config.lam, noise_std=config.noise_std,
                    penalty=config.penalty, epochs=config.epochs, batch_size=config.batch_size,
                    lr=config.lr, seed=config.torch_seed, device=device, progress=progress,
                    loss=config.loss, gamma=config.gamma, gamma_noise_std=config.gamma_noise_std,
                    weight_decay=config.weight_decay)
    if readonly:
        remember(path, _payload(config, model, history))
    else:
        _save(path, config, model, history)
    return model.eval(), history
