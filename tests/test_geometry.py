import pytest
import torch

import cae_lib as cl
from conftest import batch, make


def test_svd_reconstructs_the_jacobian_norm(arch):
    m = make(arch, torch.float64)
    x = batch(m, n=5, dtype=torch.float64)
    S, Vh = cl.jacobian_svd(m, x)
    k = min(m.latent_dim, m.input_dim)
    assert S.shape == (5, k) and Vh.shape == (5, k, m.input_dim)
    assert (S[:, :-1] >= S[:, 1:]).all()
    assert torch.allclose(S.pow(2).sum(1), cl.jacobian_norms(m, x).detach(), rtol=1e-10)
    assert torch.allclose(cl.singular_values(m, x, chunk=2), S, rtol=1e-10)
    eye = Vh @ Vh.transpose(1, 2)
    assert torch.allclose(eye, torch.eye(k, dtype=eye.dtype).expand_as(eye), atol=1e-10)


def test_effective_rank_and_energy():
    flat = torch.ones(1, 10)
    spike = torch.tensor([[1.0] + [0.0] * 9])
    assert torch.allclose(cl.effective_rank(flat), torch.tensor([10.0]))
    assert torch.allclose(cl.effective_rank(spike), torch.tensor([1.0]))
    assert torch.allclose(cl.energy_fraction(flat, 3), torch.tensor([0.3]))
    assert torch.allclose(cl.energy_fraction(spike, 1), torch.tensor([1.0]))


def test_linear_cka():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 8, generator=g)
    Q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    assert cl.linear_cka(z, 3.0 * z @ Q + 1.0) == pytest.approx(1.0, abs=1e-10)  # rotation, scale, shift
    assert cl.linear_cka(z, torch.randn(500, 8, generator=g)) < 0.1
    with pytest.raises(ValueError, match="same N"):
        cl.linear_cka(z, z[:10])


def test_linear_probe_separable_and_random():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (600,), generator=g)
    z = torch.randn(600, 5, generator=g) * 1e-3 + torch.nn.functional.one_hot(y, 5).double() * 1e-2
    assert cl.linear_probe(z[:400], y[:400], z[400:], y[400:]) > 0.95   # tiny scale, still found
    noise = torch.randn(600, 5, generator=g)
    assert cl.linear_probe(noise[:400], y[:400], noise[400:], y[400:]) < 0.5
