"""Relative sensitivity, code spread, decoder gain, the tied model, the BCE loss and the
fair-comparison helpers (issue: contraction measured right)."""
import math

import pytest
import torch
from torch import nn

import cae_lib as cl
from cae_lib.evaluation import Scores
from conftest import DEVICE, batch, cpu_copy, make


@pytest.mark.parametrize("c", [1e-3, 0.1, 7.0])
def test_relative_sensitivity_is_unchanged_by_code_scale(c):
    m = make("default", torch.float64)
    x = batch(m, n=64, dtype=torch.float64)
    cheat = cl.scale_code(m, c)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    raw1 = cl.sensitivity(m, x, generator=torch.Generator().manual_seed(3))
    raw2 = cl.sensitivity(cheat, x, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(raw2, c * raw1, rtol=1e-10)                   # raw: scales with c
    rel1 = cl.relative_sensitivity(m, x, generator=g1)
    rel2 = cl.relative_sensitivity(cheat, x, generator=g2)
    assert torch.allclose(rel1, rel2, rtol=1e-10)                       # relative: does not
    xd = x.to(DEVICE)
    assert torch.allclose(cheat(xd)[0], m(xd)[0])                       # same reconstruction
    pen = cl.jacobian_penalty(cheat, x, method="autograd")
    assert float(pen.detach()) == pytest.approx(
        c ** 2 * float(cl.jacobian_penalty(m, x).detach()), rel=1e-9)
    assert cl.code_spread(cheat, x) == pytest.approx(c * cl.code_spread(m, x), rel=1e-9)
    assert cl.decoder_gain(cheat, x) == pytest.approx(cl.decoder_gain(m, x) / c, rel=1e-6)


def test_relative_sensitivity_definition_by_hand():
    m = make("odd", torch.float64)
    x = batch(m, n=10, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    rel = cl.relative_sensitivity(m, x, noise_std=0.05, generator=g)
    g = torch.Generator().manual_seed(0)
    e = 0.05 * torch.randn(x.shape, generator=g).double()   # drawn as the library does
    perm = torch.randperm(10, generator=g)
    f = cpu_copy(m).encoder                                  # the reference, on the CPU
    local = (f(x + e) - f(x)).norm(dim=1) / e.norm(dim=1)
    keep = perm != torch.arange(10)
    pair = (f(x) - f(x[perm])).norm(dim=1)[keep] / (x - x[perm]).norm(dim=1)[keep]
    assert torch.allclose(rel, (local / pair.median()).detach())


def test_relative_sensitivity_bad_input():
    m = make("odd")
    with pytest.raises(ValueError, match="at least 2"):
        cl.relative_sensitivity(m, batch(m, n=1))
    with pytest.raises(ValueError, match="distinct"):
        cl.relative_sensitivity(m, batch(m, n=1).repeat(5, 1))
    with pytest.raises(ValueError, match="noise_std"):
        cl.relative_sensitivity(m, batch(m), noise_std=0)
    with pytest.raises(ValueError, match=r"\(B, 37\)"):
        cl.relative_sensitivity(m, torch.rand(4, 5))


def test_zero_noise_sensitivity_is_the_linearised_ratio():
    m = make("default", torch.float64)
    x = batch(m, n=5, dtype=torch.float64)
    s0 = cl.sensitivity(m, x, noise_std=0, generator=torch.Generator().manual_seed(1))
    s1 = cl.sensitivity(m, x, noise_std=1e-7, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(s0, s1, rtol=1e-5)
    u = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).double()
    J = cl.encoder_jacobian(m, x)                                       # (B, k, d)
    by_hand = (J @ u[:, :, None]).squeeze(-1).norm(dim=1) / u.norm(dim=1)
    assert torch.allclose(s0, by_hand.detach())


def test_decoder_gain_is_the_top_singular_value_of_the_decoder_jacobian():
    for m in [make("default", torch.float64),
              cl.ContractiveAutoencoder(hidden_dims=(), latent_dim=30, tied=True).double()]:
        x = batch(m, n=7, dtype=torch.float64)
        z = m.encoder(x.to(m.encoder[0].weight.device))
        J = torch.func.vmap(torch.func.jacrev(m.decoder))(z).detach()   # (B, d, k)
        exact = torch.linalg.svdvals(J)[:, 0].median()
        assert cl.decoder_gain(m, x) == pytest.approx(float(exact), rel=2e-3)
    with pytest.raises(TypeError, match="decoder"):
        cl.decoder_gain(nn.Linear(3, 3), torch.rand(2, 3))
    with pytest.raises(ValueError, match="at least 2"):
        cl.code_spread(m, batch(m, n=1))


def test_relative_sensitivity_is_not_invariant_to_per_unit_scaling():
    """The documented limit: rescaling code units separately changes rho."""
    m = make("default", torch.float64)
    x = batch(m, n=64, dtype=torch.float64)

    class PerUnit(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_dim, self.latent_dim = m.input_dim, m.latent_dim
            self.encoder = nn.Sequential(m.encoder, Diag())

    class Diag(nn.Module):
        def forward(self, z):
            return z * torch.linspace(0.1, 10, z.shape[1], dtype=z.dtype, device=z.device)

    rel = lambda mm: cl.relative_sensitivity(mm, x, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(rel(m), rel(PerUnit()), rtol=1e-3)


def test_relative_median_se_and_pair_scale():
    m = make("default", torch.float64)
    x = batch(m, n=200, dtype=torch.float64)
    med, se = cl.relative_median_se(m, x, generator=torch.Generator().manual_seed(2))
    rel = cl.relative_sensitivity(m, x, generator=torch.Generator().manual_seed(2))
    assert med == pytest.approx(float(rel.median()), rel=1e-12) and 0 < se < 0.2 * med
    raw = cl.sensitivity(m, x, generator=torch.Generator().manual_seed(2))
    scale = cl.pair_scale(m, x, torch.Generator().manual_seed(2))
    assert torch.allclose(raw / scale, rel, rtol=1e-10)      # the same draws, the same scale


# ---- the tied model -------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", [(), (9, 5)])
def test_tied_decoder_is_the_transposed_encoder(hidden):
    torch.manual_seed(0)
    m = cl.ContractiveAutoencoder(input_dim=13, hidden_dims=hidden, latent_dim=4, tied=True).double()
    x = torch.rand(6, 13, dtype=torch.float64)
    Ws = [l.weight for l in m.encoder if isinstance(l, nn.Linear)]
    h = m.encoder(x)
    for W, c in zip(reversed(Ws), m.decoder.biases):
        h = torch.sigmoid(h @ W + c)
    assert torch.allclose(m(x)[0], h)
    names = [n for n, _ in m.named_parameters()]
    assert not any(n.startswith("decoder.") and "weight" in n for n in names)   # no own weights
    n_params = sum(W.numel() + W.shape[0] + W.shape[1] for W in Ws)   # W_l, b_l, c_l
    assert sum(p.numel() for p in m.parameters()) == n_params


def test_tied_gradients_match_float64_autograd_by_hand():
    torch.manual_seed(1)
    m = cl.ContractiveAutoencoder(input_dim=11, hidden_dims=(7,), latent_dim=3, tied=True).double()
    x = torch.rand(5, 11, dtype=torch.float64)
    loss = cl.reconstruction_loss(m(x)[0], x, "bce") + 0.3 * cl.jacobian_penalty(m, x)
    grads = torch.autograd.grad(loss, list(m.parameters()))
    # the same function written from scratch with explicit tensors
    W1, b1, W2, b2, c2, c1 = [p.detach().clone().requires_grad_() for p in m.parameters()]
    h1 = torch.sigmoid(x @ W1.T + b1)
    z = torch.sigmoid(h1 @ W2.T + b2)
    x_hat = torch.sigmoid(torch.sigmoid(z @ W2 + c2) @ W1 + c1)
    bce = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).mean()
    J = torch.func.vmap(torch.func.jacrev(
        lambda xi: torch.sigmoid(torch.sigmoid(xi @ W1.T + b1) @ W2.T + b2)))(x)
    ref = torch.autograd.grad(bce + 0.3 * J.pow(2).sum() / len(x), [W1, b1, W2, b2, c2, c1])
    for g, r in zip(grads, ref):
        assert torch.allclose(g, r, rtol=1e-9, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda W: cl.reconstruction_loss(torch.sigmoid(torch.sigmoid(x @ W.T) @ W), x, "bce"),
        (torch.rand(4, 11, dtype=torch.float64, requires_grad=True),))


def test_tied_model_trains_caches_and_reloads(tmp_path):
    cfg = cl.TrainConfig(hidden_dims=(), latent_dim=12, tied=True, loss="bce", lam=0.01,
                         epochs=1, n_train=256)
    assert "tied" in cfg.filename() and cfg.key() != cl.TrainConfig(
        hidden_dims=(), latent_dim=12, loss="bce", lam=0.01, epochs=1, n_train=256).key()
    m1, h1 = cl.trained(cfg, cache_dir=tmp_path, progress=False, device="cpu")
    m2, h2 = cl.trained(cfg, cache_dir=tmp_path, progress=False, device="cpu")
    assert h1 == h2 and m2.tied
    x = torch.rand(3, 784)
    assert torch.equal(m1(x)[0], m2(x)[0])
    assert all(math.isfinite(v) for v in h1.recon)


def test_tied_flag_must_be_bool():
    with pytest.raises(ValueError, match="tied"):
        cl.ContractiveAutoencoder(tied="yes")
    with pytest.raises(ValueError, match="tied"):
        cl.TrainConfig(tied=1)


# ---- the loss option ------------------------------------------------------------------------

def test_bce_is_a_pixel_and_sample_mean():
    x = torch.rand(4, 6, dtype=torch.float64)
    x_hat = torch.rand(4, 6, dtype=torch.float64).clamp(0.05, 0.95)
    by_hand = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).sum() / 24
    assert float(cl.reconstruction_loss(x_hat, x, "bce")) == pytest.approx(float(by_hand))
    assert float(cl.reconstruction_loss(x_hat, x, "mse")) == pytest.approx(
        float((x_hat - x).pow(2).sum() / 24))


def test_bce_training_reports_bce_and_total():
    torch.manual_seed(0)
    m = cl.ContractiveAutoencoder(input_dim=20, hidden_dims=(), latent_dim=8, tied=True)
    x = torch.rand(64, 20)
    h = cl.train(m, x, lam=0.5, loss="bce", epochs=3, batch_size=64, lr=1e-2, progress=False)
    for r, p, t in zip(h.recon, h.penalty, h.total):
        assert math.isclose(t, r + 0.5 * p, rel_tol=1e-5)
    assert h.recon[0] > 0.5                                     # a cross-entropy, not an MSE
    assert h.recon[-1] < h.recon[0]


@pytest.mark.parametrize("kw, match", [
    (dict(loss="l1"), r"unknown loss 'l1'.*'mse', 'bce'"),
    (dict(loss="bce", x=2 * torch.rand(8, 20)), r"\[0, 1\].*x.float\(\) / 255"),
    (dict(loss="bce", x=torch.rand(8, 20) - 0.5), r"\[0, 1\]"),
])
def test_loss_bad_input(kw, match):
    x = kw.pop("x", torch.rand(8, 20))
    m = cl.ContractiveAutoencoder(input_dim=20, hidden_dims=(), latent_dim=3)
    with pytest.raises(ValueError, match=match):
        cl.train(m, x, epochs=1, progress=False, **kw)


def test_trainconfig_rejects_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss"):
        cl.TrainConfig(loss="cross-entropy")


# ---- fair comparisons -----------------------------------------------------------------------

def _scores(val, correct):
    c = torch.tensor(correct, dtype=torch.bool)
    return Scores(0, 0, 0, 0, 0, val, float(c.double().mean()), c)


def test_binomial_se():
    assert cl.binomial_se(0.9, 10_000) == pytest.approx(0.003)
    assert cl.binomial_se(1.0, 5) == 0
    with pytest.raises(ValueError, match="accuracy"):
        cl.binomial_se(1.2, 10)
    with pytest.raises(ValueError, match="n must be"):
        cl.binomial_se(0.5, 0)


def test_select_uses_validation_not_test():
    s = {"a": _scores(0.90, [1] * 50 + [0] * 50), "b": _scores(0.80, [1] * 100)}
    assert cl.select(s) == "a"                                   # although b is better on test
    assert cl.select(s, ["b"]) == "b"
    with pytest.raises(ValueError, match="at least one"):
        cl.select(s, [])


def test_verdict_needs_two_standard_errors():
    n = 1000
    a = _scores(0, [1] * 900 + [0] * 100)
    b = _scores(0, [1] * 890 + [0] * 110)                         # 1 point lower
    diff, se = cl.difference(a, b)
    assert diff == pytest.approx(0.01) and se == pytest.approx((0.01 * 0.99 / n) ** 0.5, rel=0.01)
    assert cl.verdict(a, b).startswith("A is better")             # paired: 10 flips, all one way
    mixed = _scores(0, [1] * 880 + [0] * 10 + [1] * 10 + [0] * 100)   # 20 flips, net +-0
    assert cl.verdict(b, mixed).startswith("no measurable difference")


def test_linear_probe_returns_correctness():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(200, 3, generator=g)
    y = (z[:, 0] > 0).long()
    out = {}
    acc = cl.linear_probe(z, y, {"t": (z[:50], y[:50])}, correct=out)
    assert acc["t"] == pytest.approx(float(out["t"].double().mean())) and acc["t"] > 0.9
    assert cl.linear_probe(z, y, z[:50], y[:50]) == acc["t"]


def test_median_se():
    v = torch.randn(4000, generator=torch.Generator().manual_seed(0))
    med, se = cl.median_se(v)
    # the median of N standard normals has s.e. sqrt(pi / 2 / N) = 0.0198
    assert abs(med) < 4 * 0.0198 and 0.014 < se < 0.026


def test_scored_is_cached_and_reused(tmp_path, monkeypatch):
    import cae_lib.evaluation as ev
    g = torch.Generator().manual_seed(0)
    data = ev.ProbeData(torch.rand(300, 784, generator=g), torch.arange(300) % 3,
                        torch.rand(100, 784, generator=g), torch.arange(100) % 3,
                        torch.rand(100, 784, generator=g), torch.arange(100) % 3)
    cfg = cl.TrainConfig(hidden_dims=(), latent_dim=6, epochs=1, n_train=256)
    s1 = ev.scored(cfg, data, cache_dir=tmp_path, device="cpu", progress=False, n_sens=50)
    monkeypatch.setattr(ev, "score", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    s2 = ev.scored(cfg, data, cache_dir=tmp_path, device="cpu", progress=False, n_sens=50)
    assert s1.probe_test == s2.probe_test and torch.equal(s1.correct, s2.correct)
    assert len(s1.correct) == 100 and 0 <= s1.probe_val <= 1
    names = {p.name for p in tmp_path.iterdir()}
    scores_files = [n for n in names if n.startswith(cfg.filename()[:-3] + "-scores-")]
    assert len(names) == 2 and cfg.filename() in names and len(scores_files) == 1
    for p in tmp_path.glob("*-scores-*"):
        p.write_bytes(b"garbage")
    monkeypatch.setattr(ev, "score", lambda *a, **k: s1)
    with pytest.warns(RuntimeWarning, match="ignoring scores file"):
        assert ev.scored(cfg, data, cache_dir=tmp_path, device="cpu", progress=False,
                         n_sens=50) is s1


def test_contraction_measures_are_the_single_functions():
    m = make("default", torch.float64)
    x = batch(m, n=50, dtype=torch.float64)
    c = cl.contraction_measures(m, x, noise_std=0.1, seed=3)
    raw = cl.sensitivity(m, x, 0.1, torch.Generator().manual_seed(3)).median()
    rel = cl.relative_sensitivity(m, x, 0.1, torch.Generator().manual_seed(3)).median()
    assert c["raw"] == pytest.approx(float(raw), rel=1e-6)
    assert c["rel"] == pytest.approx(float(rel), rel=1e-6)
    assert c["spread"] == cl.code_spread(m, x) and c["gain"] == cl.decoder_gain(m, x)
