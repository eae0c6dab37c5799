"""From a spec and its DC sweeps to what the fitter and write-back start from.

* :func:`dc_widths` — the per-finger widths a DC characterization should sweep: a dense grid
  over the write-back range plus every finger width the spec uses (its synapse currents are then
  read off exactly, not interpolated across sky130's model-bin steps);
* :func:`fit_dc` — per layer: β (= 1/E) of every swept finger width from the linear fit over the
  membrane range, the median E± over the spec's widths, the discharger's current and β_d, the
  finger current tables, with residuals;
* :func:`layer_physics` — a :class:`~imcflow.fit.transient.LayerPhysics` for a layer of a spec
  (each synapse's current from the finger table; drawn MIM capacitance);
* :func:`device_model` — the write-back :class:`~imcflow.writeback.DeviceModel` of a layer, from
  the bottom-up fit (measured finger table, fitted C_eff) or top-down (proportional current per
  µm of a mid-range finger, drawn C).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from imcflow import pdk
from imcflow.errors import DataError
from imcflow.fit.dc import (
    LinearCurrentFit,
    fit_linear_current,
    membrane_range,
    to_normalised,
    valid_range,
)
from imcflow.fit.transient import FittedLayer, LayerPhysics
from imcflow.netlist.dc import switching_membrane_V
from imcflow.pnn.ramp import SelectorTail
from imcflow.sim.dc import DCDataset
from imcflow.spec import DesignSpec, LayerSpec
from imcflow.writeback import DeviceModel
from imcflow.writeback.sizing import FINGER_RANGE_UM

#: Grid step (µm) of the dense DC width sweep over the write-back finger range.
DC_WIDTH_STEP_UM = 0.1
#: A device's linear current model is valid where it stays within this fraction of I₀ of the
#: DC sweep (:func:`imcflow.fit.dc.valid_range`): 2 % of a unit weight's membrane slope.
VALID_TOL = 0.02


def finger_widths(layer: LayerSpec) -> np.ndarray:
    """Distinct per-finger widths (µm) of the layer's synapses."""
    w, nf = np.abs(layer.widths()), np.asarray(layer.fingers)
    per = [pdk.snap(x) for x in (w[w > 0] / nf[w > 0])]
    return np.unique(np.asarray(per, dtype=float))


def dc_widths(spec: DesignSpec, finger_range_um: tuple[float, float] = FINGER_RANGE_UM,
              step: float = DC_WIDTH_STEP_UM) -> list[float]:
    """Per-finger widths (µm) to sweep: the write-back range every ``step`` plus the spec's."""
    lo, hi = finger_range_um
    grid = np.round(np.arange(lo, hi + step / 2, step), 6)
    used = np.concatenate([finger_widths(layer) for layer in spec.layers] + [grid])
    dis = [layer.neuron.dis_w_um for layer in spec.layers]
    return sorted({float(pdk.snap(x)) for x in np.concatenate([used, dis])})


