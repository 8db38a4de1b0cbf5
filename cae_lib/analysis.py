"""Measuring contraction of a trained encoder.

`sensitivity` is the empirical ratio ||f(x + e) - f(x)|| / ||e|| with Gaussian e, the
finite-difference counterpart of the Jacobian norm: for small noise_std and
e ~ N(0, noise_std^2 I_d), E||J e||^2 / E||e||^2 = ||J||_F^2 / d, so the ratio is close to
||J_f(x)||_F / sqrt(d) (the RMS gain of the encoder over input directions).

`contraction_curve` is the measure of Rifai et al. (2011, sec. 5.2): the mean of that ratio
at a fixed perturbation radius ||e|| = r, as a function of r.

Both are in the code's own units, so an encoder can lower them by shrinking its code, and an
untied decoder can amplify the code back: the reconstruction is unchanged, the "contraction" is
cosmetic. `relative_sensitivity` removes that: it divides by the typical code distance per unit
of input distance between random pairs of digits, a yardstick in the same units, so multiplying
the code by any constant leaves it unchanged (rescaling code units SEPARATELY still changes it).
`code_spread` and `decoder_gain` show the scale itself, so the two effects can be told apart.

Devices (the rule of `cae_lib.device`): each function computes on the model's device, moving x
there, and returns its tensor on x's device; a generator may live on any device.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .denoising import _quiet_forward_ad
from .device import draw, randperm, to_caller, to_model
from .model import check_number
from .penalties import _check, _encoder_fn


def sensitivity(model, x: torch.Tensor, noise_std: float = 0.1,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample ||f(x + e) - f(x)|| / ||e||, e ~ N(0, noise_std^2 I). Returns (B,) on x's device
    (computed on the model's; e drawn on the generator's device).

    noise_std = 0 gives the same statistic in the limit of small noise, ||J_f(x) u|| / ||u|| for
    one Gaussian direction u per sample (a Jacobian-vector product, exact). Its median sits
    BELOW ||J_f||_F / sqrt(d), the root of its mean square: by a factor between about 0.67
    (one singular value dominates: the median of |N(0, 1)|) and 1 (a flat spectrum), set by
    the effective rank of J_f (chapter 5)."""
    check_number("noise_std", noise_std)
    _check(model, x)
    home, x = x, to_model(model, x)
    u = draw("randn", x.shape, x, generator)                         # (B, d)
    encode = _encoder_fn(model)
    if noise_std == 0:
        with _quiet_forward_ad(), torch.no_grad():
            _, dz = torch.func.jvp(encode, (x.detach(),), (u,))     # (B, k) = J_f u
        return to_caller(dz.norm(dim=1) / u.norm(dim=1), home)
    e = noise_std * u                                                # (B, d)
    with torch.no_grad():
        dz = encode(x + e) - encode(x)                               # (B, k)
    return to_caller(dz.norm(dim=1) / e.norm(dim=1), home)


def _relative_parts(model, x, noise_std, generator):
    """(local (B,), pairs (B',)): each sample's raw ratio, and the ratio of code distance to
    input distance for the pairs (i, pi(i)), pi a random permutation (fixed points and
    duplicate inputs left out). Draws e first, then pi, from `generator`. Both on the
    model's device."""
    check_number("noise_std", noise_std, positive=True)
    _check(model, x)
    if x.shape[0] < 2:
        raise ValueError(f"relative_sensitivity needs a batch of at least 2 samples to form "
                         f"pairs; got {x.shape[0]}. Pass more inputs (e.g. 500 test digits).")
    x = to_model(model, x)
    e = noise_std * draw("randn", x.shape, x, generator)            # (B, d)
    perm = randperm(x.shape[0], x, generator)                       # (B,)
    encode = _encoder_fn(model)
    with torch.no_grad():
        z = encode(x)                                                # (B, k)
        local = (encode(x + e) - z).norm(dim=1) / e.norm(dim=1)      # (B,)
        dx = (x - x[perm]).norm(dim=1)                               # (B,)
        keep = dx > 0
        if not bool(keep.any()):
            raise ValueError("relative_sensitivity needs at least two distinct inputs; all "
                             "the pairs drawn were identical.")
        pairs = (z - z[perm]).norm(dim=1)[keep] / dx[keep]           # (B',)
    return local, pairs


