"""Parasitic capacitance of hand-drawn geometry against the model's laws, worked out by hand.

Values are compared in aF with a relative tolerance (pytest.approx's default absolute tolerance
would accept any two capacitances in F).
"""

from __future__ import annotations

import math

import pytest

from imcflow.extract import devices, gds, parasitics, synth
from imcflow.extract.parasitics.tech import Tech

AF = 1e-18
REL = 1e-6


def _par(c: synth.Canvas, **kw: bool) -> tuple[parasitics.Parasitics, dict[str, int]]:
    ext = devices.extract_netlist(gds.from_layout(c.layout))
    par = parasitics.extract_parasitics(ext, **kw)
    ids = {name: k for k, name in par.names.items()}
    return par, ids


def _cc(par: parasitics.Parasitics, ids: dict[str, int], a: str, b: str) -> float:
    """Coupling between nets a and b, aF."""
    i, j = ids[a], ids[b]
    return par.coupling.get((min(i, j), max(i, j)), 0.0) / AF


def _g(par: parasitics.Parasitics, ids: dict[str, int], a: str) -> float:
    """Capacitance of net a to the substrate, aF."""
    return par.ground.get(ids[a], 0.0) / AF


def _share(mult: float, d: float) -> float:
    return Tech.load().atan_scale * math.atan(mult * d)


@pytest.mark.parametrize(("layer", "w", "s"), [("met1", 0.14, 0.5), ("met2", 0.3, 1.0),
                                               ("met3", 0.4, 0.6), ("poly", 0.2, 0.3)])
def test_two_parallel_wires(layer: str, w: float, s: float) -> None:
    """Sidewall coupling c·ℓ/(s + offset); the neighbour cuts off the substrate fringe beyond it."""
    tech = Tech.load()
    length = 50.0
    c = synth.Canvas("wires")
    c.box(layer, 0, 0, length, w)
    c.box(layer, 0, w + s, length, 2 * w + s)
    c.label(layer, "a", 1, w / 2)
    c.label(layer, "b", 1, 1.5 * w + s)
    par, ids = _par(c)
    cw, off = tech.sidewall(layer)
    area, perim = tech.area_cap(layer), tech.perimeter_cap(layer)
    cut = perim * (1.0 - _share(tech.substrate_mult(layer), s)) * length
    want_g = area * length * w + perim * 2 * (length + w) - cut
    assert _cc(par, ids, "a", "b") == pytest.approx(cw * length / (s + off), rel=REL)
    assert _g(par, ids, "a") == pytest.approx(want_g, rel=REL)
    assert _g(par, ids, "b") == pytest.approx(want_g, rel=REL)


def test_coupling_reaches_the_halo_and_no_further() -> None:
    tech = Tech.load()
    c = synth.Canvas("far")
    c.box("met1", 0, 0, 20, 0.14)
    c.box("met1", 0, 5.14, 20, 5.28)      # 5 µm away: couples
    c.box("met1", 0, 14.0, 20, 14.14)     # 8.72 µm beyond that: outside the 8 µm halo
    c.label("met1", "a", 1, 0.07)
    c.label("met1", "b", 1, 5.2)
    c.label("met1", "far", 1, 14.07)
    par, ids = _par(c)
    cw, off = tech.sidewall("met1")
    assert _cc(par, ids, "a", "b") == pytest.approx(cw * 20 / (5.0 + off), rel=REL)
    assert _cc(par, ids, "b", "far") == 0.0


def test_middle_wire_blocks_coupling_except_where_outer_wires_overhang() -> None:
    """a and b see each other only past the ends of the shorter middle wire."""
    tech = Tech.load()
    w, s, length, over = 0.3, 0.3, 20.0, 2.0
    c = synth.Canvas("three")
    c.box("met2", -over, 0, length + over, w)
    c.box("met2", 0, w + s, length, 2 * w + s)
    c.box("met2", -over, 2 * (w + s), length + over, 3 * w + 2 * s)
    for name, y in (("a", w / 2), ("mid", 1.5 * w + s), ("b", 2.5 * w + 2 * s)):
        c.label("met2", name, 1, y)
    par, ids = _par(c)
    cw, off = tech.sidewall("met2")
    assert _cc(par, ids, "a", "mid") == pytest.approx(cw * length / (s + off), rel=REL)
    assert _cc(par, ids, "a", "b") == pytest.approx(cw * 2 * over / (w + 2 * s + off), rel=REL)


