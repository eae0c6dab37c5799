"""Transient fit: C_eff, threshold, ramp and delays through the differentiable PNN.

Starting point (:class:`LayerPhysics`): each synapse's current at V₀ and the reversal potentials
E± from the DC fits, the discharger's current and β_d, the drawn MIM capacitance. The normalised
model of neuron i (PAPERS.md §1.4, I_ij = C_i V_th w_ij / T) is

    w_ij = s_ij · I_ij · T / (C_i · V_th)            (s_ij = ±1 the synapse's sign)
    accumulate: dv/dt = Σ_j θ(t − t_j − d_in) w_ij (1 − β_ij v)           (exact solver)
    fire:       dv/ds = α_d,i (1 − β_d v),  α_d,i = I_dis · T / (C_i · V_th);  crossing of v_th
                at s, output t = min(max(s + d_out, t_gate), 1)  (imcflow.pnn.ramp.fire_time)

and :func:`fit_layer` adjusts C_i (per neuron), v_th, β_d, d_in, d_out, t_gate (optionally current
calibrations k₋, k_dis) by Adam on the squared spike-time error (neurons that did not fire in
SPICE: a hinge that keeps the model from firing inside the window) plus the squared membrane
error during the accumulate phase in units of V_th. The synapse currents themselves stay as the
DC sweeps measured them: C_i and the currents share one overall scale, so only one side can be
free.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from imcflow.errors import DataError
from imcflow.pnn import PNNParams, rc_spike_membrane_exact
from imcflow.pnn.physical import rc_spike_physical

#: Parameters free by default.
DEFAULT_FREE = ("c", "v_th", "beta_d", "delay_in", "delay_out", "t_gate")
ALL_FREE = DEFAULT_FREE + ("k_neg", "k_dis")


@dataclass(frozen=True)
class LayerPhysics:
    """One layer as the schematic and the DC fits describe it.

    Attributes:
        sign: [n_out, n_in] synapse sign (+1 NMOS, −1 PMOS, 0 none).
        current_A: [n_out, n_in] synapse current magnitude at V₀ (A), 0 where no device.
        c_F: [n_out] starting membrane capacitance (F), e.g. the drawn MIM value.
        v0_V: reset voltage V₀ (V).
        v_th_V: normalisation voltage, the design threshold V₀ − V_switch (V).
        T_s: phase length (s).
        E_pos, E_neg: reversal potentials from the DC fits (normalised).
        i_dis_A: discharger current at V₀ (A).
        beta_d: discharger non-linearity from the DC fit.
        beta: optional per-synapse β [n_out, n_in] (measured per finger width); replaces E±.
    """

    sign: np.ndarray
    current_A: np.ndarray
    c_F: np.ndarray
    v0_V: float
    v_th_V: float
    T_s: float
    E_pos: float
    E_neg: float
    i_dis_A: float
    beta_d: float
    beta: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.sign.shape)  # type: ignore[return-value]


@dataclass
class LayerWaveforms:
    """SPICE observations of one layer over N patterns (times normalised to T).

    Attributes:
        t_in: [N, n_in] input spike times in the accumulate phase (inf = no spike).
        t_out: [N, n_out] output spike times in the fire phase (ignored where not ``fired``).
        fired: [N, n_out] True where the neuron crossed its threshold inside the fire phase.
        t_mem: [K] times (normalised, in [0, 1]) where the membrane was sampled, or empty.
        v_mem: [N, n_out, K] membrane voltage (V) at ``t_mem``, or None.
    """

    t_in: np.ndarray
    t_out: np.ndarray
    fired: np.ndarray
    t_mem: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v_mem: np.ndarray | None = None


@dataclass(frozen=True)
class FittedLayer:
    """Fitted parameters of one layer and the fit's residuals."""

    c_eff_F: tuple[float, ...]
    v_th: float
    beta_d: float
    delay_in: float
    delay_out: float
    t_gate: float = 0.0
    k_neg: float = 1.0
    k_dis: float = 1.0
    E_pos: float = float("inf")
    E_neg: float = float("-inf")
    residuals: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FittedLayer:
        data = dict(data)
        data["c_eff_F"] = tuple(float(c) for c in data["c_eff_F"])
        for k in ("v_th", "beta_d", "delay_in", "delay_out", "t_gate", "k_neg", "k_dis", "E_pos",
                  "E_neg"):
            if k in data:
                data[k] = float(data[k])  # JSON stores ±inf as strings
        return cls(**data)

    @classmethod
    def initial(cls, phys: LayerPhysics) -> FittedLayer:
        """The fit's starting point: drawn C, design threshold, DC ramp, no delays."""
        return cls(c_eff_F=tuple(float(c) for c in phys.c_F), v_th=1.0, beta_d=phys.beta_d,
                   delay_in=0.0, delay_out=0.0, E_pos=phys.E_pos, E_neg=phys.E_neg)


