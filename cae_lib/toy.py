"""Two-dimensional toy data with an exact density, and small autoencoders trained on it.

`Circle(radius, noise_std)`: points r(cos t, sin t) with t uniform on [0, 2 pi) and the radius
r ~ N(radius, noise_std^2) truncated to r > 0. Everything it offers is exact and analytic:

    p(x) = phi((r - R) / s) / (s * Phi(R / s)) / (2 pi r),     r = ||x||, R = radius, s = noise_std
    score(x) = grad log p(x) = -((r - R) / s^2 + 1 / r) * x / r

(the 1 / (2 pi r) is the polar-coordinates Jacobian). The score is what Alain & Bengio (2014,
"What regularized auto-encoders learn from the data-generating distribution", JMLR) show a
denoising autoencoder's r(x) - x estimates, times sigma^2, for small corruption sigma.

`ToyConfig` is a frozen dataclass that keys a disk cache of 2-D autoencoders, as
`cache.TrainConfig` does for MNIST. The model is the book's architecture scaled down: a
2-32-16 sigmoid encoder (an over-complete code: 16 units for 2 inputs), a ReLU decoder of its
own with a linear output (the data have both signs), trained with `training.train` (fused
Adam) on a fixed sample of the circle: `epochs` at `lr`, then `decay_epochs` at lr / 10 (the
small step lets a DAE fit its small displacement r(x) - x). gamma > 0 adds the CAE+H term of Rifai et al.
(2011b), `higher_order.cae_h_penalty` with one corruption of std gamma_noise_std per sample
(both key the cache only when gamma > 0). Training runs on one CPU thread, so a toy model
is the same whatever the machine's thread count, and takes seconds. A read-only cache
(`cache.readonly_reason`) is handled as for MNIST models: loaded, never written, a miss trained
in memory with one warning. The measures of a trained toy on the circle (normal/tangent ratio,
reconstruction Jacobian, ...) live in `toy_measures.py` and are re-exported here.
"""
from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .cache import atomic_save, default_cache_dir, readonly_reason, recall, remember
from .cache import require_cached, warn_readonly_miss
from .model import ContractiveAutoencoder, check_batch, check_number
from .seeds import book_seed, training_seed
from .stacked import sigmoid_inside, train_layerwise
from .training import History, train

TOY_VERSION = 2   # 2: fused Adam (`training.train`)


def _as_points(x) -> torch.Tensor:
    check_batch(x, 2)
    return x


@dataclass(frozen=True)
class Circle:
    """Data on a circle of `radius` with Gaussian radial noise of std `noise_std` (see above)."""
    radius: float = 1.0
    noise_std: float = 0.05

    def __post_init__(self):
        check_number("radius", self.radius, positive=True)
        check_number("noise_std", self.noise_std, positive=True)

    def sample(self, n: int, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x (n, 2), tangent (n, 2)): points, and the unit tangent of the circle there."""
        check_number("n", n, integer=True, positive=True)
        t = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)   # (n,)
        r = torch.empty(0, dtype=torch.float64)
        while len(r) < n:                       # truncation to r > 0 by rejection
            draw = self.radius + self.noise_std * torch.randn(
                n, generator=generator, dtype=torch.float64)
            r = torch.cat([r, draw[draw > 0]])
        r = r[:n]
        u = torch.stack([torch.cos(t), torch.sin(t)], 1)            # (n, 2) unit radial
        tangent = torch.stack([-torch.sin(t), torch.cos(t)], 1)     # (n, 2) unit tangent
        return (r[:, None] * u).float(), tangent.float()

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x), (n,). -inf at the origin is avoided: p has an integrable 1/r peak there."""
        x = _as_points(x)
        r = x.norm(dim=1)                                           # (n,)
        R, s = self.radius, self.noise_std
        log_norm = (math.log(s * math.sqrt(2 * math.pi))
                    + math.log(0.5 * math.erfc(-R / (s * math.sqrt(2)))))   # log(s sqrt(2pi) Phi)
        return -0.5 * ((r - R) / s) ** 2 - log_norm - math.log(2 * math.pi) - torch.log(r)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x log p(x), (n, 2), in closed form (not by autograd)."""
        x = _as_points(x)
        r = x.norm(dim=1, keepdim=True)                             # (n, 1)
        R, s = self.radius, self.noise_std
        return -((r - R) / s ** 2 + 1 / r) * x / r

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        """Euclidean distance to the circle of radius `radius`, (n,)."""
        return (_as_points(x).norm(dim=1) - self.radius).abs()

    def smoothed(self, sigma: float) -> "Circle":
        """The circle blurred by N(0, sigma^2 I), APPROXIMATELY: the radial noise becomes
        sqrt(noise_std^2 + sigma^2). Exact for a straight line; on the circle it ignores the
        curvature (tested against `denoiser`, the exact version, at several sigma).
        By Tweedie's formula the Bayes-optimal denoiser is x + sigma^2 * grad log p_sigma(x),
        so `sigma**2 * circle.smoothed(sigma).score(x)` is what a perfect DAE learns."""
        check_number("sigma", sigma)
        return Circle(self.radius, math.hypot(self.noise_std, sigma))

    def denoiser(self, x: torch.Tensor, sigma: float, n_grid: int = 8000) -> torch.Tensor:
        """The Bayes-optimal denoiser E[x0 | x0 + sigma e = x], (n, 2), for x0 ~ this circle:
        what a perfect DAE computes. Exact up to a 1-D quadrature over the radius: the angle
        integrates in closed form (modified Bessel functions I0, I1), and by symmetry the
        mean lies on the ray through x. By Tweedie's formula it equals x + sigma^2 times
        the score of the blurred density p * N(0, sigma^2 I)."""
        x = _as_points(x)
        check_number("sigma", sigma, positive=True)
        check_number("n_grid", n_grid, integer=True, positive=True)
        r = x.double().norm(dim=1, keepdim=True)                           # (n, 1)
        R, s = self.radius, self.noise_std
        top = float(r.detach().max()) + R + 12 * s + 10 * sigma
        rho = torch.linspace(1e-6, top, n_grid, dtype=torch.float64)[None]  # (1, m)
        arg = r * rho / sigma ** 2                                         # (n, m)
        # log of p_rho(rho) * exp(-(rho - r)^2 / 2 sigma^2) * I0(r rho / sigma^2) * e^{-arg}
        logw = (-0.5 * ((rho - R) / s) ** 2 - 0.5 * ((rho - r) / sigma) ** 2
                + torch.log(torch.special.i0e(arg)))
        w = torch.softmax(logw, dim=1)                                     # (n, m)
        ratio = torch.special.i1e(arg) / torch.special.i0e(arg)            # I1 / I0
        radial = (w * rho * ratio).sum(1, keepdim=True)                    # (n, 1)
        return (radial * x.double() / r).to(x.dtype)

    def tangent(self, x: torch.Tensor) -> torch.Tensor:
        """Unit tangent of the circle through x's angle, (n, 2) (counter-clockwise)."""
        x = _as_points(x)
        return torch.stack([-x[:, 1], x[:, 0]], 1) / x.norm(dim=1, keepdim=True)


