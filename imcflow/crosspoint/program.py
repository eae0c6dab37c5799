"""Programming a resistive array to target weights: GDP vs cell-by-cell program-and-verify.

Both methods drive the same device model (:mod:`imcflow.crosspoint.device`: asymmetric soft-bounds
steps, d2d variation, cycle-to-cycle programming noise, read noise) through the same periphery:
inputs ``x`` in ``[-1, 1]`` (ideal DAC), every array read is an MVM whose outputs go through one
``adc_bits`` ADC with a fixed full scale ``±adc_range`` (set for MVM outputs: ``adc_sigmas``
standard deviations of ``W_target x`` over uniform random inputs). The array starts at ``w = 0``.
Budget: the number of programming pulses per cell (total pulses / cells).

**Iterative program-and-verify** (conventional): in rounds, read every cell on its own (one-hot
input ``e_j``; the cell's conductance plus read noise, through the ADC), then give every cell
whose read error exceeds half a step ``round(|err| / dw_min)`` pulses of the error's sign, until
its per-cell budget is spent or a round changes nothing. Its accuracy is bounded by what a
*single-cell* read through the MVM ADC can resolve: one LSB is ``2 adc_range / 2^bits``, which
for a small cell signal needs a high-resolution ADC.

**Gradient-descent programming (GDP)** (Büchel et al., arXiv 2305.16647; PAPERS.md §3): apply
random inputs ``X`` (``B x cols``), measure the array outputs through the ADC, compare with the
target outputs ``X W_t^T`` and descend ``L = 1/(2B) Σ ||f(x) - W_t x||^2``: the gradient
``E^T X / B`` needs only MVM outputs and the known inputs (no per-cell read), and every cell gets
its ``|lr * grad| / dw_min`` pulses (stochastically rounded) at once. The learning rate decays
with the fraction of the pulse budget spent. Quantisation and read noise
enter through many different random inputs, so they average out instead of setting a floor.

Metric: normalised MVM error ``||(W - W_t) X||_F / ||W_t X||_F`` on 2048 fresh random inputs,
noise-free (the programmed state itself).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from imcflow.crosspoint.device import DeviceArray, DeviceConfig, get_preset
from imcflow.errors import ImcflowError

METHODS = ("gdp", "iterative")


@dataclass(frozen=True)
class ProgramConfig:
    """Programming experiment.

    Attributes:
        rows, cols: array size (outputs x inputs).
        device: device preset name.
        asymmetry: override of the preset's asymmetry A (None: preset value).
        read_noise: std of one cell read [weight units] (overrides the preset).
        adc_bits: ADC resolution [bits].
        adc_sigmas: ADC full scale in standard deviations of the target MVM output.
        pulses: pulse budget per cell.
        target_range: targets are uniform in ``±target_range`` [weight units].
        gdp_batch: random inputs per GDP step.
        gdp_lr: initial GDP learning rate.
        seed: seed of targets, device draw and noise.
    """

    rows: int = 64
    cols: int = 64
    device: str = "reram-mild"
    asymmetry: float | None = None
    read_noise: float = 0.01
    adc_bits: int = 8
    adc_sigmas: float = 4.0
    pulses: int = 1000
    target_range: float = 0.5
    gdp_batch: int = 64
    gdp_lr: float = 1.5
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.adc_bits <= 24:
            raise ImcflowError(f"adc bits must be in 1..24, got {self.adc_bits}")
        if self.pulses < 1:
            raise ImcflowError(f"pulse budget must be >= 1, got {self.pulses}")
        if self.rows < 1 or self.cols < 1:
            raise ImcflowError("array size must be >= 1 x 1")
        if self.read_noise < 0 or not 0 < self.target_range <= 1:
            raise ImcflowError("read noise must be >= 0 and target range in (0, 1]")

    def device_config(self) -> DeviceConfig:
        import dataclasses

        cfg = get_preset(self.device, self.asymmetry)
        return dataclasses.replace(cfg, read_noise=self.read_noise)


@dataclass
class ProgramResult:
    """Outcome: normalised MVM error, pulses per cell spent, reads (MVMs) used."""

    method: str
    mvm_error: float
    pulses_per_cell: float
    mvms: int
    history: list[tuple[float, float]]  # (pulses per cell, error)
    config: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class _Setup:
    def __init__(self, cfg: ProgramConfig) -> None:
        self.cfg = cfg
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.target = (torch.rand(cfg.rows, cfg.cols, generator=self.gen) * 2 - 1) \
            * cfg.target_range
        self.dev = DeviceArray(cfg.device_config(), (cfg.rows, cfg.cols), self.gen)
        # target MVM output std for x ~ U(-1, 1): sqrt(cols * E[w^2] / 3)
        sigma_y = math.sqrt(cfg.cols * cfg.target_range ** 2 / 3 / 3)
        self.adc_range = cfg.adc_sigmas * sigma_y
        self.lsb = 2 * self.adc_range / 2 ** cfg.adc_bits
        eval_gen = torch.Generator().manual_seed(cfg.seed + 12345)
        self.x_eval = torch.rand(2048, cfg.cols, generator=eval_gen) * 2 - 1
        self.y_eval = self.x_eval @ self.target.T

    def adc(self, y: torch.Tensor) -> torch.Tensor:
        q = torch.round(y / self.lsb) * self.lsb
        return q.clamp(-self.adc_range, self.adc_range)

    def error(self) -> float:
        diff = self.x_eval @ (self.dev.w - self.target).T
        return float(diff.norm() / self.y_eval.norm())


def program_iterative(cfg: ProgramConfig,
                      on_round: Callable[[float, float], None] | None = None) -> ProgramResult:
    """Cell-by-cell program-and-verify within a per-cell pulse budget."""
    st = _Setup(cfg)
    dev = st.dev
    dw = dev.config.dw_min
    used = torch.zeros(cfg.rows, cfg.cols)
    history = [(0.0, st.error())]
    mvms = 0
    eye = torch.eye(cfg.cols)
    for _ in range(10_000):
        read = st.adc(dev.mvm(eye).T)  # column j read with input e_j: (rows, cols)
        mvms += cfg.cols
        err = st.target - read
        n = torch.round(err.abs() / dw)
        n = torch.minimum(n, cfg.pulses - used).clamp_min(0.0)
        if float(n.sum()) == 0:
            break
        dev.apply_pulses(torch.where(err > 0, n, 0.0), torch.where(err < 0, n, 0.0))
        used += n
        history.append((float(used.mean()), st.error()))
        if on_round is not None:
            on_round(*history[-1])
    return ProgramResult("iterative", st.error(), float(used.mean()), mvms, history, asdict(cfg))


def program_gdp(cfg: ProgramConfig, max_steps: int = 5_000,
                on_step: Callable[[float, float], None] | None = None) -> ProgramResult:
    """Gradient-descent programming: all cells pulsed together, within the pulse budget.

    Each step measures ``gdp_batch`` random-input MVMs through the ADC, forms the mini-batch
    gradient ``E^T X / B`` in the digital periphery (it needs only the MVM outputs and the known
    inputs — no per-cell read) and gives every cell, in parallel, ``|lr * grad| / dw_min`` pulses
    (stochastically rounded) of the descent sign.
    """
    st = _Setup(cfg)
    dev = st.dev
    dw = dev.config.dw_min
    cells = cfg.rows * cfg.cols
    budget = cells * cfg.pulses
    spent = 0.0
    history = [(0.0, st.error())]
    mvms = 0
    for step in range(max_steps):
        frac = spent / budget
        if frac >= 1.0:
            break
        lr = cfg.gdp_lr * (0.05 + 0.95 * (1 - frac) ** 2)
        x = torch.rand(cfg.gdp_batch, cfg.cols, generator=st.gen) * 2 - 1
        y = st.adc(dev.mvm(x))
        mvms += cfg.gdp_batch
        e = y - x @ st.target.T
        dw_want = -lr * e.T @ x / cfg.gdp_batch
        u = torch.rand(dw_want.shape, generator=st.gen)
        n = torch.floor(dw_want.abs() / dw + u)  # stochastic rounding to whole pulses
        total = float(n.sum())
        room = budget - spent
        if total > room:  # last step: scale down to the remaining budget
            n = torch.floor(n * (room / total))
            total = float(n.sum())
        dev.apply_pulses(torch.where(dw_want > 0, n, 0.0), torch.where(dw_want < 0, n, 0.0))
        spent += total
        if step % 25 == 0:
            history.append((spent / cells, st.error()))
            if on_step is not None:
                on_step(*history[-1])
        if room - total < 1:
            break
    history.append((spent / cells, st.error()))
    return ProgramResult("gdp", st.error(), spent / cells, mvms, history, asdict(cfg))


def program(cfg: ProgramConfig, method: str) -> ProgramResult:
    """Dispatch on ``method`` (``gdp`` or ``iterative``)."""
    if method == "gdp":
        return program_gdp(cfg)
    if method == "iterative":
        return program_iterative(cfg)
    raise ImcflowError(f"unknown programming method {method!r} (choose from gdp, iterative)")


def adc_table(bits: tuple[int, ...] = (4, 6, 8, 10, 12), **kw: object) -> list[dict[str, float]]:
    """GDP vs iterative normalised MVM error for each ADC resolution (same pulse budget)."""
    import dataclasses

    rows = []
    base = ProgramConfig(**kw)  # type: ignore[arg-type]
    for b in bits:
        cfg = dataclasses.replace(base, adc_bits=b)
        it = program_iterative(cfg)
        gd = program_gdp(cfg)
        rows.append({"adc_bits": b, "iterative_error": it.mvm_error,
                     "iterative_pulses": it.pulses_per_cell, "gdp_error": gd.mvm_error,
                     "gdp_pulses": gd.pulses_per_cell})
    return rows
