"""Exploring lam and noise: a sweep of trained models, drawn live (ipywidgets) or as a
kernel-free frame slider (matplotlib's animation.to_jshtml) for the HTML book. Contraction is
shown scale-free (relative sensitivity), next to the raw numbers and a probe accuracy.

Nothing retrains when a slider moves: `load_sweep` trains each model of the sweep once through
`cache.trained` and precomputes everything the figure shows (`SweepData`), for one replicate
(seed) of each setting; the probe scores of every replicate come with it (`SweepData.reps`).
Both views draw with the same function, `draw`, so what the HTML reader sees is what the live
widget shows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import torch

from .analysis import pair_scale, sensitivity
from .bench import time_steps
from .cache import PAPER_EPOCHS, TrainConfig, cached_path, trained
from .data import load_mnist
from .device import default_device
from .evaluation import probe_data, scored
from .geometry import singular_values
from .seeds import book_seed, mean_se, replicates

# The sweep of chapter 6, on the paper's model (Rifai et al. 2011): a tied one-layer 784-1000
# sigmoid autoencoder trained with cross-entropy (a MEAN over pixels: the paper's lam is ours
# times 784), chapter 3's budget for it (PAPER_EPOCHS = 5 epochs on 20,000 digits), the same
# as `catalog.paper_config`, so chapter 3's paper models (lam 0, 0.001, 0.01) are shared.
# The grid was chosen from a pilot sweep at 10 epochs (trained on a GPU; lam 3e-5 to 0.1,
# noise_std 0.05 to 3; 3 replicates at book seeds 0-2, the settings near the optima also at
# seeds 3 and 4; mean validation probe accuracy): the CAE peaked at lam 5e-4 to 1e-3 (about
# 0.975), a point lower at 1e-4 and two at 1e-2; the DAE at noise_std 0.5 to 1 (about 0.969),
# lower by 0.3 to 0.6 points at 0.3 and 1.5, at every seed. Each grid point costs 3 models and
# 3 probe scores in a cold `make cache`, so the grid keeps one setting on each side of each
# peak. lam 5e-5 contracted like the best DAE (median relative sensitivity on validation
# digits within 2% of noise_std 0.7's), for the matched comparison of chapter 6. The book
# halved the epochs afterwards, for the build's budget; chapters 3 and 6 choose within the grid
# on the validation split, and assert what they say about it, at the book's size.
LAMS = (0.0, 5e-5, 1e-3, 1e-2)              # CAE mode: the lam slider
NOISES = (0.0, 0.7, 1.5)                    # DAE mode: the corruption noise_std
PROBES = (0.0, 0.1, 0.3, 0.5, 1.0)          # probe noise of the sensitivity histograms
SWEEP_BASE = TrainConfig(hidden_dims=(), latent_dim=1000, tied=True, loss="bce",
                         epochs=PAPER_EPOCHS)
N_SHOW, N_EVAL, N_SPEC = 6, 500, 20   # digits shown; test digits measured; Jacobian spectra


def sweep_configs(base: TrainConfig | None = None, replicate: int = 0
                  ) -> dict[tuple[str, float], TrainConfig]:
    """("lam", lam) -> CAE config and ("noise", noise_std) -> DAE config, replicate
    `replicate` of each (its `seed`); lam = 0 and noise_std = 0 are the same plain AE.
    base: SWEEP_BASE with the current book seed (CAE_SEED)."""
    base = replace(SWEEP_BASE, book_seed=book_seed()) if base is None else base
    base = replace(base, seed=replicate)
    out = {("lam", lam): replace(base, lam=lam) for lam in LAMS}
    out.update({("noise", s): replace(base, noise_std=s) for s in NOISES})
    return out


def sweep_replicates(base: TrainConfig | None = None) -> dict[int, dict]:
    """{replicate: sweep_configs(base, replicate)} for `seeds.replicates()`: every model of
    the sweep (each setting trained with 3 seeds)."""
    return {r: sweep_configs(base, r) for r in replicates()}


def estimate_training_seconds(configs, device=None) -> float:
    """Seconds to train the configs not yet cached, from a few timed steps on this device."""
    todo = [c for c in dict.fromkeys(configs) if not cached_path(c).exists()]
    if not todo:
        return 0.0
    device = torch.device(device) if device is not None else default_device()
    t = time_steps({"plain": (None, 1), "cae": ("analytic", 1)}, batch_size=todo[0].batch_size,
                   reps=3, warmup=1, device=device, hidden_dims=todo[0].hidden_dims,
                   latent_dim=todo[0].latent_dim)
    per_step = {k: sorted(v)[len(v) // 2] for k, v in t.items()}
    steps = lambda c: -(-(c.n_train or 60_000) // c.batch_size) * c.epochs   # noqa: E731
    return sum(steps(c) * per_step["cae" if c.lam > 0 else "plain"] for c in todo)


@dataclass
class SweepData:
    x_show: torch.Tensor                                         # (N_SHOW, 784) fixed test digits
    recon: dict = field(default_factory=dict)                    # key -> (N_SHOW, 784)
    test_mse: dict = field(default_factory=dict)   # key -> float (full test set if probed)
    sens: dict = field(default_factory=dict)                     # (key, probe noise) -> (N_EVAL,)
    scale: dict = field(default_factory=dict)                    # key -> median ||dz|| / ||dx||
    spectrum: dict = field(default_factory=dict)                 # key -> (k,) mean singular values
    scores: dict = field(default_factory=dict)     # key -> evaluation.Scores of the shown model
    reps: dict = field(default_factory=dict)       # key -> [Scores of replicate 0, 1, 2]
    replicate: int = 0                             # the replicate the figures show

    def median_sens(self, key, probe=0.1) -> float:
        """Median raw sensitivity, in the code's units."""
        return float(self.sens[(key, probe)].median())

    def rel_sens(self, key, probe=0.1) -> torch.Tensor:
        """Relative (scale-free) sensitivities: raw ones over the model's pair scale."""
        return self.sens[(key, probe)] / self.scale[key]

    def median_rel(self, key, probe=0.1) -> float:
        return float(self.rel_sens(key, probe).median())

    def seed_mean_se(self, key, what: str = "probe_test") -> tuple[float, float]:
        """(mean, seed-level s.e.) over the replicates of one score (`seeds.mean_se`)."""
        return mean_se([getattr(s, what) for s in self.reps[key]])

    def seed_difference(self, a, b, what: str = "probe_test") -> tuple[float, float]:
        """(mean, seed-level s.e.) of the per-replicate difference a - b: replicate r of a
        against replicate r of b."""
        return mean_se([getattr(x, what) - getattr(y, what)
                        for x, y in zip(self.reps[a], self.reps[b])])

    def seed_verdict(self, a, b, names=("A", "B"), what: str = "probe_test") -> str:
        """'A is better', 'B is better' or 'no measurable difference': a difference counts
        only beyond two seed-level standard errors of the per-replicate difference."""
        d, se = self.seed_difference(a, b, what)
        if abs(d) <= 2 * se:
            return f"no measurable difference ({d:+.4f} ± {se:.4f})"
        return f"{names[0] if d > 0 else names[1]} is better ({d:+.4f} ± {se:.4f})"