def normalised_weight(phys: LayerPhysics, signed_current: torch.Tensor, c_eff: torch.Tensor,
                      k_neg: torch.Tensor | float = 1.0) -> torch.Tensor:
    """w_ij = I_ij · T / (C_i · V_th) (negative currents scaled by ``k_neg``); tensors in, out."""
    k = torch.where(signed_current < 0, torch.as_tensor(k_neg, dtype=signed_current.dtype),
                    torch.ones_like(signed_current))
    return signed_current * k * phys.T_s / (c_eff[:, None] * phys.v_th_V)


def ramp_rate(phys: LayerPhysics, c_eff: torch.Tensor, k_dis: torch.Tensor | float = 1.0
              ) -> torch.Tensor:
    """Per-neuron fire-phase ramp rate α_d,i = k_dis · I_dis · T / (C_i · V_th)."""
    return k_dis * phys.i_dis_A * phys.T_s / (c_eff * phys.v_th_V)


def layer_tensors(phys: LayerPhysics, fitted: FittedLayer, dtype=torch.float64
                  ) -> dict[str, torch.Tensor | PNNParams]:
    """A fitted layer as the tensors :func:`imcflow.pnn.physical.rc_spike_physical` takes:
    ``weight`` [n_out, n_in] (from the synapse currents), ``params`` (E±), ``beta`` (per-synapse
    β or None), ``alpha_d`` [n_out],
    and the scalars ``beta_d``, ``v_th``, ``delay_in``, ``delay_out``, ``t_gate``."""
    c = torch.as_tensor(np.asarray(fitted.c_eff_F), dtype=dtype)
    signed = torch.as_tensor(phys.sign * phys.current_A, dtype=dtype)
    return {"weight": normalised_weight(phys, signed, c, fitted.k_neg),
            "params": PNNParams(E_pos=fitted.E_pos, E_neg=fitted.E_neg),
            "beta": None if phys.beta is None else torch.as_tensor(phys.beta, dtype=dtype),
            "alpha_d": ramp_rate(phys, c, fitted.k_dis),
            "beta_d": torch.tensor(fitted.beta_d, dtype=dtype),
            "v_th": torch.tensor(fitted.v_th, dtype=dtype),
            "delay_in": torch.tensor(fitted.delay_in, dtype=dtype),
            "delay_out": torch.tensor(fitted.delay_out, dtype=dtype),
            "t_gate": torch.tensor(fitted.t_gate, dtype=dtype)}


