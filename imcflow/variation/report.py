"""Reports of the variation studies, as Markdown and self-contained HTML
(:mod:`imcflow.report.document`):

* :func:`mismatch_report` — Monte-Carlo DC mismatch per width and the Pelgrom fits;
* :func:`sweep_report` — a PVT / Monte-Carlo sweep of one network: the summary table and figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from imcflow.report.document import Document, Figure, Table
from imcflow.variation.dcmc import MismatchStudy
from imcflow.variation.pelgrom import pelgrom_x

_DEVICE_NAMES = {"n": "NMOS synapse", "p": "PMOS synapse", "dis": "discharger"}


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _mismatch_figure(study: MismatchStudy, layer: str) -> Figure:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for dev in study.devices:
        rows = [w for w in study.widths if w.layer == layer and w.device == dev]
        x = pelgrom_x(np.array([r.width_um for r in rows]), rows[0].l_um)
        for ax, key in zip(axes, ("sigma_ln", "sigma_rel"), strict=True):
            y = np.array([getattr(r, key) for r in rows]) * 100
            lo = np.array([getattr(r, f"{key}_lo") for r in rows]) * 100
            hi = np.array([getattr(r, f"{key}_hi") for r in rows]) * 100
            ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o", capsize=3,
                        label=_DEVICE_NAMES.get(dev, dev))
        fit = study.fit(layer, dev)
        xs = np.linspace(0, x.max() * 1.05, 50)
        axes[0].plot(xs, 100 * fit.a_um * xs, "--", color=axes[0].lines[-1].get_color())
    axes[0].set_title("σ(ln I) at V₀ and the Pelgrom fits (dashed)")
    axes[1].set_title("σ(I) / mean(I) at V₀")
    for ax in axes:
        ax.set_xlabel("1/√(W·L)  (1/µm)")
        ax.set_ylabel("%")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    return Figure.from_matplotlib(fig, f"mismatch_{layer}",
                                  f"layer {layer}: current mismatch versus 1/√(W·L) (95 % "
                                  "intervals)")


def mismatch_report(study: MismatchStudy) -> Document:
    """The Monte-Carlo DC mismatch study as a document."""
    n = len(study.seeds) * study.replicas
    doc = Document(f"Mismatch of synapse and discharger currents ({study.spec['name']})")
    doc.section(
        "Setup",
        f"sky130 mismatch models (`{study.corner}_mm`, {study.temperature:g} °C): "
        f"{len(study.seeds)} seeds × {study.replicas} copies per deck = {n} samples per width; "
        f"seeds {study.seeds[0]}…{study.seeds[-1]}. Current at the reset level V₀ "
        + ", ".join(f"{k} = {v:g} V" for k, v in study.v_ref_V.items())
        + f". Wall time {study.wall_s:.1f} s "
        f"({sum(not r['cached'] for r in study.runs)} ngspice runs, "
        f"{sum(r['cached'] for r in study.runs)} from the cache).",
        *study.notes)
    fit_rows = []
    for key, f in study.fits.items():
        layer, dev = key.split("/")
        fit_rows.append([layer, _DEVICE_NAMES.get(dev, dev), f["model"], f"{f['l_um']:g}",
                         f"{100 * f['a_um']:.2f}", _pct(f["rel_residual_rms"]),
                         _pct(f["rel_residual_max"]), f"{1e3 * f['a_vt_V_um']:.3f}",
                         f"{f['gm_over_i_per_V']:.1f}"])
    doc.section("Pelgrom fits", Table(
        ["layer", "device", "current-source model", "L (µm)", "A (%·µm)", "residual RMS (%)",
         "residual max (%)", "model A_vt (mV·µm)", "A/A_vt = g_m/I (1/V)"], fit_rows,
        caption="σ(ln I) = A/√(W·L), fitted through the origin on relative residuals; "
                "the residual is (fit − measured)/measured over the widths."))
    for layer in study.v_ref_V:
        rows = []
        for w in (r for r in study.widths if r.layer == layer):
            fit = study.fit(layer, w.device)
            pred = float(fit.predict(np.array([w.width_um]), w.l_um)[0])
            rows.append([_DEVICE_NAMES.get(w.device, w.device), f"{w.width_um:g}",
                         f"{w.l_um:g}", w.n, f"{1e9 * w.i_nominal_A:.2f}",
                         f"{1e9 * w.i_mean_A:.2f}",
                         f"{_pct(w.sigma_rel)} [{_pct(w.sigma_rel_lo)}, {_pct(w.sigma_rel_hi)}]",
                         f"{_pct(w.sigma_ln)} [{_pct(w.sigma_ln_lo)}, {_pct(w.sigma_ln_hi)}]",
                         _pct(pred), _pct((pred - w.sigma_ln) / w.sigma_ln),
                         _pct(w.lambda_sigma_rel)])
        doc.section(f"Layer {layer}: mismatch per width", Table(
            ["device", "W (µm)", "L (µm)", "n", "I nominal (nA)", "I mean (nA)",
             "σ(I)/mean (%) [95 %]", "σ(ln I) (%) [95 %]", "Pelgrom fit (%)", "fit error (%)",
             "σ(λ)/λ (%)"], rows,
            caption="Current at V₀ of the whole cell (source + selector or enable switch)."),
            _mismatch_figure(study, layer))
    return doc


# ----------------------------------------------------------------------------- sweeps

def _fmt(x: Any, spec: str = ".4g") -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return "—" if not np.isfinite(x) else format(x, spec)
    return str(x)


def sweep_report(title: str, rows: Sequence[dict[str, Any]], settings: dict[str, Any]
                 ) -> Document:
    """A sweep's summary rows (:func:`imcflow.variation.sweep.summary_rows`) as a document."""
    doc = Document(title)
    doc.section("Setup", Table(["setting", "value"], [[k, str(v)] for k, v in settings.items()]))
    header = ["point", "corner", "T (°C)", "mc seed", "fired (%)", "energy (pJ)",
              "Δt vs baseline RMS (ns)", "vs reference RMS (ns)", "SPICE acc (%)",
              "simulated", "wall (s)"]
    table = []
    for r in rows:
        table.append([r["label"], r["corner"], _fmt(r["temperature"], "g"),
                      _fmt(r["mc_seed"]), _fmt(100 * r["fired_frac"], ".1f"),
                      _fmt(1e12 * r["energy_J"], ".4g"), _fmt(r.get("baseline_rms_ns"), ".3g"),
                      _fmt(r.get("reference_rms_ns"), ".3g"),
                      _fmt(None if r.get("spice_acc") is None else 100 * r["spice_acc"], ".1f"),
                      f"{r['n_simulated']}/{r['n_patterns']}", _fmt(r["wall_s"], ".1f")])
    doc.section("Points", Table(header, table, caption="Δt: output spike times against the "
                                "baseline point's SPICE run (no spike counted as t = 1)."),
                _sweep_figure(rows))
    return doc


