"""cae_lib.toy_widgets: the 2-D views, the explorer frame and the kernel-free slider."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import cae_lib as cl  # noqa: E402
from cae_lib import toy, toy_widgets as tw  # noqa: E402


def views():
    circle = toy.Circle()
    x, t = circle.sample(40, torch.Generator().manual_seed(0))
    out = {}
    for lam, seed in ((0.0, 0), (0.1, 1)):
        torch.manual_seed(seed)
        m = cl.ContractiveAutoencoder(2, (8,), 4, output="linear")
        out[lam] = tw.toy_view(m, x, t, n=11)
    return circle, out


def test_view_is_scale_free_and_shaped():
    circle, vs = views()
    v = vs[0.0]
    assert v.heat.shape == (11, 11) and v.v1.shape == (40, 2)
    assert v.ratio.shape == v.angle.shape == (40,)
    assert torch.allclose(v.v1.norm(dim=1), torch.ones(40), atol=1e-5)
    assert bool(((v.angle >= 0) & (v.angle <= 90)).all())


def test_frame_and_slider_draw_every_lam():
    circle, vs = views()
    fig = plt.figure()
    tw.draw_lam(fig, vs, circle, 0.1)
    assert len(fig.axes) == 3                     # map, its colour bar, the curve
    plt.close(fig)
    anim = tw.toy_animation(vs, circle)
    html = tw.frame_slider(anim, "a test frame").data
    assert 'alt="a test frame"' in html and "https://" not in html   # offline
    assert html.count("data:image/png") == len(vs)                  # one frame per lam
