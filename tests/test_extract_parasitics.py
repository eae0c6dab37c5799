"""Parasitic capacitance of hand-drawn geometry against the analytic values of the model."""

from __future__ import annotations

import pytest

from imcflow.extract import devices, gds, parasitics, synth

AF = 1e-18


def _par(c: synth.Canvas, **kw: bool) -> tuple[parasitics.Parasitics, dict[str, int]]:
    ext = devices.extract_netlist(gds.from_layout(c.layout))
    par = parasitics.extract_parasitics(ext, **kw)
    ids = {name: k for k, name in par.names.items()}
    return par, ids


@pytest.mark.parametrize(("layer", "w", "s"), [("met1", 0.14, 0.5), ("met2", 0.3, 1.0),
                                               ("met3", 0.4, 0.6)])
def test_two_parallel_wires(layer: str, w: float, s: float) -> None:
    co = parasitics.coefficients()
    length = 50.0
    c = synth.Canvas("wires")
    c.box(layer, 0, 0, length, w)
    c.box(layer, 0, w + s, length, 2 * w + s)
    c.label(layer, "a", 1, w / 2)
    c.label(layer, "b", 1, 1.5 * w + s)
    par, ids = _par(c)
    sw = co["sidewall"][layer]
    sub = co["substrate"][layer]
    want_cc = sw["c"] * length / (s + sw["offset"]) * AF
    want_g = (sub["area"] * length * w + sub["fringe"] * 2 * (length + w)) * AF
    a, b = ids["a"], ids["b"]
    assert par.coupling[(min(a, b), max(a, b))] == pytest.approx(want_cc, rel=1e-6)
    assert par.ground[a] == pytest.approx(want_g, rel=1e-6)
    assert par.ground[b] == pytest.approx(want_g, rel=1e-6)


def test_far_wires_do_not_couple() -> None:
    c = synth.Canvas("far")
    c.box("met1", 0, 0, 20, 0.14)
    c.box("met1", 0, 5.0, 20, 5.14)
    c.label("met1", "a", 1, 0.07)
    c.label("met1", "b", 1, 5.07)
    par, _ = _par(c)
    assert not par.coupling


def test_wire_over_plate() -> None:
    co = parasitics.coefficients()
    c = synth.Canvas("plate")
    c.box("met1", 0, 0, 20, 20)          # plate
    c.box("met2", 5, 2, 15, 2.5)         # 10 × 0.5 µm wire entirely over the plate
    c.label("met1", "plate", 1, 1)
    c.label("met2", "wire", 6, 2.25)
    par, ids = _par(c)
    w, p = ids["wire"], ids["plate"]
    ov = co["overlap"]["met2"]["met1"] * 10 * 0.5
    fr = co["sideoverlap"]["met2"]["met1"] * 2 * (10 + 0.5)
    assert par.coupling[(min(w, p), max(w, p))] == pytest.approx((ov + fr) * AF, rel=1e-6)
    assert par.ground.get(w, 0.0) == 0.0             # fully shielded by the plate
    sub = co["substrate"]["met1"]
    assert par.ground[p] == pytest.approx((sub["area"] * 400 + sub["fringe"] * 80) * AF,
                                          rel=1e-6)


def test_wire_partly_over_plate_and_resistance() -> None:
    co = parasitics.coefficients()
    c = synth.Canvas("half")
    c.box("li1", 0, 0, 10, 10)
    c.box("met1", 5, 4, 25, 4.5)          # 20 × 0.5, half over the li1 plate
    c.label("li1", "plate", 1, 1)
    c.label("met1", "wire", 20, 4.25)
    par, ids = _par(c, resistance=True)
    w, p = ids["wire"], ids["plate"]
    over = co["overlap"]["met1"]["li1"] * 5 * 0.5 + co["sideoverlap"]["met1"]["li1"] * (2 * 5 + 0.5)
    sub = co["substrate"]["met1"]
    free = sub["area"] * 15 * 0.5 + sub["fringe"] * (2 * 15 + 0.5)
    assert par.coupling[(min(w, p), max(w, p))] == pytest.approx(over * AF, rel=1e-6)
    assert par.ground[w] == pytest.approx(free * AF, rel=1e-6)
    # 20 / 0.5 = 40 squares (+ w/l) of met1 at 0.125 Ω/□
    assert par.resistance[w] == pytest.approx(0.125 * (40 + 0.025), rel=1e-6)