class _Model(torch.nn.Module):
    """The fitted layer as a differentiable function of its parameters (float64)."""

    def __init__(self, phys: LayerPhysics, start: FittedLayer, free: tuple[str, ...]):
        super().__init__()
        bad = set(free) - set(ALL_FREE)
        if bad:
            raise ValueError(f"unknown free parameter(s) {sorted(bad)}; allowed {ALL_FREE}")
        self.phys = phys
        dt = torch.float64
        self.register_buffer("sign", torch.as_tensor(phys.sign, dtype=dt))
        self.register_buffer("current", torch.as_tensor(phys.current_A, dtype=dt))
        self.beta = None if phys.beta is None else torch.as_tensor(phys.beta, dtype=dt)
        self.register_buffer("c0", torch.as_tensor(np.asarray(start.c_eff_F), dtype=dt))
        self.params_E = PNNParams(E_pos=start.E_pos, E_neg=start.E_neg)
        init = {"c": torch.zeros(len(start.c_eff_F), dtype=dt),
                "v_th": torch.tensor(start.v_th, dtype=dt),
                "beta_d": torch.tensor(start.beta_d, dtype=dt),
                "delay_in": torch.tensor(start.delay_in, dtype=dt),
                "delay_out": torch.tensor(start.delay_out, dtype=dt),
                "t_gate": torch.tensor(start.t_gate, dtype=dt),
                "k_neg": torch.tensor(np.log(start.k_neg), dtype=dt),
                "k_dis": torch.tensor(np.log(start.k_dis), dtype=dt)}
        for name, value in init.items():
            if name in free:
                self.register_parameter(name, torch.nn.Parameter(value))
            else:
                self.register_buffer(name, value)

    def c_eff(self) -> torch.Tensor:
        return self.c0 * torch.exp(self.c)

    def weight(self) -> torch.Tensor:
        return normalised_weight(self.phys, self.sign * self.current, self.c_eff(),
                                 torch.exp(self.k_neg))

    def alpha_d(self) -> torch.Tensor:
        return ramp_rate(self.phys, self.c_eff(), torch.exp(self.k_dis))

    def forward(self, t_in: torch.Tensor, clip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Output times [N, n_out] and v(1) [N, n_out]."""
        return rc_spike_physical(
            t_in, self.weight(), self.params_E, alpha_d=self.alpha_d(),
            beta_d=torch.clamp(self.beta_d, 0.0, 0.9), v_th=self.v_th, delay_in=self.delay_in,
            delay_out=self.delay_out, t_gate=self.t_gate, clip=clip, beta=self.beta)

    def membrane(self, t_in: torch.Tensor, t_eval: torch.Tensor) -> torch.Tensor:
        """Membrane voltage (V) [N, n_out, K] during the accumulate phase."""
        v = rc_spike_membrane_exact(t_in + self.delay_in, self.weight(), self.params_E, t_eval,
                                    beta=self.beta)
        return self.phys.v0_V - self.phys.v_th_V * v

    @torch.no_grad()
    def result(self, residuals: dict) -> FittedLayer:
        return FittedLayer(
            c_eff_F=tuple(float(c) for c in self.c_eff()),
            v_th=float(self.v_th), beta_d=float(torch.clamp(self.beta_d, 0.0, 0.9)),
            delay_in=float(self.delay_in), delay_out=float(self.delay_out),
            t_gate=float(self.t_gate),
            k_neg=float(torch.exp(self.k_neg)), k_dis=float(torch.exp(self.k_dis)),
            E_pos=self.params_E.E_pos, E_neg=self.params_E.E_neg, residuals=residuals)


def _check(phys: LayerPhysics, data: LayerWaveforms) -> None:
    n_out, n_in = phys.shape
    if data.t_in.ndim != 2 or data.t_in.shape[1] != n_in:
        raise DataError(f"waveforms have {data.t_in.shape} input times; the layer has {n_in}")
    if data.t_out.shape != (data.t_in.shape[0], n_out) or data.fired.shape != data.t_out.shape:
        raise DataError(f"output times {data.t_out.shape} do not match "
                        f"({data.t_in.shape[0]}, {n_out})")
    if data.v_mem is not None and data.v_mem.shape != (data.t_in.shape[0], n_out,
                                                       len(data.t_mem)):
        raise DataError("membrane traces must be [N, n_out, K] with K = len(t_mem)")


def predict(phys: LayerPhysics, fitted: FittedLayer, t_in: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Model output times (clipped to the window + delay) and v(1) for input times [N, n_in]."""
    model = _Model(phys, fitted, free=())
    with torch.no_grad():
        t, v = model(torch.as_tensor(t_in, dtype=torch.float64))
    return t.numpy(), v.numpy()


def predict_membrane(phys: LayerPhysics, fitted: FittedLayer, t_in: np.ndarray,
                     t_eval: np.ndarray) -> np.ndarray:
    """Model membrane voltage (V) [N, n_out, K] at normalised times ``t_eval``."""
    model = _Model(phys, fitted, free=())
    with torch.no_grad():
        return model.membrane(torch.as_tensor(t_in, dtype=torch.float64),
                              torch.as_tensor(t_eval, dtype=torch.float64)).numpy()


def _loss_terms(model: _Model, data: LayerWaveforms, t_in: torch.Tensor, t_obs: torch.Tensor,
                fired: torch.Tensor, t_mem: torch.Tensor, v_obs: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    t_raw, _ = model(t_in, clip=False)  # crossing + comparator delay, not yet gated
    t_model = torch.maximum(t_raw, model.t_gate)
    err = torch.where(fired, t_model - t_obs, torch.clamp(1.0 - t_raw, min=0.0))
    spike = (err ** 2).mean()
    if v_obs is None:
        return spike, torch.zeros((), dtype=spike.dtype)
    v_model = model.membrane(t_in, t_mem)
    return spike, (((v_model - v_obs) / model.phys.v_th_V) ** 2).mean()


def fit_layer(phys: LayerPhysics, data: LayerWaveforms, *, start: FittedLayer | None = None,
              free: tuple[str, ...] = DEFAULT_FREE, steps: int = 600, lr: float = 0.01,
              membrane_weight: float = 1.0) -> FittedLayer:
    """Fit one layer's parameters to SPICE waveforms by gradient descent (Adam, float64).

    Returns the fitted layer with ``residuals``: RMS spike-time error over fired outputs
    (normalised and in % of T), RMS membrane error (V), the final loss and the number of steps.
    """
    _check(phys, data)
    model = _Model(phys, start or FittedLayer.initial(phys), free)
    dt = torch.float64
    t_in = torch.as_tensor(data.t_in, dtype=dt)
    fired = torch.as_tensor(data.fired, dtype=torch.bool)
    t_obs = torch.as_tensor(np.where(data.fired, data.t_out, 1.0), dtype=dt)
    use_mem = data.v_mem is not None and len(data.t_mem) > 0 and membrane_weight > 0
    t_mem = torch.as_tensor(data.t_mem, dtype=dt)
    v_obs = torch.as_tensor(data.v_mem, dtype=dt) if use_mem else None
    opt = torch.optim.Adam([p for p in model.parameters()], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    loss = torch.zeros(())
    for _ in range(steps if list(model.parameters()) else 0):
        opt.zero_grad()
        spike, mem = _loss_terms(model, data, t_in, t_obs, fired, t_mem, v_obs)
        loss = spike + membrane_weight * mem
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        spike, mem = _loss_terms(model, data, t_in, t_obs, fired, t_mem, v_obs)
        t_model, _ = model(t_in)
        e = (t_model - t_obs)[fired]
        rms = float(torch.sqrt((e ** 2).mean())) if e.numel() else float("nan")
        residuals = {
            "spike_rms": rms, "spike_rms_pct_T": 100 * rms,
            "membrane_rms_V": float(torch.sqrt(mem)) * phys.v_th_V if use_mem else None,
            "n_patterns": int(t_in.shape[0]), "n_fired": int(fired.sum()),
            "loss": float(spike + membrane_weight * mem), "steps": steps,
        }
    return model.result(residuals)
