"""The DAE expansion pieces against float64 autograd, and the expansion itself."""
import pytest
import torch

import cae_lib as cl
from conftest import batch, cpu_copy, make


def full_reconstruction_jacobian_norms(model, x):
    """||dr/dx||_F^2 per sample from the full d x d Jacobian, float64 autograd."""
    f = lambda xb: model(xb[None])[0][0]
    return torch.stack([torch.autograd.functional.jacobian(f, xb, create_graph=True).pow(2).sum()
                        for xb in x])


def test_reconstruction_jacobian_matches_full_jacobian(arch):
    m = make(arch, torch.float64)
    mc = cpu_copy(m)                                      # the reference, on the CPU
    x = batch(m, n=3, dtype=torch.float64)
    ref = full_reconstruction_jacobian_norms(mc, x)
    assert torch.allclose(cl.reconstruction_jacobian_norms(m, x), ref, rtol=1e-10)
    # ... and its parameter gradients
    val = cl.reconstruction_jacobian_penalty(m, x)
    g = torch.autograd.grad(val, list(m.parameters()))
    g_ref = torch.autograd.grad(ref.mean(), list(mc.parameters()))
    for a, b in zip(g, g_ref):
        assert torch.allclose(a.cpu(), b, rtol=1e-8, atol=1e-14)


def test_reconstruction_jacobian_float32_close_to_float64():
    m = make("default")
    x = batch(m, n=4)
    v32 = cl.reconstruction_jacobian_penalty(m, x).detach()
    v64 = cl.reconstruction_jacobian_penalty(cpu_copy(m).double(), x.double()).detach()
    assert abs(float(v32) - float(v64)) / float(v64) < 1e-5


def test_residual_laplacian_matches_hessian_trace():
    m = make("odd", torch.float64)
    x = batch(m, n=2, dtype=torch.float64)
    got = cl.residual_laplacian_term(m, x)
    m = cpu_copy(m)                                         # the reference, on the CPU
    for i, xb in enumerate(x):
        e = (xb - m(xb[None])[0][0]).detach()
        H = torch.autograd.functional.hessian(lambda v: (e * m(v[None])[0][0]).sum(), xb)
        assert torch.allclose(got[i], torch.trace(H), rtol=1e-10)


def test_small_noise_expansion_holds():
    m = make("odd", torch.float64)
    with torch.no_grad():                                   # a decoder that does not shrink
        for p in m.decoder.parameters():
            p.mul_(3.0)
    x = batch(m, n=8, dtype=torch.float64)
    jr = cl.reconstruction_jacobian_norms(m, x).mean().detach()
    lap = cl.residual_laplacian_term(m, x).mean().detach()
    predicted = float(jr - lap)
    assert abs(float(lap)) > 0.01 * abs(float(jr))           # the residual term matters here
    g = torch.Generator().manual_seed(0)
    for s in [0.003, 0.001]:                                 # small enough for this curved model
        est, se = cl.noisy_excess_loss(m, x, s, n_pairs=400, generator=g)
        assert abs(float(est) - predicted) < 4 * float(se) + 0.02 * abs(predicted)
        assert abs(float(est) - float(jr)) > 4 * float(se)   # ||J_r||^2 alone is not the limit
    with pytest.raises(ValueError, match="noise_std"):
        cl.noisy_excess_loss(m, x, 0.0)


def test_encoder_jacobian_alone_is_not_the_dae_penalty():
    m = make("default", torch.float64)
    x = batch(m, n=3, dtype=torch.float64)
    jr = float(cl.reconstruction_jacobian_penalty(m, x).detach())
    jf = float(cl.jacobian_penalty(m, x).detach())
    assert abs(jr - jf) / jr > 0.1


def test_dae_lam_maps_the_pixel_mean_dae_loss():
    """E_eps MSE(r(x + eps), x), pixel and batch mean, equals MSE + (sigma^2 / d) * bracket."""
    assert cl.dae_lam(0.1, 784) == pytest.approx(0.01 / 784, rel=1e-15)
    with pytest.raises(ValueError, match="noise_std"):
        cl.dae_lam(-0.1, 784)
    m = make("odd", torch.float64)
    with torch.no_grad():                                   # a decoder that does not shrink
        for p in m.decoder.parameters():
            p.mul_(3.0)
    x = batch(m, n=8, dtype=torch.float64)
    s = 0.002
    mc = cpu_copy(m)                                        # the reference, on the CPU
    clean = (x - mc(x)[0]).pow(2).mean().detach()
    predicted = cl.small_noise_dae_loss(m, x, s)
    bracket = (cl.reconstruction_jacobian_norms(m, x)
               - cl.residual_laplacian_term(m, x)).mean().detach()
    assert torch.allclose(predicted, clean + s ** 2 / m.input_dim * bracket, rtol=1e-14)
    # Monte Carlo of the actual pixel-mean DAE loss, antithetic pairs
    g = torch.Generator().manual_seed(0)
    vals = []
    with torch.no_grad():
        for _ in range(400):
            eps = s * torch.randn(x.shape, generator=g, dtype=torch.float64)
            plus = (x - mc(x + eps)[0]).pow(2).mean()
            minus = (x - mc(x - eps)[0]).pow(2).mean()
            vals.append((plus + minus) / 2 - clean)
    vals = torch.stack(vals)
    est, se = vals.mean(), vals.std() / len(vals) ** 0.5
    excess = predicted - clean
    assert abs(est - excess) < 4 * se + 0.02 * abs(excess)
    # lam = sigma^2/d on J_r, not on J_f: the encoder-only weight misses it
    jf = cl.jacobian_penalty(m, x).detach().cpu()
    assert abs(est - s ** 2 / m.input_dim * jf) > 4 * se


def test_bracket_is_not_a_penalty_pointwise():
    """||J_r||^2 - e^T nabla^2 r can be negative where the residual meets strong curvature."""
    m = make("odd", torch.float64)
    with torch.no_grad():
        for p in m.decoder.parameters():
            p.mul_(3.0)
    x = batch(m, n=64, dtype=torch.float64, seed=5)
    bracket = cl.reconstruction_jacobian_norms(m, x) - cl.residual_laplacian_term(m, x)
    assert (bracket.detach() < 0).any()


def test_noisy_excess_loss_does_not_depend_on_how_many_pairs_share_a_pass():
    """One pass per pair, a few pairs per pass, all at once: the same draws in the same order,
    so the same estimate up to float64 rounding."""
    m = make("odd", torch.float64)
    x = batch(m, n=3, dtype=torch.float64)
    out = [cl.noisy_excess_loss(m, x, 0.01, n_pairs=7, rows=rows,
                                generator=torch.Generator().manual_seed(1))
           for rows in (1, 12, 10_000)]
    for est, se in out[1:]:
        assert torch.allclose(est, out[0][0], rtol=1e-9)
        assert torch.allclose(se, out[0][1], rtol=1e-9)
    for bad in (dict(n_pairs=0), dict(rows=0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            cl.noisy_excess_loss(m, x, 0.01, **bad)
