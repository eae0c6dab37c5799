"""Reports: metrics, and an HTML document that parses and embeds its figures."""

from __future__ import annotations

import base64
import dataclasses
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from imcflow.report import Document, Figure, Table, spike_time_errors  # noqa: E402


def test_spike_time_errors_in_ns_and_percent():
    t_spice = np.array([0.5, 0.6, 0.7, np.inf])
    t_model = t_spice + np.array([0.002, -0.002, 0.002, 0.0])
    m = spike_time_errors(t_model, t_spice, T_s=1e-6)
    assert m["n"] == 3
    assert m["rms_ns"] == pytest.approx(2.0)
    assert m["rms_pct_T"] == pytest.approx(0.2)
    assert m["p95_ns"] == pytest.approx(2.0)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])


def test_html_is_self_contained_and_markdown_links_figures(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    doc = Document("Test <report>")
    doc.section("Numbers", "a paragraph & more", Table(["a", "b"], [[1, 2.5]], "cap"),
                Figure.from_matplotlib(fig, "line", "a line"))
    md, ht = doc.write(tmp_path)
    p = _Collect()
    p.feed(ht.read_text())
    assert p.imgs and all(s.startswith("data:image/png;base64,") for s in p.imgs)
    png = base64.b64decode(p.imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "table" in p.tags and "Test &lt;report&gt;" in ht.read_text()
    assert "![a line](figures/line.png)" in md.read_text()
    assert (tmp_path / "figures" / "line.png").read_bytes() == png


def _fit_for(spec, i_dis_A: float):
    from imcflow.fit.physics import LayerDC
    from imcflow.fit.pipeline import NetworkFit
    from imcflow.fit.transient import FittedLayer

    widths = (1.0, 3.0, 5.0)
    dcs, fls = [], []
    for layer in spec.layers:
        dcs.append(LayerDC(name=layer.name, v0_V=1.3, v_th_V=0.82, widths_um=widths,
                           i_n_A=(1e-7, 3e-7, 5e-7), i_p_A=(1e-7, 3e-7, 5e-7), E_pos=3.0,
                           E_neg=-2.0, i_dis_A=i_dis_A, beta_d=0.0, fits={}))
        fls.append(FittedLayer(c_eff_F=(1e-12,) * layer.n_out, v_th=1.0, beta_d=0.0,
                               delay_in=0.0, delay_out=0.0))
    return NetworkFit(spec_name=spec.name, T_s=spec.T, dc=dcs, fitted=fls)


def test_design_checks_warn_of_a_ramp_that_cannot_reach_threshold():
    from imcflow.flow.designs import default_spec
    from imcflow.report.flow_report import _design_checks

    spec = default_spec()
    # α_d = I_dis·T/(C·V_th): 0.82 µA over 1 µs on 1 pF at 0.82 V is exactly one threshold
    full = _design_checks(spec, _fit_for(spec, 0.82e-6))
    assert len(full) == 1 and full[0].rows[0][2] == pytest.approx(1.0)
    half = _design_checks(spec, _fit_for(spec, 0.41e-6))
    assert "ramps a membrane by only 0.50" in half[0] and "v(1) < 0.50" in half[0]
    assert half[1].rows[0][5:] == [0.0, 0.0, 0.0, 0.0]      # no switching charge measured
    # designed at half the capacitance, the same ramp reaches threshold: no warning
    fit = dataclasses.replace(_fit_for(spec, 0.41e-6), c_design=(0.5e-12, 0.5e-12))
    designed = _design_checks(spec, fit)
    assert len(designed) == 1 and designed[0].rows[0][4] == pytest.approx(1.0)


def test_phase_end_table_counts_late_hidden_spikes_and_splits_the_error():
    from imcflow.report.flow_report import _phase_end_spikes
    # 3 samples, 2 hidden neurons, 1 output; 1.0 = no spike
    hidden_spice = [[0.5, 0.995], [0.4, 1.0], [0.3, 0.2]]
    hidden_model = [[0.5, 1.0], [0.4, 0.99], [0.3, 0.2]]
    verif = {"t_spice": [hidden_spice, [[0.50], [0.60], [0.70]]],
             "t_model": [hidden_model, [[0.53], [0.56], [0.71]]]}
    (row,) = _phase_end_spikes({"bottom_up": verif}, {}).rows   # default margin 0.02
    assert row[1:3] == [1, 1]                       # one late spike each side, other samples
    assert row[3] == pytest.approx(np.sqrt((3 ** 2 + 4 ** 2) / 2))   # samples 0 and 1
    assert row[4] == pytest.approx(1.0)             # sample 2
    # the margin the train stage recorded: in 1 − 0.006 … 1 only SPICE's 0.995 spike lies
    table = _phase_end_spikes({"bottom_up": verif}, {"bottom_up": {"phase_end_margin": 0.006}})
    assert table.rows[0][1:3] == [1, 0] and "0.6 %" in table.caption


def test_neuron_bias_table_gives_the_mean_spice_minus_pnn_and_each_neurons_widths():
    from imcflow import spec as S
    from imcflow.report.flow_report import _neuron_bias
    layer = S.make_layer("l1", np.array([[2.0, -3.0], [4.0, 1.0]]),
                         fingers=np.array([[1, 2], [2, 1]]))
    spec = S.DesignSpec(name="b2x2", layers=(layer,))
    verif = {"t_model": [[[0.5, 0.2], [0.4, 1.0], [0.6, 0.3]]],
             "t_spice": [[[0.52, 0.2], [0.44, 0.5], [1.0, 0.31]]]}
    rows = _neuron_bias(verif, spec).rows
    T_ns = spec.T * 1e9
    # neuron 0: samples 0 and 1 fired in both (+0.02, +0.04 T); neuron 1: samples 0 and 2
    assert rows[0][:2] == ["l1_n0", 2] and rows[0][2] == pytest.approx(0.03 * T_ns)
    assert rows[1][1] == 2 and rows[1][2] == pytest.approx(0.005 * T_ns)
    assert rows[0][4:] == [2.0, 1, 3.0, 2] and rows[1][4:] == [5.0, 3, 0.0, 0]