def angle(x: torch.Tensor) -> torch.Tensor:
    """Polar angle of each point in [0, 2 pi), (n,)."""
    return torch.atan2(x[..., 1], x[..., 0]) % (2 * math.pi)


def angular_coverage(x: torch.Tensor, n_bins: int = 36) -> float:
    """Fraction of `n_bins` equal angular sectors that hold at least one of the points x (n, 2)."""
    check_number("n_bins", n_bins, integer=True, positive=True)
    bins = (angle(x.reshape(-1, 2)) / (2 * math.pi) * n_bins).long().clamp(max=n_bins - 1)
    return len(torch.unique(bins)) / n_bins


def grid(lim: float = 1.6, n: int = 41) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A square grid over [-lim, lim]^2: (X (n, n), Y (n, n), points (n*n, 2)) for plots."""
    check_number("lim", lim, positive=True)
    check_number("n", n, integer=True, positive=True)
    ticks = torch.linspace(-lim, lim, n)
    X, Y = torch.meshgrid(ticks, ticks, indexing="xy")
    return X, Y, torch.stack([X.reshape(-1), Y.reshape(-1)], 1)


@dataclass(frozen=True)
class ToyConfig:
    radius: float = 1.0
    data_noise_std: float = 0.05    # the Circle's radial noise
    n_train: int = 2000             # a fixed training sample, drawn with `seed`
    hidden_dims: tuple[int, ...] = (32,)
    latent_dim: int = 16            # over-complete sigmoid code for a 2-d input
    tied: bool = False              # True: decoder = transposed encoder weights
    lam: float = 0.0                # times the batch mean of ||J_f||_F^2; the MSE is a mean
                                    # over the 2 coordinates and the samples
    noise_std: float = 0.0          # > 0: denoising AE (Gaussian corruption)
    epochs: int = 100
    decay_epochs: int = 50          # then this many more at lr / 10
    batch_size: int = 100
    lr: float = 1e-2
    seed: int = 0                   # the replicate; with book_seed, seeds sample, weights, order
    book_seed: int = field(default_factory=book_seed)   # CAE_SEED when the config is made
    gamma: float = 0.0              # > 0: CAE+H, + gamma * cae_h_penalty (Rifai et al. 2011b)
    gamma_noise_std: float = 0.1    # its corruption std (read only when gamma > 0)
    stacked: bool = False           # True: trained layer by layer, each layer's penalty on its
                                    # own Jacobian (`stacked.train_layerwise`), same budget each

    def __post_init__(self):
        Circle(self.radius, self.data_noise_std)                # validates both
        for name in ("lam", "noise_std", "gamma"):
            check_number(name, getattr(self, name))
        check_number("gamma_noise_std", self.gamma_noise_std, positive=True)
        for name in ("n_train", "latent_dim", "epochs", "batch_size"):
            check_number(name, getattr(self, name), integer=True, positive=True)
        check_number("decay_epochs", self.decay_epochs, integer=True)
        if not isinstance(self.hidden_dims, tuple):
            raise ValueError(f"hidden_dims must be a tuple of ints; got {self.hidden_dims!r}.")
        check_number("lr", self.lr, positive=True)
        if not isinstance(self.stacked, bool):
            raise ValueError(f"stacked must be True or False; got {self.stacked!r}.")
        if self.stacked and (self.tied or not self.hidden_dims or self.noise_std or self.gamma):
            raise ValueError("stacked=True trains an untied CAE with hidden layers layer by "
                             "layer; it needs tied=False, hidden_dims, and no noise_std or "
                             "gamma.")
        training_seed(self.book_seed, self.seed)        # both whole numbers >= 0

    @property
    def torch_seed(self) -> int:
        """The seed of the sample, the weights and training: `seeds.training_seed`."""
        return training_seed(self.book_seed, self.seed)

    def identity(self) -> dict:
        """The fields that identify the model: all, but gamma and gamma_noise_std are left
        out while gamma = 0, and stacked while False (fields added later: older toys keep
        their keys and files)."""
        fields_ = asdict(self)
        if not self.gamma:
            del fields_["gamma"], fields_["gamma_noise_std"]
        if not self.stacked:
            del fields_["stacked"]
        return fields_

    def key(self) -> str:
        blob = json.dumps({"version": TOY_VERSION, **self.identity()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def filename(self) -> str:
        extra = (f"-h{self.gamma:g}" if self.gamma else "") + ("-stacked" if self.stacked else "")
        return (f"toy-circle-lam{self.lam:g}-noise{self.noise_std:g}{extra}"
                f"-s{self.book_seed}.{self.seed}-{self.key()}.pt")

    def circle(self) -> Circle:
        return Circle(self.radius, self.data_noise_std)

    def data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The training sample (x (n_train, 2), tangent (n_train, 2)), the same on every call."""
        return self.circle().sample(self.n_train,
                                   torch.Generator().manual_seed(self.torch_seed))


