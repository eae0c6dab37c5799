"""RC-Spike layers with per-neuron physical parameters, as fitted to a circuit.

The fitted model of a sky130 layer (``imcflow.fit``) differs from :class:`RCSpikeLinear` in that
each neuron has its own fire-phase ramp rate (its effective capacitance sets it), and delays and
threshold are tensors that can carry gradients (the fitter optimises them). The accumulate phase
is the same solver (exact or DSTD) with the layer's E±.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .dstd import rc_spike_dstd
from .exact import rc_spike_membrane_range, rc_spike_v_exact
from .params import PNNParams
from .ramp import SelectorTail, fire_time, gated, switching_kicks
from .variation import Perturbation, perturb

__all__ = ["PhysicalRCSpikeLinear", "rc_spike_physical"]


def rc_spike_physical(t_in: Tensor, weight: Tensor, params: PNNParams, *,
                      alpha_d: Tensor | float, beta_d: Tensor | float, v_th: Tensor | float,
                      delay_in: Tensor | float = 0.0, delay_out: Tensor | float = 0.0,
                      t_gate: Tensor | float = 0.0, solver: str = "exact", M: int = 10, offset=None,
                      generator: torch.Generator | None = None, clip: bool = True,
                      beta: Tensor | None = None,
                      v_init: Tensor | float = 0.0, tail: SelectorTail | None = None,
                      kappa: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Output times [B, N_out] and v(1) [B, N_out] of an RC-Spike layer whose fire-phase
    parameters may be per-neuron tensors. ``params`` supplies E± (and leak) for the accumulate
    phase; its own ramp/threshold/delay fields are ignored. ``beta``: optional per-synapse β.
    ``v_init``: the membrane's offset when the reset opens (charge injection of the reset
    switch), carried to v(1) unchanged (its decay through β·w over one phase is second order).
    ``tail``, ``kappa`` [2, N_out, N_in]: the synapses' switching charge, onset and selector
    tail (:mod:`imcflow.pnn.ramp`), if the model has one."""
    t = t_in + delay_in
    if solver == "exact":
        v_end = rc_spike_v_exact(t, weight, params, beta=beta)
    elif solver == "dstd":
        _, v_end = rc_spike_dstd(t, weight, params, M, offset, generator, return_v=True,
                                 beta=beta)
    else:
        raise ValueError(f"solver must be 'exact' or 'dstd', got {solver!r}")
    v_end = v_end + v_init
    kicks = None
    if tail is not None and kappa is not None:
        onset, kicks = switching_kicks(t_in, weight, kappa, tail.t_on)
        v_end = v_end + onset
    return fire_time(v_end, alpha_d, beta_d, v_th, delay_out, clip=clip, t_gate=t_gate,
                     tail=tail, kicks=kicks), v_end