def test_wire_over_plate_shares_its_fringe_with_the_substrate() -> None:
    """Area over the plate couples to it; each edge's fringe goes to the plate over the band
    the plate occupies (arctangent share with the pair's multiplier) and the substrate keeps the
    rest of it (with the substrate multiplier)."""
    tech = Tech.load()
    c = synth.Canvas("plate")
    c.box("met1", 0, 0, 20, 20)          # plate
    c.box("met2", 5, 2, 15, 2.5)         # 10 × 0.5 µm wire entirely over the plate
    c.label("met1", "plate", 1, 1)
    c.label("met2", "wire", 6, 2.25)
    par, ids = _par(c)
    # plate beyond each edge: below 2.0, above 17.5, left 5, right 5 (the halo is 8)
    bands = [(10.0, 2.0), (10.0, 17.5), (0.5, 5.0), (0.5, 5.0)]
    halo = tech.halo_um
    mult = tech.fringe_mult("met2", "met1")
    sub_mult = tech.substrate_mult("met2")
    want_cc = tech.overlap("met2", "met1") * 10 * 0.5 + tech.sideoverlap("met2", "met1") * sum(
        ln * _share(mult, min(d, halo)) for ln, d in bands)
    want_g = tech.perimeter_cap("met2") * sum(
        ln * (1.0 - _share(sub_mult, min(d, halo))) for ln, d in bands)
    assert _cc(par, ids, "wire", "plate") == pytest.approx(want_cc, rel=REL)
    assert _g(par, ids, "wire") == pytest.approx(want_g, rel=REL)
    assert _g(par, ids, "plate") == pytest.approx(
        tech.area_cap("met1") * 400 + tech.perimeter_cap("met1") * 80, rel=REL)


def test_lower_edge_fringes_up_onto_a_crossing_wire() -> None:
    """Two crossing wires: area overlap, the upper edges' fringe down onto the lower wire and
    the lower edges' fringe up onto the upper one."""
    tech = Tech.load()
    w, half = 0.5, 10.0
    c = synth.Canvas("cross")
    c.box("met1", -half, -w / 2, half, w / 2)
    c.box("met2", -w / 2, -half, w / 2, half)
    c.label("met1", "lower", -half + 0.5, 0)
    c.label("met2", "upper", 0, -half + 0.5)
    par, ids = _par(c)
    reach = min(half - w / 2, tech.halo_um)
    mult = tech.fringe_mult("met2", "met1")
    assert mult == tech.fringe_mult("met1", "met2")
    down = tech.sideoverlap("met2", "met1") * 2 * w * _share(mult, reach)
    up = tech.sideoverlap("met1", "met2") * 2 * w * _share(mult, reach)
    want = tech.overlap("met2", "met1") * w * w + down + up
    assert _cc(par, ids, "lower", "upper") == pytest.approx(want, rel=REL)


def test_poly_wiring_is_extracted() -> None:
    tech = Tech.load()
    c = synth.Canvas("poly")
    c.box("poly", 0, 0, 30, 0.4)
    c.label("poly", "p", 1, 0.2)
    par, ids = _par(c)
    want = tech.area_cap("poly") * 30 * 0.4 + tech.perimeter_cap("poly") * 2 * 30.4
    assert _g(par, ids, "p") == pytest.approx(want, rel=REL)


def test_wiring_over_nwell_couples_to_the_well_net() -> None:
    tech = Tech.load()
    c = synth.Canvas("well")
    c.box("nwell", -20, -20, 40, 20)
    c.box("met1", 0, 0, 10, 0.5)
    c.label("met1", "wire", 1, 0.25)
    par, ids = _par(c)
    well = [k for k, n in par.names.items() if k != ids["wire"] and "SUBSTRATE" not in n]
    cc = {k: v for k, v in par.coupling.items() if ids["wire"] in k}
    assert len(cc) == 1
    (pair, value), = cc.items()
    assert set(pair) - {ids["wire"]} <= set(well)
    mult = tech.substrate_mult("met1")
    fringe = tech.perimeter_cap("met1") * 2 * (10.5 * _share(mult, tech.halo_um))
    assert value / AF == pytest.approx(tech.area_cap("met1") * 5 + fringe, rel=REL)
    # the substrate keeps the fringe beyond the halo
    assert _g(par, ids, "wire") == pytest.approx(
        tech.perimeter_cap("met1") * 2 * 10.5 * (1 - _share(mult, tech.halo_um)), rel=REL)


