"""cae_lib.stacked: greedy layer-wise training, and the stacked toys of chapter 5b."""
import pytest
import torch
from torch import nn

import cae_lib as cl
from cae_lib import stacked
from cae_lib.toy import ToyConfig, toy_trained


def small(hidden=(6,), latent=3, output="linear", seed=0):
    torch.manual_seed(seed)
    return stacked.sigmoid_inside(cl.ContractiveAutoencoder(4, hidden, latent, tied=False,
                                                            output=output))


def test_layers_share_the_models_weights_and_compose_to_it():
    m = small(hidden=(6, 5))
    low, mid, high = stacked.layers(m)
    assert [(l.input_dim, l.latent_dim) for l in (low, mid, high)] == [(4, 6), (6, 5), (5, 3)]
    x = torch.randn(7, 4)
    with torch.no_grad():
        z = high.encoder(mid.encoder(low.encoder(x)))                    # f = f2 o f1 o f0
        x_hat = low.decoder(mid.decoder(high.decoder(z)))                # g = g0 o g1 o g2
        assert torch.allclose(z, m.encoder(x)) and torch.allclose(x_hat, m(x)[0])
        low.encoder[0].weight.add_(1.0)                                  # shared, not copied
    assert torch.equal(low.encoder[0].weight, m.encoder[0].weight)
    assert isinstance(low.decoder[1], nn.Identity)                       # the model's output
    assert all(isinstance(l.decoder[1], nn.Sigmoid) for l in (mid, high))


def test_train_layerwise_is_greedy():
    """Layer 0 trains exactly as a one-layer CAE alone would, and is frozen afterwards; layer 1
    trains on layer 0's codes of x with the penalty on its own Jacobian."""
    x = torch.rand(64, 4)
    m = small()
    ref = small()                                        # the same initial weights
    hist = stacked.train_layerwise(m, x, lam=0.3, schedule=((3, 1e-2),), batch_size=16,
                                   seed=5)
    assert len(hist.recon) == 6                          # 3 epochs per layer, 2 layers
    low_ref = stacked.layers(ref)[0]
    cl.train(low_ref, x, lam=0.3, epochs=3, batch_size=16, lr=1e-2, seed=5, device="cpu",
             progress=False)
    for a, b in zip(stacked.layers(m)[0].parameters(), low_ref.parameters()):
        assert torch.equal(a, b)
    high_ref = stacked.layers(ref)[1]
    with torch.no_grad():
        h = low_ref.encoder(x)                           # (64, 6)
    cl.train(high_ref, h, lam=0.3, epochs=3, batch_size=16, lr=1e-2, seed=1005, device="cpu",
             progress=False)
    for a, b in zip(m.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def test_train_layerwise_rejects_what_it_cannot_stack():
    x = torch.rand(8, 4)
    with pytest.raises(TypeError, match="untied"):
        stacked.train_layerwise(cl.ContractiveAutoencoder(4, (6,), 3, tied=True), x)
    plain = cl.ContractiveAutoencoder(4, (6,), 3, tied=False)           # ReLU inside
    with pytest.raises(TypeError, match="sigmoid_inside"):
        stacked.train_layerwise(plain, x)


def test_stacked_toy_config_keys_and_validates(tmp_path):
    base = ToyConfig(n_train=100, epochs=2, decay_epochs=1)
    stack = ToyConfig(n_train=100, epochs=2, decay_epochs=1, stacked=True)
    assert "stacked" not in base.identity() and stack.identity()["stacked"] is True
    assert base.key() != stack.key() and "-stacked" in stack.filename()
    for bad in (dict(tied=True), dict(hidden_dims=()), dict(noise_std=0.1), dict(gamma=1.0)):
        with pytest.raises(ValueError, match="stacked"):
            ToyConfig(stacked=True, **bad)
    with pytest.raises(ValueError, match="stacked"):
        ToyConfig(stacked=1)
    m, hist = toy_trained(stack, cache_dir=tmp_path)
    assert isinstance(m.decoder[1], nn.Sigmoid) and len(hist.recon) == 2 * 3
    again, _ = toy_trained(stack, cache_dir=tmp_path)                  # from the cache
    for a, b in zip(m.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_check_relative_error_accepts_the_answer_which_scores_the_mean_code_one():
    def relative_error(h_hat, h):
        return (h_hat - h).pow(2).mean() / h.var(0, unbiased=False).mean()

    assert cl.checks.check_relative_error(relative_error, verbose=False)
    h = torch.rand(30, 5, dtype=torch.float64)
    assert torch.isclose(relative_error(h.mean(0).expand_as(h), h),
                         torch.tensor(1.0, dtype=torch.float64))


def test_the_stacked_pilot_builds_the_deep_stack_with_the_library():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parents[1] / "benchmarks" / "stacked_pilot.py"
    spec = importlib.util.spec_from_file_location("stacked_pilot", path)
    pilot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pilot)
    x = torch.rand(64, 784)
    m = pilot.stacked(x, 0.1, 0, epochs=1)
    assert m.encoder(x).shape == (64, 64) and m(x)[0].shape == (64, 784)
    assert [type(a).__name__ for a in m.decoder[1::2]] == ["Sigmoid"] * 3
