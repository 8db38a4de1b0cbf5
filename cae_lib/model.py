"""The contractive autoencoder: a sigmoid MLP encoder f and a decoder g.

z = f(x) = s(W_L s(... s(W_1 x + b_1) ...) + b_L)   with s the logistic sigmoid,
x_hat = g(z), with a sigmoid output (pixels live in [0, 1]; output="linear" drops it, for
data of any sign such as the 2-D toys of `cae_lib.toy`). Two decoders:

  untied (default)  an MLP of its own, ReLU hidden layers: free to AMPLIFY a code that the
                    encoder shrank, so ||J_f|| can fall without any invariance being learned;
  tied=True         the paper's choice: g(z) = s(W_1^T s(... s(W_L^T z + c_L) ...) + c_1), the
                    transposed encoder weights in reverse order, each layer with its own bias
                    c_l. Shrinking W_L now shrinks the decoder's gain too, which closes that
                    loophole (Rifai et al. 2011, sec. 2 and 3, use tied weights, W' = W^T).

The encoder is kept as a plain chain of Linear + Sigmoid layers on purpose: that is
the form whose Jacobian has the closed form used by `penalties.jacobian_penalty(...,
method="analytic")`. With hidden_dims=() the encoder is the one-layer CAE of

    Rifai, Vincent, Muller, Glorot, Bengio (2011). Contractive Auto-Encoders:
    Explicit Invariance During Feature Extraction. ICML.
"""
from __future__ import annotations

import math

import torch
from torch import nn

OUTPUTS = ("sigmoid", "linear")   # the decoder's last activation


def check_batch(x, input_dim: int, *, name: str = "x", finite: bool = True) -> None:
    """Raise a ValueError that says what was expected and what came, for anything
    that is not a finite float tensor of shape (B, input_dim). Under torch.compile the
    finiteness scan is skipped (see the comment below); shape and dtype are checked."""
    expected = f"a float tensor of shape (B, {input_dim})"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be {expected}; got {type(x).__name__}. "
                         f"Convert with torch.as_tensor({name}, dtype=torch.float32).")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be {expected}; got dtype {x.dtype}. "
                         f"Images stored as uint8 should be scaled: {name}.float() / 255.")
    if x.dim() != 2 or x.shape[1] != input_dim:
        hint = ""
        if x.dim() >= 3 and x[0].numel() == input_dim:
            hint = f" Flatten images first: {name}.reshape(len({name}), -1)."
        raise ValueError(f"{name} must be {expected}; got shape {tuple(x.shape)}.{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample; got shape {tuple(x.shape)}.")
    # The value scan reads the data (a host sync), which torch.compile cannot trace without a
    # graph break. Under compilation it is SKIPPED (not torch._check: that takes a bool known
    # at trace time, and the finiteness of the data is not): the dtype and shape checks above
    # still run, at trace time, and the eager call of the same function scans the values.
    if finite and not _compiling() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values; clean the data "
                         f"(e.g. torch.nan_to_num) before encoding it.")


def _compiling() -> bool:
    """True while torch.compile traces (torch >= 2.3: torch.compiler.is_compiling)."""
    fn = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(fn()) if fn is not None else False


