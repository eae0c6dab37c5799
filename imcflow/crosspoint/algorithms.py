"""Training algorithms on analog tiles: analog SGD, Tiki-Taka, Stochastic Hamiltonian Descent.

Each algorithm is an *analog weight* with the same interface: ``forward(x)`` and ``backward(d)``
are MVMs on the array(s) (with read noise), ``update(x, d, lr)`` applies the training rule with
pulsed rank-one updates only (never a digital read-modify-write of the whole matrix), and
``weight()`` returns the noise-free effective weight for evaluation.

Notation: ``g = Σ_b d_b x_b^T`` is the mini-batch gradient of the loss w.r.t. the weight the
forward pass used; every array update is the stochastic pulsed update of
:mod:`imcflow.crosspoint.pulse`, so on an asymmetric device the realised change of a cell is
``-lr g - a (w - w_sp) * lr Σ_b |g_b|`` to first order (the asymmetric part drags the cell toward
its symmetry point in proportion to the update *activity*, PAPERS.md §2).

**Analog SGD** — one array ``W``: ``W <- W - lr g`` (pulsed). Its stationary point solves
``E[g] = -a (W - w_sp) E|g|``, not ``E[g] = 0``: a biased fixed point (see
:mod:`imcflow.crosspoint.toy` for the closed form on a linear-regression toy).

**Tiki-Taka** (Gokmen & Haensch 2020) — arrays ``A`` (fast, referenced to its symmetry point)
and ``C`` (slow); forward/backward use ``W = gamma * A + C``. Every step ``A <- A - lr g``
(pulsed); every ``transfer_every`` steps the next ``transfer_columns`` columns of ``A`` (cyclic)
are read (one MVM with a one-hot input each) and written into ``C`` with a pulsed update
``C[:, j] <- C[:, j] + lr_transfer * A[:, j]``. ``A``'s decay toward its (zero-shifted) symmetry
point filters the gradient; ``C`` integrates it.

**Stochastic Hamiltonian Descent** — what is implemented and why. The paper (Onen et al.,
arXiv 2201.13377) states that SHD programs the network to minimise the total energy
(Hamiltonian) of the system including the device asymmetry, is fully parallel and pulse based,
and uses the asymmetry as a feature. Its exact update equations were *not* available to us: the
``search`` tool (pages/docs/code corpora, queries on the title, arXiv id, DOI
10.3389/frai.2022.891624 and "Stochastic Hamiltonian Descent") returned only the abstract. We
therefore implement the rule inferred in ``shared/PAPERS.md`` §2 — dissipative Hamiltonian
dynamics with a hidden momentum array ``P`` — and say so here:

    P <- P - lr * g(W)                       (pulsed rank-one updates on the asymmetric array P,
                                              referenced to its symmetry point)
    P <- P - damping * P                     (optional explicit friction, pulsed per column)
    W <- W + gamma * P                       (every ``transfer_every`` steps, the next
                                              ``transfer_columns`` columns of P are read and
                                              written into W with pulsed updates)

Forward and backward use ``W`` only. The Hamiltonian is ``H(W, P) = L(W) + |P|^2 / (2 gamma')``
(potential energy L, kinetic energy in P). The device asymmetry of ``P`` — its drift toward the
symmetry point, ``-a P * lr Σ|g_b|`` — is exactly a friction term: it dissipates kinetic energy,
so the system settles at a minimum of the energy, where ``P = 0`` and hence ``E[g] = 0`` (the true
minimum of L). The asymmetry of ``W`` drops out at the stationary point because ``W`` is only
written in proportion to ``P``. The residual bias is second order (``a_P a_W E|g| E|P|``) plus
whatever symmetry-point calibration error the reference of ``P`` has. Differences from
Tiki-Taka as implemented here: the forward pass sees only ``W`` (no ``gamma * A`` term) and the
transfer is dense (all columns every step by default), making ``(W, P)`` a discretised
damped-Hamiltonian (heavy-ball) system rather than a slowly sampled filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from imcflow.crosspoint.device import DeviceConfig
from imcflow.crosspoint.tile import AnalogTile

ALGORITHMS = ("sgd", "tiki-taka", "shd")


class AnalogWeight(Protocol):
    """Interface shared by the training algorithms."""

    def forward(self, x: torch.Tensor) -> torch.Tensor: ...

    def backward(self, d: torch.Tensor) -> torch.Tensor: ...

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None: ...

    def weight(self) -> torch.Tensor: ...

    def set_weight(self, w: torch.Tensor) -> None: ...

    def pulses(self) -> float: ...

    def anneal(self, factor: float) -> None: ...


@dataclass(frozen=True)
class AlgoConfig:
    """Hyper-parameters of the analog algorithms.

    Attributes:
        bl: pulse-train length per sample.
        scale: logical weight per unit normalised conductance.
        tt_gamma: Tiki-Taka weight of ``A`` in the forward pass (``W = gamma A + C``).
        tt_lr_transfer: Tiki-Taka transfer rate from ``A`` to ``C``.
        tt_every: Tiki-Taka steps between transfers.
        tt_columns: Tiki-Taka columns per transfer.
        shd_gamma: SHD rate of ``W <- W + gamma P``.
        shd_damping: SHD explicit friction on ``P`` per transfer (0 = only the device's).
        shd_every: SHD steps between transfers.
        shd_columns: SHD columns per transfer (0 = all).
    """

    bl: int = 31
    scale: float = 1.0
    tt_gamma: float = 0.1
    tt_lr_transfer: float = 0.1
    tt_every: int = 1
    tt_columns: int = 1
    shd_gamma: float = 0.1
    shd_damping: float = 0.0
    shd_every: int = 1
    shd_columns: int = 0


class AnalogSGD:
    """Plain analog SGD on one array (referenced to its symmetry point)."""

    def __init__(self, device: DeviceConfig, out_f: int, in_f: int, gen: torch.Generator,
                 cfg: AlgoConfig) -> None:
        self.tile = AnalogTile(device, out_f, in_f, generator=gen, bl=cfg.bl, scale=cfg.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tile.forward(x)

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        return self.tile.backward(d)

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        self.tile.update(x, d, lr)

    def weight(self) -> torch.Tensor:
        return self.tile.weight()

    def set_weight(self, w: torch.Tensor) -> None:
        self.tile.set_weight(w)

    def pulses(self) -> float:
        return self.tile.pulses

    def anneal(self, factor: float) -> None:
        """Learning-rate schedule hook (SGD: the schedule is already in ``lr``)."""


def _transfer(src: AnalogTile, dst: AnalogTile, cols: torch.Tensor, lr: float,
              damping: float = 0.0) -> None:
    """Read columns of ``src`` and add ``lr *`` them to ``dst`` (pulsed, one-hot inputs)."""
    v = src.read_columns(cols)  # (out, k)
    onehot = torch.zeros((len(cols), dst.in_features))
    onehot[torch.arange(len(cols)), cols] = 1.0
    dst.update(onehot, -v.T, lr)
    if damping > 0:
        src.update(onehot, v.T, damping)


class TikiTaka:
    """Tiki-Taka: gradient on ``A``, periodic column-wise transfer ``A -> C``."""

    def __init__(self, device: DeviceConfig, out_f: int, in_f: int, gen: torch.Generator,
                 cfg: AlgoConfig) -> None:
        self.cfg = cfg
        self.a = AnalogTile(device, out_f, in_f, generator=gen, bl=cfg.bl, scale=cfg.scale)
        self.c = AnalogTile(device, out_f, in_f, generator=gen, bl=cfg.bl, scale=cfg.scale)
        self.step = 0
        self.col = 0
        self.factor = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c.forward(x)
        if self.cfg.tt_gamma:
            y = y + self.cfg.tt_gamma * self.a.forward(x)
        return y

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        z = self.c.backward(d)
        if self.cfg.tt_gamma:
            z = z + self.cfg.tt_gamma * self.a.backward(d)
        return z

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        self.a.update(x, d, lr)
        self.step += 1
        if self.step % self.cfg.tt_every == 0:
            n = self.a.in_features
            k = min(self.cfg.tt_columns, n)
            cols = (torch.arange(k) + self.col) % n
            self.col = (self.col + k) % n
            _transfer(self.a, self.c, cols, self.cfg.tt_lr_transfer * self.factor)

    def weight(self) -> torch.Tensor:
        return self.c.weight() + self.cfg.tt_gamma * self.a.weight()

    def set_weight(self, w: torch.Tensor) -> None:
        self.c.set_weight(w)

    def pulses(self) -> float:
        return self.a.pulses + self.c.pulses

    def anneal(self, factor: float) -> None:
        """Scale the transfer rate with the learning-rate schedule (``factor`` = lr / lr0)."""
        self.factor = factor


class StochasticHamiltonianDescent:
    """SHD: momentum array ``P`` (gradient, device friction), visible ``W`` (``W += gamma P``)."""

    def __init__(self, device: DeviceConfig, out_f: int, in_f: int, gen: torch.Generator,
                 cfg: AlgoConfig) -> None:
        self.cfg = cfg
        self.p = AnalogTile(device, out_f, in_f, generator=gen, bl=cfg.bl, scale=cfg.scale)
        self.w = AnalogTile(device, out_f, in_f, generator=gen, bl=cfg.bl, scale=cfg.scale)
        self.step = 0
        self.col = 0
        self.factor = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w.forward(x)

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        return self.w.backward(d)

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        self.p.update(x, d, lr)
        self.step += 1
        if self.step % self.cfg.shd_every == 0:
            n = self.p.in_features
            k = n if self.cfg.shd_columns <= 0 else min(self.cfg.shd_columns, n)
            cols = (torch.arange(k) + self.col) % n
            self.col = (self.col + k) % n
            _transfer(self.p, self.w, cols, self.cfg.shd_gamma * self.factor,
                      self.cfg.shd_damping)

    def weight(self) -> torch.Tensor:
        return self.w.weight()

    def set_weight(self, w: torch.Tensor) -> None:
        self.w.set_weight(w)

    def pulses(self) -> float:
        return self.p.pulses + self.w.pulses

    def anneal(self, factor: float) -> None:
        """Scale ``gamma`` with the learning-rate schedule (``factor`` = lr / lr0).

        Needed because the device friction on ``P`` scales with ``lr`` too: the stationary
        momentum ``P ~ -g / (a |g|)`` does not shrink with ``lr``, so the step of ``W`` only
        anneals through ``gamma``.
        """
        self.factor = factor


def make_algorithm(name: str, device: DeviceConfig, out_f: int, in_f: int,
                   gen: torch.Generator, cfg: AlgoConfig | None = None) -> AnalogWeight:
    """Build an analog weight of ``(out_f, in_f)`` trained by algorithm ``name``."""
    cfg = cfg or AlgoConfig()
    if name == "sgd":
        return AnalogSGD(device, out_f, in_f, gen, cfg)
    if name == "tiki-taka":
        return TikiTaka(device, out_f, in_f, gen, cfg)
    if name == "shd":
        return StochasticHamiltonianDescent(device, out_f, in_f, gen, cfg)
    from imcflow.errors import ImcflowError

    raise ImcflowError(f"unknown algorithm {name!r} (choose from {', '.join(ALGORITHMS)})")
