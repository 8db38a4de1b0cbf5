"""The contractive penalty ||J_f(x)||_F^2 and four ways to compute it.

J_f(x) = dz/dx is the k x d Jacobian of the encoder at one sample. Every function here
returns the BATCH MEAN of the SQUARED FROBENIUS NORM, i.e. for a batch x of shape (B, d)

    penalty = (1/B) * sum_b sum_{i,j} (dz_{b,i} / dx_{b,j})^2            (eq. cae-penalty)

(sum over the k*d Jacobian entries, mean over the batch). The CAE loss is
mean-over-pixels MSE + lam * penalty, so lam multiplies exactly this number.

Methods of `jacobian_penalty`:
  "analytic"   exact closed form for Linear+Sigmoid encoders (Rifai et al. 2011, eq. 5-6,
               extended to depth L by the chain rule; see `analytic_penalty`).
  "autograd"   exact for any differentiable encoder: torch.func vmap over jacrev.
  "loop"       exact: one backward pass per latent unit (the readable reference).
  "hutchinson" unbiased estimate E_u ||J^T u||^2 = ||J||_F^2 with Rademacher u
               (Hutchinson 1989), n_projections draws per sample.

`source_shortcut_penalty` is a widely copied "efficient" formula. It is NOT the
penalty; the book keeps it only to show, with numbers, how far off it is.

Devices (the rule of `cae_lib.device`): every function here computes on the model's device
and moves x there. The penalties (`jacobian_penalty`, `source_shortcut_penalty`,
`penalty_and_code`) return on the MODEL's device, ready to join a loss; the measurements
(`jacobian_norms`, `encoder_jacobian`) return on x's device.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.func import jacrev, vmap

from .device import to_caller, to_model
from .model import check_batch, sigmoid_mlp_linears

METHODS = ("analytic", "autograd", "loop", "hutchinson")


class _GramQuadForm(torch.autograd.Function):
    """(1/B) sum_b trace(A_b G A_b^T) with A = M * d (d broadcast over the k rows) and a
    symmetric G. The backward reuses P = A G from the forward instead of recomputing it
    (autograd would, since it does not know that G = G^T), and never builds A twice."""

    @staticmethod
    def forward(ctx, M, d, G):                   # M: (B, k, n), d: (B, n), G: (n, n)
        A = M * d[:, None, :]                    # (B, k, n)
        P = A @ G                                # (B, k, n)
        ctx.save_for_backward(M, d, A, P)
        return torch.dot(P.reshape(-1), A.reshape(-1)) / M.shape[0]

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        M, d, A, P = ctx.saved_tensors
        s2 = 2 * g / M.shape[0]                  # d/dA tr(A G A^T) = A (G + G^T) = 2 P
        grad_M = grad_d = grad_G = None
        if ctx.needs_input_grad[2]:
            A2 = A.reshape(-1, A.shape[-1])      # (B*k, n)
            grad_G = (s2 / 2) * (A2.T @ A2)      # sum_b A_b^T A_b
        if ctx.needs_input_grad[1]:
            grad_d = s2 * (P * M).sum(1)         # (B, n); einsum here would copy twice
        if ctx.needs_input_grad[0]:
            grad_M = P * (s2 * d)[:, None, :]    # (B, k, n); not in place: backward may run twice
        return grad_M, grad_d, grad_G


def encoder_activations(linears: list[nn.Linear], x: torch.Tensor) -> list[torch.Tensor]:
    """[h_1, ..., h_L] with h_l = sigmoid(W_l h_{l-1} + b_l), h_0 = x; h_L is the code z."""
    hs, h = [], x
    for lin in linears:
        h = torch.sigmoid(lin(h))                # (B, n_l)
        hs.append(h)
    return hs


def _latent_side(linears, ds):
    """M = D_L W_L D_{L-1} ... D_2 W_2, shape (B, k, n_1), built from the latent side."""
    M = ds[-1][:, :, None] * linears[-1].weight  # (B, k, n_{L-1})
    for lin, d in zip(reversed(linears[1:-1]), reversed(ds[1:-1])):
        M = (M * d[:, None, :]) @ lin.weight     # (B, k, n_{l-1})
    return M


def analytic_penalty(linears: list[nn.Linear], hs: list[torch.Tensor]) -> torch.Tensor:
    """Closed form of (eq. cae-penalty) for a Linear+Sigmoid encoder.

    With D_l = diag(h_l (1 - h_l)) the chain rule gives J = D_L W_L ... D_1 W_1 (eq. chain).
    Write A = D_L W_L ... D_2 W_2 D_1 (k x n_1, built from the latent side), G = W_1 W_1^T:
        ||J||_F^2 = ||A W_1||_F^2 = trace(A G A^T) = sum(A G * A)      (eq. gram-form)
    so the d-wide first layer enters only through G, once per batch. For L = 1 this is
    Rifai et al.'s sum_i (h_i (1 - h_i))^2 ||W_1[i, :]||^2                 (eq. rifai)
    """
    W1 = linears[0].weight                       # (n_1, d)
    if len(linears) == 1:                        # eq. (rifai): no per-sample matrix at all
        d = hs[0] - hs[0] * hs[0]                # (B, k); few, fused-friendly ops: at this
        return (d * d).sum(0).dot((W1 * W1).sum(1)) / d.shape[0]  # size op count is the cost
    ds = [h * (1 - h) for h in hs]               # sigmoid'(a_l) = h_l (1 - h_l), (B, n_l)
    G = W1 @ W1.T                                # (n_1, n_1)
    return _GramQuadForm.apply(_latent_side(linears, ds), ds[0], G)  # A = M D_1, (B, k, n_1)


def _encoder_fn(model):
    return model.encoder if isinstance(getattr(model, "encoder", None), nn.Module) else model.encode


def encoder_jacobian(model, x: torch.Tensor) -> torch.Tensor:
    """The full per-sample Jacobian dz/dx, shape (B, k, d), by torch.func (exact). Computed
    on the model's device, returned on x's."""
    _check(model, x)
    return to_caller(_jacobian(model, to_model(model, x)), x)


def _jacobian(model, x):                         # x already on the model's device
    return vmap(jacrev(_encoder_fn(model)))(x)   # (B, k, d)


def _autograd(model, x):
    J = vmap(jacrev(_encoder_fn(model)))(x)      # (B, k, d)
    return J.pow(2).sum() / x.shape[0]


def _loop(z, x):                                 # z = f(x), x: (B, d) requiring grad
    total = x.new_zeros(())
    for i in range(z.shape[1]):
        (row,) = torch.autograd.grad(z[:, i].sum(), x, create_graph=True)  # (B, d) = dz_i/dx
        total = total + row.pow(2).sum()
    return total / x.shape[0]


def _hutchinson(z, x, n_projections, generator):
    dev = generator.device if generator is not None else x.device
    total = x.new_zeros(())
    for _ in range(n_projections):
        u = torch.randint(0, 2, z.shape, generator=generator, device=dev)
        u = (2 * u - 1).to(device=x.device, dtype=z.dtype)  # Rademacher: E[u u^T] = I
        (Jt_u,) = torch.autograd.grad(z, x, u, create_graph=True)         # (B, d) = J^T u
        total = total + Jt_u.pow(2).sum()
    return total / (n_projections * x.shape[0])


def _check(model, x):
    dim = getattr(model, "input_dim", None)
    if dim is None:
        dim = x.shape[-1] if isinstance(x, torch.Tensor) and x.dim() == 2 else -1
    check_batch(x, dim)


def jacobian_penalty(model, x: torch.Tensor, method: str = "analytic",
                     n_projections: int = 1, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """Batch mean over x (B, d) of the squared Frobenius norm of J_f = dz/dx (sum over
    the k*d entries, mean over the B samples), eq. (cae-penalty). Differentiable w.r.t.
    the model's parameters. `n_projections` and `generator` serve method="hutchinson"
    (a generator on any device: the signs are drawn there). Computed on the model's
    device, x moved there; the 0-dim result stays on the model's device, next to the loss.
    Compiles with torch.compile(fullgraph=True): see `model.check_batch`."""
    if method not in METHODS:
        raise ValueError(f"unknown penalty method {method!r}; choose one of {METHODS}.")
    if isinstance(n_projections, bool) or not isinstance(n_projections, int) or n_projections < 1:
        raise ValueError(f"n_projections must be a positive int; got {n_projections!r}.")
    _check(model, x)
    return _dispatch(model, x, method, n_projections, generator)   # moves x to the model


def _dispatch(model, x, method, n_projections=1, generator=None):
    """jacobian_penalty without the input checks (they cost a host sync per call)."""
    return penalty_and_code(model, x, method, n_projections, generator)[0]


def penalty_and_code(model, x, method, n_projections=1, generator=None):
    """(penalty, z): the code z = f(x) when the method computes it on the way (so training
    can reuse that encoder pass for the decoder), else None ("autograd"). Both on the
    model's device (x is moved there). No input checks."""
    x = to_model(model, x)
    if method == "analytic":
        linears = sigmoid_mlp_linears(getattr(model, "encoder", model))
        hs = encoder_activations(linears, x)
        return analytic_penalty(linears, hs), hs[-1]
    if method == "autograd":
        return _autograd(model, x), None
    x = x.detach().requires_grad_(True)          # never flip the caller's tensor
    z = _encoder_fn(model)(x)                    # (B, k)
    if method == "loop":
        return _loop(z, x), z
    return _hutchinson(z, x, n_projections, generator), z


