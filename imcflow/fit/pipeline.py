"""Fit a whole network: DC fits per layer, then the transient fit of each layer on the SPICE
characterization (each layer sees the spikes SPICE gave it, so layers are fitted independently).

The result, :class:`NetworkFit`, is one JSON file with the DC fits, the fitted parameters and
their residuals before and after the transient fit.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imcflow import atomicio, jsonio
from imcflow.errors import DataError
from imcflow.fit.physics import LayerDC, edge_kicks, fit_dc, layer_physics, top_down_layer
from imcflow.fit.transient import (
    DEFAULT_FREE,
    FittedLayer,
    LayerPhysics,
    LayerWaveforms,
    fit_layer,
)
from imcflow.sim.capacitance import MembraneCapacitance
from imcflow.sim.characterize import CharDataset
from imcflow.sim.dc import DCDataset
from imcflow.spec import DesignSpec

FORMAT = "imcflow-fit"
#: The accumulate-phase part of the membrane traces used by the fit (normalised time): the edges
#: are left out, where the reset switch opens and the fire clock starts.
MEMBRANE_WINDOW = (0.02, 0.98)
#: At most this many membrane samples per trace enter the fit (the traces are smooth; more points
#: cost time, not information).
MEMBRANE_POINTS = 48


@dataclass
class NetworkFit:
    """DC fits and fitted transient parameters of every layer."""

    spec_name: str
    T_s: float
    dc: list[LayerDC]
    fitted: list[FittedLayer]
    meta: dict = field(default_factory=dict)
    c_measured: MembraneCapacitance | None = None
    #: per layer, the C_eff (F) the bottom-up network is designed at where it is not the fitted
    #: one (:mod:`imcflow.flow.ramp_sizing`); None: the fitted C_eff everywhere
    c_design: tuple[float, ...] | None = None

    def to_dict(self) -> dict:
        return {"format": FORMAT, "spec_name": self.spec_name, "T_s": self.T_s,
                "dc": [d.to_dict() for d in self.dc],
                "fitted": [f.to_dict() for f in self.fitted], "meta": self.meta,
                "c_measured": None if self.c_measured is None else self.c_measured.to_dict(),
                "c_design": None if self.c_design is None else list(self.c_design)}

    def layer_c_eff(self, k: int) -> float:
        """One C_eff for every neuron of layer ``k`` (F): the designed value if there is one,
        else the mean fitted value. The bottom-up write-back sizes each neuron's MIM so that its
        measured capacitance, times the layer's fitted scale, reaches it
        (:func:`imcflow.flow.experiment.writeback_network`)."""
        if self.c_design is not None:
            return float(self.c_design[k])
        return float(np.mean(self.fitted[k].c_eff_F))

    def save(self, path: str | os.PathLike[str]) -> Path:
        atomicio.write_json(path, _jsonable(self.to_dict()))
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NetworkFit:
        p = Path(path)
        d = jsonio.load(p, "fit file")
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise DataError(f"{p} is not an imcflow fit file")
        try:
            return cls(spec_name=d["spec_name"], T_s=float(d["T_s"]),
                       dc=[LayerDC.from_dict(x) for x in d["dc"]],
                       fitted=[FittedLayer.from_dict(x) for x in d["fitted"]],
                       meta=d.get("meta", {}),
                       c_measured=(MembraneCapacitance.from_dict(d["c_measured"])
                                   if d.get("c_measured") else None),
                       c_design=(tuple(float(c) for c in d["c_design"])
                                 if d.get("c_design") else None))
        except (KeyError, TypeError) as exc:
            raise DataError(f"{p}: corrupt fit file ({exc})") from None


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)  # "inf" / "-inf" / "nan": JSON has no infinities
    if isinstance(x, np.floating | np.integer):
        return _jsonable(x.item())
    return x


def membrane_extent(char: CharDataset, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Lowest and highest normalised membrane v = −(V − V₀)/V_th of every output of layer ``k``
    over the accumulate phase, [N, n_out] each (None without membrane traces)."""
    layer = char.spec.layers[k]
    mem = char.mem.get(layer.name)
    if mem is None:
        return None
    tau = np.asarray(char.mem_tau)
    acc = (tau >= 0.0) & (tau <= 1.0)
    d = layer.neuron
    v = -(mem[:, :, acc] - d.v0) / (d.v0 - d.v_switch)
    return v.min(axis=-1), v.max(axis=-1)