def test_capm_shields_met4_from_met3_inside_a_mim() -> None:
    """imcflow's one deliberate difference from magic: no met4–met3 area coupling over capm."""
    c = synth.Canvas("mim")
    synth.mim(c, 0, 0, 10, 10, nets=("top", "bot"))
    par, ids = _par(c)
    # all of the top plate lies over capm; what couples is the fringe of its edges
    tech = Tech.load()
    assert 0 < _cc(par, ids, "top", "bot") < 0.1 * tech.overlap("met4", "met3") * 9.8 * 9.8


def test_result_does_not_depend_on_how_shapes_are_cut() -> None:
    def draw(pieces: int) -> synth.Canvas:
        c = synth.Canvas("cut")
        step = 20.0 / pieces
        for k in range(pieces):
            c.box("met1", k * step, 0, (k + 1) * step, 0.5)
        for k in range(pieces):
            c.box("met1", 0, 1.0 + k * 0.5 * step, 0.6, 1.0 + (k + 1) * 0.5 * step)
        c.box("met2", 2, -3, 3, 12)
        c.label("met1", "a", 1, 0.25)
        c.label("met2", "b", 2.5, 5)
        return c

    one, ids1 = _par(draw(1))
    many, ids5 = _par(draw(7))
    for net in ("a", "b"):
        assert one.total(ids1[net]) / AF == pytest.approx(many.total(ids5[net]) / AF, rel=1e-9)
    assert _cc(one, ids1, "a", "b") == pytest.approx(_cc(many, ids5, "a", "b"), rel=1e-9)


def test_resistance_of_a_wire() -> None:
    c = synth.Canvas("res")
    c.box("met1", 5, 4, 25, 4.5)          # 20 × 0.5
    c.label("met1", "wire", 20, 4.25)
    par, ids = _par(c, resistance=True)
    # 20 / 0.5 = 40 squares (+ w/l) of met1 at 0.125 Ω/□
    assert par.resistance[ids["wire"]] == pytest.approx(0.125 * (40 + 0.025), rel=1e-9)


def test_unmodelled_geometry_is_reported() -> None:
    c = synth.Canvas("warn")
    c.box("met1", 0, 0, 10, 1)
    c.label("met1", "a", 1, 0.5)
    c.polygon("met2", [(0, 0), (5, 5), (5, 0)])
    c.box("dnwell", -5, -5, 20, 20)
    ext = devices.extract_netlist(gds.from_layout(c.layout))
    parasitics.extract_parasitics(ext)
    text = " ".join(ext.warnings)
    assert "deep n-well" in text and "non-Manhattan shapes on met2" in text


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_box_pairs_match_brute_force(seed: int) -> None:
    """The grid pair query finds exactly the overlapping pairs (positive area), each once."""
    import numpy as np

    from imcflow.extract.parasitics.boxes import Boxes, pairs

    rng = np.random.default_rng(seed)

    def boxes(n: int, big: int) -> Boxes:
        x0, y0 = rng.integers(-5000, 50000, n), rng.integers(-5000, 50000, n)
        w, h = rng.integers(1, big, n), rng.integers(1, big, n)
        return Boxes(x0, y0, x0 + w, y0 + h, np.arange(n))

    rails = Boxes(np.full(5, -9000), np.arange(5) * 9000, np.full(5, 200000),
                  np.arange(5) * 9000 + 500, np.arange(5))   # far longer than the rest
    a, b = Boxes.concat(boxes(300, 3000), rails), Boxes.concat(boxes(200, 30000), rails)
    i, j = pairs(a, b)
    got = sorted(zip(i.tolist(), j.tolist(), strict=True))
    want = sorted((p, q) for p in range(len(a)) for q in range(len(b))
                  if max(a.x0[p], b.x0[q]) < min(a.x1[p], b.x1[q])
                  and max(a.y0[p], b.y0[q]) < min(a.y1[p], b.y1[q]))
    assert got == want and len(want) > 50
    assert any(p >= 300 for p, _ in want) and any(q >= 200 for _, q in want)
