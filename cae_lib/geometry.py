"""The geometry of the encoder's Jacobian, and comparing two representations.

J_f(x) = U S V^T (thin SVD, S = diag(s_1 >= ... >= s_k)). The rows of V^T are directions in
input space: the first ones are those the code still responds to (for a well-trained CAE,
tangents of the data manifold, as Rifai et al. 2011 argue), the last ones the most contracted
among the k it sees at all; every direction orthogonal to all k rows (d - k of them) is mapped
to zero.

`effective_rank` is the effective rank of Roy & Vetterli (2007, The effective rank: a measure of
effective dimensionality, EUSIPCO): exp(entropy) of the singular values normalised to sum 1.

`principal_angles` and `local_pca` compare the top singular directions of J_f(x) with the
directions in which x's nearest training digits actually vary.

`linear_cka` is the linear centred kernel alignment of Kornblith et al. (2019, Similarity of
Neural Network Representations Revisited, ICML): 1 for codes equal up to rotation, isotropic
scaling and shift, near 0 for unrelated ones. It is NOT invariant to per-unit (anisotropic)
rescaling of a code: multiplying one unit by 10 changes it.

Devices (the rule of `cae_lib.device`): `jacobian_svd` and `singular_values` compute on the
model's device and return on x's; the other functions take tensors only and compute where (or,
for the float64 ones, on the CPU copy of what) they are given.
"""
from __future__ import annotations

import copy

import torch

from .device import to_caller, to_model
from .model import check_batch, check_number
from .penalties import _check, _jacobian


def jacobian_svd(model, x: torch.Tensor, dtype: torch.dtype | None = None):
    """(S, Vh): singular values (B, k), descending, and right singular vectors (B, k, d), on x's
    device (computed on the model's). dtype=torch.float64 computes both on a float64 copy of the
    model and of x: needed for the bottom directions wherever s_k / s_1 nears float32's
    resolution (about 1e-7; a float32 J itself carries errors of about 1e-7 |J|): the deep
    CAE's s_64 / s_1 falls to 2e-7 at some test digits (median 3e-6; CAE_SEED=1)."""
    _check(model, x)
    if dtype is not None:
        model, x = copy.deepcopy(model).to(dtype), x.to(dtype)
    J = _jacobian(model, to_model(model, x)).detach()     # (B, k, d)
    _, S, Vh = torch.linalg.svd(J, full_matrices=False)   # (B, k), (B, k, d)
    return to_caller(S, x), to_caller(Vh, x)


def singular_values(model, x: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Singular values of J_f(x) per sample, (B, min(k, d)), descending, in chunks to bound
    memory; on x's device (computed on the model's). See `svdvals`."""
    _check(model, x)
    xm = to_model(model, x)
    return to_caller(torch.cat([svdvals(_jacobian(model, xb).detach())
                                for xb in xm.split(chunk)]), x)


def svdvals(J: torch.Tensor) -> torch.Tensor:
    """torch.linalg.svdvals of a batch J (B, k, d), descending. A float32 J whose short side is
    at most half its long one (the deep encoder's 64 x 784) goes through its Gram matrix in
    float64, J J^T (or J^T J), and eigvalsh: about 3.5x faster than svdvals on one CPU thread,
    with every s_i within 1e-7 s_1 of float64 svdvals (float32 svdvals itself: about 1e-6 s_1
    here), in J's dtype. Other shapes and dtypes: torch.linalg.svdvals."""
    k, d = J.shape[-2:]
    if J.dtype != torch.float32 or 2 * min(k, d) > max(k, d):
        return torch.linalg.svdvals(J)
    J64 = J.double()
    G = J64 @ J64.transpose(-2, -1) if k < d else J64.transpose(-2, -1) @ J64   # (B, m, m)
    return torch.linalg.eigvalsh(G).flip(-1).clamp_min(0).sqrt().to(J.dtype)


def energy_fraction(S: torch.Tensor, top: int) -> torch.Tensor:
    """Share of ||J||_F^2 = sum_i s_i^2 carried by the `top` largest singular
    values, per sample. S: (B, k), descending."""
    s2 = S.pow(2)
    return s2[:, :top].sum(1) / s2.sum(1)


def effective_rank(S: torch.Tensor) -> torch.Tensor:
    """Effective rank of Roy & Vetterli (2007), per sample: exp(-sum_i p_i log p_i) with
    p_i = s_i / sum_j s_j, the singular values themselves (not their squares) normalised to
    sum 1. S: (B, k) singular values. k for a flat spectrum, 1 when a single direction carries
    everything; always between 1 and the rank."""
    if S.dim() != 2 or (S < 0).any():
        raise ValueError(f"effective_rank needs (B, k) non-negative singular values; got "
                         f"shape {tuple(S.shape)}.")
    p = S / S.sum(1, keepdim=True)
    return torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum(1))


