"""Weights ↔ widths for one layer, on the manufacturing grid and within the device limits.

A synapse is ``nf`` identical fingers of width W_f in parallel (ngspice bins the sky130 models by
the per-finger width W/nf under imcflow's ``.spiceinit``, ``ngbehavior=hsa``; its default bins by
the total W. Measured: W = 45.3 µm nf = 10 carries ten times a 4.53 µm device to 1e-5, and
without hsa 8 % less for the PMOS, test_sim_spice), so its
current is ``nf · I_f(W_f)`` with I_f the *measured* current of one finger at the layer's bias
and the membrane at V₀. I_f(W) is far from proportional in sky130 (model bins; below ~0.6 µm a
narrow finger carries more than a 1 µm one), so the table is interpolated, never extrapolated,
and only a range where it increases strictly is used (``finger_range_um``, default 1–5 µm, cut
further to the widest stretch without dips: e.g. the PMOS finger current of the demo falls from
1.0 to 1.17 µm and write-back starts at 1.46 µm).

Weights whose current is below one minimum finger are rounded explicitly: to zero under half
of it, else up to it (:func:`quantize_weights` gives the weights the hardware realises, for
quantization-aware fine-tuning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imcflow import pdk
from imcflow.errors import SpecError
from imcflow.pnn.ramp import SelectorTail
from imcflow.spec import DesignSpec, LayerSpec

#: Per-finger widths (µm) write-back uses by default: ≥ 1 µm keeps clear of the narrow-width bins.
FINGER_RANGE_UM = (1.0, 5.0)
MAX_FINGERS = 64


@dataclass(frozen=True)
class DeviceModel:
    """What write-back needs to turn a normalised weight into a width, for one layer.

    Attributes:
        widths_um: per-finger widths (µm, increasing) at which the finger currents were measured.
        i_n_A: NMOS synapse current of one finger (A) at each width, membrane at V₀, layer bias.
        i_p_A: PMOS synapse current magnitude of one finger (A), same conditions.
        c_eff_F: effective membrane capacitance per neuron (F): MIM plus parasitics.
        v_th_V: normalisation voltage V_th (V): the design threshold V₀ − V_switch.
        T_s: phase length (s).
        beta_n, beta_p: optional β (= 1/E) of one finger at each width (NMOS ≥ 0, PMOS ≤ 0),
            so the model can carry the reversal potential of the device a weight becomes.
        on_n, on_p, tail_n, tail_p, tail: optional switching charge of one finger at each
            width, onset and selector tail κ, and the tail's time profile
            (:class:`imcflow.pnn.ramp.SelectorTail`).
    """

    widths_um: tuple[float, ...]
    i_n_A: tuple[float, ...]
    i_p_A: tuple[float, ...]
    c_eff_F: tuple[float, ...]
    v_th_V: float
    T_s: float
    beta_n: tuple[float, ...] = ()
    beta_p: tuple[float, ...] = ()
    on_n: tuple[float, ...] = ()
    on_p: tuple[float, ...] = ()
    tail_n: tuple[float, ...] = ()
    tail_p: tuple[float, ...] = ()
    tail: SelectorTail | None = None
    notes: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        w = np.asarray(self.widths_um)
        if w.ndim != 1 or w.size < 2 or np.any(np.diff(w) <= 0):
            raise ValueError("DeviceModel.widths_um must be a strictly increasing list (≥ 2)")
        for name in ("i_n_A", "i_p_A"):
            i = np.asarray(getattr(self, name))
            if i.shape != w.shape or np.any(i <= 0):
                raise ValueError(f"DeviceModel.{name} must hold one positive current per width")
        if any(c <= 0 for c in self.c_eff_F) or self.v_th_V <= 0 or self.T_s <= 0:
            raise ValueError("DeviceModel: c_eff_F, v_th_V and T_s must be positive")
        for name in ("beta_n", "beta_p", "on_n", "on_p", "tail_n", "tail_p"):
            b = getattr(self, name)
            if b and len(b) != w.size:
                raise ValueError(f"DeviceModel.{name} must hold one value per width (or none)")

    @classmethod
    def proportional(cls, i_n_per_um: float, i_p_per_um: float, c_eff_F: list[float],
                     v_th_V: float, T_s: float) -> DeviceModel:
        """Currents proportional to width (the schematic designer's assumption)."""
        w = (0.42, 1.0, 2.0, 5.0, 10.0, 100.0)
        return cls(widths_um=w, i_n_A=tuple(i_n_per_um * x for x in w),
                   i_p_A=tuple(i_p_per_um * x for x in w), c_eff_F=tuple(c_eff_F),
                   v_th_V=v_th_V, T_s=T_s)

    def unit_current(self) -> np.ndarray:
        """Current (A) of weight 1 per neuron: C_eff · V_th / T."""
        return np.asarray(self.c_eff_F) * self.v_th_V / self.T_s

    def max_weight(self, positive: bool,
                   finger_range_um: tuple[float, float] = FINGER_RANGE_UM) -> np.ndarray:
        """The largest weight magnitude of one sign the devices realise, per neuron [n_out]:
        :data:`MAX_FINGERS` fingers of the widest usable width."""
        _, i = self.table(positive, _device_range(finger_range_um))
        return MAX_FINGERS * float(i[-1]) / self.unit_current()

    def table(self, positive: bool, finger_range_um: tuple[float, float] = FINGER_RANGE_UM
              ) -> tuple[np.ndarray, np.ndarray]:
        """(widths, finger currents) usable for write-back: inside ``finger_range_um`` and, where
        the measured current dips (model bins), only the widest stretch over which it grows
        strictly (so width(current) is unique)."""
        w = np.asarray(self.widths_um)
        i = np.asarray(self.i_n_A if positive else self.i_p_A)
        lo, hi = finger_range_um
        m = (w >= lo - 1e-9) & (w <= hi + 1e-9)
        w, i = w[m], i[m]
        # runs over which the current grows strictly, split at every dip; keep the widest
        cuts = np.nonzero(np.diff(i) <= 0)[0] + 1
        runs = np.split(np.arange(w.size), cuts)
        run = max(runs, key=lambda r: (w[r[-1]] - w[r[0]] if r.size else -1.0, r.size))
        w, i = w[run], i[run]
        if w.size < 2:
            kind = "NMOS" if positive else "PMOS"
            raise SpecError(f"{kind} finger current does not grow over [{lo:g}, {hi:g}] µm; "
                            "widen finger_range_um or change the bias")
        return w, i

    def current(self, width_um: np.ndarray, fingers: np.ndarray, positive: np.ndarray
                ) -> np.ndarray:
        """Current magnitude (A) of synapses of total ``width_um`` over ``fingers``."""
        width = np.abs(np.asarray(width_um, dtype=float))
        nf = np.broadcast_to(np.asarray(fingers), width.shape)
        pos = np.broadcast_to(np.asarray(positive), width.shape)
        out = np.zeros_like(width)
        table_w = np.asarray(self.widths_um)
        for sign, table_i in ((True, self.i_n_A), (False, self.i_p_A)):
            m = (pos == sign) & (width > 0)
            per = width[m] / nf[m]
            if np.any(per < table_w[0] - 1e-9) or np.any(per > table_w[-1] + 1e-9):
                raise SpecError(f"finger width outside the measured {table_w[0]:g}–"
                                f"{table_w[-1]:g} µm")
            out[m] = nf[m] * np.interp(per, table_w, np.asarray(table_i))
        return out


def _finger_widths(weight: np.ndarray, dm: DeviceModel,
                   finger_range_um: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The realisable weights and the finger width (µm) of the device that realises each (the
    narrowest in-range finger for weights that round to zero)."""
    w = realisable(weight, dm, finger_range_um)
    widths, fingers = weights_to_widths(w, dm, finger_range_um=finger_range_um)
    lo, _ = _device_range(finger_range_um)
    return w, np.where(widths != 0, np.abs(widths) / fingers, lo)


def _read(w: np.ndarray, per: np.ndarray, dm: DeviceModel, table_n: tuple[float, ...],
          table_p: tuple[float, ...]) -> np.ndarray:
    """A per-finger-width table of the sign of each weight, at each finger width."""
    tw = np.asarray(dm.widths_um)
    return np.where(w >= 0, np.interp(per, tw, table_n), np.interp(per, tw, table_p))


def beta_for(weight: np.ndarray, dm: DeviceModel, *,
             finger_range_um: tuple[float, float] = FINGER_RANGE_UM) -> np.ndarray:
    """Per-synapse β of the devices that realise ``weight`` (their finger width's measured β).
    Needs ``dm.beta_n/beta_p``."""
    if not dm.beta_n or not dm.beta_p:
        raise ValueError("the device model carries no per-width β")
    w, per = _finger_widths(weight, dm, finger_range_um)
    return _read(w, per, dm, dm.beta_n, dm.beta_p)


def switching_for(weight: np.ndarray, dm: DeviceModel, *,
                  finger_range_um: tuple[float, float] = FINGER_RANGE_UM) -> np.ndarray:
    """[2, …]: per-synapse onset and selector-tail κ of the devices that realise ``weight``.
    Needs ``dm``'s switching tables."""
    if not dm.tail_n or not dm.tail_p or not dm.on_n or not dm.on_p:
        raise ValueError("the device model carries no switching charge")
    w, per = _finger_widths(weight, dm, finger_range_um)
    return np.stack([_read(w, per, dm, dm.on_n, dm.on_p), _read(w, per, dm, dm.tail_n, dm.tail_p)])


def _device_range(finger_range_um: tuple[float, float]) -> tuple[float, float]:
    n, p = pdk.device("nfet_01v8"), pdk.device("pfet_01v8")
    lo = max(finger_range_um[0], n.w_min_um, p.w_min_um)
    hi = min(finger_range_um[1], n.w_max_um, p.w_max_um)
    return lo, hi


def weights_to_widths(weight: np.ndarray, dm: DeviceModel, *,
                      finger_range_um: tuple[float, float] = FINGER_RANGE_UM
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Signed total widths (µm) and finger counts realising weights [n_out, n_in].

    ``+`` → NMOS pair, ``−`` → PMOS pair. The fewest fingers whose widest finger carries the
    current; the finger width by inverting the measured table, snapped to the grid. Raises
    :class:`SpecError` for a weight that needs more than 64 fingers.
    """
    w = np.asarray(weight, dtype=float)
    if w.ndim != 2 or w.shape[0] != len(dm.c_eff_F):
        raise SpecError(f"weights have shape {w.shape}; the device model has "
                        f"{len(dm.c_eff_F)} neurons")
    lo, hi = _device_range(finger_range_um)
    current = np.abs(w) * dm.unit_current()[:, None]
    widths = np.zeros_like(w)
    fingers = np.ones(w.shape, dtype=int)
    tables = {s: dm.table(s, (lo, hi)) for s in (True, False)}
    for idx in np.ndindex(w.shape):
        pos = bool(w[idx] >= 0)
        tw, ti = tables[pos]
        target = current[idx]
        if target < ti[0] / 2:
            continue
        nf = max(1, math.ceil(target / ti[-1] - 1e-12))
        if nf > MAX_FINGERS:
            raise SpecError(f"weight {w[idx]:.3g} at {idx} needs {nf} fingers of {tw[-1]:g} µm "
                            f"(max {MAX_FINGERS}): use a larger membrane capacitor")
        per = float(np.interp(target / nf, ti, tw))  # clamps below the table to its first width
        per = min(max(pdk.snap(per), tw[0]), tw[-1])
        total = round(per * nf, 6)
        widths[idx] = total if pos else -total
        fingers[idx] = nf
    return widths, fingers


def widths_to_weights(widths_um: np.ndarray, fingers: np.ndarray, dm: DeviceModel) -> np.ndarray:
    """Normalised weights realised by signed widths (µm) with ``fingers`` [n_out, n_in]."""
    widths = np.asarray(widths_um, dtype=float)
    current = dm.current(widths, fingers, widths > 0)
    return np.sign(widths) * current / dm.unit_current()[:, None]


def quantize_weights(weight: np.ndarray, dm: DeviceModel, *,
                     finger_range_um: tuple[float, float] = FINGER_RANGE_UM) -> np.ndarray:
    """The weights the hardware realises after sizing (grid, minimum finger, finger count); a
    weight beyond what :data:`MAX_FINGERS` fingers carry is realised at that limit (at sf, 0 °C
    with 1 µm channels a PMOS finger carries 1/400 of the unit current)."""
    widths, fingers = weights_to_widths(realisable(weight, dm, finger_range_um), dm,
                                        finger_range_um=finger_range_um)
    return widths_to_weights(widths, fingers, dm)


def realisable(weight: np.ndarray, dm: DeviceModel,
               finger_range_um: tuple[float, float] = FINGER_RANGE_UM) -> np.ndarray:
    """``weight`` [n_out, n_in] clipped to what :data:`MAX_FINGERS` fingers of each sign carry
    (just inside, so that rounding never asks for one finger more)."""
    w = np.asarray(weight, dtype=float)
    hi = dm.max_weight(True, finger_range_um)[:, None]
    lo = -dm.max_weight(False, finger_range_um)[:, None]
    return np.clip(w, lo * (1 - 1e-9), hi * (1 - 1e-9))


def writeback_layer(layer: LayerSpec, weight: np.ndarray, dm: DeviceModel, *,
                    finger_range_um: tuple[float, float] = FINGER_RANGE_UM) -> LayerSpec:
    """``layer`` with its synapse widths and fingers replaced by the sizes of ``weight``."""
    widths, fingers = weights_to_widths(weight, dm, finger_range_um=finger_range_um)
    return layer.with_sizes(widths, fingers)


def writeback_spec(spec: DesignSpec, weights: list[np.ndarray], models: list[DeviceModel], *,
                   name: str | None = None,
                   finger_range_um: tuple[float, float] = FINGER_RANGE_UM) -> DesignSpec:
    """A new spec whose synapse sizes realise ``weights`` (one matrix and model per layer)."""
    if not len(weights) == len(models) == len(spec.layers):
        raise SpecError(f"need one weight matrix and device model per layer "
                        f"({len(spec.layers)}), got {len(weights)} and {len(models)}")
    layers = tuple(writeback_layer(layer, w, dm, finger_range_um=finger_range_um)
                   for layer, w, dm in zip(spec.layers, weights, models, strict=True))
    return spec.replace(layers=layers, name=name or spec.name)
