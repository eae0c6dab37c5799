"""Transient fit: capacitance scale, threshold, ramp and delays through the differentiable PNN.

Starting point (:class:`LayerPhysics`): each synapse's current at V₀ and the reversal potentials
E± from the DC fits, the discharger's current and β_d, and each membrane's capacitance C_i as
measured in SPICE on the post-layout network (:mod:`imcflow.sim.capacitance`; the drawn MIM
where nothing was measured). The normalised model of neuron i (PAPERS.md §1.4,
I_ij = C_i V_th w_ij / T) is

    w_ij = s_ij · I_ij · T / (k_C C_i · V_th)            (s_ij = ±1 the synapse's sign)
    accumulate: dv/dt = Σ_j θ(t − t_j − d_in) w_ij (1 − β_ij v)           (exact solver)
    fire:       dv/ds = α_d,i (1 − β_d v),  α_d,i = I_dis · T / (k_C C_i · V_th);  crossing of
                v_th at s, output t = min(max(s + d_out, t_gate), 1)  (imcflow.pnn.ramp.fire_time)

:func:`fit_layer` adjusts the layer's capacitance scale k_C (one number: the measured C_i carry
the neuron-to-neuron differences, so the fit transfers to a written-back layer whose C_i are
measured the same way), v_th, β_d, d_in, d_out, t_gate (optionally current calibrations k₋,
k_dis, or a per-neuron capacitance factor for diagnosis) by Adam on the squared spike-time error
(neurons that did not fire in SPICE: a hinge that keeps the model from firing inside the window)
plus the squared membrane error during the accumulate phase in units of V_th. The synapse
currents stay as the DC sweeps measured them: C and the currents share one overall scale, so only
one side can be free.

Every parameter lives in a physical interval (:data:`BOUNDS`, reached through a sigmoid, so the
optimiser cannot leave it); the result is the best state the optimiser visited, so a fit never
ends worse than it started; the residuals carry per-neuron diagnostics and name the parameters
that ended at a bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from imcflow.errors import DataError
from imcflow.pnn import PNNParams, rc_spike_membrane_exact
from imcflow.pnn.physical import rc_spike_physical
from imcflow.pnn.ramp import SelectorTail

#: Parameters free by default.
DEFAULT_FREE = ("c_scale", "v_th", "beta_d", "delay_in", "delay_out", "t_gate", "v_init")
ALL_FREE = DEFAULT_FREE + ("k_neg", "k_dis", "c")

#: Physical interval of every fitted parameter (delays and t_gate in units of T; c_scale and c
#: are factors on the measured capacitance; k_neg, k_dis factors on the measured currents).
#: Wide enough for any sky130 corner and temperature; a parameter that ends at a bound is
#: reported (:func:`fit_layer` residuals ``at_bound``).
BOUNDS: dict[str, tuple[float, float]] = {
    "c_scale": (0.8, 1.25), "c": (0.9, 1.1), "v_th": (0.75, 1.25), "beta_d": (0.0, 0.75),
    "delay_in": (-0.05, 0.05), "delay_out": (-0.02, 0.1), "t_gate": (-0.01, 0.1),
    "k_neg": (0.8, 1.25), "k_dis": (0.7, 1.4), "v_init": (-0.02, 0.02),
}


@dataclass(frozen=True)
class LayerPhysics:
    """One layer as the schematic and the DC fits describe it.

    Attributes:
        sign: [n_out, n_in] synapse sign (+1 NMOS, −1 PMOS, 0 none).
        current_A: [n_out, n_in] synapse current magnitude at V₀ (A), 0 where no device.
        c_F: [n_out] membrane capacitance (F): measured in SPICE on the post-layout network,
            or the drawn MIM value.
        v0_V: reset voltage V₀ (V).
        v_th_V: normalisation voltage, the design threshold V₀ − V_switch (V).
        T_s: phase length (s).
        E_pos, E_neg: reversal potentials from the DC fits (normalised).
        i_dis_A: discharger current at V₀ (A).
        beta_d: discharger non-linearity from the DC fit.
        beta: optional per-synapse β [n_out, n_in] (measured per finger width); replaces E±.
        kick: optional [n_out, n_in] step of the normalised membrane when input j's spike
            lines switch (edge coupling through the extracted wiring; it reverses when the
            lines fall at the end of the phase, so it shows in the accumulate-phase membrane
            only).
        tail, kappa: optional switching charge (:mod:`imcflow.pnn.ramp`): the selector tail's
            time profile and each synapse's κ [2, n_out, n_in] (onset, tail; charge in units of
            its DC charge over T).
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
    kick: np.ndarray | None = None
    tail: SelectorTail | None = None
    kappa: np.ndarray | None = None

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
        valid: [N, n_out] True where the membrane stayed inside the range the layer's device
            models were validated over (None: all); the fit ignores the other outputs.
    """

    t_in: np.ndarray
    t_out: np.ndarray
    fired: np.ndarray
    t_mem: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v_mem: np.ndarray | None = None
    valid: np.ndarray | None = None


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
    c_scale: float = 1.0
    v_init: float = 0.0
    E_pos: float = float("inf")
    E_neg: float = float("-inf")
    residuals: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FittedLayer:
        data = dict(data)
        data["c_eff_F"] = tuple(float(c) for c in data["c_eff_F"])
        for k in ("v_th", "beta_d", "delay_in", "delay_out", "t_gate", "k_neg", "k_dis", "c_scale",
                  "v_init", "E_pos", "E_neg"):
            if k in data:
                data[k] = float(data[k])  # JSON stores ±inf as strings
        return cls(**data)

    @classmethod
    def initial(cls, phys: LayerPhysics) -> FittedLayer:
        """The fit's starting point: measured (or drawn) C, design threshold, DC ramp, no
        delays."""
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
    the scalars ``beta_d``, ``v_th``, ``delay_in``, ``delay_out``, ``t_gate``, ``v_init``, and
    ``tail``, ``kappa`` where the layer has a selector tail."""
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
            "t_gate": torch.tensor(fitted.t_gate, dtype=dtype),
            "v_init": torch.tensor(fitted.v_init, dtype=dtype), **tail_tensors(phys, dtype)}


