"""Circuit variation a physical layer can be trained against (variation-aware training).

Every draw perturbs one layer as one instance of its circuit would differ from the fitted
model: each synapse current by its own mismatch factor, all synapse currents by a shared
(corner) factor, NMOS against PMOS synapses by an imbalance factor, each neuron's fire-phase
ramp rate (MIM and discharger) and threshold. Current and ramp factors are log-normal
(``exp(σ·z)``, z standard normal), the threshold offset is additive (normalised to V_th).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Perturbation", "perturb"]


@dataclass(frozen=True)
class Perturbation:
    """σ of the variations one layer is trained against.

    Attributes:
        sigma_syn: weights [N_out, N_in] → σ(ln I) of each synapse's current (mismatch; from
            the device a weight becomes, e.g. Pelgrom's A/√(W·L)); None: no synapse mismatch.
        sigma_global: σ of ln of one factor on every synapse current of the layer (process and
            temperature, after any trim).
        sigma_np: σ of ln of the NMOS/PMOS current ratio (positive weights × exp(+z·σ/2),
            negative × exp(−z·σ/2)).
        sigma_alpha: σ of ln of each neuron's ramp rate (MIM and discharger mismatch).
        sigma_vth: σ of each neuron's threshold offset, in units of V_th.
    """

    sigma_syn: Callable[[Tensor], Tensor] | None = None
    sigma_global: float = 0.0
    sigma_np: float = 0.0
    sigma_alpha: float = 0.0
    sigma_vth: float = 0.0


def perturb(weight: Tensor, alpha_d: Tensor, v_th: Tensor, p: Perturbation,
            generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """One random instance: (weight, alpha_d, v_th) with ``p``'s variations applied. Gradients
    flow through ``weight`` (the factors are constants of the draw)."""
    def z(*shape: int) -> Tensor:
        return torch.randn(*shape, dtype=weight.dtype, generator=generator)

    n_out, n_in = weight.shape
    log_f = weight.new_zeros(n_out, n_in)
    if p.sigma_syn is not None:
        log_f = log_f + p.sigma_syn(weight.detach()) * z(n_out, n_in)
    if p.sigma_global:
        log_f = log_f + p.sigma_global * z(1)
    if p.sigma_np:
        log_f = log_f + torch.where(weight.detach() >= 0, 0.5, -0.5) * p.sigma_np * z(1)
    w = weight * torch.exp(log_f)
    a = alpha_d * torch.exp(p.sigma_alpha * z(n_out)) if p.sigma_alpha else alpha_d
    v = v_th + p.sigma_vth * z(n_out) if p.sigma_vth else v_th
    return w, a, v
