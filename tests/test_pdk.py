"""The PDK object: data inside the package, role → model map, wire styles, the .lyp file."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import klayout.db as kdb
import klayout.lay
import pytest

from imcflow import pdk
from imcflow.errors import PDKError
from imcflow.extract import gds
from imcflow.extract.devices import MIM, MOS_MODELS
from imcflow.extract.drc import drc_design
from imcflow.pdk.lyp import lyp_text

ROOT = Path(__file__).resolve().parents[1]


def test_every_data_file_is_in_the_package_and_in_the_wheel_patterns() -> None:
    p = pdk.get()
    assert p.data_dir == Path(pdk.__file__).resolve().parent / "data"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["imcflow"]
    shipped = {f.name for f in p.data_dir.iterdir() if f.is_file()}
    assert set(pdk.DATA_FILES) <= shipped
    for name in shipped:                         # whatever lies in data/ goes into a wheel
        assert any(fnmatch(f"pdk/data/{name}", pat) for pat in patterns), name


def test_roles_layers_and_tables() -> None:
    p = pdk.get()
    assert p.model("nfet") == "sky130_fd_pr__nfet_01v8"
    assert p.role("pfet_hvt").vt_layer == "hvtp" and p.role("mim").polarity is None
    for role in p.roles.values():                       # extraction and LVS know every model
        assert role.model in (*MOS_MODELS, MIM)
    assert p.layer("met4") == (71, 20) and p.label_layers["met4"] == (71, 5)
    assert isinstance(p.rule_table, dict) and p.rule_table
    assert p.capacitance["substrate"]["met1"]["area"] > 0
    with pytest.raises(PDKError, match="unknown device role 'bjt'"):
        p.model("bjt")
    with pytest.raises(PDKError, match="no wire style"):
        p.wire_style("rf")


def test_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PDKError, match="PDK data file not found"):
        pdk.Pdk(tmp_path).layers  # noqa: B018


@pytest.mark.parametrize("net_class", sorted(pdk.get().wire_styles))
def test_wire_styles_are_drc_clean(net_class: str) -> None:
    """Two parallel, labelled 10 µm wires of the style at its spacing pass imcflow's DRC."""
    style = pdk.get().wire_style(net_class)
    lay = kdb.Layout()
    lay.dbu = 0.001
    top = lay.create_cell("w")
    li = lay.layer(*pdk.get().layer(style.layer))
    lbl = lay.layer(*pdk.get().label_layers[style.layer])
    w, s = round(style.width_um * 1000), round(style.spacing_um * 1000)
    for k in range(2):
        top.shapes(li).insert(kdb.Box(0, k * (w + s), 10_000, k * (w + s) + w))
        top.shapes(lbl).insert(kdb.Text(f"n{k}", kdb.Trans(1000, k * (w + s) + w // 2)))
    report = drc_design(gds.from_layout(lay))
    assert report.clean, report.text()


def test_shipped_lyp_is_current_and_klayout_reads_it() -> None:
    p = pdk.get()
    assert p.lyp.read_text(encoding="utf-8") == lyp_text(p), \
        "regenerate with: python -m imcflow.pdk.lyp"
    view = klayout.lay.LayoutView()
    view.load_layer_props(str(p.lyp))
    names, it = [], view.begin_layers()
    while not it.at_end():
        names.append(it.current().name)
        it.next()
    assert len(names) == len(p.layers) + len(p.label_layers)
    assert "met4 71/20" in names and "met4.label 71/5" in names
