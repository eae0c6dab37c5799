"""CLI of the verification stage and bad-input handling."""

from __future__ import annotations

import json

import klayout.db as kdb
import pytest

from imcflow.cli import main
from imcflow.errors import DataError
from imcflow.extract import gds, synth
from imcflow.extract.postlayout import extract


@pytest.fixture()
def good_gds(tmp_path):
    c = synth.Canvas("cellq")
    synth.mosfet(c, 0, 0, w_finger=1.0, l=0.15, nets=("d", "g", "vss"), tap=True)
    path = tmp_path / "good.gds"
    c.write(str(path))
    return path


def test_drc_cli_clean_and_json_report(good_gds, tmp_path, capsys) -> None:
    out = tmp_path / "drc.json"
    assert main(["drc", str(good_gds), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["clean"] and data["rules_checked"] > 50


def test_drc_cli_fails_on_violation(tmp_path, capsys) -> None:
    c = synth.Canvas("bad")
    c.box("met1", 0, 0, 5, 0.14)
    c.box("met1", 0, 0.2, 5, 0.34)
    path = tmp_path / "bad.gds"
    c.write(str(path))
    assert main(["drc", str(path)]) != 0
    assert "m1.2" in capsys.readouterr().out


def test_extract_cli_writes_subckt(good_gds, tmp_path) -> None:
    out = tmp_path / "post.spice"
    assert main(["extract", str(good_gds), "-o", str(out), "--ports", "g,d,vss",
                 "--subckt", "imc_net_q", "--resistance"]) == 0
    text = out.read_text()
    assert ".SUBCKT imc_net_q g d vss" in text
    assert "sky130_fd_pr__nfet_01v8 W=1 L=0.15 nf=1" in text
    assert "\nCp" in text and "\nRp" in text


def test_unreadable_gds(tmp_path, capsys) -> None:
    bad = tmp_path / "junk.gds"
    bad.write_text("not a gds")
    out = tmp_path / "x.spice"
    assert main(["extract", str(bad), "-o", str(out)]) == 2
    assert "cannot read GDS" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(DataError, match="not found"):
        gds.load(tmp_path / "missing.gds")


def test_missing_top_cell_and_port(good_gds, tmp_path, capsys) -> None:
    out = tmp_path / "x.spice"
    assert main(["extract", str(good_gds), "-o", str(out), "--top", "nope"]) == 2
    assert "no cell named 'nope'" in capsys.readouterr().err
    with pytest.raises(DataError, match="ports without a labelled net"):
        extract(good_gds, ["d", "nosuchnet"])
    assert not out.exists()


def test_unknown_layer(tmp_path) -> None:
    ly = kdb.Layout()
    top = ly.create_cell("t")
    top.shapes(ly.layer(68, 20)).insert(kdb.Box(0, 0, 1000, 1000))
    top.shapes(ly.layer(250, 0)).insert(kdb.Box(0, 0, 1000, 1000))
    path = tmp_path / "odd.gds"
    ly.write(str(path))
    with pytest.raises(DataError, match="250/0"):
        gds.load(path)


def test_several_top_cells(tmp_path) -> None:
    ly = kdb.Layout()
    for name in ("a", "b"):
        ly.create_cell(name).shapes(ly.layer(68, 20)).insert(kdb.Box(0, 0, 500, 500))
    path = tmp_path / "two.gds"
    ly.write(str(path))
    with pytest.raises(DataError, match="several top cells"):
        gds.load(path)
    assert gds.load(path, "b").top_name == "b"
