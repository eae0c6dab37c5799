"""``imcflow signoff``: external DRC / PEX / LVS with stand-in decks and fake tools.

The KLayout application runs a tiny DRC deck written here (in the official deck's calling
convention); magic and netgen are small fake programs put on PATH that answer like the real ones.
A missing tool must give a "not available" line and exit 0; findings and failures a non-zero
exit with one line of error.
"""

from __future__ import annotations

import json
import shutil
import stat
import sys
from pathlib import Path

import klayout.db as kdb
import pytest

from imcflow import cli
from imcflow import layout as L
from imcflow import spec as S
from imcflow.circuit import rcspike
from imcflow.extract.gds import load
from imcflow.extract.postlayout import extract_design
from imcflow.signoff import signoff
from imcflow.signoff.magic_pex import net_totals, to_fF
from imcflow.signoff.netgen_lvs import verdict

KLAYOUT = shutil.which("klayout")

#: A stand-in for sky130A_mr.drc: same variables (input, report, top cell, rule groups); met1
#: width under the sky130 rule name; every rule group must arrive switched on.
TINY_DECK = """\
source($input, $topcell)
report("imcflow stand-in deck", $report)
m1 = input(68, 20)
m1.width(0.14).output("m1.1", "m1.1 : min. m1 width : 0.14um")
%w[feol beol offgrid seal floating_met].each do |g|
  if eval("$" + g) != "true"
    m1.output("group_off_" + g, "rule group " + g + " was not enabled")
  end
end
"""

FAKE_MAGIC = """\
#!{python}
import os, sys
if "--version" in sys.argv:
    print("{version}")
    sys.exit(0)
if os.environ.get("FAKE_MAGIC_CRASH"):
    sys.exit(1)
tech = sys.argv[sys.argv.index("-T") + 1]
assert os.path.isfile(tech), tech
assert os.path.isfile(os.environ["IMCFLOW_GDS"])
top = os.environ["IMCFLOW_TOP"] + "_flat"
open("pex.spice", "w").write(
    "* fake magic\\n.subckt " + top + "\\nC0 in0 VSUBS 10.5f\\nC1 in0 inb0 0.25f\\n"
    "C2 vdd VSUBS 2e-15\\nC3 a_1_2# VSUBS 1f\\n.ends\\n")
open("lvs.spice", "w").write(".subckt " + top + "\\n.ends\\n")
print("IMCFLOW_MAGIC_DONE")
"""

FAKE_NETGEN = """\
#!{python}
import sys
print("Netgen 1.5.272 compiled on today")
if sys.argv[1:3] != ["-batch", "lvs"]:
    sys.exit(0)
layout, schematic, setup, report = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
text = open(schematic.split()[0]).read()
ok = "sky130_fd_pr__cap_mim_m3_1 W=" in text and "{{" not in text   # flat, numeric sizes
open(report, "w").write("Final result: " + ("Circuits match uniquely." if ok and "{verdict}"
                        == "match" else "Netlists do not match.") + "\\n")
"""


def _exe(folder: Path, name: str, text: str) -> None:
    p = folder / name
    p.write_text(text)
    p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def design(tmp_path: Path) -> tuple[S.DesignSpec, Path, Path]:
    """A small network's spec, GDS and spec file."""
    import numpy as np

    layer = S.make_layer("a", np.array([[1.0, -0.84], [0.0, 1.5]]), mim_um=4.0)
    spec = S.DesignSpec(name="so", layers=(layer,))
    S.validate(spec)
    gds = L.write_gds(L.build(spec), tmp_path / "so.gds")
    S.save(spec, tmp_path / "so.json")
    return spec, gds, tmp_path / "so.json"


def _pdk_root(tmp_path: Path, deck: bool = True, tech: bool = True, setup: bool = True) -> Path:
    v = tmp_path / "pdk" / "sky130A" / "libs.tech"
    if deck:
        (v / "klayout" / "drc").mkdir(parents=True)
        (v / "klayout" / "drc" / "sky130A_mr.drc").write_text(TINY_DECK)
    if tech:
        (v / "magic").mkdir(parents=True)
        (v / "magic" / "sky130A.tech").write_text("tech\n  format 35\n  sky130A\nend\n")
    if setup:
        (v / "netgen").mkdir(parents=True)
        (v / "netgen" / "sky130A_setup.tcl").write_text("permute default\n")
    cfg = tmp_path / "pdk" / "sky130A" / ".config"
    cfg.mkdir(parents=True)
    (cfg / "nodeinfo.json").write_text('{"foundry": "SW", "commit": {"open_pdks": "x"}, '
                                       '"reference": {"magic": "8.3.677"}}')
    return tmp_path / "pdk"


