"""Verification of the generated demo layout: DRC clean, LVS clean, post-layout simulates."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from imcflow import layout, pdk
from imcflow.extract.drc import drc
from imcflow.extract.gds import load
from imcflow.extract.lvs import lvs
from imcflow.extract.postlayout import extract_design
from imcflow.netlist.cells import network_ports
from imcflow.spec import default_spec


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    spec = default_spec()
    path = tmp_path_factory.mktemp("demo") / "demo.gds"
    layout.write_gds(layout.build(spec), path)
    return spec, path


def test_demo_drc_clean(demo) -> None:
    _, path = demo
    report = drc(path)
    assert report.clean, report.text()


def test_demo_lvs_clean(demo) -> None:
    spec, path = demo
    report = lvs(path, spec)
    assert report.match, report.text()
    assert report.layout_devices == report.schematic_devices > 100


def test_demo_membrane_capacitance(demo) -> None:
    spec, path = demo
    post = extract_design(load(path), network_ports(spec), subckt=f"imc_net_{spec.name}")
    totals = post.parasitics.by_name()
    for layer in spec.layers:
        for i in range(layer.n_out):
            c_wire = totals[f"{layer.name}_mem{i}"]
            c_mim = layer.membrane_capacitance()[i]
            assert 0 < c_wire < 0.5 * c_mim     # wiring adds, but far less than the MIM


@pytest.mark.slow
def test_demo_post_layout_simulates(demo, tmp_path) -> None:
    from imcflow.netlist.testbench import build_transient

    ngspice = shutil.which("ngspice")
    if ngspice is None:
        pytest.skip("ngspice not installed")
    spec, path = demo
    post = extract_design(load(path), network_ports(spec), subckt=f"imc_net_{spec.name}")
    tb = build_transient(spec, np.zeros(spec.n_inputs), subckts=post.spice)
    # one short run: the first 100 ns of the reset phase is enough to prove it simulates
    text = re.sub(r"^\.tran .*$", ".tran 1n 100n", tb.text, flags=re.M)
    (tmp_path / "tb.spice").write_text(text)
    pdk.write_spiceinit(tmp_path)
    proc = subprocess.run([ngspice, "-b", "-r", "out.raw", "tb.spice"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "No. of Data Rows" in out, out[-2000:]
    assert (tmp_path / "out.raw").stat().st_size > 1000