def waveforms(char: CharDataset, k: int, v_valid: tuple[float, float] | None = None
              ) -> LayerWaveforms:
    """Layer ``k``'s inputs, outputs and accumulate-phase membrane traces from a dataset;
    ``v_valid`` marks the outputs whose membrane left that normalised range as not valid."""
    name = char.spec.layers[k].name
    tau = np.asarray(char.mem_tau)
    lo, hi = MEMBRANE_WINDOW
    sel = np.nonzero((tau >= lo) & (tau <= hi))[0]
    sel = sel[:: max(1, -(-len(sel) // MEMBRANE_POINTS))]
    mem = char.mem.get(name)
    valid = None
    extent = membrane_extent(char, k)
    if v_valid is not None and extent is not None:
        valid = (extent[0] >= v_valid[0]) & (extent[1] <= v_valid[1])
    return LayerWaveforms(t_in=char.layer_inputs(k), t_out=char.t_out[name],
                          fired=char.fired[name], t_mem=tau[sel] if mem is not None else
                          np.zeros(0), v_mem=mem[:, :, sel] if mem is not None else None,
                          valid=valid)


def fit_network(spec: DesignSpec, dc: DCDataset, char: CharDataset | None = None, *,
                capacitance: MembraneCapacitance | None = None,
                coupling: dict[str, dict[str, float]] | None = None, steps: int = 600,
                lr: float = 0.02, membrane_weight: float = 1.0,
                free: tuple[str, ...] = DEFAULT_FREE,
                on_layer: Callable[[int], None] | None = None) -> NetworkFit:
    """DC fits, then (if ``char`` is given) the transient fit of every layer. ``capacitance``:
    the membranes' capacitance measured on the same (post-layout) network the characterization
    ran; the fit then scales it per layer (else it starts from the drawn MIM). ``coupling``:
    the membranes' extracted coupling capacitances (F) per net, for the inputs' edge coupling."""
    if char is not None and char.spec.shape != spec.shape:
        raise DataError(f"characterization is of a {char.spec.shape} network, the spec is "
                        f"{spec.shape}")
    ldcs = fit_dc(spec, dc)
    fitted = []
    for k, (layer, ldc) in enumerate(zip(spec.layers, ldcs, strict=True)):
        c_F = capacitance.layer(spec, k) if capacitance is not None else None
        kick = (edge_kicks(spec, k, coupling, c_F if c_F is not None else
                           layer.membrane_capacitance()) if coupling else None)
        phys = layer_physics(layer, ldc, spec.T, c_F=c_F, kick=kick)
        if char is None:
            fitted.append(FittedLayer.initial(phys))
        else:
            data = waveforms(char, k, ldc.v_valid)
            before = fit_layer(phys, data, steps=0).residuals
            fl = fit_layer(phys, data, steps=steps, lr=lr, membrane_weight=membrane_weight,
                           free=free)
            fl.residuals["before"] = before
            fitted.append(fl)
        if on_layer is not None:
            on_layer(k)
    meta = {"dc_meta": {k: dc.meta.get(k) for k in ("corner", "temperature", "netlist_sha256")},
            "char_meta": ({k: char.meta.get(k) for k in ("corner", "netlist_sha256",
                                                          "subckts_sha256", "engine")}
                          if char is not None else None)}
    return NetworkFit(spec_name=spec.name, T_s=spec.T, dc=ldcs, fitted=fitted, meta=meta,
                      c_measured=capacitance)


@dataclass(frozen=True)
class FitLimits:
    """What a fit must achieve before the flow trains on it.

    Attributes:
        spike_rms_pct_T: layer-wide RMS spike-time error over the fired, valid outputs, % of T
            (the bottom-up model promises 0.5 % of T on the written-back network).
        neuron_spike_rms_pct_T: the same for each neuron alone.
        membrane_rms_mV: RMS membrane error of each neuron during accumulation, mV.
        min_fired: fired, valid outputs a layer needs for its threshold, ramp and delays to be
            identifiable.
    """

    spike_rms_pct_T: float = 0.5
    neuron_spike_rms_pct_T: float = 1.0
    membrane_rms_mV: float = 10.0
    min_fired: int = 8


def fit_problems(fit: NetworkFit, limits: FitLimits) -> list[str]:
    """Why ``fit`` should not feed training, one line each (empty: it may)."""
    out = []
    for ldc, fl in zip(fit.dc, fit.fitted, strict=True):
        r = fl.residuals
        if not r:
            continue
        name = ldc.name
        if r["n_fired"] < limits.min_fired:
            out.append(f"layer {name}: only {r['n_fired']} outputs fired inside the validated "
                       f"membrane range in {r['n_patterns']} patterns; threshold, ramp and "
                       f"delays are not identifiable (need {limits.min_fired})")
            continue
        if r["spike_rms_pct_T"] > limits.spike_rms_pct_T:
            out.append(f"layer {name}: spike-time residual {r['spike_rms_pct_T']:.3f} % of T "
                       f"is above the {limits.spike_rms_pct_T:g} % limit")
        per = r.get("per_neuron", {})
        for i, e in enumerate(per.get("spike_rms_pct_T") or []):
            if np.isfinite(e) and e > limits.neuron_spike_rms_pct_T:
                out.append(f"layer {name} neuron {i}: spike-time residual {e:.3f} % of T is "
                           f"above the {limits.neuron_spike_rms_pct_T:g} % limit")
        for i, e in enumerate(per.get("membrane_rms_mV") or []):
            if e > limits.membrane_rms_mV:
                out.append(f"layer {name} neuron {i}: membrane residual {e:.1f} mV is above "
                           f"the {limits.membrane_rms_mV:g} mV limit")
    return out


def layer_models(spec: DesignSpec, fit: NetworkFit, kind: str = "bottom_up", *,
                 uniform_c: bool = False) -> list[tuple[LayerPhysics, FittedLayer]]:
    """(physics, parameters) of every layer of ``spec`` for the ``bottom_up`` (fitted) or
    ``top_down`` (schematic) model. ``spec`` may be a written-back variant of the fitted one:
    its widths set the synapse currents; bottom-up keeps the fitted C_eff, threshold, ramp and
    delays. ``uniform_c``: every neuron of a layer at the layer's C_eff (a written-back network
    whose MIMs were compensated)."""
    if kind not in ("bottom_up", "top_down"):
        raise ValueError(f"kind must be bottom_up or top_down, got {kind!r}")
    if len(spec.layers) != len(fit.dc):
        raise DataError(f"fit has {len(fit.dc)} layers, the spec {len(spec.layers)}")
    out = []
    for k, (layer, ldc, fl) in enumerate(zip(spec.layers, fit.dc, fit.fitted, strict=True)):
        if uniform_c:
            fl = dataclasses.replace(fl, c_eff_F=(fit.layer_c_eff(k),) * layer.n_out)
        if kind == "top_down":
            out.append((layer_physics(layer, ldc, spec.T, top_down=True),
                        top_down_layer(layer, ldc, spec.T)))
        else:
            out.append((layer_physics(layer, ldc, spec.T), fl))
    return out