@torch.no_grad()
def _measure(data: SweepData, key, model, x_eval, x_test):
    data.recon[key] = model(data.x_show)[0].cpu()
    data.test_mse[key] = float(torch.nn.functional.mse_loss(model(x_test)[0], x_test))
    for probe in PROBES:             # probe noise 0: the same ratio in the limit, ||J_f u|| / ||u||
        gen = torch.Generator(device=x_eval.device).manual_seed(0)   # same draws, every model
        data.sens[(key, probe)] = sensitivity(model, x_eval, noise_std=probe, generator=gen).cpu()
    gen = torch.Generator(device=x_eval.device).manual_seed(0)
    data.scale[key] = pair_scale(model, x_eval, gen)     # the denominator of relative_sensitivity
    data.spectrum[key] = singular_values(model, x_eval[:N_SPEC]).mean(0).cpu()


def load_sweep(device=None, progress: bool = True, base: TrainConfig | None = None,
               probe: bool = True, replicate: int = 0) -> SweepData:
    """Train (first call only, cached afterwards) and measure the models of replicate
    `replicate` of the sweep, for the figures. probe=True also scores every replicate of every
    setting with a linear probe on the validation split and the full test set
    (`evaluation.scored`, cached too): `SweepData.reps`."""
    device = torch.device(device) if device is not None else default_device()
    configs = sweep_configs(base, replicate)
    every = sweep_replicates(base) if probe else {}
    eta = estimate_training_seconds(
        list(configs.values()) + [c for rep in every.values() for c in rep.values()], device)
    if eta > 0 and progress:
        print(f"Training the sweep: about {eta:.0f} s on {device} (once; cached afterwards).")
    first = next(iter(configs.values()))
    digits = load_mnist(n_train=1, n_test=1_000, dataset=first.dataset)
    x_test = digits.x_test.to(device)
    data = SweepData(x_show=x_test[:N_SHOW], replicate=replicate)
    t0 = time.perf_counter()
    for key, cfg in configs.items():
        model, _ = trained(cfg, device=device, progress=progress)
        _measure(data, key, model, x_test[:N_EVAL], x_test)
    if probe:
        pdata = probe_data(first.dataset, n_train=first.n_train, device=device)
        for rep in every.values():
            for key, cfg in rep.items():
                data.reps.setdefault(key, []).append(
                    scored(cfg, pdata, device=device, progress=progress))
        for key, cfg in configs.items():          # cached above when replicate is one of them
            data.scores[key] = scored(cfg, pdata, device=device, progress=progress)
            data.test_mse[key] = data.scores[key].test_mse       # all 10,000 test digits
    if eta > 0 and progress:
        print(f"Done in {time.perf_counter() - t0:.0f} s.")
    return data


