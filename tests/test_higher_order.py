"""cae_h_penalty / jacobian_change (CAE+H), tangents and tangent_prop_penalty against float64
torch.func brute force."""
import pytest
import torch
from torch import nn
from torch.func import jacrev, vmap

import cae_lib as cl
from cae_lib.higher_order import jacobian_change
from conftest import batch, cpu_copy, make


class _Encoded(nn.Module):
    """A model with any encoder (the library reads model.encoder)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder


def _brute_change(m, x, eps):
    """(1/(nB)) sum ||J(x) - J(x + eps_c)||_F^2 from full float64 Jacobians (B, k, d)."""
    J = lambda v: vmap(jacrev(m.encoder))(v)                 # noqa: E731, (B, k, d)
    J0 = J(x)
    return sum((J0 - J(x + e)).pow(2).sum() for e in eps) / (len(eps) * x.shape[0])


def test_jacobian_change_matches_float64_brute_force_with_its_gradient(arch):
    m = cpu_copy(make(arch, dtype=torch.float64))
    x = batch(m, dtype=torch.float64)
    eps = 0.3 * torch.randn(3, *x.shape, generator=torch.Generator().manual_seed(2),
                            dtype=torch.float64)
    got = jacobian_change(m, x, eps)
    grads = torch.autograd.grad(got, list(m.encoder.parameters()))
    ref = _brute_change(m, x, eps)
    ref_grads = torch.autograd.grad(ref, list(m.encoder.parameters()))
    assert ref > 0
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=0)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-12)


def test_float32_closed_form_is_within_rounding_of_float64(arch):
    m = make(arch)
    x = batch(m)
    eps = 0.2 * torch.randn(2, *x.shape, generator=torch.Generator().manual_seed(3))
    m64 = cpu_copy(m).double()
    ref = _brute_change(m64, x.double(), eps.double())
    torch.testing.assert_close(jacobian_change(m, x, eps).cpu().double(), ref, rtol=1e-4,
                               atol=0)


def test_any_encoder_falls_back_to_torch_func():
    torch.manual_seed(0)
    m = _Encoded(nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    eps = 0.5 * torch.randn(2, 4, 5, dtype=torch.float64)
    J = lambda v: vmap(jacrev(m.encoder))(v)                  # noqa: E731
    ref = sum((J(x) - J(x + e)).pow(2).sum() for e in eps) / 8
    torch.testing.assert_close(jacobian_change(m, x, eps), ref, rtol=1e-10, atol=0)


def test_cae_h_penalty_draws_as_documented_and_is_reproducible():
    m = make("one_layer")
    x = batch(m)
    p1 = cl.cae_h_penalty(m, x, 0.1, n_corruptions=3,
                          generator=torch.Generator().manual_seed(5))
    p2 = cl.cae_h_penalty(m, x, 0.1, n_corruptions=3,
                          generator=torch.Generator().manual_seed(5))
    eps = 0.1 * torch.randn(3, *x.shape, generator=torch.Generator().manual_seed(5))
    assert p1.device == next(m.parameters()).device
    torch.testing.assert_close(p1, p2, rtol=0, atol=0)
    torch.testing.assert_close(p1, jacobian_change(m, x, eps))


def test_small_noise_limit_is_the_hessian_norm_and_linear_encoders_give_zero():
    """cae_h / noise_std^2 -> mean_b ||d J / d x||_F^2 (the encoder's Hessian), which is 0 for
    a linear encoder."""
    m = cpu_copy(make("odd", dtype=torch.float64))
    x = batch(m, n=3, dtype=torch.float64)
    H = vmap(jacrev(jacrev(m.encoder)))(x)                   # (B, k, d, d)
    ref = H.pow(2).sum() / x.shape[0]
    s = 1e-4
    est = cl.cae_h_penalty(m, x, s, n_corruptions=4000,
                           generator=torch.Generator().manual_seed(0)) / s ** 2
    assert abs(est / ref - 1) < 0.1                         # Monte Carlo over 4000 draws
    lin = _Encoded(nn.Sequential(nn.Linear(6, 3))).double()
    zero = cl.cae_h_penalty(lin, torch.rand(4, 6, dtype=torch.float64), 1.0)
    assert float(zero.detach()) < 1e-25


def test_cae_h_bad_input_is_a_clear_error():
    m = make("one_layer")
    x = batch(m)
    with pytest.raises(ValueError, match="noise_std"):
        cl.cae_h_penalty(m, x, 0.0)
    with pytest.raises(ValueError, match="n_corruptions"):
        cl.cae_h_penalty(m, x, 0.1, n_corruptions=0)
    with pytest.raises(ValueError, match=r"eps must have shape \(n, B, d\)"):
        jacobian_change(m, x, torch.zeros(2, 3, 3))


def test_tangents_are_the_top_right_singular_vectors(arch):
    m = make(arch)
    x = batch(m, n=4)
    k = 3
    T = cl.tangents(m, x, k)
    assert T.shape == (4, k, m.input_dim) and T.device == x.device
    torch.testing.assert_close(T @ T.transpose(1, 2), torch.eye(k).expand(4, k, k),
                               atol=1e-5, rtol=0)                  # orthonormal rows
    J = vmap(jacrev(cpu_copy(m).double().encoder))(x.double())      # (B, code, d)
    S = torch.linalg.svdvals(J)                                     # (B, r)
    gains = (J @ T.double().transpose(1, 2)).norm(dim=1)           # ||J t_i||, (B, k)
    torch.testing.assert_close(gains, S[:, :k], rtol=1e-4, atol=0)
    with pytest.raises(ValueError, match="k = 10000 tangents"):
        cl.tangents(m, x, 10_000)


def test_tangent_prop_penalty_matches_the_full_jacobian_and_trains():
    torch.manual_seed(0)
    clf = nn.Sequential(nn.Linear(7, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    x = torch.randn(4, 7, dtype=torch.float64)
    t = torch.linalg.qr(torch.randn(4, 7, 2, dtype=torch.float64)).Q.transpose(1, 2)  # (4, 2, 7)
    got = cl.tangent_prop_penalty(clf, x, t)
    Jo = vmap(jacrev(clf))(x)                                       # (B, C, d)
    ref = (Jo @ t.transpose(1, 2)).pow(2).sum() / 4
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=0)
    params = list(clf.parameters())[:3]      # the last bias does not move do/dx
    g = torch.autograd.grad(got, params)                            # differentiable
    g_ref = torch.autograd.grad(ref, params)
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match=r"tangents must have shape \(B, k, d\)"):
        cl.tangent_prop_penalty(clf, x, t[:, :, :3])
    with pytest.raises(ValueError, match="finite"):
        cl.tangent_prop_penalty(clf, x * float("nan"), t)


class _Swish(nn.Module):                     # no closed form: the jvp fallback
    def forward(self, a):
        return a * torch.sigmoid(a)


@pytest.mark.parametrize("act", [nn.Sigmoid, nn.Tanh, nn.ReLU, _Swish])
def test_directional_derivatives_match_autograd_for_every_layer_kind(act):
    """The closed form (Linear/Sigmoid/Tanh/ReLU, nested Sequentials) and the jvp fallback
    (any other module) both equal the float64 Jacobian times the tangents."""
    from cae_lib.tangents import _layers, directional_derivatives
    torch.manual_seed(1)
    clf = nn.Sequential(nn.Sequential(nn.Linear(6, 5), act(), nn.Linear(5, 4), act()),
                        nn.Linear(4, 3)).double()
    assert (_layers(clf) is None) == (act is _Swish)
    x = torch.randn(5, 6, dtype=torch.float64)
    t = torch.randn(5, 3, 6, dtype=torch.float64)                   # (B, k, d)
    got = directional_derivatives(clf, x, t)                        # (B, k, C)
    ref = torch.einsum("bcd,bkd->bkc", vmap(jacrev(clf))(x), t)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-14)
    weights = [clf[0][0].weight, clf[0][2].weight]          # (biases move only the slopes)
    g = torch.autograd.grad(got.pow(2).sum(), weights)
    g_ref = torch.autograd.grad(ref.pow(2).sum(), weights)
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_the_new_options_leave_every_earlier_cache_key_as_it_was():
    """gamma, gamma_noise_std and weight_decay at their defaults keep the keys (and files) of
    the models cached before they existed; set, each keys the cache. (epochs=10: these two were
    cached at the budget they had then; the key of a config never depends on a default.)"""
    base = cl.TrainConfig(book_seed=0, epochs=10)
    assert base.filename() == "mnist-lam0-noise0-s0.0-ce7df76a5c21e3f5.pt"
    paper = cl.TrainConfig(hidden_dims=(), latent_dim=1000, tied=True, loss="bce", lam=0.001,
                           book_seed=0, epochs=10)
    assert paper.filename() == "mnist-tied-lam0.001-noise0-s0.0-3a55748ffb3fcadd.pt"
    from dataclasses import replace
    keys = {replace(base, gamma=0.1).key(), replace(base, weight_decay=1e-4).key(),
            replace(base, gamma=0.1, gamma_noise_std=0.3).key(), base.key()}
    assert len(keys) == 4
    assert replace(base, gamma_noise_std=0.3).key() == base.key()   # unread when gamma = 0


def _tiny(seed=0):
    torch.manual_seed(seed)
    return cl.ContractiveAutoencoder(input_dim=20, hidden_dims=(), latent_dim=8)


def test_train_with_gamma_and_weight_decay():
    x = torch.rand(64, 20, generator=torch.Generator().manual_seed(0))
    eps = 0.3 * torch.randn(1, 64, 20, generator=torch.Generator().manual_seed(1))
    runs = {}
    for name, kw in {"plain": {}, "gamma": dict(gamma=50.0, gamma_noise_std=0.3),
                     "wd": dict(weight_decay=0.05)}.items():
        m = _tiny()
        cl.train(m, x, epochs=40, batch_size=16, lr=1e-2, progress=False, device="cpu", **kw)
        runs[name] = m
    with torch.no_grad():
        change = {k: float(jacobian_change(m, x, eps)) for k, m in runs.items()}
        wnorm = {k: float(m.encoder[0].weight.norm()) for k, m in runs.items()}
    assert change["gamma"] < 0.5 * change["plain"], change
    assert wnorm["wd"] < 0.5 * wnorm["plain"], wnorm
    m = _tiny()                                                   # reproducible
    cl.train(m, x, epochs=40, batch_size=16, lr=1e-2, progress=False, device="cpu",
             gamma=50.0, gamma_noise_std=0.3)
    torch.testing.assert_close(m.encoder[0].weight, runs["gamma"].encoder[0].weight,
                               rtol=0, atol=0)
    with pytest.raises(ValueError, match="gamma_noise_std"):
        cl.train(_tiny(), x, epochs=1, progress=False, gamma=1.0, gamma_noise_std=0.0)


def test_weight_decay_is_the_contractive_penalty_of_a_linear_encoder():
    """For z = W x + b, J_f = W at every x: ||J_f||_F^2 = ||W||_F^2, the weight-decay term."""
    torch.manual_seed(0)
    lin = _Encoded(nn.Sequential(nn.Linear(9, 4))).double()
    x = torch.rand(5, 9, dtype=torch.float64)
    pen = cl.jacobian_penalty(lin, x, method="autograd")
    torch.testing.assert_close(pen, lin.encoder[0].weight.pow(2).sum(), rtol=1e-12, atol=0)


def test_a_model_cached_before_the_new_options_still_loads(tmp_path):
    """A file written when TrainConfig had no gamma / weight_decay stored the configuration
    without them: it must load, not be retrained."""
    import json
    from dataclasses import asdict
    from cae_lib.cache import CACHE_VERSION, _load
    cfg = cl.TrainConfig(hidden_dims=(), latent_dim=8, book_seed=0)
    old = {k: v for k, v in asdict(cfg).items()
           if k not in ("gamma", "gamma_noise_std", "weight_decay")}
    model = cl.cache.build_model(cfg)
    payload = {"config": json.dumps(old), "version": CACHE_VERSION,
               "state_dict": model.state_dict(),
               "history": {"recon": [], "penalty": [], "total": [], "seconds": []}}
    loaded, _ = _load(tmp_path / "x.pt", cfg, payload)
    torch.testing.assert_close(loaded.encoder[0].weight, model.encoder[0].weight)
    full = dict(payload, config=json.dumps(asdict(cfg)))         # every field written out
    _load(tmp_path / "x.pt", cfg, full)
    from dataclasses import replace
    with pytest.raises(ValueError, match="another configuration"):
        _load(tmp_path / "x.pt", replace(cfg, gamma=0.1), payload)
