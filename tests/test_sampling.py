"""cae_lib.sample_chain: the CAE step against its definition with the full Jacobian,
determinism under a seeded generator, and clear errors."""
import pytest
import torch

import cae_lib as cl
from cae_lib.sampling import cae_step
from conftest import batch, cpu_copy, make


def test_cae_step_matches_explicit_jacobian_formula(arch):
    m = make(arch, torch.float64)
    x = batch(m, n=4, dtype=torch.float64)
    out = cae_step(m, x, 0.7, torch.Generator().manual_seed(3))
    eps = 0.7 * torch.randn(x.shape[0], m.latent_dim, generator=torch.Generator().manual_seed(3),
                            dtype=torch.float64)                                  # (B, k)
    J = cl.encoder_jacobian(m, x)                                                 # (B, k, d)
    dz = torch.einsum("bkd,bjd,bj->bk", J, J, eps)                                # J J^T eps
    mc = cpu_copy(m)                                                              # on the CPU
    ref = mc.decode(mc.encode(x) + dz)
    assert out.device == x.device
    assert torch.allclose(out, ref, rtol=1e-10, atol=1e-12)


def test_chain_shape_start_and_determinism():
    m = make("odd")
    x0 = batch(m, n=3)
    for method in ("cae", "dae"):
        a = cl.sample_chain(m, x0, 5, 0.3, torch.Generator().manual_seed(0), method=method)
        b = cl.sample_chain(m, x0, 5, 0.3, torch.Generator().manual_seed(0), method=method)
        c = cl.sample_chain(m, x0, 5, 0.3, torch.Generator().manual_seed(1), method=method)
        assert a.shape == (6, 3, m.input_dim)
        assert torch.equal(a[0], x0)
        assert torch.equal(a, b) and not torch.equal(a[1:], c[1:])
    assert cl.sample_chain(m, x0, 0, 0.3).shape == (1, 3, m.input_dim)


def test_zero_noise_chain_iterates_the_reconstruction():
    m = make("one_layer", torch.float64)
    x0 = batch(m, n=2, dtype=torch.float64)
    with torch.no_grad():
        r1 = cpu_copy(m)(x0)[0]
        r2 = cpu_copy(m)(r1)[0]
    for method in ("cae", "dae"):
        ch = cl.sample_chain(m, x0, 2, 0.0, method=method)
        assert torch.allclose(ch[1], r1) and torch.allclose(ch[2], r2)


def test_training_flag_is_restored_and_no_graph_is_kept():
    m = make("odd")
    m.train()
    ch = cl.sample_chain(m, batch(m, n=2), 3, 0.5)
    assert m.training and not ch.requires_grad


@pytest.mark.parametrize("kwargs,match", [
    (dict(noise_std=-0.1), "noise_std must be a non-negative number"),
    (dict(n_steps=-1), "n_steps must be a non-negative int"),
    (dict(n_steps=2.5), "n_steps must be a non-negative int"),
    (dict(method="langevin"), "method must be one of"),
])
def test_clear_errors(kwargs, match):
    m = make("odd")
    args = dict(n_steps=2, noise_std=0.1) | kwargs
    with pytest.raises(ValueError, match=match):
        cl.sample_chain(m, batch(m, n=2), **args)


def test_wrong_width_names_the_shape():
    m = make("odd")
    with pytest.raises(ValueError, match=r"x0 must be a float tensor of shape \(B, 37\)"):
        cl.sample_chain(m, torch.zeros(2, 5), 1, 0.1)