def tail_tensors(phys: LayerPhysics, dtype=torch.float64) -> dict:
    """``tail`` and ``kappa`` of :func:`rc_spike_physical` for ``phys`` (empty: no tail)."""
    if phys.tail is None or phys.kappa is None:
        return {}
    return {"tail": phys.tail, "kappa": torch.as_tensor(phys.kappa, dtype=dtype)}


def _logit(x: float) -> float:
    """logit of a position in a parameter's interval, kept 2 % inside it: a start exactly at a
    bound would sit where the sigmoid's gradient vanishes and never move."""
    x = min(max(x, 0.02), 0.98)
    return float(np.log(x / (1.0 - x)))


class _Model(torch.nn.Module):
    """The fitted layer as a differentiable function of its parameters (float64). A free
    parameter p in [lo, hi] is lo + (hi − lo)·σ(u) with u the optimised variable."""

    def __init__(self, phys: LayerPhysics, start: FittedLayer, free: tuple[str, ...]):
        super().__init__()
        bad = set(free) - set(ALL_FREE)
        if bad:
            raise ValueError(f"unknown free parameter(s) {sorted(bad)}; allowed {ALL_FREE}")
        self.phys = phys
        self.free = tuple(free)
        dt = torch.float64
        self.register_buffer("sign", torch.as_tensor(phys.sign, dtype=dt))
        self.register_buffer("current", torch.as_tensor(phys.current_A, dtype=dt))
        self.beta = None if phys.beta is None else torch.as_tensor(phys.beta, dtype=dt)
        self.kick = None if phys.kick is None else torch.as_tensor(phys.kick, dtype=dt)
        self.tail = tail_tensors(phys, dt)
        c_start = np.asarray(start.c_eff_F, dtype=float)
        self.register_buffer("c_base", torch.as_tensor(c_start / start.c_scale, dtype=dt))
        self.params_E = PNNParams(E_pos=start.E_pos, E_neg=start.E_neg)
        values = {"c_scale": start.c_scale, "c": np.ones(len(c_start)), "v_th": start.v_th,
                  "beta_d": start.beta_d, "delay_in": start.delay_in,
                  "delay_out": start.delay_out, "t_gate": start.t_gate, "k_neg": start.k_neg,
                  "k_dis": start.k_dis, "v_init": start.v_init}
        for name, value in values.items():
            v = torch.as_tensor(np.asarray(value, dtype=float), dtype=dt)
            if name in free:
                lo, hi = BOUNDS[name]
                u = torch.as_tensor(np.vectorize(_logit)((np.asarray(value) - lo) / (hi - lo)),
                                    dtype=dt)
                self.register_parameter(f"u_{name}", torch.nn.Parameter(u))
            else:
                self.register_buffer(f"fixed_{name}", v)

    def value(self, name: str) -> torch.Tensor:
        """The current value of parameter ``name`` (within its bounds when free)."""
        if name in self.free:
            lo, hi = BOUNDS[name]
            return lo + (hi - lo) * torch.sigmoid(getattr(self, f"u_{name}"))
        return getattr(self, f"fixed_{name}")

    def at_bound(self, margin: float = 0.01) -> list[str]:
        """Free parameters within ``margin`` (fraction of the interval) of a bound."""
        out = []
        for name in self.free:
            x = torch.sigmoid(getattr(self, f"u_{name}"))
            if bool(((x < margin) | (x > 1 - margin)).any()):
                out.append(name)
        return out

    def c_eff(self) -> torch.Tensor:
        return self.c_base * self.value("c_scale") * self.value("c")

    def weight(self) -> torch.Tensor:
        return normalised_weight(self.phys, self.sign * self.current, self.c_eff(),
                                 self.value("k_neg"))

    def alpha_d(self) -> torch.Tensor:
        return ramp_rate(self.phys, self.c_eff(), self.value("k_dis"))

    def forward(self, t_in: torch.Tensor, clip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Output times [N, n_out] and v(1) [N, n_out]."""
        return rc_spike_physical(
            t_in, self.weight(), self.params_E, alpha_d=self.alpha_d(),
            beta_d=self.value("beta_d"), v_th=self.value("v_th"),
            delay_in=self.value("delay_in"), delay_out=self.value("delay_out"),
            t_gate=self.value("t_gate"), clip=clip, beta=self.beta, v_init=self.value("v_init"),
            **self.tail)

    def membrane(self, t_in: torch.Tensor, t_eval: torch.Tensor) -> torch.Tensor:
        """Membrane voltage (V) [N, n_out, K] during the accumulate phase."""
        v = rc_spike_membrane_exact(t_in + self.value("delay_in"), self.weight(), self.params_E,
                                    t_eval, beta=self.beta) + self.value("v_init")
        if self.kick is not None:  # each input's edge, from its spike time on: [N, n_in, K]
            on = (t_eval.reshape(1, 1, -1) >= t_in.unsqueeze(-1)).to(v.dtype)
            v = v + torch.einsum("oj,njk->nok", self.kick, on)
        return self.phys.v0_V - self.phys.v_th_V * v

    @torch.no_grad()
    def result(self, residuals: dict) -> FittedLayer:
        f = {name: float(self.value(name)) for name in
             ("v_th", "beta_d", "delay_in", "delay_out", "t_gate", "k_neg", "k_dis", "c_scale",
              "v_init")}
        return FittedLayer(c_eff_F=tuple(float(c) for c in self.c_eff()),
                           E_pos=self.params_E.E_pos, E_neg=self.params_E.E_neg,
                           residuals=residuals, **f)


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
    if data.valid is not None and data.valid.shape != data.t_out.shape:
        raise DataError("the valid mask must be [N, n_out] like the output times")


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


def _loss_terms(model: _Model, t_in: torch.Tensor, t_obs: torch.Tensor, fired: torch.Tensor,
                t_mem: torch.Tensor, v_obs: torch.Tensor | None, valid: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-output squared spike error [N, n_out] and per-sample squared membrane error
    [N, n_out, K] (in units of V_th; None without membrane traces), zero where not ``valid``."""
    t_raw, _ = model(t_in, clip=False)  # crossing + comparator delay, not yet gated
    t_model = torch.maximum(t_raw, model.value("t_gate"))
    err = torch.where(fired, t_model - t_obs, torch.clamp(1.0 - t_raw, min=0.0))
    err = torch.where(valid, err, torch.zeros_like(err))
    if v_obs is None:
        return err ** 2, None
    v_err = (model.membrane(t_in, t_mem) - v_obs) / model.phys.v_th_V
    v_err = torch.where(valid.unsqueeze(-1), v_err, torch.zeros_like(v_err))
    return err ** 2, v_err ** 2


def _mean(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over the valid outputs (and any trailing sample axis)."""
    per = x if x.dim() == 2 else x.mean(dim=-1)
    return per.sum() / valid.sum().clamp(min=1)


def _residuals(model: _Model, t_in: torch.Tensor, t_obs: torch.Tensor, fired: torch.Tensor,
               t_mem: torch.Tensor, v_obs: torch.Tensor | None, valid: torch.Tensor,
               membrane_weight: float) -> dict:
    """The fit's residuals over the valid outputs, layer-wide and per neuron."""
    v_th = model.phys.v_th_V
    with torch.no_grad():
        spike_sq, mem_sq = _loss_terms(model, t_in, t_obs, fired, t_mem, v_obs, valid)
        t_model, _ = model(t_in)
        counted = fired & valid
        e = torch.where(counted, t_model - t_obs, torch.zeros_like(t_obs))
        n_fired = counted.sum(dim=0)
        per_spike = torch.sqrt((e ** 2).sum(dim=0) / n_fired.clamp(min=1))
        per_spike = torch.where(n_fired > 0, per_spike, torch.full_like(per_spike, float("nan")))
        all_e = e[counted]
        rms = float(torch.sqrt((all_e ** 2).mean())) if all_e.numel() else float("nan")
        loss = float(_mean(spike_sq, valid) + (membrane_weight * _mean(mem_sq, valid)
                                               if mem_sq is not None else 0.0))
        agree = float(((t_model < 1.0 - 1e-9) == fired)[valid].double().mean())
        n_valid = valid.sum(dim=0).clamp(min=1)
        per_mem = (torch.sqrt(mem_sq.mean(dim=-1).sum(dim=0) / n_valid)
                   if mem_sq is not None else None)
        out = {
            "spike_rms": rms, "spike_rms_pct_T": 100 * rms, "loss": loss,
            "membrane_rms_V": (float(torch.sqrt(_mean(mem_sq, valid))) * v_th
                               if mem_sq is not None else None),
            "n_patterns": int(t_in.shape[0]), "n_fired": int(counted.sum()),
            "n_outside_range": int((~valid).sum()),
            "fired_agreement": agree,
            "per_neuron": {
                "n_fired": [int(x) for x in n_fired],
                "n_outside_range": [int(x) for x in (~valid).sum(dim=0)],
                "spike_rms_pct_T": [100 * float(x) for x in per_spike],
                "membrane_rms_mV": ([1e3 * v_th * float(x) for x in per_mem]
                                    if per_mem is not None else None),
            },
        }
    return out


def fit_layer(phys: LayerPhysics, data: LayerWaveforms, *, start: FittedLayer | None = None,
              free: tuple[str, ...] = DEFAULT_FREE, steps: int = 600, lr: float = 0.02,
              membrane_weight: float = 1.0) -> FittedLayer:
    """Fit one layer's parameters to SPICE waveforms by gradient descent (Adam, float64).

    Returns the best state visited (never worse than ``start``) with ``residuals``: RMS
    spike-time error over fired outputs (normalised and in % of T), RMS membrane error (V),
    per-neuron spike and membrane errors and fired counts, the loss at the start and at the end,
    and ``at_bound``: free parameters that ended at their bound.
    """
    _check(phys, data)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # layer-sized tensors: threads cost more than they gain
    try:
        return _fit(phys, data, start, free, steps, lr, membrane_weight)
    finally:
        torch.set_num_threads(threads)


def _fit(phys: LayerPhysics, data: LayerWaveforms, start: FittedLayer | None,
         free: tuple[str, ...], steps: int, lr: float, membrane_weight: float) -> FittedLayer:
    model = _Model(phys, start or FittedLayer.initial(phys), free)
    dt = torch.float64
    t_in = torch.as_tensor(data.t_in, dtype=dt)
    fired = torch.as_tensor(data.fired, dtype=torch.bool)
    t_obs = torch.as_tensor(np.where(data.fired, data.t_out, 1.0), dtype=dt)
    use_mem = data.v_mem is not None and len(data.t_mem) > 0 and membrane_weight > 0
    t_mem = torch.as_tensor(data.t_mem, dtype=dt)
    v_obs = torch.as_tensor(data.v_mem, dtype=dt) if use_mem else None
    valid = (torch.ones_like(fired) if data.valid is None
             else torch.as_tensor(data.valid, dtype=torch.bool))
    params = list(model.parameters())

    def loss_now() -> torch.Tensor:
        spike_sq, mem_sq = _loss_terms(model, t_in, t_obs, fired, t_mem, v_obs, valid)
        return _mean(spike_sq, valid) + (membrane_weight * _mean(mem_sq, valid)
                                         if mem_sq is not None else 0.0)

    with torch.no_grad():
        loss_start = float(loss_now())
    best = (loss_start, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if params and steps > 0:
        opt = torch.optim.Adam(params, lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_now()
            if loss.item() < best[0]:
                best = (loss.item(), {k: v.detach().clone() for k, v in model.state_dict().items()})
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            final = float(loss_now())
        if final < best[0]:
            best = (final, {k: v.detach().clone() for k, v in model.state_dict().items()})
        model.load_state_dict(best[1])
    residuals = _residuals(model, t_in, t_obs, fired, t_mem, v_obs, valid, membrane_weight)
    residuals.update({"loss_start": loss_start, "steps": steps, "free": list(free),
                      "at_bound": model.at_bound() if params else []})
    return model.result(residuals)
