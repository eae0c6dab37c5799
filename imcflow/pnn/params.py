"""Parameters of the physical neural network (PNN) neuron model.

All quantities are *normalised* (dimensionless):

* time ``t`` is in units of the phase length ``T`` (the accumulate window is ``t ∈ [0, 1]``);
* the membrane is ``v = −(V − V₀)/V_th,design`` so that the design threshold sits at ``v = 1``;
* a weight ``w`` is a synaptic current in units of ``C·V_th/T`` (``w = 1`` moves ``v`` by 1 per
  unit time in the ideal model).

Accumulate phase (neuron ``i``, inputs ``j`` spiking at ``t_j``, steps that stay on)::

    dv/dt = Σ_j θ(t − t_j) w_ij (1 − β_ij v) − α v,   β_ij = 1/E⁺ (w ≥ 0),  1/E⁻ (w < 0)

Fire phase of RC-Spike (time ``s ∈ [0, 1]`` from the start of the phase)::

    dv/ds = α_d (1 − β_d v)    →  output spike at the crossing of ``v_th``

See PAPERS.md §1.1 and DESIGN.md (the team's design notes).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["PNNParams"]


def _ramp_rate_for(beta_d: float) -> float:
    """Ramp rate α_d such that v = 0 reaches v = 1 at s = 1: −ln(1 − β_d)/β_d (1 at β_d = 0)."""
    if beta_d == 0.0:
        return 1.0
    return -math.log1p(-beta_d) / beta_d


@dataclass(frozen=True)
class PNNParams:
    """Neuron parameters shared by every neuron of a layer (all normalised, see module doc).

    Attributes:
        E_pos: excitatory reversal potential E⁺ (> 0; ``math.inf`` = ideal current source).
        E_neg: inhibitory reversal potential E⁻ (< 0; ``-math.inf`` = ideal current source).
        alpha: membrane leak rate α (≥ 0, per unit time). The papers use 0.
        beta_d: fire-phase ramp non-linearity β_d = 1/E_dis (0 = linear ramp, must be < 1).
        alpha_d: fire-phase ramp rate α_d (> 0, per unit time). ``None`` ⇒ derived as
            ``−ln(1 − β_d)/β_d`` so that v = 0 fires exactly at the end of the fire phase
            (see :attr:`alpha_d_eff`).
        v_th: firing threshold (normalised; 1.0 is the design value; must satisfy
            ``β_d·v_th < 1`` so that the ramp can reach it).
        delay_in: delay added to every input spike time (normalised time).
        delay_out: delay added to every output spike time (e.g. comparator delay).
    """

    E_pos: float = math.inf
    E_neg: float = -math.inf
    alpha: float = 0.0
    beta_d: float = 0.0
    alpha_d: float | None = None
    v_th: float = 1.0
    delay_in: float = 0.0
    delay_out: float = 0.0

    def __post_init__(self) -> None:
        for name in ("E_pos", "E_neg", "alpha", "beta_d", "v_th", "delay_in", "delay_out"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"PNNParams.{name} must be a number, got {value!r}")
            if math.isnan(value):
                raise ValueError(f"PNNParams.{name} is NaN")
            object.__setattr__(self, name, float(value))
        if not self.E_pos > 0:
            raise ValueError(f"PNNParams.E_pos must be > 0 (or inf), got {self.E_pos}")
        if not self.E_neg < 0:
            raise ValueError(f"PNNParams.E_neg must be < 0 (or -inf), got {self.E_neg}")
        for name in ("alpha", "beta_d", "v_th", "delay_in", "delay_out"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"PNNParams.{name} must be finite, got {getattr(self, name)}")
        if self.alpha < 0:
            raise ValueError(f"PNNParams.alpha (leak) must be >= 0, got {self.alpha}")
        if not 0.0 <= self.beta_d < 1.0:
            raise ValueError(f"PNNParams.beta_d must be in [0, 1), got {self.beta_d}")
        if self.v_th <= 0:
            raise ValueError(f"PNNParams.v_th must be > 0, got {self.v_th}")
        if self.beta_d * self.v_th >= 1.0:
            raise ValueError(
                f"PNNParams.v_th={self.v_th} is unreachable by the ramp (beta_d*v_th must be < 1)"
            )
        if self.alpha_d is not None:
            a = self.alpha_d
            if isinstance(a, bool) or not isinstance(a, int | float) or not math.isfinite(a):
                raise ValueError(f"PNNParams.alpha_d must be a finite number or None, got {a!r}")
            if a <= 0:
                raise ValueError(f"PNNParams.alpha_d must be > 0, got {a}")
            object.__setattr__(self, "alpha_d", float(a))

    # ----------------------------------------------------------------------------- derived
    @property
    def beta_pos(self) -> float:
        """β⁺ = 1/E⁺ (≥ 0; 0 for E⁺ = inf)."""
        return 0.0 if math.isinf(self.E_pos) else 1.0 / self.E_pos

    @property
    def beta_neg(self) -> float:
        """β⁻ = 1/E⁻ (≤ 0; 0 for E⁻ = −inf)."""
        return 0.0 if math.isinf(self.E_neg) else 1.0 / self.E_neg

    @property
    def alpha_d_eff(self) -> float:
        """The ramp rate actually used: ``alpha_d`` or, if None, ``−ln(1 − β_d)/β_d``."""
        return _ramp_rate_for(self.beta_d) if self.alpha_d is None else self.alpha_d

    @property
    def is_ideal(self) -> bool:
        """True for the top-down model: no reversal potentials, no leak, linear unit ramp."""
        return (
            self.beta_pos == 0.0
            and self.beta_neg == 0.0
            and self.alpha == 0.0
            and self.beta_d == 0.0
            and self.alpha_d_eff == 1.0
        )

    def replace(self, **changes: Any) -> PNNParams:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------------------- presets
    @classmethod
    def ideal(cls, **overrides: Any) -> PNNParams:
        """Top-down model: β = 0 (ideal current sources), linear unit ramp, no leak, no delays."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> PNNParams:
        """Bottom-up sky130 fit of the paper: E⁺ = 2.80, E⁻ = −1.53, E_dis = 6.44 (β_d = 1/6.44)."""
        base: dict[str, Any] = {"E_pos": 2.80, "E_neg": -1.53, "beta_d": 1.0 / 6.44}
        base.update(overrides)
        return cls(**base)

    @classmethod
    def symmetric(cls, E: float, **overrides: Any) -> PNNParams:
        """E⁺ = |E|, E⁻ = −|E| with the ideal ramp (the papers' ML experiments)."""
        E = abs(float(E))
        base: dict[str, Any] = {"E_pos": E, "E_neg": -E}
        base.update(overrides)
        return cls(**base)

    # ----------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain dict for strict JSON (±inf written as the strings "inf"/"-inf")."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and math.isinf(v):
                v = "inf" if v > 0 else "-inf"
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PNNParams:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError(f"PNNParams.from_dict expects a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"PNNParams: unknown field(s) {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for k, v in data.items():
            if isinstance(v, str):
                try:
                    v = float(v)
                except ValueError:
                    raise ValueError(f"PNNParams.{k}: not a number: {v!r}") from None
            kwargs[k] = v
        return cls(**kwargs)