@dataclass(frozen=True)
class LayerDC:
    """DC results of one layer (currents at V₀, A; widths per finger, µm)."""

    name: str
    v0_V: float
    v_th_V: float
    widths_um: tuple[float, ...]
    i_n_A: tuple[float, ...]
    i_p_A: tuple[float, ...]
    E_pos: float
    E_neg: float
    i_dis_A: float
    beta_d: float
    fits: dict
    beta_n: tuple[float, ...] = ()
    beta_p: tuple[float, ...] = ()
    v_valid: tuple[float, float] = (-0.05, 1.05)
    #: switching charge of one finger per width, in units of its DC current (at V₀) × T: at the
    #: spike's onset (the phase's charge beyond the DC current's) and the selector tail after
    #: the spike ends (over the next phase); empty: not measured
    on_n: tuple[float, ...] = ()
    on_p: tuple[float, ...] = ()
    tail_n: tuple[float, ...] = ()
    tail_p: tuple[float, ...] = ()
    #: the tail's time profile: cumulative fraction (0 … 1) at ``tail_s`` (phases after the
    #: spike ends), NMOS and PMOS, of the finger nearest NOMINAL_FINGER_UM
    tail_s: tuple[float, ...] = ()
    tail_g_n: tuple[float, ...] = ()
    tail_g_p: tuple[float, ...] = ()
    #: the spike's edge time in phases (t_edge / T): the switching charge's onset window
    tail_on: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LayerDC:
        d = dict(d)
        for k in ("widths_um", "i_n_A", "i_p_A", "beta_n", "beta_p", "v_valid",
                  *SWITCHING_TABLES):
            if k in d:
                d[k] = tuple(float(x) for x in d[k])
        for k in ("v0_V", "v_th_V", "E_pos", "E_neg", "i_dis_A", "beta_d", "tail_on"):
            if k in d:
                d[k] = float(d[k])  # JSON stores ±inf as strings
        return cls(**d)

    def finger_current(self, width_um: np.ndarray, positive: np.ndarray) -> np.ndarray:
        """Current (A) of one finger of each width (must lie inside the swept range)."""
        w = np.asarray(width_um, dtype=float)
        tw = np.asarray(self.widths_um)
        if np.any(w < tw[0] - 1e-9) or np.any(w > tw[-1] + 1e-9):
            raise DataError(f"finger width outside the DC sweep {tw[0]:g}–{tw[-1]:g} µm")
        return np.where(positive, np.interp(w, tw, self.i_n_A), np.interp(w, tw, self.i_p_A))

    def finger_beta(self, width_um: np.ndarray, positive: np.ndarray) -> np.ndarray:
        """β of one finger of each width (sign-specific; the median E± if not measured)."""
        w = np.asarray(width_um, dtype=float)
        if not self.beta_n:
            return np.where(positive, 1.0 / self.E_pos, 1.0 / self.E_neg) * np.ones_like(w)
        tw = np.asarray(self.widths_um)
        return np.where(positive, np.interp(w, tw, self.beta_n), np.interp(w, tw, self.beta_p))

    def finger_switching(self, width_um: np.ndarray, positive: np.ndarray) -> np.ndarray:
        """[2, …]: onset and tail κ of one finger of each width (0 where not measured)."""
        w = np.asarray(width_um, dtype=float)
        if not self.tail_n:
            return np.zeros((2, *w.shape))
        tw = np.asarray(self.widths_um)
        return np.stack([np.where(positive, np.interp(w, tw, n), np.interp(w, tw, p))
                         for n, p in ((self.on_n, self.on_p), (self.tail_n, self.tail_p))])

    def tail_profile(self) -> SelectorTail | None:
        """The tail's time profile (None where not measured)."""
        if not self.tail_s:
            return None
        return SelectorTail(s=self.tail_s, g_pos=self.tail_g_n, g_neg=self.tail_g_p,
                            t_on=self.tail_on)


#: LayerDC's switching-charge tables (:func:`_switching`; with the scalar ``tail_on``).
SWITCHING_TABLES = ("on_n", "on_p", "tail_n", "tail_p", "tail_s", "tail_g_n", "tail_g_p")


