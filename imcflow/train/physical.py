"""Training a network of fitted circuit layers (the bottom-up PNN) or of the ideal schematic
model (top-down), for write-back to a sky130 network.

Each layer is a :class:`~imcflow.pnn.physical.PhysicalRCSpikeLinear` whose physics (E±, per-neuron
ramp, threshold, delays) comes from :func:`imcflow.fit.transient.layer_tensors`; only the
normalised weights train. With a write-back device model per layer, the forward pass uses the
weights the hardware will realise (grid, minimum finger, finger count) with a straight-through
gradient: quantization-aware training, so small weights are handled explicitly.

Loss (PAPERS.md §1.3–1.4, Iris recipe): cross-entropy over −t/τ_soft + γ₁ Σ(t − t_ref)² +
λ Σ w², Adam, Gaussian spike-time noise σ on hidden and output spikes in training; plus, for
layers that carry a validated membrane range (the bottom-up model: the range over which the DC
sweeps showed the devices' linear current laws to hold), ``range_weight`` × the mean squared
excursion of every membrane outside it (narrowed by ``range_margin``, so that a soft penalty
still ends inside the range), so that the trained network stays where its model is right (the
report shows, per neuron, how far the trained network goes, in the PNN and in SPICE); and, before
a layer whose synapses' switching charge is modelled, ``phase_end_weight`` × the mean squared
intrusion of the layer's unclipped output times into 1 ± ``phase_end_margin``: a spike in the
last few ns of a phase switches the next layer's whole selector tail, so the time where an
output just fires or just misses its window is where a tiny timing error is a large charge error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from imcflow.fit.transient import FittedLayer, LayerPhysics, layer_tensors
from imcflow.pnn import PNNParams, init_spike_weights
from imcflow.pnn.physical import PhysicalRCSpikeLinear
from imcflow.pnn.variation import Perturbation
from imcflow.train.loss import accuracy_counts, spike_time_loss, weight_l2
from imcflow.writeback import DeviceModel, beta_for, quantize_weights, switching_for


@dataclass(frozen=True)
class PhysicalTrainConfig:
    """Hyper-parameters (defaults: the paper's Iris recipe where it gives one)."""

    epochs: int = 300
    lr: float = 1e-2
    batch: int = 50
    tau_soft: float = 0.07
    gamma1: float = 0.1
    t_ref: float = 0.9
    weight_decay: float = 1e-2
    noise_std: float = 0.01
    range_weight: float = 30.0
    range_margin: float = 0.05
    #: weight of the output-saturation penalty (:meth:`PhysicalRCSpikeLinear.saturation_excess`)
    #: and how far after its gate an output must fire (fraction of T)
    saturation_weight: float = 30.0
    saturation_margin: float = 0.02
    #: weight of the phase-end penalty (:meth:`PhysicalRCSpikeLinear.phase_end_excess`) on
    #: the outputs of a layer whose next layer has a switching charge, and its band (× T)
    phase_end_weight: float = 0.4
    phase_end_margin: float = 0.02
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def quantizer_for(dm: DeviceModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """The weights ``dm`` realises, as a tensor map (for :class:`PhysicalRCSpikeLinear`)."""

    def q(w: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(quantize_weights(w.cpu().numpy(), dm), dtype=w.dtype)
    return q


def beta_fn_for(dm: DeviceModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """Per-synapse β of the devices realising a weight tensor (see
    :func:`imcflow.writeback.beta_for`)."""
    return _per_synapse_fn(beta_for, dm)


def kappa_fn_for(dm: DeviceModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """Per-synapse selector-tail κ of the devices realising a weight tensor (see
    :func:`imcflow.writeback.switching_for`)."""
    return _per_synapse_fn(switching_for, dm)


def _per_synapse_fn(table_for: Callable[[np.ndarray, DeviceModel], np.ndarray],
                    dm: DeviceModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """``table_for`` as a tensor map, remembering its last answer: a training step asks for
    the same weights several times (forward pass and each penalty), and every answer sizes the
    layer's devices anew."""
    last: dict[str, object] = {}

    def fn(w: torch.Tensor) -> torch.Tensor:
        a = w.detach().cpu().numpy()
        key = (a.shape, a.tobytes())
        if last.get("key") != key:
            last["key"], last["value"] = key, torch.as_tensor(table_for(a, dm), dtype=w.dtype)
        return last["value"]  # type: ignore[return-value]
    return fn


def build_network(models: list[tuple[LayerPhysics, FittedLayer]], *,
                  weights: list[np.ndarray] | None = None,
                  device_models: list[DeviceModel] | None = None,
                  beta_models: list[DeviceModel] | None = None,
                  E_override: float | None = None, seed: int = 0,
                  noise_std: float = 0.0,
                  v_ranges: list[tuple[float, float]] | None = None,
                  perturbations: list[Perturbation] | None = None) -> nn.Sequential:
    """A trainable network of physical layers (float64, exact solver).

    ``weights`` start the training (default: the spike-time init of :mod:`imcflow.pnn`);
    ``E_override`` replaces E± by ±E (the top-down recipe trains at |E| = 100).
    ``device_models`` quantize the weights (QAT); ``beta_models`` (with per-width β) give each
    synapse the β of the device its weight becomes; ``v_ranges`` (one normalised (lo, hi) per
    layer) are the membrane ranges training keeps each layer inside.
    """
    gen = torch.Generator().manual_seed(seed)
    layers = []
    for k, (phys, fl) in enumerate(models):
        t = layer_tensors(phys, fl)
        n_out, n_in = phys.shape
        if weights is not None:
            w = torch.as_tensor(weights[k], dtype=torch.float64)
        else:
            w = init_spike_weights(torch.empty(n_out, n_in, dtype=torch.float64), n_in,
                                   generator=gen)
        params = (PNNParams(E_pos=E_override, E_neg=-E_override) if E_override is not None
                  else t["params"])
        quant = quantizer_for(device_models[k]) if device_models is not None else None
        # Devices' own β when the write-back model measured it (bottom-up), else E± only.
        dm = beta_models[k] if beta_models is not None else None
        bfn = beta_fn_for(dm) if dm is not None and dm.beta_n and E_override is None else None
        # The selector tail goes with the bottom-up model (measured per finger width).
        kfn = (kappa_fn_for(dm) if dm is not None and dm.tail_n and "tail" in t
               and E_override is None else None)
        layers.append(PhysicalRCSpikeLinear(
            w, params, alpha_d=t["alpha_d"], beta_d=t["beta_d"], v_th=t["v_th"],
            delay_in=t["delay_in"], delay_out=t["delay_out"], t_gate=t["t_gate"],
            quantizer=quant, beta_fn=bfn, solver="exact", noise_std=noise_std,
            v_range=None if v_ranges is None else tuple(v_ranges[k]), v_init=t["v_init"],
            perturbation=None if perturbations is None else perturbations[k],
            tail=t.get("tail") if kfn is not None else None, kappa_fn=kfn))
    return nn.Sequential(*layers)


def realised_weights(net: nn.Sequential) -> list[np.ndarray]:
    """The weights each layer realises (after quantization), as numpy arrays."""
    with torch.no_grad():
        return [layer.realised_weight().cpu().numpy().copy() for layer in net]


def evaluate(net: nn.Sequential, t_in: torch.Tensor, y: torch.Tensor
             ) -> tuple[float, np.ndarray]:
    """Accuracy and output spike times [N, n_out] (no noise)."""
    net.eval()
    with torch.no_grad():
        t = net(t_in.to(torch.float64))
    return accuracy_counts(t, y) / len(y), t.numpy()


def mc_accuracy(net: nn.Sequential, t_in: torch.Tensor, y: torch.Tensor, n_draws: int,
                seed: int = 0) -> np.ndarray:
    """Accuracy of ``n_draws`` random instances of the network's variation (each layer's
    ``perturbation``; seeded, so repeatable), [n_draws]."""
    net.eval()
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    accs = []
    try:
        for layer in net:
            layer.perturb_eval = True
        with torch.no_grad():
            for _ in range(n_draws):
                t = net(t_in.to(torch.float64))
                accs.append(accuracy_counts(t, y) / len(y))
    finally:
        for layer in net:
            layer.perturb_eval = False
        torch.random.set_rng_state(state)
    return np.asarray(accs)


def train_network(net: nn.Sequential, t_in: torch.Tensor, y: torch.Tensor,
                  cfg: PhysicalTrainConfig,
                  on_epoch: Callable[[int, float, float], None] | None = None) -> dict:
    """Train in place; returns the history (loss and training accuracy per epoch)."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    for layer in net:
        layer.noise_std = cfg.noise_std
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    t_in = t_in.to(torch.float64)
    n = len(y)
    hist: dict[str, list[float]] = {"loss": [], "train_acc": []}
    for epoch in range(cfg.epochs):
        net.train()
        order = torch.randperm(n, generator=gen)
        total, correct = 0.0, 0
        for start in range(0, n, cfg.batch):
            idx = order[start:start + cfg.batch]
            t, excess, saturated = t_in[idx], t_in.new_zeros(()), t_in.new_zeros(())
            late = t_in.new_zeros(())
            for k, layer in enumerate(net):
                if cfg.range_weight and layer.v_range is not None:
                    excess = excess + layer.range_excess(t, cfg.range_margin)
                # saturated outputs tie at the gate: no class, no gradient
                sat = bool(cfg.saturation_weight) and k == len(net) - 1
                band = (bool(cfg.phase_end_weight) and k + 1 < len(net)
                        and net[k + 1].has_switching)
                if not (sat or band):
                    t = layer(t)
                    continue
                out, raw = layer.forward_and_raw(t)   # one exact solve for both
                if sat:
                    saturated = layer.saturation_excess(t, cfg.saturation_margin, raw=raw)
                if band:
                    late = late + layer.phase_end_excess(t, cfg.phase_end_margin, raw=raw)
                t = out
            loss, _ = spike_time_loss(t, y[idx], tau_soft=cfg.tau_soft, gamma1=cfg.gamma1,
                                      t_ref=cfg.t_ref)
            loss = (loss + cfg.range_weight * excess + cfg.saturation_weight * saturated
                    + cfg.phase_end_weight * late)
            if cfg.weight_decay:
                loss = loss + cfg.weight_decay * weight_l2([m.weight for m in net])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            correct += accuracy_counts(t.detach(), y[idx])
        hist["loss"].append(total / n)
        hist["train_acc"].append(correct / n)
        if on_epoch is not None:
            on_epoch(epoch, hist["loss"][-1], hist["train_acc"][-1])
    return hist
