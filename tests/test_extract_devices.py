"""Device extraction on hand-drawn layouts: MIM C and W/L, MOS W/L/nf and flavours."""

from __future__ import annotations

import pytest

from imcflow import pdk
from imcflow.extract import devices, gds, spice, synth
from imcflow.layout import geom


def _extract(c: synth.Canvas) -> devices.Extraction:
    return devices.extract_netlist(gds.from_layout(c.layout))


@pytest.mark.parametrize(("w", "l"), [(2.0, 2.0), (5.0, 7.0), (6.92, 6.92), (10.0, 3.5),
                                      (20.0, 15.0)])
def test_mim_capacitance_matches_pdk_formula(w: float, l: float) -> None:
    c = synth.Canvas("mimcell")
    synth.mim(c, 0, 0, w, l, nets=("top", "bot"))
    rows = devices.devices_table(_extract(c))
    assert len(rows) == 1
    row = rows[0]
    assert row["model"] == devices.MIM
    assert row["params"]["W"] == pytest.approx(w, abs=1e-9)
    assert row["params"]["L"] == pytest.approx(l, abs=1e-9)
    assert row["params"]["C"] == pytest.approx(pdk.mim_capacitance(w, l), rel=0.01)
    assert row["terminals"] == {"A": "top", "B": "bot"}


def test_mosfets_sizes_fingers_and_flavours() -> None:
    c = synth.Canvas("devs")
    synth.mosfet(c, 0, 0, w_finger=0.7, l=0.25, nf=3, nets=("d0", "g0", "vss"), tap=True)
    synth.mosfet(c, 6, 0, w_finger=0.84, l=0.15, polarity="p", flavor="hvt",
                 nets=("d1", "g1", "vdd"), tap=True)
    synth.mosfet(c, 12, 0, w_finger=0.42, l=0.15, nf=2, flavor="lvt", nets=("d2", "g2", "s2"))
    ext = _extract(c)
    rows = {r["terminals"]["D"]: r for r in devices.devices_table(ext)}
    n = rows["d0"]
    assert n["model"] == devices.NFET
    assert (n["params"]["W"], n["params"]["L"], n["params"]["NF"]) == pytest.approx((2.1, 0.25, 3))
    assert n["terminals"] == {"S": "vss", "G": "g0", "D": "d0", "B": "vss"}
    # 4 s/d columns × 0.7 µm split between source and drain: two end columns and two between
    # gates (synth draws them with the layout generator's composites)
    sz = geom.sizes()
    sd_um = (2 * sz.sd_end + 2 * sz.sd_in) * 1e-3
    assert n["params"]["AS"] + n["params"]["AD"] == pytest.approx(sd_um * 0.7)
    p = rows["d1"]
    assert p["model"] == devices.PFET_HVT
    assert p["terminals"]["B"] == "vdd"
    assert (p["params"]["W"], p["params"]["L"]) == pytest.approx((0.84, 0.15))
    lv = rows["d2"]
    assert lv["model"] == devices.NFET_LVT
    assert (lv["params"]["W"], lv["params"]["NF"]) == pytest.approx((0.84, 2))
    # no tap: the bulk is the unlabelled substrate
    assert lv["terminals"]["B"] == "vss"  # the same substrate as the tapped device


def test_spice_lines_use_sky130_subckts() -> None:
    c = synth.Canvas("cellx")
    synth.mosfet(c, 0, 0, w_finger=1.0, l=0.15, nf=2, nets=("d", "g", "vss"), tap=True)
    synth.mim(c, 0, 6, 4.0, 5.0, nets=("d", "vss"))
    ext = _extract(c)
    spice.attach_ports(ext, ["g", "d", "vss"])
    text = spice.write_spice(ext, "imc_net_t")
    assert ".SUBCKT imc_net_t g d vss" in text
    assert "sky130_fd_pr__nfet_01v8 W=2 L=0.15 nf=2" in text
    assert "sky130_fd_pr__cap_mim_m3_1 W=4 L=5" in text
