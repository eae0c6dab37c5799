"""Resistive crosspoint device model: soft bounds, asymmetric up/down steps, variation, noise.

Units. A device's state ``w`` is its conductance in *normalised weight units*: the hard
conductance window is ``[-w_bound, +w_bound]`` (``w_bound = 1`` by default; a differential pair
``G+ - G-`` scaled by ``1 / G_max``). Every step, bound and noise below is in these units.

The pulse response (one pulse, cell with parameters ``dw, a, s, r``)::

    up   pulse:  w <- w + dw (1 + r) * max(0, 1 - a (w - s))
    down pulse:  w <- w - dw (1 - r) * max(0, 1 + a (w - s))
    then clamp to [-w_bound, +w_bound];  each step multiplied by (1 + sigma_c2c * xi), xi ~ N(0, 1)

with ``a = asymmetry / w_bound`` (the slope of the step with the state, 1 / weight unit). This is
the linear-step / soft-bounds family (PAPERS.md §2): ``asymmetry = 0`` is an ideal constant-step
device; ``asymmetry = 1`` is the classic soft-bounds device whose up step vanishes at ``+w_bound``
and down step at ``-w_bound``; ``asymmetry > 1`` puts the soft bounds ``s ± w_bound/asymmetry``
inside the hard window. Split into a symmetric and an asymmetric part (per pulse of sign ``±``)::

    dw_up(w) - |dw_down(w)| = 2 dw (r - a (w - s)),   i.e.  G(w) = dw * a (w - s) - dw * r

so the asymmetric part ``G`` scales linearly with ``asymmetry`` (the CLI's ``--asymmetry A``).
The *symmetry point* (up step = down step) is ``w_sp = s + r / a`` (clamped to the window); a
random sequence of equally many up and down pulses drives every cell to its symmetry point.

Variation. Device-to-device (d2d) variation is drawn once per cell when a :class:`DeviceArray` is
made: ``dw`` and ``a`` get relative Gaussian spreads, ``s`` an absolute spread, and ``r`` (the
up/down imbalance, which shifts the symmetry point) an absolute spread. Cycle-to-cycle (c2c)
variation is a relative Gaussian noise on every pulse's step. Read noise is an additive Gaussian
on every read of a conductance (std ``read_noise`` per cell per read; an MVM of input ``x`` sees
an output noise of std ``read_noise * ||x||_2``). The number of distinguishable states is
``2 w_bound / dw_min``.

Applying ``n`` identical pulses uses the exact geometric sum of the affine one-pulse map (no
overshoot through a soft bound however large ``n``); a mix of ``n_up`` up and ``n_down`` down
pulses in one update is applied as half the up pulses, all down pulses, the other half of the up
pulses (a symmetric split, second-order accurate in the step size).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from imcflow.errors import ImcflowError


@dataclass(frozen=True)
class DeviceConfig:
    """Parameters of one device type (all dimensionless or in normalised weight units).

    Attributes:
        name: preset name.
        description: one line on what the preset stands for.
        dw_min: mean conductance change of one pulse at the symmetry point [weight units].
        asymmetry: slope of the step with the state, relative to ``w_bound`` (A; 0 = symmetric
            constant step, 1 = soft bounds at the hard bounds). Scales the asymmetric part G.
        w_bound: hard conductance window half-width [weight units].
        up_down: mean up/down step imbalance ``r`` (up step x (1+r), down step x (1-r)).
        up_down_dtod: d2d std of ``r`` (absolute).
        sp_dtod: d2d std of the soft-bound centre ``s`` [units of w_bound].
        dw_min_dtod: d2d relative std of ``dw_min``.
        asymmetry_dtod: d2d relative std of ``asymmetry``.
        dw_min_ctoc: c2c relative std of every pulse's step (programming noise).
        read_noise: std of the additive noise on one read of one cell [weight units].
        source: where the numbers come from (a measured device fit, or imcflow's choice).
    """

    name: str
    description: str
    dw_min: float = 0.002
    asymmetry: float = 0.0
    w_bound: float = 1.0
    up_down: float = 0.0
    up_down_dtod: float = 0.0
    sp_dtod: float = 0.0
    dw_min_dtod: float = 0.0
    asymmetry_dtod: float = 0.0
    dw_min_ctoc: float = 0.0
    read_noise: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        checks = {
            "dw_min": self.dw_min > 0 and self.dw_min < self.w_bound,
            "w_bound": self.w_bound > 0,
            "asymmetry": self.asymmetry >= 0 and math.isfinite(self.asymmetry),
            "up_down": abs(self.up_down) < 1,
        }
        for key in ("up_down_dtod", "sp_dtod", "dw_min_dtod", "asymmetry_dtod", "dw_min_ctoc",
                    "read_noise"):
            checks[key] = getattr(self, key) >= 0
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ImcflowError(f"device {self.name!r}: invalid parameter(s) {', '.join(bad)}")
        if self.asymmetry * self.dw_min / self.w_bound >= 0.5:
            raise ImcflowError(f"device {self.name!r}: asymmetry {self.asymmetry:g} too large for "
                               f"dw_min {self.dw_min:g} (one pulse would cross a soft bound)")

    @property
    def n_states(self) -> int:
        """Approximate number of distinguishable states over the hard window."""
        return int(round(2 * self.w_bound / self.dw_min))

    def with_asymmetry(self, asymmetry: float) -> DeviceConfig:
        """A copy with ``asymmetry`` replaced (the ``--asymmetry A`` knob)."""
        return dataclasses.replace(self, asymmetry=float(asymmetry))

    def to_dict(self) -> dict[str, float | str | int]:
        """Plain dict for JSON outputs (includes ``n_states``)."""
        d: dict[str, float | str | int] = dataclasses.asdict(self)
        d["n_states"] = self.n_states
        return d


PRESETS: dict[str, DeviceConfig] = {
    "ideal": DeviceConfig(
        name="ideal",
        description="ideal symmetric constant-step device, 1000 states, no noise or variation",
        dw_min=0.002, asymmetry=0.0,
        source="imcflow's reference: the constant-step device of Onen et al. 2022 (PAPERS.md "
               "§2) with A = 0; dw_min = 0.002 of the ±1 window as the soft-bounds ReRAM fit "
               "to Gong et al., Nat. Commun. 9, 2102 (2018) in IBM aihwkit "
               "(ReRamSBPresetDevice), so the presets differ only in asymmetry and noise"),
    "reram-mild": DeviceConfig(
        name="reram-mild",
        description="mildly asymmetric ReRAM-like soft-bounds device (A=0.5), 10-30% variation",
        dw_min=0.002, asymmetry=0.5, up_down=0.0, up_down_dtod=0.02, sp_dtod=0.05,
        dw_min_dtod=0.2, asymmetry_dtod=0.1, dw_min_ctoc=0.3, read_noise=0.005,
        source="dw_min = 0.002 from the soft-bounds ReRAM fit to Gong et al., Nat. Commun. 9, "
               "2102 (2018) (IBM aihwkit ReRamSBPresetDevice, which has dw_min_dtod 0.3, "
               "up_down_dtod 0.01); A = 0.5 and the milder spreads are imcflow's choice for "
               "the low end of the asymmetry sweep (not a fit)"),
    "reram-strong": DeviceConfig(
        name="reram-strong",
        description="strongly asymmetric ReRAM-like device (A=2, soft bounds at ±0.5)",
        dw_min=0.002, asymmetry=2.0, up_down=0.0, up_down_dtod=0.05, sp_dtod=0.05,
        dw_min_dtod=0.3, asymmetry_dtod=0.2, dw_min_ctoc=0.3, read_noise=0.005,
        source="dw_min = 0.002 and dw_min_dtod = 0.3 from the soft-bounds ReRAM fit to Gong "
               "et al., Nat. Commun. 9, 2102 (2018) (IBM aihwkit ReRamSBPresetDevice); A = 2 "
               "(soft bounds at ±0.5) and the other spreads are imcflow's choice for the "
               "strong end of the asymmetry sweep of Onen et al. 2022 (not a fit)"),
    "ecram": DeviceConfig(
        name="ecram",
        description="ECRAM-like: near-symmetric (A=0.1), fine steps (4000 states), low noise",
        dw_min=0.0005, asymmetry=0.1, up_down_dtod=0.01, sp_dtod=0.02, dw_min_dtod=0.1,
        asymmetry_dtod=0.05, dw_min_ctoc=0.05, read_noise=0.002,
        source="qualitative model of Li-ion ECRAM (Tang et al., IEDM 2018: near-symmetric, "
               "thousands of states); the numbers (4000 states, A = 0.1, spreads) are "
               "imcflow's illustrative choice, not a fit (aihwkit's EcRamPresetDevice fit to "
               "the same device has dw_min 0.002 and up/down slopes 0.115/0.509)"),
}


def get_preset(name: str, asymmetry: float | None = None) -> DeviceConfig:
    """Look up a preset by name; optionally override its asymmetry ``A``."""
    try:
        cfg = PRESETS[name]
    except KeyError:
        raise ImcflowError(f"unknown device preset {name!r} (choose from "
                           f"{', '.join(sorted(PRESETS))})") from None
    return cfg if asymmetry is None else cfg.with_asymmetry(asymmetry)


def _geom(n: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``(1 - (1 - c)^n) / c`` (sum of a geometric series), with the limit ``n`` at ``c = 0``."""
    safe = c.clamp_min(1e-12)
    val = -torch.expm1(n * torch.log1p(-safe)) / safe
    return torch.where(c > 1e-12, val, n)


class DeviceArray:
    """A 2-D array of devices with per-cell (d2d) parameters and a conductance state.

    Args:
        config: the device type.
        shape: ``(rows, cols)`` = (outputs, inputs).
        generator: torch generator for all random draws of this array (d2d, c2c, read).
        dtype: float dtype of the state.
    """

    def __init__(self, config: DeviceConfig, shape: tuple[int, int],
                 generator: torch.Generator, dtype: torch.dtype = torch.float32) -> None:
        self.config = config
        self.shape = shape
        self.gen = generator
        self.dtype = dtype
        c = config

        def n() -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=dtype)

        self.dw = (c.dw_min * (1 + c.dw_min_dtod * n())).clamp_min(0.05 * c.dw_min)
        self.a = (c.asymmetry / c.w_bound * (1 + c.asymmetry_dtod * n())).clamp_min(0.0)
        self.s = (c.sp_dtod * c.w_bound * n()).clamp(-0.5 * c.w_bound, 0.5 * c.w_bound)
        self.r = (c.up_down + c.up_down_dtod * n()).clamp(-0.9, 0.9)
        self.w = torch.zeros(shape, dtype=dtype)

    # ----------------------------------------------------------------------------- properties
    def step_up(self, w: torch.Tensor | None = None) -> torch.Tensor:
        """Mean conductance change of one up pulse at state ``w`` (default: current state)."""
        w = self.w if w is None else w
        return self.dw * (1 + self.r) * (1 - self.a * (w - self.s)).clamp_min(0.0)

    def step_down(self, w: torch.Tensor | None = None) -> torch.Tensor:
        """Mean magnitude of the conductance change of one down pulse at state ``w``."""
        w = self.w if w is None else w
        return self.dw * (1 - self.r) * (1 + self.a * (w - self.s)).clamp_min(0.0)

    def symmetry_point(self) -> torch.Tensor:
        """Per-cell symmetry point ``s + r / a`` (up step = down step), clamped to the window.

        For a constant-step cell (``a = 0``) there is none: the value is ``s`` if ``r = 0`` and
        the bound the imbalance drifts to otherwise.
        """
        b = self.config.w_bound
        safe_a = self.a.clamp_min(1e-12)
        sp = torch.where(self.a > 1e-12, self.s + self.r / safe_a,
                         torch.where(self.r == 0, self.s, torch.sign(self.r) * b))
        return sp.clamp(-b, b)

    # ----------------------------------------------------------------------------- state
    def set(self, w: torch.Tensor) -> None:
        """Set the state directly (an idealised, exact write), clamped to the hard window."""
        b = self.config.w_bound
        self.w = w.to(self.dtype).clamp(-b, b).clone()

    def read(self, n_reads: int = 1) -> torch.Tensor:
        """Read every cell (mean of ``n_reads`` reads, each with additive read noise)."""
        sigma = self.config.read_noise
        if sigma == 0:
            return self.w.clone()
        noise = torch.randn(self.shape, generator=self.gen, dtype=self.dtype)
        return self.w + sigma / math.sqrt(n_reads) * noise

    def mvm(self, x: torch.Tensor) -> torch.Tensor:
        """Forward MVM ``y = x @ w.T`` for a batch ``x`` (B, cols), with read noise on the output.

        Cell read noise of std ``read_noise`` is equivalent to an output noise of std
        ``read_noise * ||x_b||_2`` (independent Gaussian cells), which is what is drawn.
        """
        y = x @ self.w.T
        sigma = self.config.read_noise
        if sigma > 0:
            scale = sigma * x.norm(dim=1, keepdim=True)
            y = y + scale * torch.randn(y.shape, generator=self.gen, dtype=y.dtype)
        return y

    def mvm_t(self, d: torch.Tensor) -> torch.Tensor:
        """Transposed (backward) MVM ``z = d @ w`` for a batch ``d`` (B, rows), with read noise."""
        z = d @ self.w
        sigma = self.config.read_noise
        if sigma > 0:
            scale = sigma * d.norm(dim=1, keepdim=True)
            z = z + scale * torch.randn(z.shape, generator=self.gen, dtype=z.dtype)
        return z

    # ----------------------------------------------------------------------------- pulses
    def _apply_one_sign(self, n: torch.Tensor, up: bool) -> None:
        w, a, s = self.w, self.a, self.s
        if up:
            step0 = self.dw * (1 + self.r)
            factor = (1 - a * (w - s)).clamp_min(0.0)
        else:
            step0 = self.dw * (1 - self.r)
            factor = (1 + a * (w - s)).clamp_min(0.0)
        c = step0 * a
        mean = step0 * factor * _geom(n, c)
        sigma = self.config.dw_min_ctoc
        if sigma > 0:
            # independent relative noise on each of the n (geometrically shrinking) steps:
            # std = sigma * sqrt(sum_k step_k^2), sum_k q^(2k) = geom(n, 1 - q^2)
            noise = torch.randn(self.shape, generator=self.gen, dtype=self.dtype)
            mean = mean + sigma * step0 * factor * _geom(n, c * (2 - c)).sqrt() * noise
        b = self.config.w_bound
        self.w = (w + mean if up else w - mean).clamp(-b, b)

    def apply_pulses(self, n_up: torch.Tensor, n_down: torch.Tensor) -> None:
        """Apply ``n_up`` up and ``n_down`` down pulses per cell (non-negative counts)."""
        n_up = n_up.to(self.dtype)
        n_down = n_down.to(self.dtype)
        half = 0.5 * n_up
        if bool((half > 0).any()):
            self._apply_one_sign(half, up=True)
        if bool((n_down > 0).any()):
            self._apply_one_sign(n_down, up=False)
        if bool((half > 0).any()):
            self._apply_one_sign(half, up=True)