def _hist_title(probe):
    return (f"relative sensitivity, probe noise {probe:g}" if probe else
            "relative sensitivity, noise -> 0")


def draw(fig, data: SweepData, mode: str, lam: float, noise: float, probe: float = 0.1
         ) -> None:
    """The explorer's figure. mode "cae": lam picks the CAE; mode "dae": noise picks the DAE's
    corruption level noise_std. probe: the probe noise of the sensitivity histogram (one of
    PROBES). Every contraction panel is scale-free: sensitivities and singular values are
    divided by the model's typical code distance per unit input distance
    (`analysis.relative_sensitivity`)."""
    if mode not in ("cae", "dae"):
        raise ValueError(f"mode must be 'cae' or 'dae'; got {mode!r}.")
    key = ("lam", lam) if mode == "cae" else ("noise", noise)
    family = [("lam", v) for v in LAMS] if mode == "cae" else [("noise", v) for v in NOISES]
    fig.clear()
    grid = fig.add_gridspec(3, 6, height_ratios=[1, 1, 2.2], hspace=0.45, wspace=0.9)
    for c in range(N_SHOW):
        for r, img in enumerate([data.x_show[c].cpu(), data.recon[key][c]]):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(img.view(28, 28).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]); ax.set_yticks([])
            if c == 0:
                ax.set_ylabel("input" if r == 0 else "output", fontsize=8)
    ref = ("lam", 0.0)
    ax = fig.add_subplot(grid[2, 0:2])
    bins = torch.logspace(-3, 1, 40).numpy()
    ax.hist(data.rel_sens(ref, probe).numpy(), bins=bins, alpha=0.5, label="plain AE")
    ax.hist(data.rel_sens(key, probe).numpy(), bins=bins, alpha=0.7, label="this model")
    ax.set_xscale("log"); ax.legend(fontsize=7)
    ax.set_title(_hist_title(probe), fontsize=9)
    ax = fig.add_subplot(grid[2, 2:4])
    k = len(data.spectrum[key])
    ax.semilogy(range(1, k + 1), (data.spectrum[ref] / data.scale[ref]).numpy(), color="gray",
                label="plain AE")
    ax.semilogy(range(1, k + 1), (data.spectrum[key] / data.scale[key]).numpy(),
                label="this model")
    ax.set_title("singular values of $J_f$ / pair scale", fontsize=9); ax.legend(fontsize=7)
    ax = fig.add_subplot(grid[2, 4:6])
    ax.semilogx([data.median_rel(k) for k in family], [data.test_mse[k] for k in family], "o-",
                color="gray")
    ax.semilogx([data.median_rel(key)], [data.test_mse[key]], "o", ms=12, color="C3")
    ax.tick_params(labelsize=7)
    ax.set_xlabel("median relative sensitivity", fontsize=8)
    ax.set_ylabel("test MSE", fontsize=8)
    ax.set_title("trade-off across the sweep", fontsize=9)
    title = f"CAE, lam = {lam:g}" if mode == "cae" else f"DAE, noise_std = {noise:g}"
    title += f" (replicate {data.replicate})"
    probe_txt = ""
    if key in data.scores:
        sc = data.scores[key]
        probe_txt = f",  probe {sc.probe_test:.3f} ± {sc.probe_se:.3f}"
    fig.suptitle(f"{title}:  test MSE {data.test_mse[key]:.4f},  median sensitivity "
                 f"{data.median_sens(key):.1e} raw, {data.median_rel(key):.3f} relative"
                 f"{probe_txt}", fontsize=9)