def jacobian_norms(model, x: torch.Tensor) -> torch.Tensor:
    """Per-sample ||J_f(x_b)||_F^2, shape (B,): the closed form for Linear+Sigmoid
    encoders, torch.func otherwise. Its mean is jacobian_penalty(model, x). Computed on
    the model's device, returned on x's."""
    _check(model, x)
    return to_caller(_norms(model, to_model(model, x)), x)


def _norms(model, x):                            # x already on the model's device
    try:
        linears = sigmoid_mlp_linears(getattr(model, "encoder", model))
    except TypeError:
        return _jacobian(model, x).pow(2).sum((1, 2))
    ds = [h * (1 - h) for h in encoder_activations(linears, x)]
    W1 = linears[0].weight
    if len(linears) == 1:
        return (ds[0].pow(2) * W1.pow(2).sum(1)).sum(1)
    A = _latent_side(linears, ds) * ds[0][:, None, :]             # (B, k, n_1)
    return ((A @ (W1 @ W1.T)) * A).sum((1, 2))


def source_shortcut_penalty(model, x: torch.Tensor) -> torch.Tensor:
    """A widely copied "efficient" formula: mean_b sum_i (z_i (1 - z_i))^2 * ||W_L||_F^2.

    Wrong twice: it ignores every layer below the last, and it multiplies the sum of
    squared derivatives by the norm of the WHOLE weight matrix instead of pairing each
    unit's derivative with its own row (compare eq. rifai). Kept only as a counterexample.
    On the model's device, like the penalty it imitates."""
    _check(model, x)
    x = to_model(model, x)
    linears = sigmoid_mlp_linears(model.encoder)
    z = model.encoder(x)                                         # (B, k)
    return (z * (1 - z)).pow(2).sum(1).mean() * linears[-1].weight.pow(2).sum()
