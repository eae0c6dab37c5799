"""Regression against magic on imcflow's own validation set (tests/data/pex_validation).

29 seeded-random structures written by benchmarks/pex_validation.py (seed 2026) — L and T
shapes, partial plates, three-layer crossings, neighbours 2–8 µm apart, notches, n-well,
diffusion, p-tap, gates, a MIM, random wiring — with magic 8.3.677's capacitances (sky130A.tech
md5 037f9ab25a6b98134377488031a7398c) in bench.json. Same targets as the shared bench.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import klayout.db as kdb
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


def test_committed_gds_is_what_the_generator_draws(tmp_path) -> None:
    spec = importlib.util.spec_from_file_location("pex_validation",
                                                  ROOT / "benchmarks" / "pex_validation.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    seed = json.loads((SET / "structures.json").read_text())["seed"]
    gen.generate(tmp_path, seed)
    for path in sorted(SET.glob("*.gds")):
        a, b = kdb.Layout(), kdb.Layout()
        a.read(str(path))
        b.read(str(tmp_path / path.name))
        for li in a.layer_indexes():
            info = a.get_info(li)
            lb = b.find_layer(info)
            assert lb is not None, f"{path.name}: layer {info} missing"
            ra = kdb.Region(a.top_cell().begin_shapes_rec(li))
            rb = kdb.Region(b.top_cell().begin_shapes_rec(lb))
            assert (ra ^ rb).is_empty(), f"{path.name}: {info} differs"
            ta = sorted((s.text.string, s.text.x, s.text.y)
                        for s in a.top_cell().shapes(li).each() if s.is_text())
            tb = sorted((s.text.string, s.text.x, s.text.y)
                        for s in b.top_cell().shapes(lb).each() if s.is_text())
            assert ta == tb, f"{path.name}: labels on {info} differ"