def enable_colab_widgets() -> None:
    """Colab renders ipywidgets 8 only after this switch; elsewhere it does nothing."""
    try:
        from google.colab import output          # type: ignore[import-not-found]
        output.enable_custom_widget_manager()
    except ImportError:
        pass


class Explorer:
    """Live explorer: `Explorer(data).show()` in Jupyter or Colab (needs a running kernel)."""

    def __init__(self, data: SweepData):
        import ipywidgets as W

        self.data = data
        self.mode = W.ToggleButtons(options=[("CAE: vary lam", "cae"), ("DAE: vary noise", "dae")])
        self.lam_slider = W.SelectionSlider(options=list(LAMS), value=LAMS[-2], description="lam")
        self.noise_slider = W.SelectionSlider(options=list(NOISES), value=NOISES[1],
                                              description="noise_std")
        self.probe_slider = W.SelectionSlider(options=list(PROBES), value=0.1,
                                              description="probe noise")
        self.out = W.Output()
        self.fig = plt.figure(figsize=(10, 6.5))
        plt.close(self.fig)                      # shown through the Output widget only
        self.renders = 0
        for w in (self.mode, self.lam_slider, self.noise_slider, self.probe_slider):
            w.observe(lambda change: self.update(), names="value")
        self.update()

    def update(self) -> None:
        from IPython.display import display

        self.lam_slider.disabled = self.mode.value == "dae"
        self.noise_slider.disabled = self.mode.value == "cae"
        draw(self.fig, self.data, self.mode.value, self.lam_slider.value, self.noise_slider.value,
             self.probe_slider.value)
        self.renders += 1
        self.out.clear_output(wait=True)
        with self.out:
            display(self.fig)

    def show(self):
        import ipywidgets as W

        enable_colab_widgets()
        return W.VBox([self.mode, W.HBox([self.lam_slider, self.noise_slider, self.probe_slider]),
                       self.out])


def sweep_animation(data: SweepData, mode: str = "cae", probe: float = 0.1):
    """A kernel-free slider for the HTML book: one frame per model of the sweep.
    Use as IPython.display.HTML(sweep_animation(data).to_jshtml())."""
    from matplotlib.animation import FuncAnimation

    values = LAMS if mode == "cae" else NOISES
    fig = plt.figure(figsize=(10, 6.5))
    frame = lambda i: draw(fig, data, mode, values[i], values[i], probe)  # noqa: E731
    anim = FuncAnimation(fig, frame, frames=len(values), interval=1200)
    plt.close(fig)
    return anim