def _sweep_figure(rows: Sequence[dict[str, Any]]) -> Figure:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels = [r["label"] for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 0.45 * len(rows) + 4), 4))
    axes[0].bar(x, [1e12 * r["energy_J"] for r in rows])
    axes[0].set_ylabel("energy per inference (pJ)")
    key = "reference_rms_ns" if any(r.get("reference_rms_ns") is not None for r in rows) \
        else "baseline_rms_ns"
    axes[1].bar(x, [r.get(key) or 0.0 for r in rows])
    axes[1].set_ylabel("output spike-time RMS (ns) " + ("vs reference" if key.startswith("ref")
                                                        else "vs baseline"))
    for ax in axes:
        ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    return Figure.from_matplotlib(fig, "sweep", "energy and spike-time error per point")


# ----------------------------------------------------------------------------- corner study

def corner_study_report(study: dict[str, Any]) -> Document:
    """A flow's networks across corners (:func:`imcflow.variation.study.corner_study`)."""
    doc = Document("Written-back networks across corners, temperatures and mismatch")
    nets = study["networks"]
    bias = study.get("bias", "fixed")
    doc.section("Setup", Table(["setting", "value"], [
        ["flow", study.get("flow") or "—"],
        ["biases", "replica: the voltages a current-mirror generator gives at each point, the "
                   "tt, 27 °C currents of a typical finger held" if bias == "replica"
         else "fixed: the spec's bias voltages at every point"],
        ["trim", f"per point, {study['trim_knobs']} knob(s) on the synapse biases (vb_n + δn, "
                 f"vb_p − δp), chosen on {next(iter(nets.values()), {}).get('n_trim', '—')} "
                 "training samples" if study["trim_knobs"] else "none"],
        ["trim grid (V)", f"{study['trim_coarse_V']}, then ±{study['trim_fine_V']:g} around "
                          "the best"],
        ["wall time (s)", _fmt(study.get("wall_s"), ".0f")]]))
    header = ["network", "point", "acc (%)", "RMSE vs PNN (ns)", "RMSE (% T)", "fired (%)",
              "energy (pJ)", "trim δn / δp (mV)", "trimmed acc (%)", "trimmed RMSE (ns)",
              "trimmed RMSE (% T)"]
    rows = []
    for kind, net in nets.items():
        pct = 1e-7 / net["T_s"]  # ns → % of T
        for r in net["rows"]:
            u, t = r["untrimmed"], r.get("trimmed") or {}
            acc = u.get("spice_acc")
            tacc = t.get("spice_acc")
            rows.append([kind, r["label"], _fmt(None if acc is None else 100 * acc, ".0f"),
                         _fmt(u.get("reference_rms_ns"), ".3g"),
                         _fmt(None if u.get("reference_rms_ns") is None
                              else u["reference_rms_ns"] * pct, ".3g"),
                         _fmt(None if u.get("fired_frac") is None else 100 * u["fired_frac"],
                              ".0f"),
                         _fmt(None if u.get("energy_J") is None else 1e12 * u["energy_J"],
                              ".4g"),
                         "—" if r.get("trim_n_V") is None else
                         f"{1e3 * r['trim_n_V']:+.0f} / {1e3 * r['trim_p_V']:+.0f}",
                         _fmt(None if tacc is None else 100 * tacc, ".0f"),
                         _fmt(t.get("reference_rms_ns"), ".3g"),
                         _fmt(None if t.get("reference_rms_ns") is None
                              else t["reference_rms_ns"] * pct, ".3g")])
    doc.section("Points", Table(header, rows, caption=(
        "Test set through each network's post-layout netlist; RMSE of the output spike times "
        "against the PNN the network was trained as (no spike counted as t = 1).")),
        _corner_figure(study))
    if bias == "replica":
        doc.section("Bias voltages", _bias_table(nets))
    if any(r.get("physics") for net in nets.values() for r in net["rows"]):
        doc.section("Fitted physics per point", _physics_table(nets))
    mc = [[kind, *_mc_summary([r["untrimmed"] for r in net["rows"] if r["mc_seed"] is not None],
                              net["T_s"])]
          for kind, net in nets.items()]
    if any(row[1] != "0" for row in mc):
        doc.section("Mismatch instances", Table(
            ["network", "instances", "mean acc (%)", "p5 acc (%)", "worst acc (%)",
             "mean RMSE (% T)", "p95 RMSE (% T)", "worst RMSE (% T)"], mc,
            caption="Over the seeded Monte-Carlo instances (untrimmed); p5 / p95 by linear "
                    "interpolation."))
    return doc