def _path(tmp_path: Path, *, magic: str | None = None, netgen: str | None = None,
          klayout: bool = True) -> str:
    """A PATH holding only the tools asked for (so no real magic/netgen can leak in)."""
    b = tmp_path / "bin"
    b.mkdir(exist_ok=True)
    if klayout:
        assert KLAYOUT, "the KLayout application is needed (make setup installs it)"
        (b / "klayout").symlink_to(KLAYOUT)
    if magic is not None:
        _exe(b, "magic", FAKE_MAGIC.format(python=sys.executable, version=magic))
    if netgen is not None:
        _exe(b, "netgen", FAKE_NETGEN.format(python=sys.executable, verdict=netgen))
    return str(b)


def test_without_a_pdk_root_every_check_is_not_available(design, tmp_path, monkeypatch,
                                                         capsys) -> None:
    _, gds, _ = design
    monkeypatch.delenv("PDK_ROOT", raising=False)
    monkeypatch.setenv("PATH", _path(tmp_path, klayout=False))
    assert cli.main(["signoff", str(gds), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.count("not available") == 3 and "no PDK root" in out
    data = json.loads((tmp_path / "out" / "signoff.json").read_text())
    assert data["passed"] is True
    assert len(data["provenance"]["gds"]["sha256"]) == 64
    assert data["provenance"]["tools"]["klayout"]["not_available"]


def test_missing_tools_and_files_say_why(design, tmp_path, monkeypatch) -> None:
    spec, gds, _ = design
    root = _pdk_root(tmp_path, setup=False)
    monkeypatch.setenv("PATH", _path(tmp_path, magic="8.3.105", klayout=False))
    rep = signoff(gds, tmp_path / "out", spec=spec, pdk_root=root)
    lines = {c.name: (c.status, c.line) for c in rep.checks}
    assert lines["klayout DRC"] == ("not available",
                                    "the KLayout application (klayout) is not on PATH")
    assert lines["magic PEX"][0] == "not available" and "older than 8.3.411" in lines[
        "magic PEX"][1]
    assert lines["netgen LVS"][0] == "not available" and "sky130A_setup.tcl not found" in \
        lines["netgen LVS"][1]
    assert rep.passed


def test_pdk_root_that_is_not_a_folder_is_a_one_line_error(design, tmp_path, capsys) -> None:
    _, gds, _ = design
    assert cli.main(["signoff", str(gds), "--pdk-root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a folder" in err


def test_official_deck_stand_in_runs_with_all_groups(design, tmp_path, monkeypatch) -> None:
    spec, gds, _ = design
    root = _pdk_root(tmp_path)
    monkeypatch.setenv("PATH", _path(tmp_path))
    rep = signoff(gds, tmp_path / "out", spec=spec, pdk_root=root)
    drc = rep.checks[0]
    assert drc.status == "ok", drc.line                     # no group_off_* marker: all on
    assert drc.data["rule_categories"] >= 1 and drc.data["violations"] == {}
    prov = rep.provenance
    assert prov["tools"]["klayout"]["version"].count(".") >= 1
    assert len(prov["pdk"]["files"]["drc_deck"]["sha256"]) == 64
    assert prov["pdk"]["open_pdks"] == {"foundry": "SW"}
    assert prov["drc_groups"] == ["feol", "beol", "offgrid", "seal", "floating_met"]


def test_deck_violations_are_findings_and_a_nonzero_exit(design, tmp_path, monkeypatch,
                                                         capsys) -> None:
    _, gds, _ = design
    bad = kdb.Layout()
    bad.read(str(gds))
    top = bad.top_cells()[0]
    top.shapes(bad.layer(68, 20)).insert(kdb.Box(-5000, -5000, -4900, -3000))   # 0.1 µm met1
    bad_path = tmp_path / "bad.gds"
    bad.write(str(bad_path))
    root = _pdk_root(tmp_path)
    monkeypatch.setenv("PATH", _path(tmp_path))
    code = cli.main(["signoff", str(bad_path), "--pdk-root", str(root), "-o",
                     str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert "1 violation(s) of 1 rule(s): m1.1 1" in captured.out
    assert captured.err.strip() == "error: sign-off: klayout DRC findings"


def test_magic_capacitances_sit_beside_imcflows(design, tmp_path, monkeypatch) -> None:
    spec, gds, _ = design
    root = _pdk_root(tmp_path)
    monkeypatch.setenv("PATH", _path(tmp_path, magic="8.3.677", klayout=False))
    rep = signoff(gds, tmp_path / "out", pdk_root=root)
    pex = rep.checks[1]
    assert pex.status == "ok", pex.line
    rows = {r["net"]: r for r in pex.data["nets"]}
    ours = extract_design(load(gds)).parasitics.by_name()
    assert set(rows) == {"in0", "inb0", "vdd"}               # labelled nets both tools give C
    assert rows["in0"]["magic_fF"] == pytest.approx(10.75)
    assert rows["inb0"]["magic_fF"] == pytest.approx(0.25)
    assert rows["vdd"]["magic_fF"] == pytest.approx(2.0)
    assert rows["in0"]["imcflow_fF"] == pytest.approx(ours["in0"] * 1e15, abs=1e-4)
    assert rows["in0"]["ratio"] == pytest.approx(rows["in0"]["imcflow_fF"] / 10.75, rel=1e-3)
    assert rep.provenance["tools"]["magic"]["version"] == "8.3.677"


def test_a_crashing_tool_is_a_failure(design, tmp_path, monkeypatch, capsys) -> None:
    _, gds, _ = design
    root = _pdk_root(tmp_path)
    monkeypatch.setenv("PATH", _path(tmp_path, magic="8.3.677", klayout=False))
    monkeypatch.setenv("FAKE_MAGIC_CRASH", "1")
    assert cli.main(["signoff", str(gds), "--pdk-root", str(root), "-o",
                     str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    assert "magic PEX    failed: magic extraction failed (exit 1)" in captured.out
    assert captured.err.strip() == "error: sign-off: magic PEX failed"


@pytest.mark.parametrize("answer, status", [("match", "ok"), ("mismatch", "findings")])
def test_netgen_compares_with_the_flat_circuit(design, tmp_path, monkeypatch, answer,
                                               status) -> None:
    spec, gds, spec_file = design
    root = _pdk_root(tmp_path)
    monkeypatch.setenv("PATH", _path(tmp_path, netgen=answer, klayout=False))
    rep = signoff(gds, tmp_path / "out", spec=spec, pdk_root=root)
    lvs = rep.checks[2]
    assert lvs.status == status, lvs.line
    assert lvs.data["layout_netlist"].endswith("layout.spice")      # no magic: imcflow's
    schematic = Path(lvs.data["schematic"]).read_text()
    assert f".subckt imc_net_so {' '.join(rcspike.network_ports(spec))}" in schematic
    assert rep.passed == (answer == "match")


def test_parsers() -> None:
    assert to_fF("1.5f") == 1.5 and to_fF("2e-15") == pytest.approx(2.0)
    assert to_fF("0.3p") == pytest.approx(300.0) and to_fF("40a") == pytest.approx(0.04)
    with pytest.raises(ValueError):
        to_fF("x1")
    tot = net_totals("C1 a b 1f\n+ \nC2 a VSUBS 2f\nC3 a_1# b 5f\nR1 a b 3\n")
    assert tot == {"a": 3.0, "b": 6.0}
    assert verdict("Result: Circuits match uniquely.\nFinal result: Circuits match uniquely.") \
        == (True, "Final result: Circuits match uniquely.")
    assert verdict("Final result: Netlists do not match.")[0] is False
    assert verdict("Circuits match uniquely.\nProperty errors were found.")[0] is False
    assert verdict("nothing") is None


def test_signoff_cli_help(capsys) -> None:
    assert cli.main(["signoff", "--help"]) == 0
    assert "--pdk-root" in capsys.readouterr().out


@pytest.mark.parametrize("args, fragment", [
    (["missing.gds"], "GDS file not found"),
    (["{gds}", "--timeout", "0"], "timeout must be positive"),
    (["{gds}", "--spec", "nope.json"], "spec file not found"),
])
def test_bad_input_is_a_one_line_error(design, tmp_path, monkeypatch, capsys, args,
                                       fragment) -> None:
    _, gds, _ = design
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PDK_ROOT", raising=False)
    argv = ["signoff", *[a.format(gds=gds) for a in args]]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err
