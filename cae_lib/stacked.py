"""Greedy layer-wise training of a deep autoencoder: stacked CAEs, against the book's
end-to-end deep penalty.

Scope: `train_layerwise` takes an untied `ContractiveAutoencoder` with encoder widths
n_0 -> n_1 -> ... -> n_L and trains it as L one-layer autoencoders, one after the other:
greedy layer-wise pretraining (Bengio et al. 2007), as stacked denoising autoencoders are
built (Vincent et al. 2010) and as the CAE paper's introduction describes the use of such
building blocks (Rifai et al. 2011: "the representation learned at one level is used as input
for learning the next level"). Layer l is the encoder pair (Linear n_l -> n_{l+1}, Sigmoid)
with the decoder pair that mirrors it (Linear n_{l+1} -> n_l and the activation after it:
a sigmoid inside, `sigmoid_inside`, and the model's output activation for l = 0). It learns
to reconstruct h_l, the codes of the layers below (h_0 = x), with the penalty on ITS OWN
Jacobian, lam * batch mean ||J_{f_l}(h_l)||_F^2, and is then frozen. The layers are the
model's own modules, so the model ends up holding the stack: f = f_{L-1} o ... o f_0 and
g = g_0 o ... o g_{L-1}. The end-to-end alternative (`training.train`) penalises the Jacobian
of the whole encoder, J_f = J_{f_{L-1}} ... J_{f_0}, with one loss on x.

Normalisation: as `training.train` (the MSE or cross-entropy is a mean over the units and the
batch; lam multiplies the batch mean of the squared Frobenius norm). Inner layers reconstruct
sigmoid codes in (0, 1) with the MSE. Chapter 5b (exercise 3) compares the two on the ring.
"""
from __future__ import annotations

import torch
from torch import nn

from .model import ContractiveAutoencoder, sigmoid_mlp_linears
from .training import History, train


class _Layer(nn.Module):
    """One layer of a stack, sharing its modules (and so its weights) with the model."""

    def __init__(self, enc: nn.Linear, dec: nn.Linear, act: nn.Module):
        super().__init__()
        self.input_dim, self.latent_dim = enc.in_features, enc.out_features
        self.encoder = nn.Sequential(enc, nn.Sigmoid())
        self.decoder = nn.Sequential(dec, act)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(h)                                   # (B, n_{l+1})
        return self.decoder(z), z                             # (B, n_l), (B, n_{l+1})


def sigmoid_inside(model: ContractiveAutoencoder) -> ContractiveAutoencoder:
    """Replace the decoder's inner ReLUs by sigmoids, in place, and return the model: an inner
    layer of a stack reconstructs sigmoid codes in (0, 1), which a ReLU output reaches badly
    (a unit that dies outputs 0 for every code). The model's own output is kept."""
    mods = list(model.decoder.children())
    for i in range(1, len(mods) - 1, 2):                              # after D_{L-1} .. D_1
        model.decoder[i] = nn.Sigmoid()
    return model


def layers(model: ContractiveAutoencoder) -> list[_Layer]:
    """The one-layer autoencoders of an untied model, bottom first, sharing its weights."""
    if not isinstance(model, ContractiveAutoencoder) or model.tied:
        raise TypeError("train_layerwise needs an untied cae_lib.ContractiveAutoencoder; got "
                        f"{type(model).__name__}{' (tied)' if getattr(model, 'tied', 0) else ''}."
                        " Build it with tied=False.")
    enc = sigmoid_mlp_linears(model.encoder)                           # [E_0, ..., E_{L-1}]
    mods = list(model.decoder.children())
    dec, acts = mods[0::2], mods[1::2]                                 # [D_{L-1}, ..., D_0]
    if not all(isinstance(a, nn.Sigmoid) for a in acts[:-1]):
        raise TypeError("the decoder's inner activations must be sigmoids, to reconstruct the "
                        "sigmoid codes of the layer below; call stacked.sigmoid_inside(model) "
                        "before training it layer by layer.")
    return [_Layer(e, d, a) for e, d, a in zip(enc, reversed(dec), reversed(acts))]


def train_layerwise(model: ContractiveAutoencoder, x_train: torch.Tensor, *, lam: float = 0.0,
                    schedule: tuple[tuple[int, float], ...] = ((10, 1e-3),),
                    batch_size: int = 128, seed: int = 0, loss: str = "mse",
                    device="cpu", fused: bool = False) -> History:
    """Train `model` in place, layer by layer (module docstring). Each layer gets the whole
    `schedule`, (epochs, lr) phases of Adam, the same budget an end-to-end model gets; `loss`
    applies to the bottom layer. Returns the layers' histories one after the other (their recon
    is each layer's own). Leaves the model in eval mode. fused: as in `training.train`."""
    history, h = History(), x_train
    for i, layer in enumerate(layers(model)):
        for j, (epochs, lr) in enumerate(schedule):
            if not epochs:
                continue
            part = train(layer, h, lam=lam, epochs=epochs, batch_size=batch_size, lr=lr,
                         seed=seed + 1000 * i + j, device=device, progress=False,
                         loss=loss if i == 0 else "mse", fused=fused)
            for name in ("recon", "penalty", "total", "seconds"):
                getattr(history, name).extend(getattr(part, name))
        with torch.no_grad():
            h = layer.encoder(h.to(next(layer.parameters()).device))   # (N, n_{l+1})
    return history
