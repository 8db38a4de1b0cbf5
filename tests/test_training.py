import math

import pytest
import torch
from torch import nn

from cae_lib import ContractiveAutoencoder, History, jacobian_penalty, train
from conftest import DEVICE


def small(seed=0):
    torch.manual_seed(seed)
    return ContractiveAutoencoder(input_dim=20, hidden_dims=(12,), latent_dim=4).to(DEVICE)


def data(n=96, seed=0):
    return torch.rand(n, 20, generator=torch.Generator().manual_seed(seed))


def test_history_has_one_record_per_epoch_and_loss_falls():
    m = small()
    h = train(m, data(), epochs=6, batch_size=16, lr=1e-2, progress=False)
    assert isinstance(h, History)
    assert len(h.recon) == len(h.penalty) == len(h.total) == len(h.seconds) == 6
    assert h.recon[-1] < h.recon[0]
    assert all(s > 0 for s in h.seconds)
    assert not m.training                        # handed back in eval mode


def test_total_is_recon_plus_lam_penalty():
    h = train(small(), data(), lam=0.5, epochs=2, batch_size=32, progress=False)
    for r, p, t in zip(h.recon, h.penalty, h.total):
        assert math.isclose(t, r + 0.5 * p, rel_tol=1e-5)


def test_lam_zero_penalty_is_measured_exactly_at_epoch_end():
    m = small()
    x = data()
    h = train(m, x, epochs=1, progress=False)
    assert math.isclose(h.penalty[-1], float(jacobian_penalty(m, x).detach()), rel_tol=1e-5)


def test_penalty_shrinks_the_jacobian():
    x = data(256)
    plain, cae = small(), small()
    train(plain, x, epochs=15, batch_size=32, lr=1e-2, progress=False)
    train(cae, x, lam=1.0, epochs=15, batch_size=32, lr=1e-2, progress=False)
    assert float(jacobian_penalty(cae, x).detach()) < 0.5 * float(jacobian_penalty(plain, x).detach())


@pytest.mark.parametrize("method", ["autograd", "loop", "hutchinson"])
def test_every_penalty_method_trains(method):
    m = small()
    h = train(m, data(), lam=0.1, penalty=method, epochs=1, batch_size=48, progress=False)
    assert all(math.isfinite(v) for v in h.total)


def test_same_seed_same_model_and_denoising_changes_it():
    a, b, c = small(), small(), small()
    train(a, data(), noise_std=0.3, epochs=2, progress=False, seed=5)
    train(b, data(), noise_std=0.3, epochs=2, progress=False, seed=5)
    train(c, data(), noise_std=0.0, epochs=2, progress=False, seed=5)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("kw, match", [
    (dict(lam=-0.1), "lam"), (dict(lam=float("nan")), "lam"),
    (dict(noise_std=-1.0), "noise_std"), (dict(epochs=-1), "epochs"), (dict(epochs=0), "epochs"),
    (dict(epochs=2.5), "epochs"), (dict(batch_size=0), "batch_size"),
    (dict(batch_size=-8), "batch_size"), (dict(lr=0.0), "lr"),
    (dict(penalty="magic"), "unknown penalty method"),
])
def test_bad_arguments_are_clear_errors(kw, match):
    m = small()
    before = [p.clone() for p in m.parameters()]
    with pytest.raises(ValueError, match=match):
        train(m, data(), progress=False, **kw)
    assert all(torch.equal(p, q) for p, q in zip(before, m.parameters()))


def test_bad_data_is_a_clear_error():
    with pytest.raises(ValueError, match=r"x_train .*\(B, 20\)"):
        train(small(), torch.rand(8, 21), progress=False)
    bad = data()
    bad[3, 4] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        train(small(), bad, progress=False)


def test_analytic_on_non_sigmoid_encoder_fails_before_training():
    m = small()
    m.encoder[1] = nn.ReLU()
    with pytest.raises(TypeError, match="autograd"):
        train(m, data(), lam=0.1, progress=False)
    train(m, data(), lam=0.1, penalty="autograd", epochs=1, progress=False)  # the named fix works


def test_non_finite_loss_stops_and_restores_the_model():
    m = small()
    train(m, data(), epochs=1, progress=False)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 1\b"):
        train(m, data(), lam=1e300, epochs=3, progress=False)   # lam * penalty overflows float32
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(torch.isfinite(p).all() for p in m.parameters())


def test_progress_bar_refreshes_once_per_epoch_not_per_step(monkeypatch):
    # In a notebook each refresh is a few kernel messages; nbval drops messages past ~8000 in one
    # cell and then fails with "Timeout ... waiting for output" (CI run of 2026-11-28). The bar's
    # refresh count must therefore not grow with the number of steps or with the machine's speed.
    import io
    import tqdm.auto
    import tqdm.std
    shown = []

    class Counting(tqdm.std.tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.update(delay=0, mininterval=0, miniters=1, file=io.StringIO())  # every refresh
            super().__init__(*args, **kwargs)

        def display(self, *args, **kwargs):
            shown.append(self.n)
            return super().display(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Counting)
    epochs, steps_per_epoch = 3, 96 // 8
    train(small(), data(), epochs=epochs, batch_size=8, progress=True)
    assert shown and max(shown) == epochs                      # the bar ran and finished
    assert len(shown) <= epochs + 3 < epochs * steps_per_epoch   # start, each epoch, close


@pytest.mark.parametrize("method", ["analytic", "loop", "hutchinson"])
def test_step_reuses_the_penalty_pass_without_changing_gradients(method):
    # The training step takes z from the penalty's own encoder pass; the parameter gradients
    # must equal those of a separate encoder pass for the decoder.
    from cae_lib.training import _penalty_fn
    m, x = small(), data(32).to(DEVICE)        # inside train the batch is on the device
    grads = []
    for shared in (True, False):
        gen = torch.Generator().manual_seed(3)
        pen, z = _penalty_fn(m, method, generator=gen)(x, x)
        if not shared:
            z = m.encoder(x)
        m.zero_grad()
        (torch.nn.functional.mse_loss(m.decoder(z), x) + 0.1 * pen).backward()
        grads.append([p.grad.clone() for p in m.parameters()])
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-7) for a, b in zip(*grads))
