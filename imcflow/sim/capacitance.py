"""The effective capacitance of every membrane, measured in ngspice (constant-current ramp).

:func:`imcflow.netlist.capacitance.build_capacitance` draws a constant current from each
membrane of the network in its accumulate-phase state (no synapse conducting). The membrane's
effective capacitance over the normalised range the circuit uses is read off the ramp:

    C = I · (t₂ − t₁) / (V(t₁) − V(t₂)),   V(t₁) = V₀ − v₁·V_th,  V(t₂) = V₀ − v₂·V_th

with (v₁, v₂) = :data:`V_SPAN` (the membrane from just below V₀ down to just above the
comparator threshold): the charge a synapse must move to take the membrane across that span,
per volt. It holds everything on the node — MIM, extracted wiring, device junctions and
overlaps, comparator input — at the spec's corner and temperature, so the write-back can size
each MIM for a target capacitance and the fitted model can carry per-neuron values that transfer
to another sizing of the same layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from imcflow.errors import SimulationError
from imcflow.netlist.capacitance import build_capacitance
from imcflow.sim import ngspice
from imcflow.sim.engines import DEFAULT_TIMEOUT
from imcflow.spec import DesignSpec

#: Normalised membrane span (v₁, v₂) over which the effective capacitance is measured.
V_SPAN = (0.02, 0.95)
#: Ramp time the test currents are sized for, s: long against the edges and the time step.
T_RAMP = 1e-6
#: The test current is sized for this multiple of the expected capacitance, so the ramp crosses
#: the whole span within :data:`T_RAMP` unless the node carries more than that.
C_MARGIN = 1.6
#: Expected non-MIM capacitance on a membrane before measuring (wiring + devices), F.
C_EXTRA_GUESS = 100e-15


@dataclass(frozen=True)
class MembraneCapacitance:
    """Measured effective capacitance per membrane (``<layer>_mem<i>`` → F) and conditions."""

    c_F: dict[str, float]
    corner: str
    temperature: float
    span: tuple[float, float]

    def layer(self, spec: DesignSpec, k: int) -> np.ndarray:
        """Layer ``k``'s membranes in neuron order, F."""
        name = spec.layers[k].name
        try:
            return np.array([self.c_F[f"{name}_mem{i}"] for i in range(spec.layers[k].n_out)])
        except KeyError as exc:
            raise SimulationError(f"no measured capacitance for membrane {exc}") from None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> MembraneCapacitance:
        return cls(c_F={k: float(v) for k, v in d["c_F"].items()}, corner=str(d["corner"]),
                   temperature=float(d["temperature"]),
                   span=(float(d["span"][0]), float(d["span"][1])))


def _crossing(t: np.ndarray, v: np.ndarray, level: float) -> float | None:
    """First time (s) a falling waveform reaches ``level`` (linear interpolation), or None."""
    below = np.nonzero(v <= level)[0]
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(t[0])
    t0, t1, v0, v1 = t[k - 1], t[k], v[k - 1], v[k]
    return float(t0 + (level - v0) * (t1 - t0) / (v1 - v0))


def measure_membranes(spec: DesignSpec, subckts: str | None = None, *,
                      mc_seed: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                      num_threads: int = 1) -> MembraneCapacitance:
    """Effective capacitance (F) of every membrane of ``spec`` (post-layout if ``subckts``;
    ``mc_seed``: of one seeded mismatch instance)."""
    currents, levels = {}, {}
    for layer in spec.layers:
        d = layer.neuron
        v_th = d.v0 - d.v_switch
        for i, c_mim in enumerate(layer.membrane_capacitance()):
            name = f"{layer.name}_mem{i}"
            currents[name] = C_MARGIN * (c_mim + C_EXTRA_GUESS) * v_th / T_RAMP
            levels[name] = (d.v0 - V_SPAN[0] * v_th, d.v0 - V_SPAN[1] * v_th)
    bench = build_capacitance(spec, i_test_A=currents, t_ramp=T_RAMP, subckts=subckts,
                              mc_seed=mc_seed)
    res = ngspice.run_batch(bench.text, list(bench.vectors), timeout=timeout,
                            num_threads=num_threads)
    t = np.asarray(res.plot["time"], dtype=float)
    ngspice.check_reached(t, bench.t_stop, res.log.splitlines())
    out = {}
    for name, i_test in currents.items():
        v = np.asarray(res.plot[f"v({name})"], dtype=float)
        hi, lo = levels[name]
        t1, t2 = _crossing(t, v, hi), _crossing(t, v, lo)
        if t1 is None or t2 is None or t2 <= t1:
            raise SimulationError(
                f"membrane {name} did not ramp from {hi:.3f} V to {lo:.3f} V within "
                f"{T_RAMP * 1e9:.0f} ns at {i_test * 1e9:.0f} nA (its capacitance is above "
                f"{i_test * T_RAMP / (hi - lo) * 1e15:.0f} fF, or a device holds it)")
        out[name] = i_test * (t2 - t1) / (hi - lo)
    return MembraneCapacitance(c_F=out, corner=spec.corner, temperature=spec.temperature,
                               span=V_SPAN)
