"""The three measured claims of the crosspoint stage, as printable tables.

``python -m imcflow.crosspoint.study`` (or ``imcflow crosspoint study``) runs:

1. accuracy vs asymmetry — 2-layer MLP on digits, analog SGD / Tiki-Taka / SHD on the
   ``reram-mild`` device with its asymmetry ``A`` swept, against floating-point SGD;
2. the fixed-point toy — analog SGD lands on the closed-form biased fixed point, SHD on the true
   minimum (:mod:`imcflow.crosspoint.toy`);
3. GDP vs iterative programming over ADC resolutions at the same pulse budget
   (:mod:`imcflow.crosspoint.program`).

Accuracy is the mean test accuracy of the last 3 epochs (one 450-sample test split; one test
sample is 0.22 points), which damps the epoch-to-epoch jitter of the pulsed updates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from imcflow.crosspoint.algorithms import ALGORITHMS
from imcflow.crosspoint.device import get_preset
from imcflow.crosspoint.mlp import TrainConfig, train_mlp
from imcflow.crosspoint.program import adc_table
from imcflow.crosspoint.toy import run_toy

DEFAULT_ASYMMETRIES = (0.0, 0.5, 1.0, 2.0, 3.0)


def _tail(history: list[float], k: int = 3) -> float:
    tail = history[-k:]
    return sum(tail) / len(tail)


def accuracy_table(asymmetries: tuple[float, ...] = DEFAULT_ASYMMETRIES, epochs: int = 12,
                   seed: int = 0, device: str = "reram-mild",
                   tick: Callable[[str], None] | None = None) -> dict[str, object]:
    """Test accuracy (%) per algorithm and asymmetry; ``fp`` is independent of the device."""
    fp = train_mlp(TrainConfig(algorithm="fp", epochs=epochs, seed=seed))
    rows = []
    for a in asymmetries:
        dev = get_preset(device, a)
        row: dict[str, float] = {"asymmetry": a, "fp": _tail(fp.history)}
        for algo in ALGORITHMS:
            res = train_mlp(TrainConfig(algorithm=algo, epochs=epochs, seed=seed), dev)
            row[algo] = _tail(res.history)
            if tick is not None:
                tick(f"{algo} A={a:g}")
        rows.append(row)
    return {"device": device, "epochs": epochs, "seed": seed, "rows": rows}


def format_accuracy(table: dict[str, object]) -> str:
    """Markdown table of :func:`accuracy_table`."""
    lines = [f"Digits MLP 64-32-10, device {table['device']}, {table['epochs']} epochs, "
             f"seed {table['seed']} (test accuracy %, mean of last 3 epochs)",
             "| A | FP SGD | analog SGD | Tiki-Taka | SHD | SGD loss | SHD loss |",
             "|---|---|---|---|---|---|---|"]
    for r in table["rows"]:  # type: ignore[union-attr]
        lines.append(f"| {r['asymmetry']:g} | {r['fp']:.1f} | {r['sgd']:.1f} | "
                     f"{r['tiki-taka']:.1f} | {r['shd']:.1f} | {r['fp'] - r['sgd']:+.1f} | "
                     f"{r['fp'] - r['shd']:+.1f} |")
    return "\n".join(lines)


def toy_table(seed: int = 0, steps: int = 20000) -> dict[str, float]:
    """Fixed-point toy summary (mean absolute distances, logical weight units)."""
    return run_toy(seed=seed, steps=steps).summary()


def format_toy(s: dict[str, float]) -> str:
    return "\n".join([
        "Linear-regression toy (64 cells, A=1 soft bounds + d2d; mean |distance|):",
        f"  closed-form SGD bias |W_fp - w*|       = {s['bias_closed_form']:.4f}",
        f"  analog SGD vs closed form |W - W_fp|   = {s['sgd_vs_closed_form']:.4f}",
        f"  analog SGD vs true minimum |W - w*|    = {s['sgd_vs_true_min']:.4f}",
        f"  SHD vs true minimum |W - w*|           = {s['shd_vs_true_min']:.4f}",
        f"  SHD vs closed-form SGD point           = {s['shd_vs_closed_form']:.4f}",
    ])


def programming_table(seed: int = 0, pulses: int = 1000,
                      bits: tuple[int, ...] = (4, 6, 8, 10, 12)) -> list[dict[str, float]]:
    """GDP vs iterative over ADC resolutions."""
    return adc_table(bits, seed=seed, pulses=pulses)


def format_programming(rows: list[dict[str, float]]) -> str:
    lines = ["Programming a 64x64 reram-mild array (read noise 0.01, budget "
             f"{rows[0]['gdp_pulses']:.0f} pulses/cell): normalised MVM error",
             "| ADC bits | iterative | GDP | iterative pulses/cell | GDP pulses/cell |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['adc_bits']} | {r['iterative_error']:.4f} | {r['gdp_error']:.4f} | "
                     f"{r['iterative_pulses']:.0f} | {r['gdp_pulses']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    torch.set_num_threads(1)
    print(format_toy(toy_table()))
    print()
    print(format_programming(programming_table()))
    print()
    print(format_accuracy(accuracy_table()))


if __name__ == "__main__":
    main()
