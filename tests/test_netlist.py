"""Netlist generator: determinism, structure, safety of what reaches the netlist."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from imcflow import cli, pdk
from imcflow import spec as S
from imcflow.errors import SpecError
from imcflow.netlist import build_transient, network_subckts, phase_times, stimuli
from imcflow.netlist.format import fmt


def test_same_spec_gives_byte_identical_netlists():
    a = build_transient(S.default_spec(), np.array([0.1, 0.5, np.inf, 0.3, 0.0]))
    b = build_transient(S.default_spec(), np.array([0.1, 0.5, np.inf, 0.3, 0.0]))
    assert a.text == b.text
    assert network_subckts(S.default_spec()) == network_subckts(S.default_spec())


def test_every_synapse_is_a_device_of_its_sign():
    spec = S.default_spec()
    text = network_subckts(spec)
    for layer in spec.layers:
        w = layer.widths()
        n_pos = len(re.findall(rf"^XSN_\d+_\d+ .* imc_syn_n_{layer.name} ", text, re.M))
        n_neg = len(re.findall(rf"^XSP_\d+_\d+ .* imc_syn_p_{layer.name} ", text, re.M))
        assert n_pos == int((w > 0).sum())
        assert n_neg == int((w < 0).sum())
        for i in range(layer.n_out):
            for j in range(layer.n_in):
                if w[i, j] > 0:
                    assert re.search(rf"^XSN_{i}_{j} mem{i} in{j} .* w={fmt(w[i, j])} nf=1$",
                                     text, re.M)
                elif w[i, j] < 0:
                    assert re.search(rf"^XSP_{i}_{j} mem{i} inb{j} .* w={fmt(-w[i, j])} nf=1$",
                                     text, re.M)


def test_models_are_real_sky130_devices():
    text = network_subckts(S.default_spec())
    models = set(re.findall(r"\b(sky130_fd_pr__\w+)", text))
    assert models == {"sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8",
                      "sky130_fd_pr__nfet_01v8_lvt", "sky130_fd_pr__pfet_01v8_hvt",
                      "sky130_fd_pr__cap_mim_m3_1"}
    tb = build_transient(S.default_spec(), np.zeros(5))
    assert f'.lib "{pdk.model_library()}" tt' in tb.text
    assert ".control" not in tb.text


def test_layers_are_chained_and_pipelined():
    spec = S.default_spec()
    text = network_subckts(spec)
    # Layer 2's inputs are layer 1's outputs.
    line = next(ln for ln in text.splitlines() if ln.startswith("Xl2 "))
    assert line.split()[1:6] == [f"l1_out{i}" for i in range(5)]
    p0, p1 = phase_times(spec, 0), phase_times(spec, 1)
    assert p0.fire == pytest.approx(p1.accumulate)


def test_stimuli_have_fixed_shape_and_encode_the_time():
    spec = S.default_spec()
    st = stimuli(spec, np.array([0.25, np.inf, 1.0, 0.0, 0.999]))
    assert all(len(p) == 5 for p in st.values())
    t_edge = spec.t_edge
    (t1, v1), (t2, v2) = st["vin0"][1], st["vin0"][2]
    assert (t1 + t2) / 2 == pytest.approx(spec.T * 1.25)
    assert v1 == 0.0 and v2 == spec.vdd and t2 - t1 == pytest.approx(t_edge)
    assert all(v == 0.0 for _, v in st["vin1"]) and all(v == 0.0 for _, v in st["vin2"])
    assert all(v == spec.vdd for _, v in st["vinb1"])
    times = [t for t, _ in st["vin3"]]
    assert times == sorted(times) and times[1] > 0


@pytest.mark.parametrize("T", [0.5e-6, 1e-6])
def test_spikes_at_the_phase_edges_keep_pwl_times_increasing(T):
    """ngspice refuses a PWL whose times go back (its ``alter`` fails): a spike in the last
    half edge of the phase used to end after the phase did."""
    spec = dataclasses.replace(S.default_spec(), T=T)
    for pts in stimuli(spec, np.array([0.9999, 0.99999, 1.0 - 1e-12, 0.0, 1e-9])).values():
        times = [t for t, _ in pts]
        assert np.all(np.diff(times) > 0), times


@pytest.mark.parametrize("pattern", [[0.1] * 4, [0.1, 0.2, -0.5, 0.1, 0.1],
                                     [0.1, np.nan, 0.2, 0.3, 0.4]])
def test_bad_patterns(pattern):
    with pytest.raises(SpecError):
        stimuli(S.default_spec(), np.array(pattern))


def test_fmt_refuses_non_finite():
    with pytest.raises(ValueError):
        fmt(float("inf"))


def test_cli_writes_netlist_and_testbench(tmp_path, capsys):
    spec_path = tmp_path / "s.json"
    S.save(S.default_spec(), spec_path)
    out = tmp_path / "nl"
    assert cli.main(["netlist", str(spec_path), "-o", str(out), "--pattern",
                     "0.1,0.2,inf,0.3,0"]) == 0
    assert (out / "iris_demo.spice").read_text() == network_subckts(S.default_spec())
    assert "Vin2 in2 0 PWL(" in (out / "iris_demo_tb.spice").read_text()
    assert cli.main(["netlist", str(spec_path), "-o", str(tmp_path / "x"),
                     "--pattern", "a,b"]) != 0
    assert not (tmp_path / "x").exists()
    assert "comma-separated" in capsys.readouterr().err
