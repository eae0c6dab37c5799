"""Losses over output spike times (PAPERS.md §1.3).

    L = CE(softmax(−t/τ_soft), y) + γ₁ Σ_i (t_i − t_ref)² + γ₂ Q + λ Σ w²

averaged over the mini-batch (the penalty sums over output neurons). The earliest output spike is
the predicted class. ``inf`` (no spike, TTFS) is clipped to ``t_clip`` so the loss stays finite;
a silent neuron gets no gradient through its time, which is what the firing term Q is for.

Q (TTFS only) is the firing-promotion term of Sakemi et al. (2021): for every neuron,
relu(V_th − Σ_j w_ij) — a neuron whose total input weight is below threshold can never fire
even if every input spikes.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F


def spike_time_loss(t: torch.Tensor, y: torch.Tensor, *, tau_soft: float = 0.07,
                    gamma1: float = 0.0, t_ref: float = 0.9,
                    t_clip: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy over −t/τ_soft plus γ₁·mean_batch Σ_i (t_i − t_ref)².

    Returns ``(loss, ce)`` (``ce`` detached is what the progress bar shows).
    """
    tc = t.clamp(max=t_clip) if t_clip is not None else t
    ce = F.cross_entropy(-tc / tau_soft, y)
    loss = ce
    if gamma1:
        loss = loss + gamma1 * ((tc - t_ref) ** 2).sum(dim=1).mean()
    return loss, ce


def firing_penalty(weights: Iterable[torch.Tensor], v_th: float = 1.0) -> torch.Tensor:
    """Q = Σ_layers Σ_i relu(V_th − Σ_j w_ij) (weights [out, ...]: summed over all but dim 0)."""
    total = None
    for w in weights:
        q = F.relu(v_th - w.reshape(w.shape[0], -1).sum(dim=1)).sum()
        total = q if total is None else total + q
    if total is None:
        return torch.zeros(())
    return total


def weight_l2(weights: Iterable[torch.Tensor]) -> torch.Tensor:
    """Σ w² over all given weight tensors (the "weight 2-norm" term, squared)."""
    total = None
    for w in weights:
        s = (w * w).sum()
        total = s if total is None else total + s
    if total is None:
        return torch.zeros(())
    return total


def accuracy_counts(t: torch.Tensor, y: torch.Tensor, tie_tol: float = 1e-9) -> int:
    """Number of samples whose earliest output spike is the label and no other output's
    (within ``tie_tol``): a tie is not a decision (:func:`imcflow.report.metrics.ttfs_accuracy`)."""
    first = t.min(dim=1, keepdim=True).values
    unique = (t <= first + tie_tol).sum(dim=1) == 1
    return int(((t.argmin(dim=1) == y) & unique).sum())
