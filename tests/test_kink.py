"""cl.kink_distance: how far an input is from the nearest ReLU kink of the decoder."""
import torch

import cae_lib as cl
from cae_lib.denoising import kink_distance


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return cl.ContractiveAutoencoder(input_dim=12, hidden_dims=(7, 5), latent_dim=3,
                                     **kw).double()


def _pre_activations(model, x):
    """Every decoder ReLU unit's pre-activation, (units,), for one input (d,)."""
    layers, out, h = list(model.decoder.children()), [], model.encoder(x)
    for m in layers:
        if isinstance(m, torch.nn.ReLU):
            out.append(h)
        h = m(h)
    return torch.cat(out)


def test_kink_distance_against_float64_autograd_brute_force():
    model = _model()
    x = torch.rand(4, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    got = kink_distance(model, x)
    for b in range(len(x)):
        a = _pre_activations(model, x[b]).detach()                       # (units,)
        J = torch.autograd.functional.jacobian(lambda v: _pre_activations(model, v), x[b])
        want = (a.abs() / J.norm(dim=1)).min()
        torch.testing.assert_close(got[b], want, rtol=1e-12, atol=0)


def test_no_relu_no_kink_and_bad_input_is_named():
    tied = _model(tied=True)
    x = torch.rand(3, 12, dtype=torch.float64)
    assert torch.isinf(kink_distance(tied, x)).all()
    try:
        kink_distance(tied, torch.rand(3, 5))
    except ValueError as err:
        assert "shape (B, 12)" in str(err)
    else:
        raise AssertionError("a wrong shape must raise")
