"""The membrane capacitance a bottom-up network is designed at: a ramp that reaches threshold.

In the fire phase the discharger ramps a membrane up at α_d = I_dis·T/(C·V_th) (normalised), so
in one phase it climbs from v = 0 only to the *reach* of the ramp (the fitted law of
:mod:`imcflow.pnn.ramp`); a neuron whose v(1) is below v_th − reach cannot fire at all. A spec
whose phase was shortened without a stronger discharger (T05_L05: T = 0.5 µs with the demo's
discharger reaches 0.50 of threshold) leaves half of every neuron's range unusable, and its
bottom-up network trained to 64–77 % on Iris where the top-down one, which assumes the ramp it
was designed for, reached 98 %.

Every synapse weight is a current relative to C·V_th/T, and the bottom-up write-back sizes each
MIM so that the measured membrane reaches the layer's C_eff (``experiment.writeback_network``).
So where the fitted ramp reaches less than :data:`MIN_RAMP_REACH` of threshold, the flow designs
the layer at the C_eff whose ramp takes v = 0 to the fitted threshold in exactly one phase — the
crossing time of the fitted ramp law scales as 1/α_d ∝ C — no smaller than the smallest membrane
a sky130 MIM leaves (the layer's parasitics plus the minimum MIM). The fitted C_eff stays in the
fit for diagnosis; ``NetworkFit.c_design`` carries the designed one. The top-down network keeps
the drawn MIMs: the schematic designer's maths assumes the drawn ramp already reaches threshold.
"""

from __future__ import annotations

import dataclasses

import torch

from imcflow import pdk
from imcflow.fit.pipeline import NetworkFit, layer_models
from imcflow.fit.transient import FittedLayer, LayerPhysics, layer_tensors
from imcflow.pnn._common import ramp_crossing
from imcflow.spec import DesignSpec

#: A layer whose ramp reaches at least this fraction of threshold in one phase keeps its
#: membranes (the demo reaches 0.98 by its DC model, 0.90 fitted on its layout; a neuron with
#: v(1) below 1 − reach cannot fire).
MIN_RAMP_REACH = 0.8


def ramp_time_of(phys: LayerPhysics, fl: FittedLayer) -> float:
    """Time (phases) a layer's ramp takes from v = 0 to its threshold (mean neuron)."""
    t = layer_tensors(phys, fl)
    zero = torch.zeros(1, dtype=torch.float64)
    return float(ramp_crossing(zero, t["alpha_d"].mean(), t["beta_d"], t["v_th"]).squeeze())


def ramp_time(spec: DesignSpec, fit: NetworkFit, k: int) -> float:
    """Time (phases) the fitted ramp of layer ``k`` takes from v = 0 to its fitted threshold at
    the layer's C_eff (``fit.layer_c_eff``)."""
    return ramp_time_of(*layer_models(spec, fit, "bottom_up", uniform_c=True)[k])


def smallest_c_eff(spec: DesignSpec, fit: NetworkFit, k: int) -> float:
    """The smallest layer C_eff (F, fitted units) a sky130 MIM can give every neuron of layer
    ``k``: its largest measured parasitic part plus the minimum MIM (the drawn C_eff where no
    capacitance was measured)."""
    layer = spec.layers[k]
    if fit.c_measured is None:
        return fit.layer_c_eff(k)
    lim = pdk.pdk_data()["mim"]
    parasitic = fit.c_measured.layer(spec, k) - layer.membrane_capacitance()
    c_min = float(parasitic.max()) + pdk.mim_capacitance(lim["w_min_um"], lim["w_min_um"])
    return c_min * fit.fitted[k].c_scale


def design_capacitance(spec: DesignSpec, fit: NetworkFit,
                       min_reach: float = MIN_RAMP_REACH) -> tuple[NetworkFit, list[dict]]:
    """``fit`` with ``c_design`` set where a layer's ramp falls short (see the module doc), and
    per layer a record: fitted and designed C_eff (F) and the ramp's time to threshold before
    and after (phases; reach = 1/time for a linear ramp)."""
    base = dataclasses.replace(fit, c_design=None)
    design, records = [], []
    for k, layer in enumerate(spec.layers):
        c_fit = base.layer_c_eff(k)
        t_fit = ramp_time(spec, base, k)
        c = c_fit
        if t_fit > 1.0 / min_reach:
            c = max(c_fit / t_fit, smallest_c_eff(spec, base, k) * (1 + 1e-3))
        design.append(c)
        records.append({"layer": layer.name, "c_fitted_F": c_fit, "c_design_F": c,
                        "ramp_time_fitted": t_fit, "ramp_time_design": t_fit * c / c_fit})
    changed = any(c != r["c_fitted_F"] for c, r in zip(design, records, strict=True))
    return (dataclasses.replace(base, c_design=tuple(design)) if changed else base), records
