"""The device rule of cae_lib.device (issue 21), and a compile-friendly training step.

A machine without a GPU still checks the rule: torch's `meta` device (shapes only, no data)
plays the second device. A model is moved there and every helper is called with a CPU batch,
as a user with a model on CUDA calls them; before the rule each one raised "Tensor on device
meta is not on the expected device cpu" (on CUDA: "Expected all tensors to be on the same
device"). On meta nothing can be read back as a number, so helpers that return floats (the
probe scores, code_spread, decoder_gain) are checked on the real test device instead
(CAE_TEST_DEVICE=cuda make unit).
"""
import pytest
import torch
import torch.nn.functional as F

import cae_lib as cl
from cae_lib import evaluation, geometry, sampling
from cae_lib.device import check_device, default_device, model_device, to_caller
from conftest import DEVICE, batch, make

META = torch.device("meta")


def on_meta(arch="odd", dtype=torch.float32):
    return make(arch, dtype).to(META)


# every helper that takes (model, x): name -> call(model, x, cpu_generator) -> tensor(s)
HELPERS = {
    **{f"jacobian_penalty[{m}]": (lambda m_: lambda model, x, g: cl.jacobian_penalty(
        model, x, m_, generator=g))(m) for m in cl.METHODS},
    "jacobian_norms": lambda model, x, g: cl.jacobian_norms(model, x),
    "encoder_jacobian": lambda model, x, g: cl.encoder_jacobian(model, x),
    "source_shortcut_penalty": lambda model, x, g: cl.source_shortcut_penalty(model, x),
    "sensitivity": lambda model, x, g: cl.sensitivity(model, x, 0.1, generator=g),
    "sensitivity[jvp]": lambda model, x, g: cl.sensitivity(model, x, 0.0, generator=g),
    "relative_sensitivity": lambda model, x, g: cl.relative_sensitivity(model, x, 0.1, g),
    "contraction_curve": lambda model, x, g: cl.contraction_curve(model, x, [0.1, 1.0], g),
    "reconstruction_jacobian_norms": lambda model, x, g: cl.reconstruction_jacobian_norms(
        model, x),
    "reconstruction_jacobian_penalty": lambda model, x, g: cl.reconstruction_jacobian_penalty(
        model, x),
    "residual_laplacian_term": lambda model, x, g: cl.residual_laplacian_term(model, x[:2]),
    "noisy_excess_loss": lambda model, x, g: cl.noisy_excess_loss(model, x, 0.1, 3, g)[0],
    "small_noise_dae_loss": lambda model, x, g: cl.small_noise_dae_loss(model, x[:2], 0.1),
    "sample_chain[cae]": lambda model, x, g: cl.sample_chain(model, x, 2, 0.1, g),
    "sample_chain[dae]": lambda model, x, g: cl.sample_chain(model, x, 2, 0.1, g, "dae"),
    "cae_step": lambda model, x, g: sampling.cae_step(model, x, 0.1, g),
    "jacobian_svd": lambda model, x, g: geometry.jacobian_svd(model, x)[1],
    "singular_values": lambda model, x, g: cl.singular_values(model, x, chunk=2),
    "probe codes": lambda model, x, g: evaluation._encode(model, x, chunk=2),
}
# the results that join a loss stay on the model's device; the rest come back to x's
ON_MODEL = {k for k in HELPERS if "penalty" in k or k == "probe codes"}
# The ops under these have no meta kernel in some torch versions: skipped there, not failed.
NO_META_KERNEL = ("linalg_svd", "svd", "meta tensors", "NotImplementedError")


@pytest.mark.parametrize("name", list(HELPERS))
def test_every_helper_follows_the_models_device(name):
    model = on_meta()
    x = batch(model, n=4)                                  # on the CPU, like a user's data
    try:
        out = HELPERS[name](model, x, torch.Generator().manual_seed(0))  # a CPU generator
    except (NotImplementedError, RuntimeError) as err:
        if "device" in str(err) or not any(s in str(err) for s in NO_META_KERNEL):
            raise
        pytest.skip(f"torch {torch.__version__} has no meta kernel here: {err}")
    assert out.device == META                  # computed where the model is; meta stays meta


@pytest.mark.parametrize("name", list(HELPERS))
def test_every_helper_returns_where_its_docstring_says(name):
    model = make("odd").to(DEVICE)
    x = batch(model, n=4)
    out = HELPERS[name](model, x, torch.Generator().manual_seed(0))
    want = DEVICE if name in ON_MODEL else x.device
    assert out.device.type == want.type


