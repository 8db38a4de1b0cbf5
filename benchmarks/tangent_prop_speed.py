"""Cost of the tangent propagation penalty: the closed form against one jvp per tangent.

`tangents.tangent_prop_penalty` pushes the k tangents through an nn.Sequential of Linear and
Sigmoid/Tanh/ReLU layers by hand, all at once; any other classifier takes one torch.func.jvp
per tangent. This times forward + backward of the penalty both ways, on the same classifier
(the second wrapped in a module that hides its layers), and prints the ratio measured in this
run. Nothing here is a test.

    python benchmarks/tangent_prop_speed.py [--reps 20] [--threads 1]
"""
import argparse
import time

import torch
from torch import nn

from cae_lib.tangents import tangent_prop_penalty


class Opaque(nn.Module):                       # the same function, layers hidden: jvp path
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def classifier(dims):
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    return nn.Sequential(*layers[:-1])          # logits: no activation on the last layer


def timed(fn, reps):
    fn()                                        # warm-up
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=100)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"forward + backward of tangent_prop_penalty, batch {a.batch_size}, "
          f"{a.threads} thread(s), median of {a.reps}")
    print(f"{'classifier':<22} {'k':>3} {'closed form':>12} {'jvp per tangent':>16} {'ratio':>6}")
    for dims in ((784, 256, 128, 64, 10), (784, 1000, 10)):
        net = classifier(dims)
        x = torch.rand(a.batch_size, 784)
        for k in (5, 10):
            t = torch.nn.functional.normalize(torch.randn(a.batch_size, k, 784), dim=2)

            def step(m):
                return lambda: tangent_prop_penalty(m, x, t).backward()
            fast, slow = timed(step(net), a.reps), timed(step(Opaque(net)), a.reps)
            name = "-".join(map(str, dims))
            print(f"{name:<22} {k:>3} {1e3 * fast:>9.1f} ms {1e3 * slow:>13.1f} ms "
                  f"{slow / fast:>5.1f}x")


if __name__ == "__main__":
    main()