def _bias_table(nets: dict[str, Any]) -> Table:
    """Untrimmed bias voltages per point (first network; every layer's, comma-separated)."""
    net = next(iter(nets.values()))
    names = ("vb_n", "vb_p", "v_dis", "v_cmp")
    rows = [[r["label"], *(", ".join(f"{v:.3f}" for v in r["biases_V"][k]) for k in names)]
            for r in net["rows"] if r.get("biases_V")]
    return Table(["point", *(f"{k} (V)" for k in names)], rows, caption=(
        "What the replica bias generator sets at each point, before the trim; the spec's "
        "values at tt, 27 °C."))


def _physics_table(nets: dict[str, Any]) -> Table:
    """E±, ramp and C_eff per point (first network; per layer, comma-separated)."""
    net = next(iter(nets.values()))
    keys = (("E_pos", ".2f"), ("E_neg", ".2f"), ("i_dis_nA", ".1f"), ("beta_d", ".3f"),
            ("c_eff_fF", ".0f"))
    rows = []
    for r in net["rows"]:
        ph = r.get("physics") or {}
        if "error" in ph:
            rows.append([r["label"], ph["error"], *([""] * (len(keys) - 1))])
        elif ph:
            rows.append([r["label"], *(", ".join(format(v, f) for v in ph[k])
                                       for k, f in keys)])
    return Table(["point", "E⁺ (V_th)", "E⁻ (V_th)", "discharger I at V₀ (nA)", "β_d",
                  "C_eff (fF)"], rows, caption=(
        "From each point's DC sweeps (the flow's DC fit) and its post-layout membrane "
        "capacitance, with the biases the point ran at (untrimmed); per layer."))


def _mc_summary(rows: Sequence[dict[str, Any]], t_s: float) -> list[str]:
    acc = np.array([100 * r["spice_acc"] for r in rows if r.get("spice_acc") is not None])
    err = np.array([r["reference_rms_ns"] * 1e-7 / t_s for r in rows
                    if r.get("reference_rms_ns") is not None])
    if not acc.size:
        return [str(len(rows))] + ["—"] * 6
    return [str(len(rows)), f"{acc.mean():.1f}", f"{np.percentile(acc, 5):.1f}",
            f"{acc.min():.0f}", f"{err.mean():.3g}", f"{np.percentile(err, 95):.3g}",
            f"{err.max():.3g}"]


def _corner_figure(study: dict[str, Any]) -> Figure:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    labels: list[str] = []
    for kind, net in study["networks"].items():
        labels = [r["label"] for r in net["rows"]]
        x = np.arange(len(labels))
        for which, style in (("untrimmed", "o-"), ("trimmed", "s--")):
            rs = [r.get(which) or {} for r in net["rows"]]
            if not any(rs):
                continue
            acc = [100 * r["spice_acc"] if r.get("spice_acc") is not None else np.nan
                   for r in rs]
            err = [r["reference_rms_ns"] * 1e-7 / net["T_s"]
                   if r.get("reference_rms_ns") is not None else np.nan for r in rs]
            axes[0].plot(x, acc, style, label=f"{kind}, {which}")
            axes[1].plot(x, err, style, label=f"{kind}, {which}")
    axes[0].set_ylabel("SPICE accuracy (%)")
    axes[1].set_ylabel("output spike-time RMSE vs PNN (% of T)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xticks(np.arange(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return Figure.from_matplotlib(fig, "corners", "accuracy and spike-time error per point")
