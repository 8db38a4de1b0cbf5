"""Drive the explorer programmatically on a tiny synthetic sweep (no training, no data)."""
import matplotlib

matplotlib.use("Agg")
import pytest
import torch

from cae_lib import widgets as w
from cae_lib.evaluation import Scores
from cae_lib.seeds import replicates


def _scores(mse, probe_val, correct):
    return Scores(mse, 0.1, 0.5, 1.0, 2.0, probe_val, float(correct.double().mean()), correct)


def fake_sweep():
    g = torch.Generator().manual_seed(0)
    data = w.SweepData(x_show=torch.rand(w.N_SHOW, 784, generator=g))
    for key in w.sweep_configs():
        scale = 1.0 / (1 + 10 * key[1])
        data.recon[key] = torch.rand(w.N_SHOW, 784, generator=g)
        data.test_mse[key] = 0.03 + key[1] / 100
        for probe in w.PROBES:
            data.sens[(key, probe)] = scale * torch.rand(50, generator=g) + 1e-4
        data.spectrum[key] = scale * torch.logspace(0, -6, 64)
        data.scale[key] = scale
        data.reps[key] = [_scores(data.test_mse[key], 0.9, torch.rand(200, generator=g) < 0.9)
                          for _ in replicates()]
        data.scores[key] = data.reps[key][0]
    return data


def titles(fig):
    return fig._suptitle.get_text() if fig._suptitle else ""


def test_sliders_redraw_the_figure():
    ex = w.Explorer(fake_sweep())
    first, n = titles(ex.fig), ex.renders
    top = w.LAMS[-1]                               # the default is LAMS[-2]
    ex.lam_slider.value = top
    assert ex.renders == n + 1 and titles(ex.fig) != first and f"lam = {top:g}" in titles(ex.fig)
    assert ex.noise_slider.disabled and not ex.lam_slider.disabled
    ex.mode.value = "dae"
    assert ex.lam_slider.disabled and not ex.noise_slider.disabled and "DAE" in titles(ex.fig)
    ex.noise_slider.value = w.NOISES[-1]
    assert f"noise_std = {w.NOISES[-1]:g}" in titles(ex.fig)
    before = ex.fig.axes[2 * w.N_SHOW].get_title()
    ex.probe_slider.value = w.PROBES[-1]                 # the probe noise of the histogram
    assert ex.fig.axes[2 * w.N_SHOW].get_title() != before
    assert ex.renders == n + 4
    assert len(ex.fig.axes) == 2 * w.N_SHOW + 3
    assert "relative" in titles(ex.fig) and "probe" in titles(ex.fig)
    assert "replicate 0" in titles(ex.fig)


def test_relative_sensitivity_ignores_the_code_scale():
    data = fake_sweep()
    key = ("lam", w.LAMS[-1])
    before = data.median_rel(key)
    data.sens = {k: (5 * v if k[0] == key else v) for k, v in data.sens.items()}
    data.scale[key] *= 5                       # the same model with its code scaled by 5
    assert abs(data.median_rel(key) - before) < 1e-6


@pytest.mark.parametrize("mode, lam, noise, probe", [
    ("cae", 0.0, 0.0, 0.0), ("cae", w.LAMS[-1], w.NOISES[-1], w.PROBES[-1]),
    ("dae", 0.0, 0.0, 0.0), ("dae", w.LAMS[-1], w.NOISES[-1], w.PROBES[-1])])
def test_extreme_values_raise_nothing(mode, lam, noise, probe):
    ex = w.Explorer(fake_sweep())
    ex.mode.value = mode
    ex.lam_slider.value = lam
    ex.noise_slider.value = noise
    ex.probe_slider.value = probe
    assert ex.fig.axes


def test_bad_mode():
    import matplotlib.pyplot as plt
    with pytest.raises(ValueError, match="mode"):
        w.draw(plt.figure(), fake_sweep(), "vae", w.LAMS[-1], 0.0)


@pytest.mark.parametrize("mode, values", [("cae", w.LAMS), ("dae", w.NOISES)])
def test_kernel_free_slider_html(mode, values):
    html = w.sweep_animation(fake_sweep(), mode).to_jshtml()
    assert '<input' in html and 'type="range"' in html
    assert html.count("data:image/png;base64") >= len(values) or \
        html.count("frames[") >= len(values)


def test_sweep_configs_share_the_plain_model_and_are_the_papers():
    from cae_lib.catalog import paper_config
    cfgs = w.sweep_configs()
    assert cfgs[("lam", 0.0)] == cfgs[("noise", 0.0)]
    assert {c.lam for k, c in cfgs.items() if k[0] == "lam"} == set(w.LAMS)
    assert {c.noise_std for k, c in cfgs.items() if k[0] == "noise"} == set(w.NOISES)
    for (kind, value), c in cfgs.items():                 # the paper's tied one-layer model
        assert c.hidden_dims == () and c.latent_dim == 1000 and c.tied and c.loss == "bce"
        assert (c.lam == 0) or (c.noise_std == 0)          # a DAE has lam = 0
        if kind == "lam":
            assert c == paper_config(value)                # shared with chapter 3
    assert w.LAMS[0] == 0 and w.NOISES[0] == 0 and len(w.LAMS) >= 3 and len(w.NOISES) >= 3
    assert list(w.LAMS) == sorted(w.LAMS) and list(w.NOISES) == sorted(w.NOISES)


def test_every_setting_has_every_replicate(monkeypatch):
    reps = w.sweep_replicates()
    assert list(reps) == list(replicates())
    for r, cfgs in reps.items():
        assert list(cfgs) == list(w.sweep_configs())
        assert all(c.seed == r for c in cfgs.values())
        assert cfgs == w.sweep_configs(replicate=r)
    monkeypatch.setenv("CAE_SEED", "4")                   # the book seed is read at call time
    assert {c.book_seed for c in w.sweep_configs().values()} == {4}


def test_seed_level_comparisons():
    from dataclasses import replace
    data = fake_sweep()
    a, b = ("lam", w.LAMS[2]), ("lam", 0.0)
    n = len(data.reps[a])
    for r in range(n):                                     # a - b = 0.019, 0.020, 0.021
        data.reps[a][r] = replace(data.reps[b][r],
                                  probe_test=data.reps[b][r].probe_test + 0.02 + 0.001 * (r - 1))
    d, se = data.seed_difference(a, b)
    assert d == pytest.approx(0.02) and se == pytest.approx(0.001 / n ** 0.5)
    assert data.seed_verdict(a, b, ("CAE", "AE")).startswith("CAE is better")
    assert data.seed_verdict(b, a, ("AE", "CAE")).startswith("CAE is better")
    assert data.seed_verdict(a, a).startswith("no measurable difference")
    m, s = data.seed_mean_se(b)
    assert m == pytest.approx(sum(x.probe_test for x in data.reps[b]) / n) and s >= 0


def test_training_estimate_counts_only_uncached_models(tmp_path, monkeypatch):
    from cae_lib import TrainConfig, trained
    monkeypatch.setenv("CAE_CACHE_DIR", str(tmp_path))
    tiny = TrainConfig(hidden_dims=(8,), latent_dim=4, lam=0.1, epochs=1, n_train=256)
    plain = TrainConfig(hidden_dims=(8,), latent_dim=4, epochs=1, n_train=256)
    assert w.estimate_training_seconds([tiny, plain], device="cpu") > 0   # a real measurement, no timing bound
    trained(tiny, progress=False, device="cpu")
    trained(plain, progress=False, device="cpu")
    assert w.estimate_training_seconds([tiny, plain], device="cpu") == 0.0
