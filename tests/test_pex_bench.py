"""Regression against magic on the shared pex_bench (30 structures, magic 8.3.677, sky130A).

The bench lives outside the repository (``shared/pex_bench`` beside the repository root or a
folder above it; ``IMCFLOW_PEX_BENCH`` overrides); ``tests/data/pex_bench`` is a copy of its
reference (bench.json, structures.json, the GDS files) for a clone that stands alone. A missing
bench FAILS this test: a skip would count as a pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imcflow.errors import DataError
from imcflow.extract.parasitics.reference import MIN_COUPLING_FF, compare_set, find_set

ENV = "IMCFLOW_PEX_BENCH"


@pytest.fixture(scope="module")
def bench():
    try:
        folder = find_set(ENV, "shared/pex_bench", Path(__file__).parent / "data" / "pex_bench")
    except DataError as exc:
        pytest.fail(str(exc))
    with open(folder / "bench.json", encoding="utf-8") as fh:
        ref = json.load(fh)
    return ref, compare_set(folder)


def _compared_couplings(st: dict) -> int:
    """Couplings of a structure that reach MIN_COUPLING_FF once the MIM artifact is off."""
    art = st.get("magic_artifact") or {}
    pair = sorted(art.get("nets", []))
    return sum(c["fF"] - (art.get("fF", 0.0) if sorted(c["nets"]) == pair else 0.0)
               >= MIN_COUPLING_FF for c in st["couplings"])


def test_every_net_and_coupling_is_compared(bench) -> None:
    ref, cmp = bench
    assert len(ref["structures"]) == 30
    assert len(cmp.totals) == sum(len(st["nets"]) for st in ref["structures"])
    assert len(cmp.couplings) == sum(_compared_couplings(st) for st in ref["structures"]) > 0


def test_agrees_with_magic(bench) -> None:
    _, cmp = bench
    st = cmp.stats()
    bad = [f"{r.structure}/{r.what} {r.name}: magic {r.magic:.4f} ours {r.ours:.4f} fF "
           f"({100 * r.error:+.1f} %)" for r in cmp.rows
           if (r.what == "coupling" and abs(r.error) > 0.10)]
    assert not bad, "couplings off by more than 10 %:\n" + "\n".join(bad)
    assert st["median_abs_error"] <= 0.02, st
    assert st["totals_within_5pct"] >= 0.90, st
