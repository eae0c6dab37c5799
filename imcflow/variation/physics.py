"""The circuit's fitted physics at one corner / temperature / mismatch point of a study.

At each point the model parameters the bottom-up flow fits move with the devices: the synapse
reversal potentials E± and the discharger's ramp (its current at V₀ and β_d) from the point's
DC sweeps (:func:`imcflow.fit.physics.fit_dc`, as the flow's DC stage fits them), and the
membranes' effective capacitance C_eff measured on the post-layout netlist at that point
(:func:`imcflow.sim.capacitance.measure_membranes`). The study reports them next to the
accuracy, so a point that fails shows which parameter left its nominal value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import atomicio
from imcflow.errors import ImcflowError
from imcflow.fit.physics import fit_dc
from imcflow.sim.capacitance import measure_membranes
from imcflow.sim.dc import load_dc
from imcflow.spec import DesignSpec
from imcflow.variation.sweep import Point

__all__ = ["point_physics"]


def _key(spec: DesignSpec, point: Point, subckts: str | None, dc: Path) -> str:
    h = hashlib.sha256()
    for part in (json.dumps(dataclasses.asdict(spec), sort_keys=True, default=str),
                 json.dumps(point.to_dict(), sort_keys=True), subckts or "",
                 hashlib.sha256(dc.read_bytes()).hexdigest()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def point_physics(spec: DesignSpec, point: Point, dc_path: str | Path, subckts: str | None,
                  cache: str | Path) -> dict[str, Any]:
    """Per layer (lists in layer order): ``E_pos``, ``E_neg`` (normalised to V_th), the
    discharger current at V₀ ``i_dis_nA`` and ``beta_d`` (the ramp), and the mean measured
    membrane capacitance ``c_eff_fF``; with ``error`` (one line) instead if the fit or the
    measurement failed. Cached in the ``cache`` JSON file (recomputed when the spec, point,
    netlist or DC sweeps change)."""
    dc_path, cache = Path(dc_path), Path(cache)
    key = _key(spec, point, subckts, dc_path)
    if cache.is_file():
        try:
            saved = json.loads(cache.read_text())
            if saved.get("key") == key:
                return saved["physics"]
        except (OSError, ValueError):
            pass
    try:
        layers = fit_dc(spec, load_dc(dc_path))
        at = dataclasses.replace(spec, corner=point.corner, temperature=point.temperature)
        c = measure_membranes(at, subckts, mc_seed=point.mc_seed)
        out: dict[str, Any] = {
            "E_pos": [ld.E_pos for ld in layers], "E_neg": [ld.E_neg for ld in layers],
            "i_dis_nA": [1e9 * ld.i_dis_A for ld in layers],
            "beta_d": [ld.beta_d for ld in layers],
            "c_eff_fF": [1e15 * float(np.mean([c.c_F[f"{layer.name}_mem{i}"]
                                               for i in range(layer.n_out)]))
                         for layer in spec.layers]}
    except ImcflowError as exc:
        out = {"error": str(exc)}
    atomicio.write_json(cache, {"key": key, "physics": out})
    return out