def relative_sensitivity(model, x: torch.Tensor, noise_std: float = 0.1,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale-free sensitivity, (B,): each sample's ||f(x+e) - f(x)|| / ||e|| divided by
    median_i ||f(x_i) - f(x_j)|| / ||x_i - x_j|| over the pairs (i, pi(i)) of the batch with a
    random permutation pi of itself (fixed points and duplicate inputs are left out). Values
    below 1 mean a small step moves the code less, per unit of input, than the step between two
    typical digits does. Invariant to z -> c z (a uniform rescaling of the code); NOT to
    rescaling code units separately (z -> D z), which changes which units dominate both
    distances. Needs at least 2 distinct samples. Returned on x's device."""
    local, pairs = _relative_parts(model, x, noise_std, generator)
    return to_caller(local / pairs.median(), x)


def pair_scale(model, x: torch.Tensor, generator: torch.Generator | None = None) -> float:
    """The denominator of `relative_sensitivity`: median code distance per unit input distance
    over random pairs of x (drawn as relative_sensitivity draws them, after its noise)."""
    return float(_relative_parts(model, x, 0.1, generator)[1].median())


def relative_median_se(model, x: torch.Tensor, noise_std: float = 0.1,
                       generator: torch.Generator | None = None, n_boot: int = 200,
                       seed: int = 0) -> tuple[float, float]:
    """(median relative sensitivity, bootstrap s.e.), resampling the samples AND the pairs,
    so the s.e. includes the uncertainty of the pair scale. The median equals
    relative_sensitivity(...).median() for the same generator state."""
    local, pairs = _relative_parts(model, x, noise_std, generator)
    local, pairs = local.cpu().double(), pairs.cpu().double()
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, len(local), (n_boot, len(local)), generator=g)    # (n_boot, B)
    j = torch.randint(0, len(pairs), (n_boot, len(pairs)), generator=g)    # (n_boot, B')
    boot = local[i].median(1).values / pairs[j].median(1).values
    return float((local / pairs.median()).median()), float(boot.std())


class ScaledCode(torch.nn.Module):
    """The cheat, made explicit: the code of `model` multiplied by c, and the decoder dividing
    it back. Reconstructions are unchanged; the penalty scales by c^2 and the raw sensitivity
    by c, while `relative_sensitivity` does not move. Built by `scale_code`."""

    def __init__(self, model, c: float):
        super().__init__()
        check_number("c", c, positive=True)
        self.input_dim, self.latent_dim, self.c = model.input_dim, model.latent_dim, float(c)
        self.model = model
        self.encoder = torch.nn.Sequential(model.encoder, _Mul(self.c))     # z -> c z
        self.decoder = torch.nn.Sequential(_Mul(1 / self.c), model.decoder)  # c z -> z -> x_hat

    def forward(self, x):
        z = self.encoder(x)       # (B, k)
        return self.decoder(z), z


class _Mul(torch.nn.Module):
    def __init__(self, c: float):
        super().__init__()
        self.c = c

    def forward(self, t):
        return self.c * t


def scale_code(model, c: float) -> ScaledCode:
    """`model` with its code multiplied by c > 0 and the decoder compensating (see ScaledCode).
    Its penalty needs method="autograd" (the encoder is no longer Linear+Sigmoid only)."""
    return ScaledCode(model, c)


@torch.no_grad()
def median_se(v: torch.Tensor, n_boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """(median of v, its bootstrap standard error over n_boot resamples)."""
    v = v.detach().flatten().cpu().double()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(v), (n_boot, len(v)), generator=g)       # (n_boot, N)
    return float(v.median()), float(v[idx].median(1).values.std())


@torch.no_grad()
def code_spread(model, x: torch.Tensor) -> float:
    """The code's scale: the norm of the vector of per-unit standard deviations of z = f(x)
    over the batch, sqrt(sum_i var_i). A CAE that only shrinks its code shows it here."""
    _check(model, x)
    if x.shape[0] < 2:
        raise ValueError(f"code_spread needs at least 2 samples; got {x.shape[0]}.")
    return float(_encoder_fn(model)(to_model(model, x)).std(0).norm())


def decoder_gain(model, x: torch.Tensor, n_iter: int = 50, seed: int = 0) -> float:
    """How much the WHOLE decoder amplifies a code step: the median over the samples of x of
    the largest singular value of J_g at z = f(x) (d x k), by power iteration on J_g^T J_g
    (n_iter steps: a slight underestimate when s_1 and s_2 nearly coincide. On 200 test digits
    of eight of the book's models, 50 steps gave medians within 0.07% of 400 steps' and 100
    within 0.02%; measured 2026-12-07).
    If a decoder exactly undid a shrinking code, spread * gain would stay constant."""
    _check(model, x)
    check_number("n_iter", n_iter, integer=True, positive=True)
    dec = getattr(model, "decoder", None)
    if not callable(dec):
        raise TypeError("decoder_gain needs a model with a .decoder (a "
                        f"cae_lib.ContractiveAutoencoder); got {type(model).__name__}.")
    with torch.no_grad():
        z = _encoder_fn(model)(to_model(model, x))                   # (B, k)
    g = torch.Generator(device=z.device).manual_seed(seed)
    v = torch.randn(z.shape, generator=g, device=z.device).to(z)    # (B, k)
    with _quiet_forward_ad():
        _, vjp_fn = torch.func.vjp(dec, z)                           # linearised at z once
        jvp = lambda t: torch.func.jvp(dec, (z,), (t,))[1]           # noqa: E731, (B, d)
        for _ in range(n_iter):                # rows are independent: one power step each
            v = v / v.norm(dim=1, keepdim=True)
            v = vjp_fn(jvp(v))[0].detach()                           # (B, k) = J^T J v
        v = v / v.norm(dim=1, keepdim=True)
        s1 = jvp(v).detach().norm(dim=1)                             # (B,)
    return float(s1.median())