def check_number(name: str, v, *, integer: bool = False, positive: bool = False) -> None:
    """Raise a ValueError unless v is a finite non-negative (or positive) number (or int)."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if integer:
        ok = ok and isinstance(v, int)
    if not ok or v < 0 or (positive and v == 0):
        need = "a positive" if positive else "a non-negative"
        raise ValueError(f"{name} must be {need} {'int' if integer else 'number'}; got {v!r}.")


class TiedDecoder(nn.Module):
    """g(z) = s(W_1^T s(... s(W_L^T z + c_L) ...) + c_1), sharing W_l with the encoder.

    The encoder is held in a plain list, so its weights are neither registered twice
    (state_dict, parameters()) nor copied: gradients from both halves meet in W_l."""

    def __init__(self, encoder: nn.Sequential, linear_output: bool = False):
        super().__init__()
        self._encoder = [encoder]                # not a submodule: no duplicate parameters
        self.linear_output = linear_output       # True: no sigmoid after the last layer
        self.biases = nn.ParameterList(          # c_L, ..., c_1: one per decoder layer
            nn.Parameter(torch.zeros(lin.in_features))
            for lin in reversed(self._linears()))

    def _linears(self) -> list[nn.Linear]:
        return [m for m in self._encoder[0] if isinstance(m, nn.Linear)]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z                                    # (B, k)
        layers = list(zip(reversed(self._linears()), self.biases))
        for i, (lin, c) in enumerate(layers):
            h = h @ lin.weight + c               # (B, n_{l-1}) = W_l^T h + c_l
            if not (self.linear_output and i == len(layers) - 1):
                h = torch.sigmoid(h)
        return h                                 # (B, d)

    def extra_repr(self) -> str:
        return "tied to the encoder: W_l^T in reverse order, sigmoid after every layer"


class ContractiveAutoencoder(nn.Module):
    def __init__(self, input_dim: int = 784, hidden_dims: tuple[int, ...] = (256, 128),
                 latent_dim: int = 64, tied: bool = False, output: str = "sigmoid"):
        super().__init__()
        if not isinstance(tied, bool):
            raise ValueError(f"tied must be True or False; got {tied!r}.")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}; got {output!r}. Use 'sigmoid' "
                             f"for data in [0, 1] (pixels), 'linear' for data of any sign.")
        self.tied, self.output = tied, output
        hidden_dims = tuple(int(h) for h in hidden_dims)
        for name, v in [("input_dim", input_dim), ("latent_dim", latent_dim),
                        *[("hidden_dims", h) for h in hidden_dims]]:
            if int(v) < 1:
                raise ValueError(f"{name} must be positive integers; got {v}.")
        self.input_dim, self.hidden_dims, self.latent_dim = int(input_dim), hidden_dims, int(latent_dim)

        enc_sizes = [self.input_dim, *hidden_dims, self.latent_dim]
        enc = []
        for n_in, n_out in zip(enc_sizes[:-1], enc_sizes[1:]):
            enc += [nn.Linear(n_in, n_out), nn.Sigmoid()]  # sigmoid after every layer, latent too
        self.encoder = nn.Sequential(*enc)

        if tied:
            self.decoder = TiedDecoder(self.encoder, linear_output=output == "linear")
            return
        # The decoder mirrors the encoder's widths: latent -> reversed(hidden) -> input.
        dec_sizes = [self.latent_dim, *reversed(hidden_dims), self.input_dim]
        dec = []
        for i, (n_in, n_out) in enumerate(zip(dec_sizes[:-1], dec_sizes[1:])):
            last = i == len(dec_sizes) - 2
            out = nn.Sigmoid() if output == "sigmoid" else nn.Identity()
            dec += [nn.Linear(n_in, n_out), out if last else nn.ReLU()]
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        check_batch(x, self.input_dim, finite=False)
        return self.encoder(x)  # (B, k)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        check_batch(z, self.latent_dim, name="z", finite=False)
        return self.decoder(z)  # (B, d)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)        # (B, k)
        x_hat = self.decoder(z)   # (B, d)
        return x_hat, z

    def extra_repr(self) -> str:
        return (f"input_dim={self.input_dim}, hidden_dims={self.hidden_dims}, "
                f"latent_dim={self.latent_dim}, tied={self.tied}, output={self.output!r}")


def sigmoid_mlp_linears(encoder: nn.Module) -> list[nn.Linear]:
    """The Linear layers of an encoder that is exactly Linear, Sigmoid, Linear, Sigmoid, ...

    Raises TypeError for anything else, since the closed-form penalty holds only there."""
    layers = list(encoder.children()) if isinstance(encoder, nn.Sequential) else []
    ok = (len(layers) >= 2 and len(layers) % 2 == 0
          and all(isinstance(m, nn.Linear) for m in layers[0::2])
          and all(isinstance(m, nn.Sigmoid) for m in layers[1::2]))
    if not ok:
        found = ", ".join(type(m).__name__ for m in layers) or type(encoder).__name__
        raise TypeError("method='analytic' needs an encoder made only of Linear+Sigmoid pairs "
                        f"(nn.Sequential(Linear, Sigmoid, ...)); found [{found}]. "
                        "Use method='autograd', which is exact for any differentiable encoder.")
    return layers[0::2]
