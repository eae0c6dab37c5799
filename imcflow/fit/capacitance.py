"""How a neuron's effective membrane capacitance depends on its sizing, so the fit transfers to
a written-back network with other widths.

    C_eff,i = C_MIM,i + C_wiring,i + C_fixed + κ_n Σ_{j: W_ij > 0} W_ij + κ_p Σ_{j: W_ij < 0} |W_ij|

C_MIM from the PDK formula, C_wiring from the extraction, and three numbers fitted by least squares
to the per-neuron C_eff of the transient fit: C_fixed (the neuron's own devices: reset switch,
discharger, comparator input) and κ_n, κ_p (drain junction and overlap capacitance per µm of
synapse current source on the membrane). Measured on the demo: C_fixed ≈ 22 fF, κ ≈ 0.6 fF/µm,
residuals < 1.5 fF on ~1060 fF.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import numpy as np

from imcflow import pdk
from imcflow.errors import DataError, SpecError
from imcflow.spec import DesignSpec, LayerSpec


@dataclass(frozen=True)
class CapacitanceModel:
    """C_fixed (F), κ_n and κ_p (F per µm of synapse width) and the fit's residuals (F)."""

    c_fixed_F: float
    kappa_n_F_per_um: float
    kappa_p_F_per_um: float
    max_residual_F: float
    rms_residual_F: float

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CapacitanceModel:
        return cls(**{k: float(v) for k, v in d.items()})

    def devices(self, layer: LayerSpec) -> np.ndarray:
        """C_fixed + κ·ΣW per neuron (F): everything on the membrane but MIM and wiring."""
        w = layer.widths()
        wn = np.where(w > 0, w, 0.0).sum(axis=1)
        wp = np.where(w < 0, -w, 0.0).sum(axis=1)
        return self.c_fixed_F + self.kappa_n_F_per_um * wn + self.kappa_p_F_per_um * wp

    def c_eff(self, layer: LayerSpec, wiring_F: np.ndarray) -> np.ndarray:
        """Predicted C_eff per neuron (F) of ``layer`` with membrane wiring ``wiring_F``."""
        return layer.membrane_capacitance() + np.asarray(wiring_F) + self.devices(layer)


def layer_wiring(layer: LayerSpec, wiring: dict[str, float]) -> np.ndarray:
    """Extracted wiring capacitance (F) of each membrane of ``layer`` (``<layer>_mem<i>``)."""
    try:
        return np.array([wiring[f"{layer.name}_mem{i}"] for i in range(layer.n_out)])
    except KeyError as exc:
        raise DataError(f"no extracted wiring capacitance for membrane {exc}") from None


def fit_capacitance_model(spec: DesignSpec, c_eff: list[tuple[float, ...]],
                          wiring: dict[str, float]) -> CapacitanceModel:
    """Least-squares C_fixed, κ_n, κ_p from per-neuron fitted C_eff of every layer."""
    rows, y = [], []
    for layer, ce in zip(spec.layers, c_eff, strict=True):
        w = layer.widths()
        rest = np.asarray(ce) - layer.membrane_capacitance() - layer_wiring(layer, wiring)
        for i in range(layer.n_out):
            rows.append([1.0, w[i][w[i] > 0].sum(), -w[i][w[i] < 0].sum()])
            y.append(rest[i])
    A, b = np.asarray(rows), np.asarray(y)
    if len(b) < 3:
        raise DataError("need at least 3 neurons to fit the capacitance model")
    x, *_ = np.linalg.lstsq(A, b, rcond=None)
    r = A @ x - b
    return CapacitanceModel(c_fixed_F=float(x[0]), kappa_n_F_per_um=float(x[1]),
                            kappa_p_F_per_um=float(x[2]), max_residual_F=float(np.abs(r).max()),
                            rms_residual_F=float(np.sqrt(np.mean(r ** 2))))


def compensate_mim(layer: LayerSpec, target_F: float, wiring_F: np.ndarray,
                   cap: CapacitanceModel) -> LayerSpec:
    """``layer`` with each neuron's (square) MIM sized so that its C_eff is ``target_F``:
    the MIM absorbs the neuron-to-neuron differences of wiring and synapse junctions."""
    mim = target_F - np.asarray(wiring_F) - cap.devices(layer)
    sides = [pdk.mim_side_for(float(c)) if c > 0 else -1.0 for c in mim]
    lim = pdk.pdk_data()["mim"]
    if any(not lim["w_min_um"] <= s <= lim["w_max_um"] for s in sides):
        raise SpecError(f"layer {layer.name}: no MIM in [{lim['w_min_um']}, {lim['w_max_um']}] µm "
                        f"gives C_eff = {target_F * 1e15:.0f} fF")
    return dataclasses.replace(layer, mim_w_um=tuple(sides), mim_l_um=tuple(sides))
