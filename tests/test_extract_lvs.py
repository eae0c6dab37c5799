"""DRC and LVS on a small hand-drawn circuit; broken variants are caught."""

from __future__ import annotations

from imcflow.extract import devices, gds, synth
from imcflow.extract.drc import drc, drc_design
from imcflow.extract.lvs import LvsReport, lvs_extraction

SCHEMATIC = """* two nfets and a MIM
.subckt top d1 g1 d2 g2 vss
XA d1 g1 vss vss sky130_fd_pr__nfet_01v8 W=1 L=0.15 nf=2
XB d2 g2 vss vss sky130_fd_pr__nfet_01v8 W=2 L=0.15 nf=2
XC d1 vss sky130_fd_pr__cap_mim_m3_1 W=4 L=5
.ends top
"""
PORTS = ["d1", "g1", "d2", "g2", "vss"]


def circuit(swap: bool = False, open_d1: bool = False, narrow_gap: bool = False
            ) -> synth.Canvas:
    """Two tapped nfets (W = 1 and 2 µm, 2 fingers) and a 4 × 5 µm MIM from d1 to vss."""
    c = synth.Canvas("top")
    w1, w2 = (2.0, 1.0) if swap else (1.0, 2.0)
    p = synth.mosfet(c, 0, 0, w_finger=w1 / 2, l=0.15, nf=2, nets=("d1", "g1", "vss"), tap=True)
    synth.mosfet(c, 5, 0, w_finger=w2 / 2, l=0.15, nf=2, nets=("d2", "g2", "vss"), tap=True)
    m = synth.mim(c, 0, 6, 4.0, 5.0)
    sx, sy = p["s"]
    x_end = 12.0
    c.box("met1", sx - 0.145, sy - 0.145, x_end, sy + 0.145)   # source strap
    c.stack(x_end, sy, "met1", "met4")
    bx, by = m["b"]
    c.box("met4", bx, by - 0.25, x_end + 0.25, by + 0.25)
    c.box("met4", x_end - 0.25, sy, x_end + 0.25, by)
    dx, dy = p["d"]
    c.box("met1", -2.0, dy - 0.145, dx + 0.145, dy + 0.145)    # d1 to the MIM top plate
    c.stack(-2.0, dy, "met1", "met4")
    ax, ay = m["a"]
    gap = 1.0 if open_d1 else 0.0
    c.box("met4", -2.25, dy, -1.75, ay - 0.25 - gap)
    c.box("met4", -2.25, ay - 0.25, ax, ay + 0.25)
    if narrow_gap:   # a labelled met1 stub 0.1 µm from the source strap: m1.2 (0.14 µm)
        c.box("met1", 2.0, sy + 0.245, 3.0, sy + 0.545)
        c.label("met1", "stub", 2.5, sy + 0.395)
    return c


def _lvs(c: synth.Canvas) -> LvsReport:
    ext = devices.extract_netlist(gds.from_layout(c.layout))
    return lvs_extraction(ext, SCHEMATIC, "top", PORTS)


def test_clean_circuit_passes_drc_and_lvs() -> None:
    c = circuit()
    assert drc_design(gds.from_layout(c.layout)).clean
    rep = _lvs(c)
    assert rep.match, rep.text()
    assert rep.layout_devices == rep.schematic_devices == 3


def test_spacing_violation_is_caught(tmp_path) -> None:
    c = circuit(narrow_gap=True)
    path = tmp_path / "bad.gds"
    c.write(str(path))
    rep = drc(path)
    assert not rep.clean
    assert [v.rule for v in rep.violations] == ["m1.2"]
    assert rep.violations[0].count == 1
    assert "m1.2" in rep.text()
    assert rep.to_dict()["violations"][0]["rule"] == "m1.2"


def test_other_rules_fire() -> None:
    c = synth.Canvas("rules")
    c.box("poly", 0, 0, 0.1, 2)              # poly.1a
    c.box("met1", 3, 0, 3.1, 2)              # m1.1
    c.box("mcon", 6, 0, 6.17, 0.17)          # ct.4 (no li1), m1.4 (no met1)
    c.box("capm", 10, 0, 12, 2)              # capm.3 (no met3 around it)
    rules = {v.rule for v in drc_design(gds.from_layout(c.layout)).violations}
    assert {"poly.1a", "m1.1", "ct.4", "m1.4", "capm.3"} <= rules


def test_open_net_is_caught() -> None:
    rep = _lvs(circuit(open_d1=True))
    assert not rep.match
    # the MIM's top plate is cut off from d1: it sits on an unnamed net
    assert any("cap_mim" in s for s in rep.issues), rep.text()


def test_swapped_devices_are_caught() -> None:
    rep = _lvs(circuit(swap=True))
    assert not rep.match
    text = rep.text()
    assert "MISMATCH" in text and "d1" in text.lower()


def test_wrong_size_is_reported() -> None:
    rep = lvs_extraction(devices.extract_netlist(gds.from_layout(circuit().layout)),
                             SCHEMATIC.replace("W=4 L=5", "W=4 L=6"), "top", PORTS)
    assert not rep.match
    assert any("cap_mim" in s for s in rep.issues), rep.text()
