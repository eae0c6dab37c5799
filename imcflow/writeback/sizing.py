"""Weights ↔ widths for one layer, on the manufacturing grid and within the device limits.

A synapse's current is set by its current-source width W at the layer's fixed gate bias; the
current per width is taken from a table I(W) (narrow-width effects make it non-proportional near
the 0.42 µm minimum), interpolated linearly and inverted the same way. Wide devices are split
into fingers of at most ``max_finger_um``. Weights whose width would fall below the smallest
device are rounded explicitly: to zero below half the minimum, else up to the minimum
(:func:`quantize_weights` gives the weights the hardware will realise, for quantization-aware
fine-tuning).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from imcflow import pdk
from imcflow.errors import SpecError
from imcflow.spec import DesignSpec, LayerSpec

#: Default largest width of one finger, µm.
MAX_FINGER_UM = 5.0


@dataclass(frozen=True)
class DeviceModel:
    """What write-back needs to turn a normalised weight into a width, for one layer.

    Attributes:
        widths_um: widths (µm, increasing) at which the unit currents were measured.
        i_n_A: NMOS synapse current (A) at each width, membrane at V₀ (v = 0), layer bias.
        i_p_A: PMOS synapse current magnitude (A) at each width, same conditions.
        c_eff_F: effective membrane capacitance per neuron (F): MIM plus parasitics.
        v_th_V: normalisation voltage V_th (V): the design threshold V₀ − V_switch.
        T_s: phase length (s).
    """

    widths_um: tuple[float, ...]
    i_n_A: tuple[float, ...]
    i_p_A: tuple[float, ...]
    c_eff_F: tuple[float, ...]
    v_th_V: float
    T_s: float
    notes: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        w = np.asarray(self.widths_um)
        if w.ndim != 1 or w.size < 1 or np.any(np.diff(w) <= 0):
            raise ValueError("DeviceModel.widths_um must be a strictly increasing list")
        for name in ("i_n_A", "i_p_A"):
            i = np.asarray(getattr(self, name))
            if i.shape != w.shape or np.any(i <= 0) or np.any(np.diff(i) <= 0):
                raise ValueError(f"DeviceModel.{name} must be positive and increase with width")
        if any(c <= 0 for c in self.c_eff_F) or self.v_th_V <= 0 or self.T_s <= 0:
            raise ValueError("DeviceModel: c_eff_F, v_th_V and T_s must be positive")

    @classmethod
    def proportional(cls, i_n_per_um: float, i_p_per_um: float, c_eff_F: list[float],
                     v_th_V: float, T_s: float) -> DeviceModel:
        """A model with currents proportional to width (the schematic designer's assumption)."""
        w = (0.42, 100.0)
        return cls(widths_um=w, i_n_A=tuple(i_n_per_um * x for x in w),
                   i_p_A=tuple(i_p_per_um * x for x in w), c_eff_F=tuple(c_eff_F),
                   v_th_V=v_th_V, T_s=T_s)

    def unit_current(self) -> np.ndarray:
        """Current (A) of weight 1 per neuron: C_eff · V_th / T."""
        return np.asarray(self.c_eff_F) * self.v_th_V / self.T_s

    def current(self, width_um: np.ndarray, positive: np.ndarray) -> np.ndarray:
        """Current magnitude (A) of a synapse of total ``width_um`` (≥ 0); 0 for width 0."""
        w = np.abs(np.asarray(width_um, dtype=float))
        table_w = np.asarray(self.widths_um)
        out = np.zeros_like(w)
        for sign, table_i in ((True, np.asarray(self.i_n_A)), (False, np.asarray(self.i_p_A))):
            m = (np.asarray(positive) == sign) & (w > 0)
            out[m] = _interp_extrapolate(w[m], table_w, table_i)
        return out

    def width(self, current_A: np.ndarray, positive: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`current`: width (µm, not snapped) giving ``current_A`` (≥ 0)."""
        i = np.abs(np.asarray(current_A, dtype=float))
        table_w = np.asarray(self.widths_um)
        out = np.zeros_like(i)
        for sign, table_i in ((True, np.asarray(self.i_n_A)), (False, np.asarray(self.i_p_A))):
            m = (np.asarray(positive) == sign) & (i > 0)
            out[m] = _interp_extrapolate(i[m], table_i, table_w)
        return out


def _interp_extrapolate(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation, extended linearly beyond both ends (through the origin
    for a single point)."""
    if xp.size == 1:
        return x * (fp[0] / xp[0])
    y = np.interp(x, xp, fp)
    lo, hi = x < xp[0], x > xp[-1]
    y[lo] = fp[0] + (x[lo] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
    y[hi] = fp[-1] + (x[hi] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return y


def _device_limits() -> tuple[float, float]:
    n, p = pdk.device("nfet_01v8"), pdk.device("pfet_01v8")
    return max(n.w_min_um, p.w_min_um), min(n.w_max_um, p.w_max_um)


def _snap_total(width_um: float, max_finger_um: float) -> tuple[float, int]:
    """Total width (µm) with an on-grid per-finger width, and the finger count."""
    nf = max(1, math.ceil(width_um / max_finger_um - 1e-9))
    per = pdk.snap(width_um / nf)
    return round(per * nf, 6), nf


def weights_to_widths(weight: np.ndarray, dm: DeviceModel, *,
                      max_finger_um: float = MAX_FINGER_UM) -> tuple[np.ndarray, np.ndarray]:
    """Signed widths (µm, total over fingers) and finger counts for weights [n_out, n_in].

    ``+`` → NMOS pair, ``−`` → PMOS pair. Below the minimum device: 0 under half of it, else
    the minimum. Raises :class:`SpecError` when a weight needs more than 64 maximal fingers.
    """
    w = np.asarray(weight, dtype=float)
    if w.ndim != 2 or w.shape[0] != len(dm.c_eff_F):
        raise SpecError(f"weights have shape {w.shape}; the device model has "
                        f"{len(dm.c_eff_F)} neurons")
    current = np.abs(w) * dm.unit_current()[:, None]
    positive = w >= 0
    raw = dm.width(current, positive)
    w_min, w_max = _device_limits()
    widths = np.zeros_like(w)
    fingers = np.ones(w.shape, dtype=int)
    for idx in np.ndindex(w.shape):
        x = raw[idx]
        if x < w_min / 2:
            continue
        x = max(x, w_min)
        total, nf = _snap_total(x, max_finger_um)
        if nf > 64 or total / nf > w_max:
            raise SpecError(f"weight {w[idx]:.3g} at {idx} needs {x:.1f} µm; more than 64 "
                            f"fingers of {max_finger_um} µm — use a larger membrane capacitor")
        widths[idx] = total if positive[idx] else -total
        fingers[idx] = nf
    return widths, fingers


def widths_to_weights(widths_um: np.ndarray, dm: DeviceModel) -> np.ndarray:
    """Normalised weights realised by signed widths (µm) [n_out, n_in]."""
    widths = np.asarray(widths_um, dtype=float)
    current = dm.current(np.abs(widths), widths > 0)
    return np.sign(widths) * current / dm.unit_current()[:, None]


def quantize_weights(weight: np.ndarray, dm: DeviceModel, *,
                     max_finger_um: float = MAX_FINGER_UM) -> np.ndarray:
    """The weights the hardware realises after sizing (grid, minimum device, fingers)."""
    widths, _ = weights_to_widths(weight, dm, max_finger_um=max_finger_um)
    return widths_to_weights(widths, dm)


def writeback_layer(layer: LayerSpec, weight: np.ndarray, dm: DeviceModel, *,
                    max_finger_um: float = MAX_FINGER_UM) -> LayerSpec:
    """``layer`` with its synapse widths and fingers replaced by the sizes of ``weight``."""
    widths, fingers = weights_to_widths(weight, dm, max_finger_um=max_finger_um)
    if widths.shape != (layer.n_out, layer.n_in):
        raise SpecError(f"layer {layer.name}: weights {widths.shape} do not match the layer "
                        f"({layer.n_out}, {layer.n_in})")
    return dataclasses.replace(
        layer,
        width_um=tuple(tuple(float(x) for x in row) for row in widths),
        fingers=tuple(tuple(int(x) for x in row) for row in fingers))


def writeback_spec(spec: DesignSpec, weights: list[np.ndarray], models: list[DeviceModel], *,
                   name: str | None = None, max_finger_um: float = MAX_FINGER_UM) -> DesignSpec:
    """A new spec whose synapse sizes realise ``weights`` (one matrix and model per layer)."""
    if not len(weights) == len(models) == len(spec.layers):
        raise SpecError(f"need one weight matrix and device model per layer "
                        f"({len(spec.layers)}), got {len(weights)} and {len(models)}")
    layers = tuple(writeback_layer(layer, w, dm, max_finger_um=max_finger_um)
                   for layer, w, dm in zip(spec.layers, weights, models, strict=True))
    return spec.replace(layers=layers, name=name or spec.name)
