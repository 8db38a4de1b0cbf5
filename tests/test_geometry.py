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
    # Roy & Vetterli normalise the singular values themselves, not their squares:
    # s = (2, 1) gives p = (2/3, 1/3), not (4/5, 1/5).
    s = torch.tensor([[2.0, 1.0]], dtype=torch.float64)
    p = torch.tensor([2 / 3, 1 / 3], dtype=torch.float64)
    want = torch.exp(-(p * p.log()).sum())
    assert torch.allclose(cl.effective_rank(s), want[None], rtol=1e-12)
    q = torch.tensor([0.8, 0.2], dtype=torch.float64)          # the squared variant
    assert not torch.allclose(want, torch.exp(-(q * q.log()).sum()), rtol=1e-3)
    with pytest.raises(ValueError, match="non-negative"):
        cl.effective_rank(-flat)


def test_linear_cka():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 8, generator=g)
    Q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    # rotation, isotropic scale, shift: unchanged
    assert cl.linear_cka(z, 3.0 * z @ Q + 1.0) == pytest.approx(1.0, abs=1e-10)
    assert cl.linear_cka(z, torch.randn(500, 8, generator=g)) < 0.1
    with pytest.raises(ValueError, match="same N"):
        cl.linear_cka(z, z[:10])


def test_linear_cka_not_invariant_to_per_unit_scaling():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 8, generator=g, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))
    w = torch.randn(500, 8, generator=g, dtype=torch.float64)
    other = z + w                                           # a related, different code
    base = cl.linear_cka(z, other)
    assert cl.linear_cka(7.0 * z, other) == pytest.approx(base, abs=1e-12)
    assert cl.linear_cka(z @ Q, other) == pytest.approx(base, abs=1e-12)
    scale = torch.ones(8, dtype=torch.float64)
    scale[0] = 10.0                                         # one unit 10x louder
    assert abs(cl.linear_cka(z * scale, other) - base) > 0.05
    assert cl.linear_cka(z * scale, z) < 0.9                # even against itself


def test_principal_angles_known_subspaces():
    e = torch.eye(4, dtype=torch.float64)
    # span(e0, e1) vs span(e0, e2): one shared direction, one orthogonal
    cos = cl.principal_angles(e[[0, 1]], e[[0, 2]])
    assert cos.shape == (2,) and cos.dtype == torch.float64
    assert torch.allclose(cos, torch.tensor([1.0, 0.0], dtype=torch.float64), atol=1e-12)
    # a line at 30 degrees from e0 inside span(e0, e1)
    t = torch.tensor(torch.pi / 6, dtype=torch.float64)
    line = (torch.cos(t) * e[0] + torch.sin(t) * e[1])[None]
    assert torch.allclose(cl.principal_angles(line, e[[0]]), torch.cos(t)[None])
    assert torch.allclose(cl.principal_angles(e[[0]], line), torch.cos(t)[None])
    # non-orthonormal rows spanning the same plane: all cosines 1
    A = torch.tensor([[1.0, 1.0, 0, 0], [0, 3.0, 0, 0]], dtype=torch.float64)
    assert torch.allclose(cl.principal_angles(A, e[[0, 1]]), torch.ones(2, dtype=A.dtype))
    # shapes: batched, p != q, against the SVD of the projector product
    g = torch.Generator().manual_seed(0)
    X = torch.randn(3, 2, 10, generator=g, dtype=torch.float64)
    Y = torch.randn(3, 4, 10, generator=g, dtype=torch.float64)
    cos = cl.principal_angles(X, Y)
    assert cos.shape == (3, 2) and (cos[:, :-1] >= cos[:, 1:]).all()
    Qx = torch.linalg.qr(X.transpose(1, 2)).Q                # (3, 10, 2)
    Qy = torch.linalg.qr(Y.transpose(1, 2)).Q
    ref = torch.linalg.svdvals(Qx.transpose(1, 2) @ Qy)
    assert torch.allclose(cos, ref, atol=1e-12)


def test_principal_angles_bad_input():
    e = torch.eye(4)
    with pytest.raises(ValueError, match="same d"):
        cl.principal_angles(e[:2], torch.eye(5)[:2])
    with pytest.raises(ValueError, match="same d"):
        cl.principal_angles(e[0], e[:2])
    with pytest.raises(ValueError, match="rank-deficient"):
        cl.principal_angles(torch.stack([e[0], 2 * e[0]]), e[:2])
    with pytest.raises(ValueError, match="rows"):
        cl.principal_angles(torch.randn(5, 4), e[:2])