@torch.no_grad()
def contraction_curve(model, x: torch.Tensor, radii, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
    """Mean over x of ||f(x + e) - f(x)|| / r with e uniform on the sphere of radius r,
    for each r in radii. Returns (len(radii),) on x's device."""
    _check(model, x)
    home, x = x, to_model(model, x)
    encode = _encoder_fn(model)
    z = encode(x)                                                            # (B, k)
    out = []
    for r in radii:
        check_number("radius", float(r), positive=True)
        u = draw("randn", x.shape, x, generator)                            # (B, d)
        e = float(r) * u / u.norm(dim=1, keepdim=True)                               # (B, d)
        out.append(((encode(x + e) - z).norm(dim=1) / float(r)).mean())
    return to_caller(torch.stack(out), home)


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error sqrt(p (1 - p) / n) of an accuracy p measured on n independent samples."""
    check_number("n", n, integer=True, positive=True)
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must lie in [0, 1]; got {accuracy!r}.")
    return (accuracy * (1 - accuracy) / n) ** 0.5


class _CodesTimesW(torch.autograd.Function):
    """z @ W for a fixed (N, k) float32 code matrix z and a float64 (k, c) weight W, returned in
    float64, with the weight's gradient computed as (g^T z)^T. Both products are written so that
    CPU BLAS takes its fast path for a tall z and few classes (autograd's z^T g took about 9x
    longer in float64), and both read z in float32: they are memory-bound, and at N = 20,000,
    k = 1000, c = 10 a step's two products took 31 ms against 90 ms in float64 on one thread
    (measured here). The optimiser, the weights and the loss stay in float64."""

    @staticmethod
    def forward(ctx, z, W):                      # z: (N, k) float32, W: (k, c) float64
        assert not z.requires_grad, "the codes are fixed: no gradient flows to z"
        ctx.save_for_backward(z)
        return (W.T.float() @ z.T).T.double()    # (N, c)

    @staticmethod
    def backward(ctx, g):                        # g: (N, c)
        (z,) = ctx.saved_tensors
        return None, (g.T.float() @ z).T.double()     # (k, c)


def linear_probe(z_train: torch.Tensor, y_train: torch.Tensor, z_test, y_test=None,
                 weight_decay: float = 1e-4, max_iter: int = 300, correct: dict | None = None):
    """Accuracy of multinomial logistic regression on frozen codes.

    Features are standardised with the training split's mean and std (so a code that varies
    on a tiny scale is not handicapped), then fitted full-batch with L-BFGS: a convex problem,
    so the result depends on the codes, not on optimiser luck. The standardised training codes
    enter the fit's two products in float32 (see _CodesTimesW; everything else is float64): on
    five of the book's models the accuracies moved by at most 0.0005 (5 of 10,000 digits)
    against an all-float64 fit, a tenth of a probe's standard error.
    linear_probe(z_tr, y_tr, z_te, y_te) -> float; or, to score one fit on several splits,
    linear_probe(z_tr, y_tr, {"val": (z_va, y_va), "test": (z_te, y_te)}) -> {name: float}.
    `correct`, a dict, is filled with each split's per-sample correctness, (N,) bool."""
    evals = z_test if isinstance(z_test, dict) else {None: (z_test, y_test)}
    z_train = z_train.detach().double().cpu()
    mu, sd = z_train.mean(0), z_train.std(0).clamp_min(1e-12)
    z_train, y_train = ((z_train - mu) / sd).float(), y_train.cpu().long()   # (N, k) float32
    n_classes = int(max([y_train.max()] + [y.max() for _, y in evals.values()])) + 1
    W = torch.zeros(z_train.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = _CodesTimesW.apply(z_train, W) + b                     # (N, classes)
        loss = F.cross_entropy(logits, y_train) + weight_decay * W.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    out = {}
    with torch.no_grad():
        for name, (z, y) in evals.items():
            z = (z.detach().double().cpu() - mu) / sd
            hit = (z @ W + b).argmax(1) == y.cpu().long()                # (N,)
            out[name] = float(hit.double().mean())
            if correct is not None:
                correct[name] = hit
    return out if isinstance(z_test, dict) else out[None]
