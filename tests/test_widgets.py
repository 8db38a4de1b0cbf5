"""Drive the explorer programmatically on a tiny synthetic sweep (no training, no data)."""
import matplotlib

matplotlib.use("Agg")
import pytest
import torch

from cae_lib import widgets as w
from cae_lib.evaluation import Scores


def fake_sweep():
    g = torch.Generator().manual_seed(0)
    data = w.SweepData(x_show=torch.rand(w.N_SHOW, 784, generator=g))
    for key in w.sweep_configs():
        scale = 1.0 / (1 + 10 * key[1])
        data.recon[key] = torch.rand(w.N_SHOW, 784, generator=g)
        data.test_mse[key] = 0.03 + key[1] / 100
        for probe in w.NOISES:
            data.sens[(key, probe)] = scale * torch.rand(50, generator=g) + 1e-4
        data.spectrum[key] = scale * torch.logspace(0, -6, 64)
        data.scale[key] = scale
        correct = torch.rand(200, generator=g) < 0.9
        data.scores[key] = Scores(data.test_mse[key], 0.1, 0.5, 1.0, 2.0, 0.9,
                                  float(correct.double().mean()), correct)
    return data


def titles(fig):
    return fig._suptitle.get_text() if fig._suptitle else ""


def test_sliders_redraw_the_figure():
    ex = w.Explorer(fake_sweep())
    first, n = titles(ex.fig), ex.renders
    top = w.LAMS[0]                                # the default is 0.1
    ex.lam_slider.value = top
    assert ex.renders == n + 1 and titles(ex.fig) != first and f"lam = {top:g}" in titles(ex.fig)
    ex.mode.value = "dae"
    assert ex.lam_slider.disabled and "DAE" in titles(ex.fig)
    ex.noise_slider.value = 0.5
    assert "noise_std = 0.5" in titles(ex.fig)
    assert len(ex.fig.axes) == 2 * w.N_SHOW + 3
    assert "relative" in titles(ex.fig) and "probe" in titles(ex.fig)


def test_relative_sensitivity_ignores_the_code_scale():
    data = fake_sweep()
    key = ("lam", 0.1)
    before = data.median_rel(key)
    data.sens = {k: (5 * v if k[0] == key else v) for k, v in data.sens.items()}
    data.scale[key] *= 5                       # the same model with its code scaled by 5
    assert abs(data.median_rel(key) - before) < 1e-6


@pytest.mark.parametrize("mode, lam, noise", [("cae", 0.0, 0.0), ("cae", w.LAMS[-1], 0.5),
                                              ("dae", 0.0, 0.0), ("dae", w.LAMS[-1], 0.5)])
def test_extreme_values_raise_nothing(mode, lam, noise):
    ex = w.Explorer(fake_sweep())
    ex.mode.value = mode
    ex.lam_slider.value = lam
    ex.noise_slider.value = noise
    assert ex.fig.axes


def test_bad_mode():
    import matplotlib.pyplot as plt
    with pytest.raises(ValueError, match="mode"):
        w.draw(plt.figure(), fake_sweep(), "vae", 0.1, 0.1)


def test_kernel_free_slider_html():
    html = w.sweep_animation(fake_sweep(), "cae").to_jshtml()
    assert '<input' in html and 'type="range"' in html
    assert html.count("data:image/png;base64") >= len(w.LAMS) or html.count("frames[") >= len(w.LAMS)


def test_sweep_configs_share_the_plain_model():
    cfgs = w.sweep_configs()
    assert cfgs[("lam", 0.0)] == cfgs[("noise", 0.0)]
    assert {c.lam for k, c in cfgs.items() if k[0] == "lam"} == set(w.LAMS)


def test_training_estimate_counts_only_uncached_models(tmp_path, monkeypatch):
    from cae_lib import TrainConfig, trained
    monkeypatch.setenv("CAE_CACHE_DIR", str(tmp_path))
    tiny = TrainConfig(hidden_dims=(8,), latent_dim=4, lam=0.1, epochs=1, n_train=256)
    plain = TrainConfig(hidden_dims=(8,), latent_dim=4, epochs=1, n_train=256)
    assert w.estimate_training_seconds([tiny, plain], device="cpu") > 0   # a real measurement, no timing bound
    trained(tiny, progress=False, device="cpu")
    trained(plain, progress=False, device="cpu")
    assert w.estimate_training_seconds([tiny, plain], device="cpu") == 0.0