def _switching(dc: DCDataset, layer: LayerSpec, v: np.ndarray, T_s: float,
               t_edge_s: float = 0.0) -> dict[str, tuple[float, ...] | float]:
    """LayerDC's switching-charge fields from a DC dataset's switching bench (empty without)."""
    n = layer.name
    if any((n, d) not in q for d in ("n", "p") for q in (dc.tail_q, dc.on_q)):
        return {}
    out: dict[str, tuple[float, ...] | float] = {"tail_s": tuple(float(x) for x in dc.tail_s),
                                                 "tail_on": t_edge_s / T_s}
    for dev in ("n", "p"):
        q = np.asarray(dc.tail_q[(n, dev)])
        i0 = np.maximum(_at(v, dc.current[(n, dev)], layer.neuron.v0), 1e-30)
        i_hold = _at(v, dc.current[(n, dev)], switching_membrane_V(layer))
        out[f"on_{dev}"] = tuple(float(x) for x in (dc.on_q[(n, dev)] - i_hold * T_s) / (i0 * T_s))
        out[f"tail_{dev}"] = tuple(float(x) for x in np.maximum(q[:, -1] / (i0 * T_s), 0.0))
        k = int(np.argmin(np.abs(np.asarray(dc.widths[(n, dev)]) - NOMINAL_FINGER_UM)))
        g = q[k] / q[k, -1] if q[k, -1] > 0 else np.asarray(dc.tail_s, dtype=float)
        out[f"tail_g_{dev}"] = tuple(float(x) for x in np.clip(np.maximum.accumulate(g), 0, 1))
    return out


def _at(v: np.ndarray, i: np.ndarray, v0: float) -> np.ndarray:
    return np.array([np.interp(v0, v, row) for row in np.atleast_2d(i)])


def fit_dc(spec: DesignSpec, dc: DCDataset) -> list[LayerDC]:
    """DC fits of every layer of ``spec`` from a DC dataset of the same spec's biases."""
    out = []
    v = np.asarray(dc.v_mem)
    for layer in spec.layers:
        n = layer.name
        for dev in ("n", "p", "dis"):
            if (n, dev) not in dc.current:
                raise DataError(f"DC dataset has no sweep of layer {n} device {dev}")
        v0 = layer.neuron.v0
        v_th = v0 - layer.neuron.v_switch
        v_range = membrane_range(v0, v_th)
        v_range = (max(v_range[0], float(v.min())), min(v_range[1], float(v.max())))
        used = finger_widths(layer)
        per_sign: dict[str, tuple[float, list[LinearCurrentFit], list[float]]] = {}
        for dev in ("n", "p"):
            ws, cur = dc.widths[(n, dev)], dc.current[(n, dev)]
            fits = [fit_linear_current(v, cur[k], v0=v0, v_th=v_th, v_range=v_range)
                    for k in range(len(ws))]
            sel = [k for k, w in enumerate(ws) if np.any(np.isclose(used, w))] or list(
                range(len(ws)))
            beta = float(np.median([fits[k].beta for k in sel]))
            per_sign[dev] = (beta, [fits[k] for k in sel], [f.beta for f in fits])
        wd, cd = dc.widths[(n, "dis")], dc.current[(n, "dis")]
        kd = int(np.argmin(np.abs(wd - layer.neuron.dis_w_um)))
        if not np.isclose(wd[kd], layer.neuron.dis_w_um):
            raise DataError(f"DC dataset lacks the discharger width {layer.neuron.dis_w_um} µm")
        dis = fit_linear_current(v, cd[kd], v0=v0, v_th=v_th, v_range=v_range)
        valid_V = {"dis": valid_range(v, cd[kd], dis, v0=v0, tol=VALID_TOL)}
        for dev in ("n", "p"):
            cur = dc.current[(n, dev)]
            ks = [k for k, w in enumerate(dc.widths[(n, dev)]) if np.any(np.isclose(used, w))] \
                or list(range(len(dc.widths[(n, dev)])))
            spans = [valid_range(v, cur[k], fit_linear_current(
                v, cur[k], v0=v0, v_th=v_th, v_range=v_range), v0=v0, tol=VALID_TOL) for k in ks]
            valid_V[dev] = (max(a for a, _ in spans), min(b for _, b in spans))
        # accumulate: both synapse types at once; fire: the discharger from v(1) to threshold
        lo_V = max(valid_V["n"][0], valid_V["p"][0], valid_V["dis"][0])
        hi_V = min(valid_V["n"][1], valid_V["p"][1], valid_V["dis"][1])
        v_valid = (to_normalised(hi_V, v0, v_th), to_normalised(lo_V, v0, v_th))
        wn, wp = dc.widths[(n, "n")], dc.widths[(n, "p")]
        if not np.allclose(wn, wp):
            raise DataError("DC dataset: NMOS and PMOS sweeps must share their widths")
        beta_p, fits_p, all_n = per_sign["n"]
        beta_n, fits_n, all_p = per_sign["p"]
        out.append(LayerDC(
            name=n, v0_V=v0, v_th_V=v_th, widths_um=tuple(float(x) for x in wn),
            i_n_A=tuple(float(x) for x in _at(v, dc.current[(n, "n")], v0)),
            i_p_A=tuple(float(x) for x in _at(v, dc.current[(n, "p")], v0)),
            E_pos=1.0 / beta_p, E_neg=1.0 / beta_n, i_dis_A=dis.i0_A, beta_d=dis.beta,
            beta_n=tuple(float(b) for b in all_n), beta_p=tuple(float(b) for b in all_p),
            v_valid=v_valid, **_switching(dc, layer, v, spec.T, spec.t_edge),
            fits={"v_range_V": list(v_range), "valid_V": {k: list(x) for k, x in valid_V.items()},
                  "nmos": _summary(fits_p), "pmos": _summary(fits_n),
                  "discharger": dis.to_dict()}))
    return out


