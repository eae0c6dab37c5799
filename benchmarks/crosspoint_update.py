"""Time per fully parallel pulsed update of a 784x256 crosspoint tile per mini-batch of 32.

Prints figures only (no timed asserts). One update = stochastic pulse trains (BL slots) for the
32 samples, coincidence counting (one matrix product of sign-split bit matrices), and applying
the per-cell up/down pulse counts to the asymmetric soft-bounds device model.
"""

from __future__ import annotations

import time

import torch

from imcflow.crosspoint.device import get_preset
from imcflow.crosspoint.pulse import pulse_counts
from imcflow.crosspoint.tile import AnalogTile


def bench(bl: int, threads: int, repeats: int = 20) -> tuple[float, float]:
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    tile = AnalogTile(get_preset("reram-mild"), 256, 784, generator=gen, bl=bl)
    x = torch.rand(32, 784, generator=gen)
    d = torch.randn(32, 256, generator=gen) * 0.1
    tile.update(x, d, 0.01)  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        pulse_counts(x, -d, 0.01, tile.config.dw_min, bl, gen)
    t_counts = (time.perf_counter() - t0) / repeats
    t0 = time.perf_counter()
    for _ in range(repeats):
        tile.update(x, d, 0.01)
    t_update = (time.perf_counter() - t0) / repeats
    return t_counts, t_update


def main() -> None:
    print("pulsed update, 784x256 tile (reram-mild), mini-batch 32, float32 CPU")
    print(f"{'BL':>4} {'threads':>7} {'counts [ms]':>12} {'full update [ms]':>17}")
    for bl in (15, 31, 63):
        for threads in (1, 2):
            tc, tu = bench(bl, threads)
            print(f"{bl:>4} {threads:>7} {1e3 * tc:>12.2f} {1e3 * tu:>17.2f}")


if __name__ == "__main__":
    main()