def _row_basis(A: torch.Tensor, name: str) -> torch.Tensor:
    """Orthonormal rows spanning the rows of A (..., p, d), float64; refuses rank deficiency."""
    U, s, Vh = torch.linalg.svd(A.detach().double(), full_matrices=False)
    if (s[..., -1] <= 1e-10 * s[..., :1].squeeze(-1).clamp_min(1e-300)).any():
        raise ValueError(f"principal_angles: the rows of {name} are linearly dependent "
                         "(rank-deficient), so they do not span a "
                         f"{A.shape[-2]}-dimensional subspace.")
    return Vh                                             # (..., p, d)


def principal_angles(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Cosines of the principal angles between the subspaces spanned by the ROWS of A (..., p, d)
    and of B (..., q, d), in float64, descending (the smallest angle first), shape
    (..., min(p, q)). 1 means a shared direction, 0 an orthogonal one; the angles themselves are
    torch.arccos of the result. Leading (batch) dimensions must match. The rows need not be
    orthonormal, but must be linearly independent."""
    if A.dim() < 2 or B.dim() < 2 or A.shape[-1] != B.shape[-1] or A.shape[:-2] != B.shape[:-2]:
        raise ValueError("principal_angles needs row bases (..., p, d) and (..., q, d) with the "
                         f"same d and batch shape; got {tuple(A.shape)} and {tuple(B.shape)}.")
    if A.shape[-2] == 0 or B.shape[-2] == 0 or A.shape[-2] > A.shape[-1] \
            or B.shape[-2] > B.shape[-1]:
        raise ValueError("principal_angles needs 1 <= p, q <= d rows; got "
                         f"{tuple(A.shape)} and {tuple(B.shape)}.")
    Qa, Qb = _row_basis(A, "A"), _row_basis(B, "B")
    return torch.linalg.svdvals(Qa @ Qb.transpose(-1, -2)).clamp(0.0, 1.0)


def local_pca(x: torch.Tensor, x_train: torch.Tensor, n_neighbors: int = 50,
              m: int = 5) -> torch.Tensor:
    """Top-m local principal directions at each x: the right singular vectors of the
    n_neighbors nearest training points (Euclidean), centred on their own mean. Returns
    orthonormal rows (B, m, d), like the Vh of `jacobian_svd`. A point of x that also lies in
    x_train counts as its own neighbour."""
    check_number("n_neighbors", n_neighbors, integer=True, positive=True)
    check_number("m", m, integer=True, positive=True)
    d = x.shape[-1] if isinstance(x, torch.Tensor) and x.dim() == 2 else -1
    check_batch(x, d)
    check_batch(x_train, d, name="x_train")
    if n_neighbors > len(x_train) or m > min(n_neighbors - 1, x.shape[1]):
        raise ValueError(f"local_pca needs n_neighbors <= {len(x_train)} training points and "
                         f"m <= min(n_neighbors - 1, d); got n_neighbors={n_neighbors}, m={m}.")
    xt = x_train.to(x)
    idx = torch.cdist(x, xt).topk(n_neighbors, largest=False).indices    # (B, n)
    nb = xt[idx].double()                                                # (B, n, d)
    nb = nb - nb.mean(1, keepdim=True)
    return torch.linalg.svd(nb, full_matrices=False)[2][:, :m]           # (B, m, d)


def linear_cka(z1: torch.Tensor, z2: torch.Tensor) -> float:
    """Linear CKA between two codes of the same N inputs, (N, k1) and (N, k2). Invariant to
    orthogonal rotation, isotropic scaling and shifts of either code; NOT to per-unit
    (anisotropic) scaling or other invertible linear maps."""
    if z1.dim() != 2 or z2.dim() != 2 or len(z1) != len(z2):
        raise ValueError(f"linear_cka needs two (N, k) codes of the same N inputs; got "
                         f"{tuple(z1.shape)} and {tuple(z2.shape)}.")
    a = z1.detach().double() - z1.detach().double().mean(0)
    b = z2.detach().double() - z2.detach().double().mean(0)
    cross = (a.T @ b).pow(2).sum()
    return float(cross / ((a.T @ a).pow(2).sum().sqrt() * (b.T @ b).pow(2).sum().sqrt()))
