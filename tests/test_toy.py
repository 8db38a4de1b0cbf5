"""cae_lib.toy: the circle's exact density and score, its measures, and the toy model cache."""
import math
import warnings

import pytest
import torch

import cae_lib as cl
from cae_lib.toy import (Circle, ToyConfig, agreement, angular_coverage, band, grid,
                         normal_tangent_ratio, tangent_angle, toy_trained,
                         wasserstein_1d)


def points(n=50, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (0.3 + 1.2 * torch.rand(n, 1, generator=g, dtype=dtype)) * torch.nn.functional.normalize(
        torch.randn(n, 2, generator=g, dtype=dtype), dim=1)


def test_score_matches_finite_differences_of_log_density():
    c = Circle(radius=1.0, noise_std=0.1)
    x = points()
    h = 1e-6
    fd = torch.stack([(c.log_density(x + h * e) - c.log_density(x - h * e)) / (2 * h)
                      for e in torch.eye(2, dtype=torch.float64)], 1)     # (n, 2)
    assert torch.allclose(c.score(x), fd, rtol=1e-6, atol=1e-6)


def test_score_matches_autograd_of_log_density():
    c = Circle(radius=0.7, noise_std=0.05)
    x = points(seed=3).requires_grad_(True)
    (g,) = torch.autograd.grad(c.log_density(x).sum(), x)
    assert torch.allclose(c.score(x.detach()), g, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("radius,noise_std", [(1.0, 0.05), (1.0, 0.3), (0.5, 0.2)])
def test_density_integrates_to_one(radius, noise_std):
    c = Circle(radius, noise_std)
    lim, n = radius + 8 * noise_std, 1200                     # even: no point at the origin,
    _, _, pts = grid(lim, n)                                  # where p has a 1/r peak
    pts = pts.double()
    cell = (2 * lim / (n - 1)) ** 2
    total = float(c.log_density(pts).exp().sum() * cell)
    assert abs(total - 1.0) < 2e-3, total


def test_samples_follow_the_density():
    c = Circle(radius=1.0, noise_std=0.1)
    x, tangent = c.sample(20_000, torch.Generator().manual_seed(0))
    assert x.shape == tangent.shape == (20_000, 2)
    r = x.double().norm(dim=1)
    se = 0.1 / math.sqrt(len(r))
    assert abs(float(r.mean()) - 1.0) < 4 * se
    assert abs(float(r.std()) - 0.1) < 0.005
    assert torch.allclose(tangent.norm(dim=1), torch.ones(len(x)), atol=1e-6)
    assert float((tangent * x).sum(1).abs().max()) < 1e-5   # tangent is perpendicular to x
    assert torch.allclose(tangent, c.tangent(x), atol=1e-5)
    assert angular_coverage(x) == 1.0


def test_sampling_is_deterministic_under_a_seeded_generator():
    c = Circle()
    a = c.sample(100, torch.Generator().manual_seed(7))
    b = c.sample(100, torch.Generator().manual_seed(7))
    d = c.sample(100, torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], d[0])


def test_truncation_keeps_every_radius_positive():
    x, _ = Circle(radius=0.1, noise_std=0.2).sample(5000, torch.Generator().manual_seed(0))
    assert len(x) == 5000 and bool((x.norm(dim=1) > 0).all())


def test_distance_and_band():
    c = Circle(radius=2.0, noise_std=0.1)
    x = torch.tensor([[2.5, 0.0], [0.0, -1.0], [0.0, 2.0]])
    assert torch.allclose(c.distance(x), torch.tensor([0.5, 1.0, 0.0]))
    b = band(c, 500, 0.1, 0.3, torch.Generator().manual_seed(0))
    d = c.distance(b)
    assert bool(((d >= 0.1 - 1e-6) & (d < 0.3 + 1e-6)).all())
    assert 0.3 < float((b.norm(dim=1) > 2.0).float().mean()) < 0.7     # both sides


def test_denoiser_matches_brute_force_quadrature():
    """E[x0 | x0 + sigma e = x] by the 1-D Bessel form vs a 2-D polar-grid posterior mean."""
    c, sigma = Circle(1.0, 0.05), 0.1
    rho = torch.linspace(1e-4, 2.2, 1500, dtype=torch.float64)
    th = torch.arange(1440, dtype=torch.float64) * 2 * math.pi / 1440
    Y = (rho[:, None, None] * torch.stack([th.cos(), th.sin()], -1)[None]).reshape(-1, 2)
    logw = (-0.5 * ((rho - 1.0) / 0.05) ** 2)[:, None].expand(1500, 1440).reshape(-1)
    x = band(c, 12, 0.02, 0.6, torch.Generator().manual_seed(5)).double()
    logk = -0.5 * ((x[:, None] - Y[None]) ** 2).sum(-1) / sigma ** 2 + logw
    brute = torch.softmax(logk, 1) @ Y                                 # (12, 2)
    assert torch.allclose(c.denoiser(x, sigma), brute, atol=1e-9)


@pytest.mark.parametrize("sigma", [0.1, 0.05, 0.025])
def test_smoothed_approximates_the_exact_tweedie_score(sigma):
    c = Circle(1.0, 0.05)
    g = torch.Generator().manual_seed(1)
    for lo, hi in ((0.05, 0.25), (0.4, 0.7)):
        x = band(c, 200, lo, hi, g).double()
        exact = c.denoiser(x, sigma) - x                      # sigma^2 grad log p_sigma
        cos, rel = agreement(sigma ** 2 * c.smoothed(sigma).score(x), exact)
        assert float(cos.min()) > 0.999
        assert float(rel.median()) < 0.05, (sigma, lo, float(rel.median()))


def test_tweedie_score_tends_to_the_score_as_sigma_shrinks():
    c = Circle(1.0, 0.05)
    x = band(c, 200, 0.05, 0.25, torch.Generator().manual_seed(3)).double()
    errs = []
    for sigma in (0.05, 0.02, 0.005):
        _, rel = agreement((c.denoiser(x, sigma) - x) / sigma ** 2, c.score(x))
        errs.append(float(rel.median()))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.02, errs
    with pytest.raises(ValueError, match="sigma"):
        c.denoiser(x, 0.0)


def test_ratio_and_angle_are_scale_free_and_right():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    t = Circle().tangent(x)                                   # (0, 1) and (-1, 0)
    n = x / x.norm(dim=1, keepdim=True)
    tangent_only = torch.einsum("bi,bj->bij", t, t)           # J = t t^T: blind to the normal
    assert torch.allclose(normal_tangent_ratio(tangent_only, x, t), torch.zeros(2))
    assert torch.allclose(tangent_angle(tangent_only, t), torch.zeros(2), atol=1e-3)
    J = 3 * tangent_only + 0.5 * torch.einsum("bi,bj->bij", n, n)   # (B, 2, 2)
    for c in (1e-3, 1.0, 50.0):
        assert torch.allclose(normal_tangent_ratio(c * J, x, t), torch.full((2,), 0.5 / 3))
    normal_only = torch.einsum("bi,bj->bij", n, n)
    assert torch.allclose(tangent_angle(normal_only, t), torch.full((2,), 90.0), atol=1e-3)


def test_angular_coverage():
    four = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    assert angular_coverage(four, n_bins=4) == 1.0
    assert angular_coverage(four[:1].repeat(10, 1)) == pytest.approx(1 / 36)


@pytest.mark.parametrize("bad", [dict(radius=-1.0), dict(noise_std=0.0),
                                 dict(noise_std=float("nan")), dict(radius="1")])
def test_circle_rejects_bad_parameters(bad):
    with pytest.raises(ValueError):
        Circle(**bad)


def test_clear_errors_for_bad_points():
    c = Circle()
    with pytest.raises(ValueError, match=r"shape \(B, 2\)"):
        c.score(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="positive int"):
        c.sample(-3)
    with pytest.raises(ValueError, match="lo < hi < radius"):
        band(c, 10, 0.5, 2.0)


def test_toy_config_validates():
    with pytest.raises(ValueError, match="noise_std"):
        ToyConfig(noise_std=-0.1)
    with pytest.raises(ValueError, match="lam"):
        ToyConfig(lam=-1.0)
    with pytest.raises(ValueError, match="hidden_dims"):
        ToyConfig(hidden_dims=[32])
    assert ToyConfig(lam=0.1).key() != ToyConfig(lam=0.2).key()


def test_toy_trained_caches_reloads_and_is_reproducible(tmp_path):
    cfg = ToyConfig(lam=0.1, epochs=3, decay_epochs=1, n_train=300)
    m1, h1 = toy_trained(cfg, cache_dir=tmp_path / "a")
    assert len(h1.recon) == 4 and all(math.isfinite(v) for v in h1.recon)
    files = list((tmp_path / "a").glob("toy-circle-*.pt"))
    assert len(files) == 1
    m2, _ = toy_trained(cfg, cache_dir=tmp_path / "a")         # from the cache
    m3, _ = toy_trained(cfg, cache_dir=tmp_path / "b")         # trained again
    for a, b, c in zip(m1.state_dict().values(), m2.state_dict().values(),
                       m3.state_dict().values()):
        assert torch.equal(a, b) and torch.equal(a, c)
    files[0].write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="ignoring toy model cache"):
        m4, _ = toy_trained(cfg, cache_dir=tmp_path / "a")
    assert torch.equal(next(iter(m4.state_dict().values())), next(iter(m1.state_dict().values())))
    with pytest.raises(TypeError, match="ToyConfig"):
        toy_trained(cl.TrainConfig())


