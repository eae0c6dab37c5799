"""Networks of PNN layers: the MLP and the CNN of the paper, built from :mod:`imcflow.pnn`.

A :class:`PNNNet` maps input spike times to output spike times. All physics (E±, leak, ramp,
delays) lives in one :class:`~imcflow.pnn.PNNParams` shared by every spiking layer, so the |E|
study and the ANN baselines only swap parameters on a trained network.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

MODELS = ("mlp", "cnn")
NEURONS = ("rc", "ttfs")
SOLVERS = ("dstd", "exact")


def _pnn():
    import imcflow.pnn as pnn

    return pnn


class Flatten(nn.Module):
    """[B, C, H, W] spike times → [B, C·H·W]."""

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], -1)


class PNNNet(nn.Module):
    """A feed-forward stack of spiking layers (plus min-pooling, flatten): spike times in/out."""

    def __init__(self, layers: Sequence[nn.Module]):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            t = layer(t)
        return t

    # ------------------------------------------------------------------ the spiking layers
    def spiking_layers(self) -> list[nn.Module]:
        """Layers that carry weights and PNN parameters (Linear / Conv2d)."""
        return [m for m in self.layers if hasattr(m, "params") and hasattr(m, "weight")]

    def weights(self) -> list[torch.Tensor]:
        return [m.weight for m in self.spiking_layers()]

    def set_params(self, params) -> None:
        for m in self.spiking_layers():
            m.params = params

    @property
    def params(self):
        layers = self.spiking_layers()
        return layers[0].params if layers else None

    def set_solver(self, solver: str | None = None, M: int | None = None,
                   M_test: int | None = None) -> None:
        for m in self.spiking_layers():
            if solver is not None:
                m.solver = solver
            if M is not None:
                m.M = M
            if M_test is not None:
                m.M_test = M_test

    def set_noise(self, std: float) -> None:
        for m in self.spiking_layers():
            m.noise_std = float(std)

    @contextmanager
    def swapped(self, *, params=None, solver: str | None = None, M_test: int | None = None,
                noise_std: float | None = None, scales: tuple[float, float] | None = None
                ) -> Iterator[PNNNet]:
        """Temporarily change parameters / solver / noise, or scale positive and negative weights
        by ``scales = (a⁺, a⁻)`` (the scaled-ANN baseline); everything is restored on exit."""
        layers = self.spiking_layers()
        saved = [(m.params, m.solver, m.M_test, m.noise_std) for m in layers]
        saved_w = [m.weight.detach().clone() for m in layers] if scales is not None else None
        try:
            for m in layers:
                if params is not None:
                    m.params = params
                if solver is not None:
                    m.solver = solver
                if M_test is not None:
                    m.M_test = M_test
                if noise_std is not None:
                    m.noise_std = float(noise_std)
            if scales is not None:
                a_pos, a_neg = scales
                with torch.no_grad():
                    for m in layers:
                        w = m.weight
                        w.copy_(torch.where(w >= 0, w * a_pos, w * a_neg))
            yield self
        finally:
            for m, (p, s, mt, ns) in zip(layers, saved, strict=True):
                m.params, m.solver, m.M_test, m.noise_std = p, s, mt, ns
            if saved_w is not None:
                with torch.no_grad():
                    for m, w in zip(layers, saved_w, strict=True):
                        m.weight.copy_(w)


def _readout_forward(layer: nn.Module, t: torch.Tensor) -> torch.Tensor:
    from imcflow.pnn import rc_spike_dstd, rc_spike_exact
    from imcflow.pnn.ramp import ramp_crossing

    t_in, w = layer._inputs(t)
    if layer.solver == "exact":
        out, v = rc_spike_exact(t_in, w, layer.params, return_v=True)
    else:
        out, v = rc_spike_dstd(t_in, w, layer.params, layer.steps, layer._offset(),
                               layer.generator, return_v=True)
    if torch.is_grad_enabled():
        p = layer.params        # the ramp law continued outside [0, 1]
        lin = ramp_crossing(v, p.alpha_d_eff, p.beta_d, p.v_th) + p.delay_out
        out = out + (lin - lin.detach())
    return layer._noise(out)


def readout_class():
    """:class:`imcflow.pnn.RCSpikeLinear` with a straight-through gradient at its [0, 1] clip.

    The forward value is unchanged (the physical, clipped spike time: a neuron whose membrane
    ends below 0 fires at the end of the fire phase). The backward pass differentiates the
    unclipped ramp time instead, so an output neuron pinned at t = 1 (or t = 0) still learns —
    the role a linear output layer plays in an ANN. Without it the class neuron of a sample can
    sit at t = 1 with zero gradient and training stalls (measured: Fashion-MNIST MLP at ≈ 43 %
    after 3 epochs on 10k samples). Used for the output layer only; hidden layers keep the exact
    gradient of the clipped model.
    """
    global _READOUT
    if _READOUT is None:
        pnn = _pnn()

        class RCSpikeReadout(pnn.RCSpikeLinear):
            __doc__ = readout_class.__doc__

            def forward(self, t: torch.Tensor) -> torch.Tensor:
                return _readout_forward(self, t)

        _READOUT = RCSpikeReadout
    return _READOUT


_READOUT = None


def _init_weight(w: torch.Tensor, gain: float) -> None:
    """He-style normal init for the hard-sigmoid (ReLU-like) RC-Spike activation."""
    fan_in = w[0].numel()
    with torch.no_grad():
        w.normal_(0.0, gain * math.sqrt(2.0 / fan_in))


def build_model(*, model: str, neuron: str, n_in: int | tuple[int, ...], n_classes: int,
                hidden: Sequence[int] = (400, 400), params=None, solver: str = "dstd",
                M: int | None = None, M_test: int | None = None, random_offset: bool = True,
                noise_std: float = 0.0, init_gain: float | None = None,
                readout_ste: bool = True) -> PNNNet:
    """Build an MLP (``n_in``-hidden…-``n_classes``) or the paper's small CNN
    (Conv16-16-P-32-32-P-FC128-``n_classes``, 3×3 convolutions with padding 1, 2×2 min-pooling of
    spike times) from RC-Spike (``rc``) or TTFS (``ttfs``) layers.

    ``n_in`` is the number of inputs for an MLP and the input shape (C, H, W) for a CNN. ``M`` and
    ``M_test`` default to the paper's (10/30 RC-Spike, 20/60 TTFS). ``init_gain`` rescales a
    He-normal init (None keeps the layers' own initialisation). ``readout_ste`` gives an
    RC-Spike output layer a straight-through gradient at its clip (see :func:`readout_class`).
    """
    pnn = _pnn()
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {MODELS}")
    if neuron not in NEURONS:
        raise ValueError(f"unknown neuron {neuron!r}; choose one of {NEURONS}")
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS}")
    if params is None:
        params = pnn.PNNParams.ideal()
    lin_cls = pnn.RCSpikeLinear if neuron == "rc" else pnn.TTFSLinear
    conv_cls = pnn.RCSpikeConv2d if neuron == "rc" else pnn.TTFSConv2d
    out_cls = readout_class() if (readout_ste and neuron == "rc") else lin_cls
    kw: dict = {"params": params, "solver": solver, "random_offset": random_offset}
    if M is not None:
        kw["M"] = M
    if M_test is not None:
        kw["M_test"] = M_test

    layers: list[nn.Module] = []
    if model == "mlp":
        if not isinstance(n_in, int):
            n_in = int(math.prod(n_in))
        sizes = [n_in, *hidden, n_classes]
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            last = k == len(sizes) - 2
            layers.append((out_cls if last else lin_cls)(a, b, **kw))
    else:
        if isinstance(n_in, int) or len(n_in) != 3:
            raise ValueError("a CNN needs the input shape (C, H, W)")
        c, h, w = n_in
        for block in ((16, 16), (32, 32)):
            for ch in block:
                layers.append(conv_cls(c, ch, 3, stride=1, padding=1, **kw))
                c = ch
            layers.append(pnn.SpikeMinPool2d(2))
            h, w = h // 2, w // 2
        layers.append(Flatten())
        layers.append(lin_cls(c * h * w, 128, **kw))
        layers.append(out_cls(128, n_classes, **kw))
    net = PNNNet(layers)
    for m in net.spiking_layers():
        m.noise_std = float(noise_std)
        if init_gain is not None:
            _init_weight(m.weight, init_gain)
    return net
