"""The geometry of the encoder's Jacobian, and comparing two representations.

J_f(x) = U S V^T (thin SVD, S = diag(s_1 >= ... >= s_k)). The rows of V^T are directions in input
space: the first ones are those the code still responds to (for a well-trained CAE, tangents of
the data manifold), the last ones the most contracted among the k it sees at all; every
direction orthogonal to all k rows (d - k of them) is mapped to zero. Rifai et al. (2011,
sec. 5.3) show that a CAE's spectrum falls off sharply after a few large values.

`linear_cka` is the linear centred kernel alignment of Kornblith et al. (2019, Similarity of
Neural Network Representations Revisited, ICML): 1 for codes equal up to rotation and isotropic
scaling, near 0 for unrelated ones.
"""
from __future__ import annotations

import torch

from .penalties import encoder_jacobian


def jacobian_svd(model, x: torch.Tensor):
    """(S, Vh): singular values (B, k), descending, and right singular vectors (B, k, d)."""
    J = encoder_jacobian(model, x).detach()               # (B, k, d)
    _, S, Vh = torch.linalg.svd(J, full_matrices=False)   # (B, k), (B, k, d)
    return S, Vh


def singular_values(model, x: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Singular values of J_f(x) per sample, (B, k), in chunks to bound memory."""
    return torch.cat([torch.linalg.svdvals(encoder_jacobian(model, xb).detach())
                      for xb in x.split(chunk)])


def energy_fraction(S: torch.Tensor, top: int) -> torch.Tensor:
    """Share of ||J||_F^2 = sum_i s_i^2 carried by the `top` largest singular values, per sample."""
    s2 = S.pow(2)
    return s2[:, :top].sum(1) / s2.sum(1)


def effective_rank(S: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of the normalised squared spectrum p_i = s_i^2 / sum s^2 (Roy & Vetterli
    2007): k for a flat spectrum, 1 when a single direction carries everything. Per sample."""
    p = S.pow(2) / S.pow(2).sum(1, keepdim=True)
    return torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum(1))


def linear_cka(z1: torch.Tensor, z2: torch.Tensor) -> float:
    """Linear CKA between two codes of the same N inputs, (N, k1) and (N, k2)."""
    if z1.dim() != 2 or z2.dim() != 2 or len(z1) != len(z2):
        raise ValueError(f"linear_cka needs two (N, k) codes of the same N inputs; got "
                         f"{tuple(z1.shape)} and {tuple(z2.shape)}.")
    a = z1.detach().double() - z1.detach().double().mean(0)
    b = z2.detach().double() - z2.detach().double().mean(0)
    cross = (a.T @ b).pow(2).sum()
    return float(cross / ((a.T @ a).pow(2).sum().sqrt() * (b.T @ b).pow(2).sum().sqrt()))
