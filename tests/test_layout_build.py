"""Layout generator: determinism, drawn devices vs the schematic, labels, PNG, bad input."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest

from imcflow import layout as L
from imcflow.cli import main
from imcflow.errors import SpecError
from imcflow.layout.rules import label_layers, layers
from imcflow.netlist.cells import network_ports, neuron_subckt
from imcflow.spec import DesignSpec, default_spec, make_layer, save, validate

LABEL_TO_DRAWING = {"li1": "li1", "met1": "met1", "met2": "met2", "met3": "met3",
                    "met4": "met4", "met5": "met5", "poly": "poly", "diff": "diff"}


def small_spec() -> DesignSpec:
    """3 inputs → 2 neurons → 2 neurons with fingers, zeros, both signs and two MIM sizes."""
    l1 = make_layer("a", np.array([[1.2, -0.84, 0.0], [0.0, 2.52, -1.5]]),
                    fingers=np.array([[2, 1, 1], [1, 3, 2]]), mim_um=np.array([5.0, 9.0]))
    l2 = make_layer("b", np.array([[0.6, -0.6], [-0.9, 0.0]]), mim_um=4.0)
    spec = DesignSpec(name="tiny", layers=(l1, l2))
    validate(spec)
    return spec


@pytest.fixture(scope="module")
def demo_gds(tmp_path_factory: pytest.TempPathFactory) -> tuple[DesignSpec, L.LayoutFiles]:
    spec = default_spec()
    return spec, L.write(spec, tmp_path_factory.mktemp("lay"))


def _flat(path: Path) -> tuple[kdb.Layout, kdb.Cell]:
    layout = kdb.Layout()
    layout.read(str(path))
    top = layout.top_cells()
    assert len(top) == 1
    top[0].flatten(True)
    return layout, top[0]


def _region(layout: kdb.Layout, cell: kdb.Cell, name: str) -> kdb.Region:
    li = layout.find_layer(*layers()[name])
    return kdb.Region() if li is None else kdb.Region(cell.shapes(li)).merged()


def _gates(path: Path) -> Counter:
    """Drawn gates as (model, W µm, L µm) from diff ∩ poly; polarity from the implants."""
    layout, top = _flat(path)
    r = {n: _region(layout, top, n) for n in ("diff", "poly", "nsdm", "psdm", "nwell",
                                              "lvtn", "hvtp")}
    gates = (r["diff"] & r["poly"]).merged()
    out: Counter = Counter()
    for poly in gates.each():
        box = poly.bbox()
        assert poly.is_box(), "gates are rectangles"
        g = kdb.Region(box)
        if not (g & r["nsdm"]).is_empty():
            assert (g & r["nwell"]).is_empty() and (g & r["psdm"]).is_empty()
            model = "nfet_01v8_lvt" if not (g & r["lvtn"]).is_empty() else "nfet_01v8"
        else:
            assert not (g & r["psdm"]).is_empty() and (g - r["nwell"]).is_empty()
            model = "pfet_01v8_hvt" if not (g & r["hvtp"]).is_empty() else "pfet_01v8"
        out[(model, round(box.height() * 1e-3, 3), round(box.width() * 1e-3, 3))] += 1
    return out


def _expected_gates(spec: DesignSpec) -> Counter:
    """Gates the schematic implies: per finger one gate of W/nf (independent of the layout)."""
    out: Counter = Counter()
    mos = re.compile(r"^X\w+ \S+ \S+ \S+ \S+ sky130_fd_pr__(\S+) W=(\S+) L=(\S+) nf=(\d+)")
    for layer in spec.layers:
        s = layer.synapse
        for row, frow in zip(layer.width_um, layer.fingers, strict=True):
            for w, nf in zip(row, frow, strict=True):
                if w == 0:
                    continue
                model = "nfet_01v8" if w > 0 else "pfet_01v8"
                wf = round(abs(w) / nf, 3)
                out[(model, wf, s.l_um)] += nf
                out[(model, wf, s.sel_l_um)] += nf
        for line in neuron_subckt(layer).splitlines():
            m = mos.match(line)
            if m:
                nf = int(m.group(4))
                out[(m.group(1), round(float(m.group(2)) / nf, 3), float(m.group(3)))] += \
                    layer.n_out * nf
    return out


def test_gds_is_byte_identical_and_timestamp_free(tmp_path: Path) -> None:
    spec = small_spec()
    a = L.write_gds(L.build(spec), tmp_path / "a.gds").read_bytes()
    b = L.write_gds(L.build(spec), tmp_path / "b.gds").read_bytes()
    assert a == b
    # BGNLIB (0x0102) carries 12 zero time fields; no $$$CONTEXT_INFO$$$ cell
    i = a.index(b"\x01\x02")
    assert a[i + 2:i + 26] == bytes(24)
    assert b"CONTEXT_INFO" not in a
    other = L.write_gds(L.build(default_spec(seed=1)), tmp_path / "c.gds").read_bytes()
    assert other != a


@pytest.mark.parametrize("which", ["demo", "tiny"])
def test_drawn_devices_match_schematic(which: str, tmp_path: Path,
                                       demo_gds: tuple[DesignSpec, L.LayoutFiles]) -> None:
    if which == "demo":
        spec, files = demo_gds
        path = files.gds
    else:
        spec = small_spec()
        path = L.write_gds(L.build(spec), tmp_path / "t.gds")
    assert _gates(path) == _expected_gates(spec)


def test_mim_drawn_per_spec(demo_gds: tuple[DesignSpec, L.LayoutFiles], tmp_path: Path) -> None:
    for spec, path in ((demo_gds[0], demo_gds[1].gds),
                       (small_spec(), L.write_gds(L.build(small_spec()), tmp_path / "t.gds"))):
        layout, top = _flat(path)
        caps = _region(layout, top, "capm")
        got = sorted((round(p.bbox().width() * 1e-3, 3), round(p.bbox().height() * 1e-3, 3))
                     for p in caps.each())
        want = sorted((w, lv) for layer in spec.layers
                      for w, lv in zip(layer.mim_w_um, layer.mim_l_um, strict=True))
        assert got == want
        # every capm sits on a met3 bottom plate with ≥ 0.14 µm enclosure (capm.3)
        m3 = _region(layout, top, "met3")
        assert (caps - m3).is_empty()
        assert caps.enclosed_check(m3, 140).is_empty()


def test_every_net_labelled_on_its_metal(demo_gds: tuple[DesignSpec, L.LayoutFiles],
                                         tmp_path: Path) -> None:
    for spec, path in ((demo_gds[0], demo_gds[1].gds),
                       (small_spec(), L.write_gds(L.build(small_spec()), tmp_path / "t.gds"))):
        layout, top = _flat(path)
        found: dict[str, int] = {}
        for level, ld in label_layers().items():
            li = layout.find_layer(*ld)
            if li is None:
                continue
            metal = _region(layout, top, LABEL_TO_DRAWING[level])
            for sh in top.shapes(li).each():
                if not sh.is_text():
                    continue
                p = sh.text.trans.disp
                assert metal.interacting(kdb.Region(kdb.Box(p.x - 1, p.y - 1, p.x + 1, p.y + 1))
                                         ).count() == 1, f"label {sh.text.string} not on {level}"
                found[sh.text.string] = found.get(sh.text.string, 0) + 1
        ports = network_ports(spec)
        assert sorted(found) == sorted(ports)
        assert all(v == 1 for v in found.values())


def test_png_and_area(demo_gds: tuple[DesignSpec, L.LayoutFiles]) -> None:
    _, files = demo_gds
    data = files.png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000
    assert 1_000 < files.area_um2 < 1_000_000


def test_cli_layout_and_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = tmp_path / "spec.json"
    save(small_spec(), spec_path)
    assert main(["layout", str(spec_path), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "tiny.gds").is_file() and (tmp_path / "out" / "tiny.png").is_file()
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    bad.write_text(spec_path.read_text().replace('"fingers"', '"fingerz"'))
    assert main(["layout", str(bad), "-o", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "out2").exists()
    with pytest.raises(SpecError):
        L.build("not a spec")  # type: ignore[arg-type]
