"""Linear-regression toy where analog SGD's biased fixed point is known in closed form.

Problem: ``n`` independent scalar regressions, one per cell of an ``(n, 1)`` tile::

    y_i = w*_i x + eps_i,   x = ±1 (fair coin, shared),   eps_i = ±sigma (fair coin per row)
    L(W) = 1/2 E[(y - W x)^2],   per-sample gradient  g_i = (W_i - w*_i) - eps_i x

With ``d_i = W_i - w*_i`` and ``|d_i| < sigma``: ``E[g_i] = d_i`` and
``|g_i| = sigma - d_i sgn(eps_i x)``, so ``E|g_i| = sigma`` and
``E[(W_i - c)|g_i|] = sigma E[W_i - c]`` (the coin is independent of the current state).
A pulsed SGD step on a cell with soft-bounds slope ``a``, centre ``s`` and
imbalance ``r`` (device units, see :mod:`imcflow.crosspoint.device`) moves it on average by::

    E[Δw] = -lr E[g (1 - r a (w - s))] + lr E|g| (r - a (w - s))

Setting it to zero with ``u = w - s`` and ``d0 = s - t`` (``t`` the target in device units,
``w*`` plus the reference) gives ``-r a u^2 + (1 - r a d0 + sigma a) u + (d0 - sigma r) = 0``
(exact for ``r = 0``; for ``r != 0`` it neglects ``Var(w)`` in ``E[g u]``). The root near the
``r = 0`` solution is the SGD fixed point; for ``r = 0``::

    W_sgd = (w* + a sigma (w_sp - ref)) / (1 + a sigma)         (logical units, scale = 1)

i.e. the asymmetry pulls the solution toward the symmetry point by the fraction
``a sigma / (1 + a sigma)``, independent of the learning rate. SHD's stationary point is
``W = w*`` (see :mod:`imcflow.crosspoint.algorithms`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from imcflow.crosspoint.algorithms import AlgoConfig, make_algorithm
from imcflow.crosspoint.device import DeviceConfig

TOY_DEVICE = DeviceConfig(
    name="toy", description="soft-bounds device for the fixed-point toy (A=1, d2d, c2c, r=0)",
    dw_min=0.002, asymmetry=1.0, sp_dtod=0.15, dw_min_dtod=0.2, asymmetry_dtod=0.2,
    dw_min_ctoc=0.3, read_noise=0.0,
    source="imcflow's toy: an A = 1 soft-bounds device with the ReRAM-like step of the "
           "presets (crosspoint/device.py), for the closed-form fixed-point check; not a fit")


def sgd_fixed_point(target: torch.Tensor, sigma: float, a: torch.Tensor, s: torch.Tensor,
                    r: torch.Tensor) -> torch.Tensor:
    """Closed-form SGD fixed point in *device* units (``target`` = ``w* + ref``).

    Args:
        target: per-cell regression target in device units.
        sigma: label-noise amplitude (``eps = ±sigma``).
        a: per-cell soft-bounds slope [1/weight unit].
        s: per-cell soft-bounds centre [weight units].
        r: per-cell up/down imbalance.
    """
    d0 = s - target
    qa = -r * a
    qb = 1 - r * a * d0 + sigma * a
    qc = d0 - sigma * r
    u = -2 * qc / (qb + torch.sqrt((qb * qb - 4 * qa * qc).clamp_min(0.0)))
    return s + u


@dataclass
class ToyResult:
    """Outcome of one toy run (logical units; arrays per cell)."""

    w_star: torch.Tensor
    w_sgd_closed_form: torch.Tensor
    w_sgd: torch.Tensor
    w_shd: torch.Tensor

    def summary(self) -> dict[str, float]:
        """Mean absolute distances that the fixed-point claim is about."""
        def mad(u: torch.Tensor, v: torch.Tensor) -> float:
            return float((u - v).abs().mean())

        return {
            "bias_closed_form": mad(self.w_sgd_closed_form, self.w_star),
            "sgd_vs_closed_form": mad(self.w_sgd, self.w_sgd_closed_form),
            "sgd_vs_true_min": mad(self.w_sgd, self.w_star),
            "shd_vs_true_min": mad(self.w_shd, self.w_star),
            "shd_vs_closed_form": mad(self.w_shd, self.w_sgd_closed_form),
        }


def _run(algo: str, device: DeviceConfig, w_star: torch.Tensor, sigma: float, steps: int,
         lr: float, seed: int, cfg: AlgoConfig) -> tuple[torch.Tensor, object]:
    gen = torch.Generator().manual_seed(seed)
    n = w_star.numel()
    model = make_algorithm(algo, device, n, 1, gen, cfg)
    model.set_weight(torch.zeros(n, 1))
    data = torch.Generator().manual_seed(seed + 1)
    acc = torch.zeros(n)
    count = 0
    for t in range(steps):
        x = (torch.randint(0, 2, (1, 1), generator=data) * 2 - 1).float()
        eps = (torch.randint(0, 2, (1, n), generator=data) * 2 - 1).float() * sigma
        y = x * w_star[None, :] + eps
        delta = model.forward(x) - y  # dL/dy
        model.update(x, delta, lr)
        if t >= steps // 2:
            acc += model.weight()[:, 0]
            count += 1
    return acc / count, model


def run_toy(n: int = 64, sigma: float = 1.0, steps: int = 20000, lr: float = 0.01,
            seed: int = 0, device: DeviceConfig = TOY_DEVICE) -> ToyResult:
    """Run analog SGD and SHD on the toy; time-average the second half of the steps."""
    g = torch.Generator().manual_seed(seed + 7)
    w_star = (torch.rand(n, generator=g) - 0.5) * 0.6  # in [-0.3, 0.3]
    cfg = AlgoConfig(shd_gamma=0.05)
    w_sgd, model = _run("sgd", device, w_star, sigma, steps, lr, seed, cfg)
    tile = model.tile  # type: ignore[attr-defined]
    dev = tile.dev
    ref = tile.ref[:, 0]
    target = w_star / tile.scale + ref
    fp = sgd_fixed_point(target, sigma, dev.a[:, 0], dev.s[:, 0], dev.r[:, 0])
    w_fp = tile.scale * (fp - ref)
    w_shd, _ = _run("shd", device, w_star, sigma, steps, lr, seed, cfg)
    return ToyResult(w_star=w_star, w_sgd_closed_form=w_fp, w_sgd=w_sgd, w_shd=w_shd)
