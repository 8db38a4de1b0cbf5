"""Pictures of contraction on the 2-D circle (`cae_lib.toy`), and a lam explorer for them.

One drawing function, `draw_contraction`, serves the static figures, the live ipywidgets
explorer (`ToyExplorer`, needs a kernel) and the kernel-free frame slider of the HTML book
(`toy_animation(...).to_jshtml()`), so every view shows the same thing. Every quantity drawn
is scale-free: ||J_f|| relative to its median on the data, the direction of the top
right-singular vector, and the ratio ||J_f n|| / ||J_f t|| of the code's response to a normal
step over its response to a tangent step. Contraction as drawn by Rifai et al. (2011), sec. 5.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch

from .penalties import encoder_jacobian
from .toy import Circle, grid, normal_tangent_ratio, tangent_angle


@dataclass
class ToyView:
    """What the figures of one model need, computed once: grid heat map and data arrows."""
    heat: torch.Tensor          # (n, n) ||J_f|| on the grid / its median on the data
    x: torch.Tensor             # (B, 2) data points
    v1: torch.Tensor            # (B, 2) top right-singular vectors of J_f there
    ratio: torch.Tensor         # (B,) ||J_f n|| / ||J_f t||
    angle: torch.Tensor         # (B,) degrees between v1 and the tangent
    lim: float


def toy_view(model, x: torch.Tensor, tangent: torch.Tensor, lim: float = 1.6,
             n: int = 61) -> ToyView:
    """Measure `model` at data points x (B, 2) with true tangents (B, 2) and on a grid."""
    jac = encoder_jacobian(model, x).detach()                          # (B, k, 2)
    _, _, pts = grid(lim, n)
    norms = encoder_jacobian(model, pts).detach().flatten(1).norm(dim=1)   # (n*n,)
    ref = jac.flatten(1).norm(dim=1).median()
    v1 = torch.linalg.svd(jac.double()).Vh[:, 0, :].float()           # (B, 2)
    return ToyView((norms / ref).reshape(n, n), x, v1,
                   normal_tangent_ratio(jac, x, tangent), tangent_angle(jac, tangent), lim)


def draw_contraction(ax, view: ToyView, circle: Circle, title: str = "",
                     n_arrows: int = 48, colorbar: bool = True):
    """Heat map of ||J_f(x)||_F / median on the data (log scale, 0.4 to 2.5), the circle, and
    at n_arrows data points the top right-singular vector of J_f (black, thin) over the true
    tangent (orange, wide). Singular vectors have no sign: arrows may point either way."""
    import matplotlib.colors as mcolors
    import numpy as np

    L = view.lim
    im = ax.imshow(view.heat.numpy(), origin="lower", extent=(-L, L, -L, L), cmap="viridis",
                   norm=mcolors.LogNorm(vmin=0.4, vmax=2.5))
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(circle.radius * np.cos(t), circle.radius * np.sin(t), "w--", lw=0.8)
    idx = torch.linspace(0, len(view.x) - 1, n_arrows).long()
    p, v = view.x[idx].numpy(), view.v1[idx].numpy()
    tang = circle.tangent(view.x[idx]).numpy()
    kw = dict(angles="xy", scale_units="xy", scale=6, pivot="mid")
    ax.quiver(p[:, 0], p[:, 1], tang[:, 0], tang[:, 1], color="orange", width=0.014,
              headwidth=2, headlength=2, headaxislength=2, **kw)
    ax.quiver(p[:, 0], p[:, 1], v[:, 0], v[:, 1], color="black", width=0.005, **kw)
    ax.set(xlim=(-L, L), ylim=(-L, L), aspect="equal", xticks=[], yticks=[])
    ax.set_title(f"{title}\nratio {view.ratio.median():.2f}, angle "
                 f"{view.angle.median():.1f}°", fontsize=9)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, label="‖J_f(x)‖ / median on data")
    return im


def draw_lam(fig, views: dict[float, ToyView], circle: Circle, lam: float) -> None:
    """The explorer's frame: the model at `lam` (left) and the ratio against lam (right)."""
    fig.clear()
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    draw_contraction(left, views[lam], circle, f"lam = {lam:g}")
    lams = sorted(views)
    xs = [max(v, min(l for l in lams if l > 0) / 3) for v in lams]       # lam = 0 drawn left
    ratios = [float(views[v].ratio.median()) for v in lams]
    right.semilogx(xs, ratios, "o-", color="tab:blue")
    right.semilogx([xs[lams.index(lam)]], [ratios[lams.index(lam)]], "o", ms=12,
                   mfc="none", color="tab:red")
    right.set(xlabel="lam (lam = 0 drawn at the left end)", ylim=(0, 1.1),
              ylabel="median ‖J_f n‖ / ‖J_f t‖", title="normal-to-tangent ratio")
    right.axhline(1.0, color="gray", lw=0.8, ls=":")
    fig.tight_layout()


class ToyExplorer:
    """Live lam slider: `ToyExplorer(views, circle).show()` in Jupyter or Colab."""

    def __init__(self, views: dict[float, ToyView], circle: Circle):
        import ipywidgets as W

        self.views, self.circle = views, circle
        lams = sorted(views)
        self.slider = W.SelectionSlider(options=lams, value=lams[-1], description="lam")
        self.out = W.Output()
        self.fig = plt.figure(figsize=(10, 4.2))
        plt.close(self.fig)                      # shown through the Output widget only
        self.slider.observe(lambda change: self.update(), names="value")
        self.update()

    def update(self) -> None:
        from IPython.display import display

        draw_lam(self.fig, self.views, self.circle, self.slider.value)
        self.out.clear_output(wait=True)
        with self.out:
            display(self.fig)

    def show(self):
        import ipywidgets as W

        from .widgets import enable_colab_widgets
        enable_colab_widgets()
        return W.VBox([self.slider, self.out])


def frame_slider(anim, alt: str):
    """matplotlib's kernel-free frame slider as HTML, with an alt text for its frames and
    without its link to a web font, so that it works offline."""
    import re

    from IPython.display import HTML

    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*">', "", anim.to_jshtml())
    return HTML(html.replace("<img ", f'<img alt="{alt}" ', 1))


def toy_animation(views: dict[float, ToyView], circle: Circle):
    """Kernel-free slider for the HTML book, one frame per lam: use .to_jshtml()."""
    from matplotlib.animation import FuncAnimation

    lams = sorted(views)
    fig = plt.figure(figsize=(10, 4.2))
    anim = FuncAnimation(fig, lambda i: draw_lam(fig, views, circle, lams[i]),
                         frames=len(lams), interval=1200)
    plt.close(fig)
    return anim