def test_a_cpu_generator_gives_the_same_draws_wherever_the_model_is():
    model, x = make("odd"), batch(make("odd"), n=5)
    here = cl.sensitivity(model, x, 0.1, generator=torch.Generator().manual_seed(4))
    cpu = cl.sensitivity(model.cpu(), x, 0.1, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(here, cpu, rtol=1e-4, atol=1e-6)


def test_float_helpers_and_probe_scores_take_a_cpu_batch():
    model = make("odd").to(DEVICE)
    x = batch(model, n=40)
    assert cl.code_spread(model, x) > 0 and cl.decoder_gain(model, x, n_iter=5) > 0
    assert cl.pair_scale(model, x, torch.Generator().manual_seed(0)) > 0
    m = evaluation.contraction_measures(model, x)
    assert set(m) == {"raw", "rel", "spread", "gain"} and all(v > 0 for v in m.values())


def test_train_leaves_the_model_where_it_says():
    x = batch(make("odd"), n=16)
    m = make("odd").cpu()
    cl.train(m, x, epochs=1, progress=False)
    # CAE_DEVICE, set by conftest; compared by type: "cuda" puts tensors on "cuda:0"
    assert model_device(m).type == default_device().type == DEVICE.type
    cl.train(m, x, epochs=1, progress=False, device="cpu")
    assert model_device(m).type == "cpu"
    m.to(DEVICE)
    assert float(cl.jacobian_penalty(m, x).detach()) > 0     # then a CPU batch still works


def test_device_names_are_checked(monkeypatch):
    with pytest.raises(RuntimeError, match="CAE_DEVICE='nonsense' is not a device name"):
        check_device("nonsense", "CAE_DEVICE")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"no such device .*Unset CAE_DEVICE"):
            check_device("cuda", "CAE_DEVICE")
        monkeypatch.setenv("CAE_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="CAE_DEVICE='cuda'"):
            default_device()
    monkeypatch.setenv("CAE_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")
    with pytest.raises(RuntimeError, match=r"device='cuda:7'.*no such device"):
        cl.train(make("odd"), batch(make("odd")), device="cuda:7", progress=False)


def test_to_caller_keeps_meta_and_moves_the_rest():
    t = torch.zeros(2)
    assert to_caller(t, torch.zeros(1)) is t
    assert to_caller(t.to(META), t).device == META


# --- a compile-friendly step --------------------------------------------------------------
def _dynamo_problem():
    try:
        import torch._dynamo as dynamo
        if hasattr(dynamo, "is_dynamo_supported") and not dynamo.is_dynamo_supported():
            return f"torch.compile is not supported with this Python (torch {torch.__version__})"
    except Exception as err:            # an old or partial torch
        return f"torch._dynamo cannot be imported: {err}"
    return None


@pytest.mark.skipif(_dynamo_problem() is not None, reason=str(_dynamo_problem()))
@pytest.mark.parametrize("arch", ["one_layer", "odd"])
def test_a_step_with_the_penalty_compiles_without_a_graph_break(arch):
    # fullgraph=True makes any graph break an error. Graph breaks are found by Dynamo, the
    # tracer, whatever the backend; "aot_eager" also traces the backward (the hand-written
    # autograd Function of the deep closed form included) and needs no C compiler, so the
    # test stays cheap (inductor would build C++ kernels here: about 20 to 50 s on 2 cores).
    # Before issue 21 check_batch's bool(torch.isfinite(x).all()) broke the graph here.
    model, x = make(arch), batch(make(arch), n=8).to(DEVICE)

    def step(model, x):
        x_hat, z = model(x)                                  # the plain part
        return F.mse_loss(x_hat, x) + 0.1 * cl.jacobian_penalty(model, x)

    torch._dynamo.reset()
    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    loss = compiled(model, x)
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    eager = step(model, x)
    eager.backward()
    assert torch.allclose(loss, eager, rtol=1e-5)
    assert all(torch.allclose(a, p.grad, rtol=1e-4, atol=1e-7)
               for a, p in zip(grads, model.parameters()))
    with pytest.raises(ValueError, match="NaN or infinite"):  # eager still scans the values
        cl.jacobian_penalty(model, torch.full_like(x, float("nan")))