def _build(config: ToyConfig) -> ContractiveAutoencoder:
    torch.manual_seed(config.torch_seed)
    model = ContractiveAutoencoder(2, config.hidden_dims, config.latent_dim, tied=config.tied,
                                   output="linear")
    return sigmoid_inside(model) if config.stacked else model


def _toy_payload(config: ToyConfig, model, history: History) -> dict:
    return {"config": json.dumps(config.identity()), "version": TOY_VERSION,
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "history": asdict(history)}


def _toy_load(config: ToyConfig, payload: dict) -> tuple[ContractiveAutoencoder, History]:
    if payload.get("config") != json.dumps(config.identity()):
        raise ValueError("it was written for another configuration")
    model = _build(config)
    model.load_state_dict(payload["state_dict"])
    return model.eval(), History(**payload["history"])


def toy_trained(config: ToyConfig = ToyConfig(), *, cache_dir=None, progress: bool = False
                ) -> tuple[ContractiveAutoencoder, History]:
    """The 2-D autoencoder `config` describes, on the CPU, from the cache when it is there."""
    if not isinstance(config, ToyConfig):
        raise TypeError(f"config must be a cae_lib.toy.ToyConfig; got {type(config).__name__}.")
    path = Path(cache_dir or default_cache_dir()) / config.filename()
    readonly = readonly_reason(path.parent)
    if readonly and recall(path) is not None:                # trained earlier this session
        return _toy_load(config, recall(path))
    why = "missing"
    if path.exists():
        try:
            return _toy_load(config, torch.load(path, map_location="cpu", weights_only=True))
        except Exception as err:  # corrupt, truncated, foreign or stale: retrain
            why = f"unusable ({err})"
            if not readonly:
                warnings.warn(f"ignoring toy model cache file {path}: {err}. Retraining.",
                              RuntimeWarning, stacklevel=2)
    require_cached(path, why)
    if readonly:
        warn_readonly_miss(path, why, readonly)
    x, _ = config.data()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                     # the same model on every machine
    try:
        model = _build(config)
        history = History()
        phases = [(config.epochs, config.lr), (config.decay_epochs, config.lr / 10)]
        if config.stacked:                       # each layer in turn, the whole schedule
            history = train_layerwise(model, x, lam=config.lam, schedule=tuple(phases),
                                      batch_size=config.batch_size, seed=config.torch_seed,
                                      fused=True)
            phases = []
        for i, (epochs, lr) in enumerate(phases):
            if epochs:
                part = train(model, x, lam=config.lam, noise_std=config.noise_std,
                             gamma=config.gamma, gamma_noise_std=config.gamma_noise_std,
                             epochs=epochs, batch_size=config.batch_size, lr=lr,
                             seed=config.torch_seed + i, device="cpu", progress=progress,
                             fused=True)
                for name in ("recon", "penalty", "total", "seconds"):
                    getattr(history, name).extend(getattr(part, name))
    finally:
        torch.set_num_threads(threads)
    payload = _toy_payload(config, model, history)
    if readonly:
        remember(path, payload)
    else:
        atomic_save(payload, path)
    return model.eval(), history


from .toy_measures import (agreement, band, normal_tangent_ratio,  # noqa: E402,F401
                           ring_gains, reconstruction_jacobian, tangent_angle,
                           wasserstein_1d)