def test_toy_config_gamma_keys_only_when_set(tmp_path):
    """CAE+H on the circle (gamma > 0) keys the cache; at gamma = 0 every toy keeps the key
    it had before the field existed (this one's file is in every filled cache; its name changed
    only with TOY_VERSION 2, fused Adam)."""
    old = ToyConfig(lam=0.1, seed=0, book_seed=0)
    assert old.filename() == "toy-circle-lam0.1-noise0-s0.0-250f11a4bb646eb9.pt"
    assert ToyConfig(lam=0.1, seed=0, book_seed=0, gamma_noise_std=0.3).key() == old.key()
    h = ToyConfig(lam=0.1, seed=0, book_seed=0, gamma=0.5)
    assert h.key() != old.key() and "-h0.5-" in h.filename()
    assert h.key() != ToyConfig(lam=0.1, seed=0, book_seed=0, gamma=0.5,
                                gamma_noise_std=0.3).key()
    for bad in (dict(gamma=-1.0), dict(gamma_noise_std=0.0)):
        with pytest.raises(ValueError, match="gamma"):
            ToyConfig(**bad)
    small = dict(lam=0.1, epochs=2, decay_epochs=0, n_train=200)
    plain, _ = toy_trained(ToyConfig(**small), cache_dir=tmp_path)
    cae_h, hist = toy_trained(ToyConfig(gamma=1.0, **small), cache_dir=tmp_path)
    assert all(math.isfinite(v) for v in hist.total)
    assert len(list(tmp_path.glob("toy-circle-*.pt"))) == 2
    W0, W1 = (next(iter(m.state_dict().values())) for m in (plain, cae_h))
    assert not torch.equal(W0, W1)               # the CAE+H term changed training


