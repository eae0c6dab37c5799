"""The circuit variation the flow's variation-aware training draws from (``--variation-aware``).

Per layer, from the spec and the process data (``imcflow/pdk/data/mismatch.yaml``):

* synapse mismatch: σ(ln I) = A/√(W·L) of the device each weight becomes (its total width at
  the layer's channel length; A measured for the NMOS and PMOS synapse cells);
* ramp-rate mismatch: the discharger's A/√(W·L) (the MIM's own mismatch, a_c/√area, is added
  in quadrature; it is < 0.1 % for MIMs of a few µm and larger);
* threshold offset: the comparator inputs' σ(V_t) = A_vt/√(W·L) (LVT NMOS and HVT PMOS in
  quadrature, an upper estimate of the offset of the switching point) over V_th = V₀ − V_switch;
* what mismatch does not cover — the process corner and temperature left after a trim — as one
  shared current factor and an NMOS/PMOS imbalance per draw (:class:`VariationConfig`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from imcflow import pdk
from imcflow.circuit.rcspike import l_min
from imcflow.pnn.variation import Perturbation
from imcflow.spec import DesignSpec
from imcflow.writeback import DeviceModel
from imcflow.writeback.sizing import realisable, weights_to_widths


@dataclass(frozen=True)
class VariationConfig:
    """The variation-aware training's settings.

    ``sigma_global`` and ``sigma_np`` (ln) stand for the corner and temperature spread a
    per-chip trim leaves; ``scale`` multiplies every σ (0: nominal training)."""

    sigma_global: float = 0.05
    sigma_np: float = 0.05
    scale: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


def layer_perturbations(spec: DesignSpec, dms: list[DeviceModel],
                        cfg: VariationConfig) -> list[Perturbation]:
    """One :class:`Perturbation` per layer of ``spec`` (``dms``: each layer's write-back
    device model, which turns a weight into the width it becomes)."""
    mm = pdk.pdk_data("mismatch")
    a = mm["current_pelgrom_pct_um"]
    p = pdk.get()
    a_vt = {role: mm["vth_mismatch"][p.model(role)]["a_vt_V_um"]
            for role in ("nfet_lvt", "pfet_hvt")}
    a_c = mm["mim_mismatch"][p.model("mim")]["a_c_um"]
    lm = l_min()
    out = []
    for layer, dm in zip(spec.layers, dms, strict=True):
        n, s = layer.neuron, layer.synapse
        mim_area = min(w * h for w, h in zip(layer.mim_w_um, layer.mim_l_um, strict=True))
        sig_alpha = math.hypot(a["discharger"] / 100 / math.sqrt(n.dis_w_um * n.dis_l_um),
                               a_c / math.sqrt(mim_area))
        sig_vt = math.hypot(a_vt["nfet_lvt"] / math.sqrt(n.cmp_wn_um * lm),
                            a_vt["pfet_hvt"] / math.sqrt(n.cmp_wp_um * lm))
        out.append(Perturbation(
            sigma_syn=_synapse_sigma(dm, s.l_um, a["synapse_n"] / 100, a["synapse_p"] / 100,
                                     cfg.scale),
            sigma_global=cfg.scale * cfg.sigma_global, sigma_np=cfg.scale * cfg.sigma_np,
            sigma_alpha=cfg.scale * sig_alpha, sigma_vth=cfg.scale * sig_vt / (n.v0 - n.v_switch)))
    return out


def _synapse_sigma(dm: DeviceModel, l_um: float, a_n: float, a_p: float, scale: float):
    def sigma(w: torch.Tensor) -> torch.Tensor:
        widths, _ = weights_to_widths(realisable(w.cpu().numpy(), dm), dm)
        area = np.maximum(np.abs(widths), 1e-6) * l_um
        sig = np.where(widths >= 0, a_n, a_p) / np.sqrt(area)
        sig = np.where(np.abs(widths) > 0, sig, 0.0)  # an absent synapse cannot mismatch
        return torch.as_tensor(scale * sig, dtype=w.dtype)
    return sigma