def test_local_pca_recovers_a_plane():
    g = torch.Generator().manual_seed(0)
    d = 12
    basis = torch.linalg.qr(torch.randn(d, 2, generator=g, dtype=torch.float64)).Q.T  # (2, d)
    coef = torch.rand(400, 2, generator=g, dtype=torch.float64) * 4 - 2
    x_train = coef @ basis + 1e-4 * torch.randn(400, d, generator=g, dtype=torch.float64)
    x = torch.zeros(3, d, dtype=torch.float64) + 0.1 * basis[0]
    V = cl.local_pca(x, x_train, n_neighbors=30, m=2)
    assert V.shape == (3, 2, d)
    assert torch.allclose(V @ V.transpose(1, 2), torch.eye(2, dtype=V.dtype).expand(3, 2, 2),
                          atol=1e-10)
    cos = cl.principal_angles(V, basis.expand(3, 2, d))
    assert (cos > 0.999).all()
    with pytest.raises(ValueError, match="n_neighbors"):
        cl.local_pca(x, x_train, n_neighbors=0)
    with pytest.raises(ValueError, match="m <="):
        cl.local_pca(x, x_train, n_neighbors=5, m=5)
    with pytest.raises(ValueError, match="shape"):
        cl.local_pca(x, x_train[:, :5])


def test_jacobian_directions_against_local_pca_shapes():
    m = make("odd", torch.float64)
    x = batch(m, n=4, dtype=torch.float64)
    train = batch(m, n=60, dtype=torch.float64, seed=3)
    _, Vh = cl.jacobian_svd(m, x)
    cos = cl.principal_angles(Vh[:, :3], cl.local_pca(x, train, n_neighbors=20, m=3))
    assert cos.shape == (4, 3) and ((0 <= cos) & (cos <= 1)).all()


def test_linear_probe_separable_and_random():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (600,), generator=g)
    z = torch.randn(600, 5, generator=g) * 1e-3 + torch.nn.functional.one_hot(y, 5).double() * 1e-2
    assert cl.linear_probe(z[:400], y[:400], z[400:], y[400:]) > 0.95   # tiny scale, still found
    noise = torch.randn(600, 5, generator=g)
    assert cl.linear_probe(noise[:400], y[:400], noise[400:], y[400:]) < 0.5


def test_the_probe_products_are_float32_within_its_rounding():
    """linear_probe's two products read the codes in float32 (analysis._CodesTimesW): both
    agree with float64 to float32 rounding of sums of k terms."""
    from cae_lib.analysis import _CodesTimesW
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 300, generator=g, dtype=torch.float64)
    W = torch.randn(300, 10, generator=g, dtype=torch.float64, requires_grad=True)
    out = _CodesTimesW.apply(z.float(), W)
    assert out.dtype == torch.float64
    bound = 300 * torch.finfo(torch.float32).eps                # k terms, relative to sum |.|
    scale = (z.abs() @ W.detach().abs())
    assert ((out - z @ W).abs() <= bound * scale + 1e-12).all()
    gout = torch.randn(500, 10, generator=g, dtype=torch.float64)
    (grad,) = torch.autograd.grad(out, W, gout)
    assert ((grad - z.T @ gout).abs() <= 500 * torch.finfo(torch.float32).eps
            * (z.abs().T @ gout.abs())).all()


@pytest.mark.parametrize("shape", [(6, 64, 784), (6, 784, 64), (4, 30, 50), (3, 8, 8)])
def test_svdvals_matches_float64_svd(shape):
    """The float64 Gram route (a short side at most half the long one, float32 J) and the
    plain route (other shapes) against float64 SVD, with a spread of singular values down to
    1e-4 s_1: every s_i within 2e-7 s_1, far inside float32 SVD's own error."""
    g = torch.Generator().manual_seed(0)
    B, k, d = shape
    m = min(k, d)
    U = torch.linalg.qr(torch.randn(B, k, m, generator=g, dtype=torch.float64))[0]
    V = torch.linalg.qr(torch.randn(B, d, m, generator=g, dtype=torch.float64))[0]
    s = torch.logspace(0, -4, m, dtype=torch.float64)
    J = (U * s) @ V.transpose(1, 2)                          # (B, k, d), known spectrum
    out = cl.geometry.svdvals(J.float())
    ref = torch.linalg.svdvals(J.float().double())
    assert out.dtype == torch.float32 and out.shape == (B, m)
    assert ((out.double() - ref).abs() / ref[:, :1]).max() < 2e-7
    assert (out[:, :-1] >= out[:, 1:]).all()
    assert torch.equal(cl.geometry.svdvals(J), torch.linalg.svdvals(J))   # float64: plain


def test_jacobian_svd_in_float64_of_a_float32_model():
    """dtype=torch.float64: the SVD of a float64 copy (model and x), the caller's model left as
    it was; the same top directions as float32, to float32 accuracy."""
    m = make("default", torch.float32)
    x = batch(m, n=3, dtype=torch.float32)
    S64, V64 = cl.jacobian_svd(m, x, dtype=torch.float64)
    assert S64.dtype == V64.dtype == torch.float64
    assert next(m.parameters()).dtype == torch.float32                  # not converted
    ref = cl.jacobian_svd(m.double(), x.double())
    assert torch.equal(S64, ref[0]) and torch.equal(V64, ref[1])
    S32, V32 = cl.jacobian_svd(m.float(), x)
    assert torch.allclose(S32.double(), S64, rtol=1e-4)
    assert (V32[:, 0].double() * V64[:, 0]).sum(1).abs().min() > 0.999