def test_linear_output_model():
    m = cl.ContractiveAutoencoder(2, (8,), 4, output="linear")
    x = torch.tensor([[-3.0, 5.0]])
    x_hat, _ = m(x)
    assert x_hat.shape == (1, 2)
    with torch.no_grad():
        m.decoder[-2].bias.fill_(-7.0)                        # outside (0, 1): no sigmoid
    assert float(m(x)[0].detach().min()) < -1.0
    t = cl.ContractiveAutoencoder(2, (), 4, tied=True, output="linear")
    z = t.encode(x)
    W = t.encoder[0].weight
    assert torch.allclose(t.decode(z), z @ W + t.decoder.biases[0])
    with pytest.raises(ValueError, match="output must be one of"):
        cl.ContractiveAutoencoder(2, (), 4, output="relu")


def test_wasserstein_1d_against_sorted_samples():
    """Independent route: repeat each of u's n values m times and v's m values n times, so
    that both samples have n * m points and the same laws; then W1 is the mean gap between
    the sorted samples (the quantile formula), computed in numpy."""
    import numpy as np
    g = torch.Generator().manual_seed(0)
    for n, m in [(7, 7), (5, 11), (40, 3), (1, 9)]:
        u = torch.randn(n, generator=g, dtype=torch.float64)
        v = 0.5 + 2 * torch.rand(m, generator=g, dtype=torch.float64)
        U, V = np.sort(np.repeat(u.numpy(), m)), np.sort(np.repeat(v.numpy(), n))
        expect = float(np.abs(U - V).mean())
        assert wasserstein_1d(u, v) == pytest.approx(expect, rel=1e-12, abs=1e-15)
        assert wasserstein_1d(v, u) == pytest.approx(expect, rel=1e-12, abs=1e-15)
    u = torch.rand(50, generator=g)
    assert wasserstein_1d(u, u) == 0.0
    assert wasserstein_1d(u, u + 0.25) == pytest.approx(0.25, rel=1e-6)   # a shift
    assert wasserstein_1d(torch.zeros(3), torch.ones(4)) == pytest.approx(1.0)
    for bad in (torch.zeros(0), torch.tensor([0.0, float("nan")])):
        with pytest.raises(ValueError, match="non-empty samples of finite"):
            wasserstein_1d(bad, u)


