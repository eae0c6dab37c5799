"""imcflow's parasitic extraction against magic on reference sets of test structures.

Prints, per structure, every net total and every coupling of at least 0.5 fF (magic's value,
imcflow's, the error) and a summary per set: median and mean |error|, the share of net totals
within ±5 % and ±10 %, the worst total and the worst coupling.

Sets: the shared ``pex_bench`` (``shared/pex_bench`` beside the repository or a folder above
it, or ``$IMCFLOW_PEX_BENCH``) and imcflow's own validation set (``tests/data/pex_validation``,
written by ``benchmarks/pex_validation.py``). Run:
``.venv/bin/python benchmarks/pex_bench.py [FOLDER ...]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from imcflow.errors import DataError
from imcflow.extract.parasitics.reference import Comparison, compare_set, find_set

ROOT = Path(__file__).resolve().parents[1]


def print_table(name: str, cmp: Comparison) -> None:
    print(f"== {name}")
    print(f"{'structure':24} {'kind':8} {'net / pair':18} {'magic fF':>10} {'imcflow fF':>10} "
          f"{'error':>8}")
    for r in cmp.rows:
        print(f"{r.structure:24} {r.what:8} {r.name:18} {r.magic:10.4f} {r.ours:10.4f} "
              f"{100 * r.error:+7.2f}%")
    st = cmp.stats()
    print(f"-- {name}: {len(cmp.totals)} net totals, {len(cmp.couplings)} couplings ≥ 0.5 fF; "
          f"median |error| {100 * st['median_abs_error']:.4f} %, mean "
          f"{100 * st['mean_abs_error']:.4f} %; totals within ±5 % "
          f"{100 * st['totals_within_5pct']:.1f} %, within ±10 % "
          f"{100 * st['totals_within_10pct']:.1f} %; worst total "
          f"{100 * st['worst_total']:.3f} %, worst coupling {100 * st['worst_coupling']:.3f} %")
    print()


def main(argv: list[str]) -> int:
    if argv:
        sets = [(a, Path(a)) for a in argv]
    else:
        sets = []
        try:
            sets.append(("pex_bench (shared)", find_set("IMCFLOW_PEX_BENCH", "shared/pex_bench")))
        except DataError as exc:
            print(f"skipping the shared bench: {exc}", file=sys.stderr)
        sets.append(("pex_validation (imcflow)", ROOT / "tests" / "data" / "pex_validation"))
    for name, folder in sets:
        if not (folder / "bench.json").is_file():
            print(f"error: no bench.json in {folder}", file=sys.stderr)
            return 1
        print_table(name, compare_set(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
