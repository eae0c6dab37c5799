"""``torch.nn`` layers of the physical neural network: RC-Spike / TTFS, Linear / Conv2d.

Every layer maps input spike times to output spike times (normalised, ``+inf`` = no spike).
``solver`` ("dstd" or "exact"), ``M`` (DSTD steps in training mode), ``M_test`` (in eval mode)
and ``params`` can be changed after construction. In training mode with ``random_offset`` the
DSTD grid offset is redrawn every call (per mini-batch and layer, as in the paper); in eval mode
the grid is aligned with the window (deterministic).

Weight init (documented choice, :func:`init_spike_weights`; N = fan-in):

* RC-Spike: ``w ~ N(1/N, (0.5·sqrt(3/N))²)``. For inputs uniform in [0, 1] the ideal membrane
  ``v(1) = Σ w (1 − t)`` then has mean ≈ 0.5 and std ≈ 0.5, so output times start spread over
  the window rather than clipped.
* TTFS: ``w ~ N(2/N, (2/N)²)`` (mostly excitatory). Net drive Σ w ≈ 2 keeps the reversal-
  potential asymptote g/f above v_th = 1 even with the paper's E⁺/E⁻, so neurons fire (a dead
  TTFS neuron has no gradient); std-dominated inits leave most of them silent.
Optional ``bias``: an extra input that spikes at t = 0 with a learnable weight per neuron.
``noise_std``: Gaussian noise added to the output times in training *and* eval (paper §1.3);
not clipped (the next RC-Spike layer clamps its inputs to its window; ``inf`` stays ``inf``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .conv import _pair, im2col_times, rc_spike_conv2d_exact, ttfs_conv2d_exact
from .dstd import rc_spike_conv2d_dstd, rc_spike_dstd, ttfs_conv2d_dstd, ttfs_dstd
from .exact import rc_spike_exact, ttfs_exact
from .params import PNNParams

__all__ = [
    "RCSpikeLinear",
    "TTFSLinear",
    "RCSpikeConv2d",
    "TTFSConv2d",
    "SpikeMinPool2d",
    "init_spike_weights",
]

_SOLVERS = ("dstd", "exact")


def init_spike_weights(weight: Tensor, fan_in: int, kind: str = "rc",
                       generator: torch.Generator | None = None) -> Tensor:
    """In-place init of spike-time weights (see module doc); ``kind`` is "rc" or "ttfs"."""
    if kind == "rc":
        mean, std = 1.0 / fan_in, 0.5 * math.sqrt(3.0 / fan_in)
    elif kind == "ttfs":
        mean, std = 2.0 / fan_in, 2.0 / fan_in
    else:
        raise ValueError(f"kind must be 'rc' or 'ttfs', got {kind!r}")
    with torch.no_grad():
        weight.normal_(mean, std, generator=generator)
    return weight


class _SpikeLayer(nn.Module):
    """Common state: params, solver, M/M_test, offsets, noise."""

    _kind = "rc"  # or "ttfs": selects the weight init

    def __init__(self, params, solver, M, M_test, random_offset, noise_std):
        super().__init__()
        self.params = params
        self.solver = solver
        self.M = M
        self.M_test = M_test
        self.random_offset = bool(random_offset)
        self.noise_std = float(noise_std)
        self.generator: torch.Generator | None = None  # for offsets and noise; None = global

    # validated settable attributes ------------------------------------------------------
    @property
    def params(self) -> PNNParams:
        return self._params

    @params.setter
    def params(self, value: PNNParams) -> None:
        if not isinstance(value, PNNParams):
            raise ValueError(f"params must be a PNNParams, got {type(value).__name__}")
        self._params = value

    @property
    def solver(self) -> str:
        return self._solver

    @solver.setter
    def solver(self, value: str) -> None:
        if value not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS}, got {value!r}")
        self._solver = value

    @property
    def steps(self) -> int:
        """DSTD steps used now: ``M`` in training mode, ``M_test`` in eval mode."""
        return self.M if self.training else self.M_test

    def _offset(self):
        return "random" if (self.training and self.random_offset) else None

    def _noise(self, t: Tensor) -> Tensor:
        if self.noise_std > 0:
            noise = torch.randn(t.shape, generator=self.generator, dtype=t.dtype,
                                device=t.device)
            t = t + self.noise_std * noise
        return t

    def extra_repr(self) -> str:
        return (f"solver={self.solver!r}, M={self.M}, M_test={self.M_test}, "
                f"random_offset={self.random_offset}, noise_std={self.noise_std}, "
                f"params={self.params}")


class _Linear(_SpikeLayer):
    def __init__(self, in_features: int, out_features: int, params: PNNParams | None = None,
                 solver: str = "dstd", M: int = 10, M_test: int = 30,
                 random_offset: bool = True, bias: bool = False, noise_std: float = 0.0):
        super().__init__(params or PNNParams.paper(), solver, M, M_test, random_offset,
                         noise_std)
        if in_features < 1 or out_features < 1:
            raise ValueError("in_features and out_features must be >= 1")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        n = self.in_features + (self.bias is not None)
        init_spike_weights(self.weight, n, self._kind)
        if self.bias is not None:
            init_spike_weights(self.bias.data.unsqueeze(1), n, self._kind)

    def _inputs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        if t.dim() != 2 or t.shape[1] != self.in_features:
            raise ValueError(f"{type(self).__name__} expects [B, {self.in_features}] times, "
                             f"got {tuple(t.shape)}")
        w = self.weight
        if self.bias is not None:  # bias = one extra input spiking at t = 0
            t = torch.cat([t, t.new_zeros(t.shape[0], 1)], dim=1)
            w = torch.cat([w, self.bias.unsqueeze(1)], dim=1)
        return t, w.to(t.dtype)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, " + super().extra_repr())


class RCSpikeLinear(_Linear):
    """Fully connected RC-Spike layer: times [B, in_features] → times [B, out_features] in [0, 1]
    (+ ``delay_out``, + noise)."""

    def forward(self, t: Tensor) -> Tensor:
        t, w = self._inputs(t)
        if self.solver == "exact":
            out = rc_spike_exact(t, w, self.params)
        else:
            out = rc_spike_dstd(t, w, self.params, self.steps, self._offset(), self.generator)
        return self._noise(out)


class TTFSLinear(_Linear):
    """Fully connected TTFS layer: first crossing of v_th, ``+inf`` = no spike.

    ``t_max`` fixes the DSTD grid span (default: latest finite input of the batch)."""

    _kind = "ttfs"

    def __init__(self, in_features: int, out_features: int, params: PNNParams | None = None,
                 solver: str = "dstd", M: int = 20, M_test: int = 60,
                 random_offset: bool = True, bias: bool = False, noise_std: float = 0.0,
                 t_max: float | None = None):
        super().__init__(in_features, out_features, params, solver, M, M_test, random_offset,
                         bias, noise_std)
        self.t_max = t_max

    def forward(self, t: Tensor) -> Tensor:
        t, w = self._inputs(t)
        if self.solver == "exact":
            out = ttfs_exact(t, w, self.params)
        else:
            out = ttfs_dstd(t, w, self.params, self.steps, self._offset(), self.generator,
                            t_max=self.t_max)
        return self._noise(out)


class _Conv(_SpikeLayer):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 params: PNNParams | None = None, solver: str = "dstd", M: int = 10,
                 M_test: int = 30, random_offset: bool = True, bias: bool = False,
                 noise_std: float = 0.0):
        super().__init__(params or PNNParams.paper(), solver, M, M_test, random_offset,
                         noise_std)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    @property
    def fan_in(self) -> int:
        return self.in_channels * self.kernel_size[0] * self.kernel_size[1]

    def reset_parameters(self) -> None:
        n = self.fan_in + (self.bias is not None)
        init_spike_weights(self.weight, n, self._kind)
        if self.bias is not None:
            init_spike_weights(self.bias.data.unsqueeze(1), n, self._kind)

    def _check(self, t: Tensor) -> None:
        if t.dim() != 4 or t.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects [B, {self.in_channels}, H, W] "
                             f"times, got {tuple(t.shape)}")

    def _exact(self, fn_conv, fn_linear, t: Tensor) -> Tensor:
        w = self.weight.to(t.dtype)
        if self.bias is None:
            return fn_conv(t, w, self.params, stride=self.stride, padding=self.padding)
        cols, h, wd = im2col_times(t, self.kernel_size, self.stride, self.padding)
        cols = torch.cat([cols, cols.new_zeros(cols.shape[0], 1)], dim=1)
        w2 = torch.cat([w.reshape(self.out_channels, -1), self.bias.to(t.dtype)[:, None]], 1)
        out = fn_linear(cols, w2, self.params)
        return out.reshape(t.shape[0], h, wd, self.out_channels).permute(0, 3, 1, 2)

    def _dstd(self, fn, t: Tensor, **kw) -> Tensor:
        bias = None if self.bias is None else self.bias.to(t.dtype)
        return fn(t, self.weight.to(t.dtype), self.params, self.steps, self._offset(),
                  self.generator, stride=self.stride, padding=self.padding, bias=bias, **kw)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}, "
                + super().extra_repr())


class RCSpikeConv2d(_Conv):
    """2-D convolutional RC-Spike layer: [B, C_in, H, W] times → [B, C_out, H', W'] times.
    DSTD coefficients come from ``conv2d``; padding means "no input spike"."""

    def forward(self, t: Tensor) -> Tensor:
        self._check(t)
        if self.solver == "exact":
            out = self._exact(rc_spike_conv2d_exact, rc_spike_exact, t)
        else:
            out = self._dstd(rc_spike_conv2d_dstd, t)
        return self._noise(out)


class TTFSConv2d(_Conv):
    """2-D convolutional TTFS layer (defaults M = 20, M_test = 60)."""

    _kind = "ttfs"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 params: PNNParams | None = None, solver: str = "dstd", M: int = 20,
                 M_test: int = 60, random_offset: bool = True, bias: bool = False,
                 noise_std: float = 0.0, t_max: float | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, params,
                         solver, M, M_test, random_offset, bias, noise_std)
        self.t_max = t_max

    def forward(self, t: Tensor) -> Tensor:
        self._check(t)
        if self.solver == "exact":
            out = self._exact(ttfs_conv2d_exact, ttfs_exact, t)
        else:
            out = self._dstd(ttfs_conv2d_dstd, t, t_max=self.t_max)
        return self._noise(out)


class SpikeMinPool2d(nn.Module):
    """Spike-time pooling: the earliest spike in each window wins (``−maxpool(−t)``)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def forward(self, t: Tensor) -> Tensor:
        return -F.max_pool2d(-t, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