def test_ring_gains_against_float64_autograd_and_scale_free():
    from cae_lib.toy import ring_gains
    torch.manual_seed(3)
    model = cl.ContractiveAutoencoder(2, (32,), 16, tied=False, output="linear").double()
    t = 2 * math.pi * torch.arange(12, dtype=torch.float64) / 12
    for radius in (0.7, 1.0, 1.3):
        g_n, g_t = ring_gains(model, radius, n_angles=12)                # (12,) each
        for i in (0, 5, 11):
            n = torch.stack([torch.cos(t[i]), torch.sin(t[i])])           # (2,)
            tan = torch.stack([-n[1], n[0]])
            J = torch.autograd.functional.jacobian(
                lambda v: model(v[None])[0][0], radius * n)               # (2, 2)
            assert torch.allclose(g_n[i], n @ J @ n, rtol=1e-10, atol=1e-12)
            assert torch.allclose(g_t[i], tan @ J @ tan, rtol=1e-10, atol=1e-12)
    # a reparametrised code, z -> 5 z with the decoder undoing it, changes nothing
    rescaled = _Rescaled(model, 5.0)
    for a, b in zip(ring_gains(rescaled, 1.1, 8), ring_gains(model, 1.1, 8)):
        assert torch.allclose(a, b, rtol=1e-10)


class _Scale(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, z):
        return self.c * z


class _Rescaled(torch.nn.Module):
    """The same autoencoder with its code multiplied by c and the decoder undoing it."""

    def __init__(self, model, c):
        super().__init__()
        self.input_dim = model.input_dim
        self.encoder = torch.nn.Sequential(model.encoder, _Scale(c))
        self.decoder = torch.nn.Sequential(_Scale(1 / c), model.decoder)

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z), z


def test_ring_gains_reject_bad_input():
    from cae_lib.toy import ring_gains
    model = cl.ContractiveAutoencoder(2, (8,), 4, tied=False, output="linear")
    with pytest.raises(ValueError, match="radius"):
        ring_gains(model, -1.0)
    with pytest.raises(ValueError, match="n_angles"):
        ring_gains(model, 1.0, n_angles=0)


def test_ring_gains_follow_the_models_device_and_return_on_the_cpu():
    from conftest import DEVICE
    from cae_lib.toy import ring_gains
    torch.manual_seed(4)
    model = cl.ContractiveAutoencoder(2, (8,), 4, tied=False, output="linear")
    ref = ring_gains(model, 1.2, 16)                                     # on the CPU
    got = ring_gains(model.to(DEVICE), 1.2, 16)
    for a, b in zip(got, ref):
        assert a.device.type == "cpu" and torch.allclose(a, b, atol=1e-5)