def _summary(fits: list[LinearCurrentFit]) -> dict:
    betas = np.array([f.beta for f in fits])
    return {"beta_median": float(np.median(betas)), "beta_min": float(betas.min()),
            "beta_max": float(betas.max()),
            "lambda_median_per_V": float(np.median([f.lambda_per_V for f in fits])),
            "max_rel_residual": float(max(f.max_rel_residual for f in fits)),
            "n_widths": len(fits)}


#: Finger width (µm) at which the top-down designer reads the "nominal current per µm": the middle
#: of the write-back finger range.
NOMINAL_FINGER_UM = 3.0


def nominal_current_per_um(ldc: LayerDC) -> tuple[float, float]:
    """The schematic designer's current per µm of width (A/µm), NMOS and PMOS: one DC operating
    point of a mid-range finger, assumed to scale with width."""
    i = ldc.finger_current(np.array([NOMINAL_FINGER_UM] * 2), np.array([True, False]))
    return float(i[0] / NOMINAL_FINGER_UM), float(i[1] / NOMINAL_FINGER_UM)


def edge_kicks(spec: DesignSpec, k: int, coupling: dict[str, dict[str, float]],
               c_F: np.ndarray) -> np.ndarray:
    """[n_out, n_in] step of layer ``k``'s normalised membranes when input j spikes: its true
    line rises by VDD and its inverted line falls by VDD, each coupled to membrane i through
    the extracted wiring capacitance (``coupling[<layer>_mem<i>][net]``, F; ``c_F`` the
    membranes' capacitance): Δv = −VDD (C_true − C_inverted) / (C_i · V_th)."""
    layer = spec.layers[k]
    if k == 0:
        lines = [(f"in{j}", f"inb{j}") for j in range(layer.n_in)]
    else:
        prev = spec.layers[k - 1].name
        lines = [(f"{prev}_out{j}", f"{prev}_outb{j}") for j in range(layer.n_in)]
    v_th = layer.neuron.v0 - layer.neuron.v_switch
    out = np.zeros((layer.n_out, layer.n_in))
    for i in range(layer.n_out):
        c = coupling.get(f"{layer.name}_mem{i}", {})
        for j, (true, inv) in enumerate(lines):
            out[i, j] = -spec.vdd * (c.get(true, 0.0) - c.get(inv, 0.0)) / (c_F[i] * v_th)
    return out


