"""The synapses' switching charge (onset and selector tail): the PNN's fire crossing against a
brute-force integration, the kicks, the per-width tables from a DC dataset, the write-back read-out
and the transient bench."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from imcflow.fit.physics import LayerDC, _switching, layer_physics
from imcflow.flow.designs import default_spec
from imcflow.netlist.dc import build_switching, switching_membrane_V
from imcflow.pnn import PNNParams
from imcflow.pnn._common import ramp_crossing
from imcflow.pnn.physical import rc_spike_physical
from imcflow.pnn.ramp import SelectorTail, switching_kicks, tail_crossing
from imcflow.sim.dc import DCDataset
from imcflow.writeback import DeviceModel, switching_for

S = np.linspace(0.0, 1.0, 51)


def _profile(tau: float) -> np.ndarray:
    g = 1.0 - np.exp(-S / tau)
    return g / g[-1]


TAIL = SelectorTail(s=tuple(S), g_pos=tuple(_profile(0.05)), g_neg=tuple(_profile(0.3)))


def _brute(v_end: float, k_pos: float, k_neg: float, a: float, b: float, v_th: float) -> float:
    """First crossing of ramp + tail on a fine grid (the ramp in closed form, the profiles
    interpolated as the model does)."""
    s = np.linspace(0.0, 1.0, 200001)
    ramp = v_end + (1 - b * v_end) * (1 - np.exp(-a * b * s)) / b if b else v_end + a * s
    h = (ramp + k_pos * np.interp(s, S, TAIL.g_pos) + k_neg * np.interp(s, S, TAIL.g_neg)
         - v_th)
    i = int(np.argmax(h >= 0))
    assert h[i] >= 0, "no crossing inside the phase"
    return float(s[i - 1] + (s[i] - s[i - 1]) * -h[i - 1] / (h[i] - h[i - 1]))


@pytest.mark.parametrize("b", [0.0, 0.3])
def test_crossing_with_a_tail_matches_brute_force(b: float) -> None:
    a, v_th = 1.2, 1.0
    cases = [(0.3, 0.0, -0.2), (0.5, 0.1, -0.4), (0.0, 0.3, 0.0), (0.6, 0.0, -0.05)]
    v = torch.tensor([c[0] for c in cases], dtype=torch.float64)
    kp = torch.tensor([c[1] for c in cases], dtype=torch.float64)
    kn = torch.tensor([c[2] for c in cases], dtype=torch.float64)
    s = tail_crossing(v, (kp, kn), TAIL, a, b, v_th)
    for k, (v0, p, n) in enumerate(cases):
        # the model interpolates the ramp linearly between grid points: 1e-4 of a phase
        assert float(s[k]) == pytest.approx(_brute(v0, p, n, a, b, v_th), abs=2e-4)
    # a negative tail delays the crossing, a positive one advances it
    assert float(s[0]) > float(ramp_crossing(v[0], a, b, v_th))
    assert float(s[2]) < float(ramp_crossing(v[2], a, b, v_th))


def test_no_tail_is_the_ramp_and_the_ends_are_continuous() -> None:
    v = torch.tensor([-0.4, 0.2, 0.9, 1.3], dtype=torch.float64)
    zero = torch.zeros_like(v)
    assert torch.allclose(tail_crossing(v, (zero, zero), TAIL, 1.1, 0.2, 1.0),
                          ramp_crossing(v, 1.1, 0.2, 1.0), atol=1e-4)
    # above threshold at the fire edge: the ramp's own (negative) crossing
    above = torch.tensor([1.2], dtype=torch.float64)
    assert float(tail_crossing(above, (torch.zeros(1, dtype=torch.float64),
                                       torch.tensor([-0.5], dtype=torch.float64)),
                               TAIL, 1.0, 0.0, 1.0)) == pytest.approx(-0.2)
    # below threshold through the phase: the crossing with the whole tail, beyond the phase
    low = torch.tensor([-0.5], dtype=torch.float64)
    s = tail_crossing(low, (torch.zeros(1, dtype=torch.float64),
                            torch.tensor([-0.2], dtype=torch.float64)), TAIL, 1.0, 0.0, 1.0)
    assert float(s) == pytest.approx(1.7)


def test_crossing_gradient_is_finite_and_matches_finite_differences() -> None:
    v = torch.tensor([0.35], dtype=torch.float64, requires_grad=True)
    kn = torch.tensor([-0.25], dtype=torch.float64, requires_grad=True)
    s = tail_crossing(v, (torch.zeros(1, dtype=torch.float64), kn), TAIL, 1.1, 0.2, 1.0)
    s.sum().backward()
    s = s.detach()
    eps = 1e-6
    with torch.no_grad():
        s_v = tail_crossing(v + eps, (torch.zeros(1, dtype=torch.float64), kn), TAIL, 1.1,
                            0.2, 1.0)
        s_k = tail_crossing(v, (torch.zeros(1, dtype=torch.float64), kn + eps), TAIL, 1.1,
                            0.2, 1.0)
    assert float(v.grad) == pytest.approx(float((s_v - s) / eps), rel=1e-3)
    assert float(kn.grad) == pytest.approx(float((s_k - s) / eps), rel=1e-3)
    assert float(kn.grad) < 0 < -float(v.grad)


def test_kicks_count_only_inputs_that_spiked_and_split_by_sign() -> None:
    w = torch.tensor([[0.5, -0.4, 0.3], [-0.2, 0.6, 0.0]], dtype=torch.float64)
    kappa = torch.stack([torch.full_like(w, -0.1), torch.full_like(w, 0.5)])
    t = torch.tensor([[0.2, 0.7, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    onset, (kp, kn) = switching_kicks(t, w, kappa)
    assert torch.allclose(onset[0], torch.tensor([-0.01, -0.04], dtype=torch.float64))
    assert torch.allclose(kp[0], torch.tensor([0.25, 0.3], dtype=torch.float64))
    assert torch.allclose(kn[0], torch.tensor([-0.2, -0.1], dtype=torch.float64))
    assert torch.count_nonzero(torch.stack([onset[1], kp[1], kn[1]])) == 0  # nothing spiked


def test_layer_with_zero_switching_charge_is_the_plain_layer() -> None:
    w = torch.tensor([[0.8, -0.3], [0.4, 0.5]], dtype=torch.float64)
    t = torch.tensor([[0.1, 0.4], [0.3, 1.0]], dtype=torch.float64)
    kw = dict(alpha_d=torch.tensor([1.0, 1.1], dtype=torch.float64), beta_d=0.1, v_th=1.0)
    p = PNNParams(E_pos=3.0, E_neg=-2.0)
    plain, v = rc_spike_physical(t, w, p, **kw)
    zero, v0 = rc_spike_physical(t, w, p, tail=TAIL, kappa=torch.zeros(2, 2, 2,
                                                                     dtype=torch.float64), **kw)
    assert torch.equal(v, v0)
    assert torch.allclose(plain, zero, atol=1e-4)
    pmos_tail = torch.where(w < 0, 0.5, 0.0).to(w.dtype)
    later, _ = rc_spike_physical(t, w, p, tail=TAIL, kappa=torch.stack(
        [torch.zeros_like(w), pmos_tail]), **kw)
    assert later[0, 0] > plain[0, 0]          # input 1's PMOS tail holds neuron 0 back


def test_profile_is_validated() -> None:
    with pytest.raises(ValueError, match="increase from 0 to 1"):
        SelectorTail(s=(0.0, 0.5), g_pos=(0.0, 1.0), g_neg=(0.0, 1.0))
    with pytest.raises(ValueError, match="one g per s"):
        SelectorTail(s=(0.0, 1.0), g_pos=(0.0, 0.5, 1.0), g_neg=(0.0, 1.0))


def _dataset(T: float) -> tuple[DCDataset, np.ndarray]:
    """A synthetic DC dataset of layer l1: currents flat in v, the switching charge given."""
    spec = default_spec()
    v = np.linspace(0.0, 1.8, 181)
    w = np.array([1.0, 2.0, 3.0, 4.0])
    i = {"n": np.outer(w, np.ones_like(v)) * 1e-7, "p": np.outer(w, np.ones_like(v)) * 5e-8}
    tail_frac = {"n": 0.01, "p": 0.4}
    on_frac = {"n": -0.002, "p": -0.05}
    prof = _profile(0.2)
    ds = DCDataset(meta={}, spec=spec, v_mem=v, widths={("l1", d): w for d in "np"},
                   current={("l1", d): i[d] for d in "np"}, lam={},
                   tail_q={("l1", d): np.outer(i[d][:, 0] * T * tail_frac[d], prof)
                           for d in "np"},
                   on_q={("l1", d): i[d][:, 0] * T * (1 + on_frac[d]) for d in "np"},
                   tail_s=S)
    return ds, v


def test_switching_tables_come_from_the_bench_charges() -> None:
    spec = default_spec()
    ds, v = _dataset(spec.T)
    f = _switching(ds, spec.layers[0], v, spec.T)
    assert np.allclose(f["tail_n"], 0.01) and np.allclose(f["tail_p"], 0.4)
    assert np.allclose(f["on_n"], -0.002) and np.allclose(f["on_p"], -0.05)
    assert f["tail_g_p"][0] == 0.0 and f["tail_g_p"][-1] == pytest.approx(1.0)
    assert _switching(dataclasses.replace(ds, tail_q={}), spec.layers[0], v, spec.T) == {}


def test_bottom_up_physics_and_write_back_read_the_same_tables() -> None:
    spec = default_spec()
    layer = spec.layers[0]
    widths = (1.0, 2.0, 3.0, 4.0, 5.0)
    sw = {"on_n": (-0.001,) * 5, "on_p": (-0.01, -0.02, -0.03, -0.04, -0.05),
          "tail_n": (0.005,) * 5, "tail_p": (0.1, 0.2, 0.3, 0.4, 0.5), "tail_s": tuple(S),
          "tail_g_n": TAIL.g_pos, "tail_g_p": TAIL.g_neg}
    ldc = LayerDC(name="l1", v0_V=1.3, v_th_V=0.82, widths_um=widths,
                  i_n_A=tuple(1e-7 * x for x in widths), i_p_A=tuple(5e-8 * x for x in widths),
                  E_pos=3.0, E_neg=-2.0, i_dis_A=2e-7, beta_d=0.1, fits={}, **sw)
    assert LayerDC.from_dict(ldc.to_dict()) == ldc
    phys = layer_physics(layer, ldc, spec.T)
    w = layer.widths()
    per = np.abs(w) / np.asarray(layer.fingers)
    neg = w < 0
    assert phys.kappa.shape == (2, *w.shape) and phys.tail is not None
    assert np.allclose(phys.kappa[1][neg], np.interp(per[neg], widths, sw["tail_p"]))
    assert np.all(phys.kappa[:, w == 0] == 0)
    assert layer_physics(layer, ldc, spec.T, top_down=True).tail is None  # the schematic's view
    dm = DeviceModel(widths_um=widths, i_n_A=ldc.i_n_A, i_p_A=ldc.i_p_A, c_eff_F=(1e-12,) * 2,
                     v_th_V=0.82, T_s=spec.T, on_n=sw["on_n"], on_p=sw["on_p"],
                     tail_n=sw["tail_n"], tail_p=sw["tail_p"], tail=ldc.tail_profile())
    k = switching_for(np.array([[0.5, -0.3], [-1.0, 0.0]]), dm)
    assert k.shape == (2, 2, 2)
    assert np.allclose(k[1][[0, 1], [0, 1]], 0.005)        # NMOS (and w = 0): flat table
    assert 0.1 <= k[1, 0, 1] <= 0.5 and k[0, 0, 1] < 0     # PMOS: its finger width's values
    with pytest.raises(ValueError, match="no switching charge"):
        switching_for(np.zeros((1, 1)), dataclasses.replace(dm, tail_n=()))


def test_switching_bench_deck() -> None:
    spec = default_spec()
    b = build_switching(spec, widths=[1.0, 3.0])
    assert ".control" not in b.text and b.sweep is None
    assert f".tran {1e-09:g}" in b.text or ".tran 1e-09" in b.text
    n_layers = len(spec.layers)
    assert len(b.probes) == n_layers * 2 * 2
    for layer in spec.layers:
        assert f"Vhold_{layer.name} mem_{layer.name} 0 {switching_membrane_V(layer):g}" in b.text
    assert {p.device for p in b.probes} == {"n", "p"}


def test_a_spike_at_the_very_end_carries_part_of_the_switching_charge() -> None:
    """Continuous in the input time: a hidden neuron at 0.999 instead of 1.0 must not switch its
    synapses' whole charge (the selector gate rises over one edge)."""
    w = torch.tensor([[-0.7]], dtype=torch.float64)
    kappa = torch.stack([torch.full_like(w, -0.01), torch.full_like(w, 0.05)])
    t = torch.tensor([[1.0], [0.9995], [0.999], [0.998], [0.5]], dtype=torch.float64)
    onset, (_, kn) = switching_kicks(t, w, kappa, t_on=0.002)
    assert torch.allclose(kn.squeeze(), torch.tensor([0.0, -0.00875, -0.0175, -0.035, -0.035],
                                                     dtype=torch.float64))
    assert float(onset[4]) == pytest.approx(0.007)
    step, _ = switching_kicks(t, w, kappa)                  # t_on = 0: all or nothing
    assert float(step[1]) == pytest.approx(0.007)