class PhysicalRCSpikeLinear(nn.Module):
    """A trainable fully connected RC-Spike layer with fixed per-neuron physics.

    Args:
        weight: initial normalised weights [N_out, N_in] (the trainable parameter).
        params: E± (and leak) of the accumulate phase.
        alpha_d: per-neuron ramp rate [N_out]; beta_d, v_th, delay_in, delay_out, t_gate:
            scalars or [N_out] tensors (see :func:`imcflow.pnn.ramp.fire_time`).
        quantizer: optional map from weights to the weights the hardware realises; applied with
            a straight-through gradient (quantization-aware training).
        beta_fn: optional map from (realised) weights to the per-synapse β of the devices that
            realise them (no gradient flows through it).
        tail, kappa_fn: optional switching charge: the selector tail's time profile, and the
            map from (realised) weights to each synapse's κ [2, N_out, N_in] (onset, tail; as
            ``beta_fn``).
        v_range: optional (v_lo, v_hi) normalised membrane range the layer's circuit model was
            validated over (:meth:`range_excess` penalises leaving it).
        perturbation: optional circuit variation (:mod:`imcflow.pnn.variation`): a fresh
            random instance at every forward pass in training, or in evaluation while
            ``perturb_eval`` is set (Monte-Carlo evaluation of the model).
        solver, M, M_test, random_offset: as :class:`imcflow.pnn.RCSpikeLinear`.
    """

    def __init__(self, weight: Tensor, params: PNNParams, *, alpha_d: Tensor,
                 beta_d: float | Tensor, v_th: float | Tensor, delay_in: float = 0.0,
                 delay_out: float = 0.0, t_gate: float = 0.0,
                 quantizer: Callable[[Tensor], Tensor] | None = None,
                 beta_fn: Callable[[Tensor], Tensor] | None = None, solver: str = "exact",
                 M: int = 10, M_test: int = 30, random_offset: bool = True, noise_std: float = 0.0,
                 v_range: tuple[float, float] | None = None, v_init: float | Tensor = 0.0,
                 perturbation: Perturbation | None = None, tail: SelectorTail | None = None,
                 kappa_fn: Callable[[Tensor], Tensor] | None = None):
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())
        self.params = params
        dt = self.weight.dtype
        self.register_buffer("alpha_d", torch.as_tensor(alpha_d, dtype=dt))
        self.register_buffer("beta_d", torch.as_tensor(beta_d, dtype=dt))
        self.register_buffer("v_th", torch.as_tensor(v_th, dtype=dt))
        self.register_buffer("delay_in", torch.as_tensor(delay_in, dtype=dt))
        self.register_buffer("delay_out", torch.as_tensor(delay_out, dtype=dt))
        self.register_buffer("t_gate", torch.as_tensor(t_gate, dtype=dt))
        self.register_buffer("v_init", torch.as_tensor(v_init, dtype=dt))
        self.quantizer = quantizer
        self.beta_fn = beta_fn
        self.solver, self.M, self.M_test = solver, M, M_test
        self.random_offset = random_offset
        self.noise_std = noise_std
        self.v_range = v_range
        self.perturbation = perturbation
        self.perturb_eval = False
        self.tail = tail
        self.kappa_fn = kappa_fn

    @property
    def has_switching(self) -> bool:
        """Whether this layer models its synapses' switching charge (selector tail)."""
        return self.tail is not None and self.kappa_fn is not None

    def _tail_args(self, w: Tensor) -> dict:
        if not self.has_switching:
            return {}
        return {"tail": self.tail, "kappa": self.kappa_fn(w.detach())}

    def realised_weight(self) -> Tensor:
        """Weights as the hardware realises them (straight-through when quantizing)."""
        if self.quantizer is None:
            return self.weight
        return self.weight + (self.quantizer(self.weight.detach()) - self.weight).detach()

    def membrane_range(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """Lowest and highest membrane over the accumulate phase, [B, N_out] each (exact)."""
        w = self.realised_weight()
        beta = None if self.beta_fn is None else self.beta_fn(w.detach())
        lo, hi = rc_spike_membrane_range(t + self.delay_in, w, self.params, beta=beta)
        return lo + self.v_init, hi + self.v_init

    def range_excess(self, t: Tensor, margin: float = 0.0) -> Tensor:
        """Mean squared excursion of the membrane outside ``v_range`` narrowed by ``margin`` on
        both sides (0 inside it; 0 without a range): the penalty that keeps a trained network
        where its model was validated."""
        if self.v_range is None:
            return t.new_zeros(())
        lo, hi = self.v_range[0] + margin, self.v_range[1] - margin
        v_min, v_max = self.membrane_range(t)
        return (torch.relu(lo - v_min) ** 2 + torch.relu(v_max - hi) ** 2).mean()

    def _raw_times(self, t: Tensor) -> Tensor:
        """Unclipped, ungated output times s + d_out [B, N_out] (exact solver): they go on
        past 1 for a neuron that does not fire, so penalties on them have gradients there."""
        w = self.realised_weight()
        beta = None if self.beta_fn is None else self.beta_fn(w.detach())
        raw, _ = rc_spike_physical(
            t, w, self.params, beta=beta, alpha_d=self.alpha_d, beta_d=self.beta_d,
            v_th=self.v_th, delay_in=self.delay_in, delay_out=self.delay_out,
            t_gate=self.t_gate, solver="exact", clip=False, v_init=self.v_init,
            **self._tail_args(w))
        return raw

    def forward_and_raw(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """The forward pass and the unclipped times of :meth:`_raw_times` (for the penalties),
        from one exact solve where the forward pass is that solve — exact solver, no variation
        drawn: its output is then the raw times clipped and gated — else from two."""
        varied = self.perturbation is not None and (self.training or self.perturb_eval)
        if self.solver != "exact" or varied:
            return self(t), self._raw_times(t)
        raw = self._raw_times(t)
        return self._with_noise(gated(raw, self.t_gate)), raw

    def _with_noise(self, out: Tensor) -> Tensor:
        """Training's timing noise on output times (none in evaluation)."""
        if self.noise_std and self.training:
            return out + self.noise_std * torch.randn_like(out)
        return out

    def saturation_excess(self, t: Tensor, margin: float = 0.0, raw: Tensor | None = None
                          ) -> Tensor:
        """Mean squared shortfall of the unclipped output times below ``t_gate + margin``: an
        output that would fire before its gate opens is saturated (it fires at the gate, tied
        with every other saturated output, and its gradient is zero). Exact solver; ``raw``:
        the layer's :meth:`_raw_times` for ``t`` if already solved."""
        raw = self._raw_times(t) if raw is None else raw
        return (torch.relu(self.t_gate + margin - raw) ** 2).mean()

    def phase_end_excess(self, t: Tensor, margin: float, raw: Tensor | None = None) -> Tensor:
        """Mean squared intrusion of the unclipped output times into ``1 ± margin`` (fractions
        of T), in units of ``margin`` (1 for an output exactly at the phase end, 0 outside the
        band): the band where an output either just fires or just misses its fire window.
        There the next layer's switching charge is all or nothing (a spike of a few ns
        switches its synapses' whole selector tail), so a model error of a fraction of a
        percent in this layer's time becomes the whole tail's charge in the next layer's.
        ``raw``: as :meth:`saturation_excess`."""
        raw = self._raw_times(t) if raw is None else raw
        return (torch.relu(1.0 - (raw - 1.0).abs() / margin) ** 2).mean()

    def forward(self, t: Tensor) -> Tensor:
        M = self.M if self.training else self.M_test
        offset = "random" if (self.training and self.random_offset) else 0.0
        w = self.realised_weight()
        beta = None if self.beta_fn is None else self.beta_fn(w.detach())
        tail = self._tail_args(w)
        alpha_d, v_th = self.alpha_d, self.v_th
        if self.perturbation is not None and (self.training or self.perturb_eval):
            w, alpha_d, v_th = perturb(w, alpha_d, v_th, self.perturbation)
        out, _ = rc_spike_physical(
            t, w, self.params, beta=beta, alpha_d=alpha_d, beta_d=self.beta_d,
            v_th=v_th, delay_in=self.delay_in, delay_out=self.delay_out,
            t_gate=self.t_gate, solver=self.solver, M=M, offset=offset, v_init=self.v_init,
            **tail)
        return self._with_noise(out)
