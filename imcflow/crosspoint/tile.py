"""Analog tile: a device array plus a reference array, read by MVMs and written by pulses.

Logical weight ``W = scale * (w - ref)``: ``w`` is the device conductance state, ``ref`` a fixed
reference conductance per cell (a second, static array or a per-column current subtracted in the
periphery). With ``reference=True`` the reference is *calibrated to the symmetry point* (the
"zero-shifting" step that Tiki-Taka and SHD rely on, PAPERS.md §2): many alternating up/down
pulses drive each cell to its symmetry point, and that state is read (averaged reads) and stored
as the reference. Logical zero is then the point every cell drifts to under update activity.
"""

from __future__ import annotations

import math

import torch

from imcflow.crosspoint.device import DeviceArray, DeviceConfig
from imcflow.crosspoint.pulse import pulse_counts


class AnalogTile:
    """One crosspoint array of ``out_features x in_features`` cells.

    Args:
        config: device type.
        out_features: rows (outputs).
        in_features: columns (inputs).
        generator: random source (d2d draw, pulses, noise).
        bl: stochastic pulse-train length per sample.
        scale: logical weight per unit of normalised conductance (digital output scale).
        reference: calibrate the reference to the symmetry point (else ``ref = 0``).
    """

    def __init__(self, config: DeviceConfig, out_features: int, in_features: int, *,
                 generator: torch.Generator, bl: int = 31, scale: float = 1.0,
                 reference: bool = True) -> None:
        self.config = config
        self.out_features = out_features
        self.in_features = in_features
        self.gen = generator
        self.bl = int(bl)
        self.scale = float(scale)
        self.dev = DeviceArray(config, (out_features, in_features), generator)
        self.ref = torch.zeros((out_features, in_features))
        self.pulses = 0.0  # total programming pulses applied (sum over cells)
        if reference:
            self.calibrate_reference()

    def calibrate_reference(self, max_calls: int = 400, n_reads: int = 16) -> None:
        """Drive every cell to its symmetry point with alternating pulses; store it as reference.

        The number of pulse pairs is ``~3 / (2 dw_min a)`` (three time constants of the decay
        toward the symmetry point), applied in blocks; constant-step devices (``A = 0``) have no
        symmetry point, so the reference is simply the current state.
        """
        c = self.config
        a = c.asymmetry / c.w_bound
        if a > 0:
            pairs = 3.0 / (2 * c.dw_min * a)
            calls = int(min(max_calls, max(20, pairs / 10)))
            block = max(1.0, math.ceil(pairs / calls))
            n = torch.full(self.dev.shape, block)
            for _ in range(calls):
                self.dev.apply_pulses(n, n)
            # finish with single pulse pairs so the block size leaves no offset
            one = torch.ones(self.dev.shape)
            for _ in range(20):
                self.dev.apply_pulses(one, one)
        self.ref = self.dev.read(n_reads=n_reads)

    # ----------------------------------------------------------------------------- weights
    def weight(self) -> torch.Tensor:
        """Noise-free logical weight ``scale * (w - ref)`` (for inspection and evaluation)."""
        return self.scale * (self.dev.w - self.ref)

    def set_weight(self, weight: torch.Tensor) -> None:
        """Idealised exact write of a logical weight (initialisation)."""
        self.dev.set(self.ref + weight / self.scale)

    def read_columns(self, cols: torch.Tensor) -> torch.Tensor:
        """Read columns ``cols`` of the logical weight (one MVM per one-hot input; read noise)."""
        return self.scale * (self.dev.read()[:, cols] - self.ref[:, cols])

    # ----------------------------------------------------------------------------- MVMs
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Forward MVM ``y = x @ W.T`` with read noise; ``x`` is ``(B, in)``."""
        return self.scale * (self.dev.mvm(x) - x @ self.ref.T)

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        """Transposed MVM ``z = d @ W`` with read noise; ``d`` is ``(B, out)``."""
        return self.scale * (self.dev.mvm_t(d) - d @ self.ref)

    # ----------------------------------------------------------------------------- update
    def update(self, x: torch.Tensor, delta: torch.Tensor, lr: float) -> None:
        """Pulsed update toward ``ΔW = -lr * Σ_b delta_b x_b^T`` (gradient-descent sign).

        ``delta`` is ``dL/dy`` of the batch ``(B, out)``; ``x`` the inputs ``(B, in)``.
        """
        n_up, n_down = pulse_counts(x, -delta, lr / self.scale, self.config.dw_min, self.bl,
                                    self.gen)
        self.pulses += float(n_up.sum() + n_down.sum())
        self.dev.apply_pulses(n_up, n_down)
