"""Regression against magic on imcflow's own validation set (tests/data/pex_validation).

29 seeded-random structures written by benchmarks/pex_validation.py (seed 2026) — L and T
shapes, partial plates, three-layer crossings, neighbours 2–8 µm apart, notches, n-well,
diffusion, p-tap, gates, a MIM, random wiring — with magic 8.3.677's capacitances (sky130A.tech
md5 037f9ab25a6b98134377488031a7398c) in bench.json. Same targets as the shared bench.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imcflow.extract.parasitics.reference import compare_set

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "tests" / "data" / "pex_validation"


@pytest.fixture(scope="module")
def cmp():
    return compare_set(SET)


def test_reference_is_magic_with_the_bench_tech() -> None:
    ref = json.loads((SET / "bench.json").read_text())
    assert ref["magic"]["version"] == "8.3.677"
    assert ref["magic"]["tech_md5"] == "037f9ab25a6b98134377488031a7398c"
    assert len(ref["structures"]) == len(list(SET.glob("*.gds"))) == 29


def test_agrees_with_magic(cmp) -> None:
    st = cmp.stats()
    bad = [f"{r.structure} {r.name}: magic {r.magic:.4f} ours {r.ours:.4f} fF "
           f"({100 * r.error:+.1f} %)" for r in cmp.couplings if abs(r.error) > 0.10]
    assert not bad, "couplings off by more than 10 %:\n" + "\n".join(bad)
    assert st["median_abs_error"] <= 0.02, st
    assert st["totals_within_5pct"] >= 0.90, st
    assert len(cmp.totals) > 100 and len(cmp.couplings) > 20


def test_every_structure_is_compared(cmp) -> None:
    ref = json.loads((SET / "bench.json").read_text())
    names = {st["name"] for st in ref["structures"]}
    assert {r.structure for r in cmp.totals} == names
    # all nets but those p-taps tie to the substrate (one each in diff0, diff1, gate0_n)
    assert len(cmp.totals) == sum(len(st["nets"]) for st in ref["structures"]) - 3