def layer_physics(layer: LayerSpec, ldc: LayerDC, T_s: float, *, top_down: bool = False,
                  c_F: np.ndarray | None = None, kick: np.ndarray | None = None
                  ) -> LayerPhysics:
    """What is known of ``layer`` before any transient fit.

    Bottom-up: each synapse's current from the measured finger table, E± and the discharger
    from the DC fits; ``c_F`` the membranes' measured capacitance (default: the drawn MIM);
    ``kick`` the edge coupling of the inputs (:func:`edge_kicks`); every synapse's switching
    charge (onset and selector tail κ at its finger width) where the DC stage measured it.
    Top-down (the schematic designer's view): current proportional to total
    width at a mid-range finger's current per µm, ideal current sources (E = ±inf), linear ramp,
    no tail.
    """
    w = layer.widths()
    nf = np.asarray(layer.fingers)
    sign = np.sign(w)
    current = np.zeros_like(w)
    beta = None
    m = w != 0
    if top_down:
        per_um = nominal_current_per_um(ldc)
        current[m] = np.abs(w[m]) * np.where(w[m] > 0, per_um[0], per_um[1])
        E_pos, E_neg, beta_d = float("inf"), float("-inf"), 0.0
    else:
        current[m] = nf[m] * ldc.finger_current(np.abs(w[m]) / nf[m], w[m] > 0)
        E_pos, E_neg, beta_d = ldc.E_pos, ldc.E_neg, ldc.beta_d
        # Per-synapse β at each finger width; unused entries get the sign's median.
        beta = np.where(w >= 0, 1.0 / ldc.E_pos, 1.0 / ldc.E_neg)
        beta[m] = ldc.finger_beta(np.abs(w[m]) / nf[m], w[m] > 0)
    c = layer.membrane_capacitance() if c_F is None or top_down else np.asarray(c_F, float)
    tail = None if top_down else ldc.tail_profile()
    kappa = None
    if tail is not None:
        kappa = np.zeros((2, *w.shape))
        kappa[:, m] = ldc.finger_switching(np.abs(w[m]) / nf[m], w[m] > 0)
    return LayerPhysics(sign=sign, current_A=current, c_F=c,
                        v0_V=ldc.v0_V, v_th_V=ldc.v_th_V, T_s=T_s, E_pos=E_pos,
                        E_neg=E_neg, i_dis_A=ldc.i_dis_A, beta_d=beta_d, beta=beta,
                        kick=None if top_down else kick, tail=tail, kappa=kappa)


def device_model(ldc: LayerDC, c_eff_F: tuple[float, ...], T_s: float, *,
                 top_down: bool = False) -> DeviceModel:
    """Write-back model of a layer: measured finger table (bottom-up) or the designer's
    proportional current per µm of a mid-range finger (top-down)."""
    if top_down:
        n_per_um, p_per_um = nominal_current_per_um(ldc)
        return DeviceModel.proportional(n_per_um, p_per_um, list(c_eff_F), ldc.v_th_V, T_s)
    return DeviceModel(widths_um=ldc.widths_um, i_n_A=ldc.i_n_A, i_p_A=ldc.i_p_A,
                       c_eff_F=tuple(c_eff_F), v_th_V=ldc.v_th_V, T_s=T_s,
                       beta_n=ldc.beta_n, beta_p=ldc.beta_p, on_n=ldc.on_n, on_p=ldc.on_p,
                       tail_n=ldc.tail_n, tail_p=ldc.tail_p, tail=ldc.tail_profile())


def top_down_layer(layer: LayerSpec, ldc: LayerDC, T_s: float) -> FittedLayer:
    """The ideal schematic model of a layer: drawn C, design threshold, a linear ramp that takes
    v = 0 to threshold in exactly one phase (α_d = 1: what the discharger was designed for), no
    delays, ideal current sources (β = 0)."""
    c = layer.membrane_capacitance()
    # α_d = k_dis · I_dis · T / (C · V_th) = 1 for the drawn C (one MIM size per layer).
    k_dis = float(np.mean(c)) * ldc.v_th_V / (ldc.i_dis_A * T_s)
    return FittedLayer(c_eff_F=tuple(float(x) for x in c), v_th=1.0, beta_d=0.0,
                       delay_in=0.0, delay_out=0.0, k_dis=k_dis)
