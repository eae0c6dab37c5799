"""The main job's report: bottom-up (fitted PNN) versus top-down (schematic maths) on the same
post-layout runs, with the fit, the layout and the calibration that led there."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from imcflow import jsonio  # noqa: E402
from imcflow.fit.physics import NOMINAL_FINGER_UM  # noqa: E402
from imcflow.fit.pipeline import NetworkFit, layer_models, waveforms  # noqa: E402
from imcflow.fit.transient import predict_membrane  # noqa: E402
from imcflow.flow.ramp_sizing import MIN_RAMP_REACH, ramp_time  # noqa: E402
from imcflow.report.document import Document, Figure, Table  # noqa: E402
from imcflow.report.metrics import spike_time_errors  # noqa: E402
from imcflow.sim.characterize import load_dataset  # noqa: E402
from imcflow.sim.dc import load_dc  # noqa: E402
from imcflow.spec import DesignSpec  # noqa: E402
from imcflow.spec import load as load_spec  # noqa: E402
from imcflow.train.physical import PhysicalTrainConfig  # noqa: E402

LABEL = {"bottom_up": "bottom-up (fitted PNN)", "top_down": "top-down (schematic)"}


def _load(path: str) -> dict:
    return jsonio.load(path)


def _summary(verifs: dict[str, dict], cals: dict[str, dict], trains: dict[str, dict],
             T: float) -> list[object]:
    rows = []
    for kind, v in verifs.items():
        m = v["metrics"]
        c = cals[kind]
        aware = " (variation-aware)" if trains[kind].get("variation_aware") else ""
        rows.append([LABEL[kind] + aware, m["rms_ns"], m["rms_pct_T"], m["median_ns"], m["p95_ns"],
                     m["fired_agreement"], f"{v['spice_acc'] * 100:.0f} %",
                     f"{v['model_acc'] * 100:.0f} %", f"{trains[kind]['test_acc'] * 100:.0f} %",
                     _variation_acc(trains[kind].get("variation_acc")),
                     f"{c['s_pos']:.3f} / {c['s_neg']:.3f}"
                     + ("" if c.get("converged", True) else
                        f" (search stopped after {len(c['candidates'])} evaluations)")])
    bu, td = verifs["bottom_up"]["metrics"]["rms_ns"], verifs["top_down"]["metrics"]["rms_ns"]
    ratio = td / bu if bu > 0 else float("inf")
    v0 = verifs["bottom_up"]
    n = len(v0["t_spice"][-1])
    agree = {k: int(round(abs(v["spice_acc"] - v["model_acc"]) * n)) for k, v in verifs.items()}
    where = (f"sky130 {v0.get('corner') or '?'}, {v0.get('temperature', float('nan')):g} °C")
    data = v0.get("data_name") or "test"
    return [
        f"Output-spike-time error on the {n} held-out {data} test samples, post-layout ngspice "
        f"({where}) versus the model each network was trained as. Top-down / bottom-up RMSE: "
        f"{ratio:.1f}× (paper: 39.04 / 1.97 ns ≈ 20×). SPICE and PNN accuracy differ by "
        f"{agree['bottom_up']} sample(s) bottom-up and {agree['top_down']} top-down.",
        Table(["model", "RMSE ns", "RMSE % of T", "median |e| ns", "p95 |e| ns",
               "fired agreement", "SPICE acc", "PNN acc", "PNN acc (train stage)",
               "PNN acc under variation, mean / p5", "scales +/−"],
              rows, caption=f"T = {T * 1e9:.0f} ns; times with no spike count as t = 1; "
                            "variation: seeded instances of the circuit's mismatch and a "
                            "residual corner spread (imcflow.flow.variation), the same draws "
                            "for both networks"),
    ]


def _layer_errors(verifs: dict[str, dict]) -> Table:
    """Per network and layer: spike-time RMSE of the chained model against SPICE, and of the
    layer's model alone, fed SPICE's spikes of the layer before (its own model error; the rest
    is error carried in from earlier layers)."""
    rows = []
    for kind, v in verifs.items():
        for lm in v["layer_metrics"]:
            rows.append([LABEL[kind], lm["layer"], lm["rms_pct_T"], lm.get("own_rms_pct_T", "—"),
                         lm["fired_agreement"]])
    return Table(["model", "layer", "RMSE % of T (model chain)",
                  "RMSE % of T (layer fed SPICE's inputs)", "fired agreement"], rows,
                 caption="Where the output error comes from: a layer whose error fed SPICE's "
                         "inputs is close to its chained error has it in its own model")


def _variation_acc(va: dict | None) -> str:
    if not va:
        return "—"
    return f"{va['mean'] * 100:.1f} / {va['p5'] * 100:.0f} % ({va['n_draws']} draws)"


def _scatter(verifs: dict[str, dict], T: float) -> Figure:
    n_layers = len(verifs["bottom_up"]["t_spice"])
    fig, axes = plt.subplots(1, n_layers, figsize=(5 * n_layers, 4.6), squeeze=False)
    for k in range(n_layers):
        ax = axes[0, k]
        for kind, v in verifs.items():
            ts = np.asarray(v["t_spice"][k]).ravel() * T * 1e9
            tm = np.minimum(np.asarray(v["t_model"][k]).ravel(), 1.0) * T * 1e9
            ax.plot(ts, tm, "o", ms=3, alpha=0.7, label=LABEL[kind])
        ax.plot([0, T * 1e9], [0, T * 1e9], "k--", lw=0.8)
        ax.set_xlabel("SPICE spike time (ns into the fire phase)")
        ax.set_ylabel("model spike time (ns)")
        ax.set_title(f"layer {k + 1} ({'output' if k == n_layers - 1 else 'hidden'})")
        ax.legend(fontsize=8)
    return Figure.from_matplotlib(fig, "spike_scatter",
                                  "Model vs post-layout SPICE spike times, test set")


def _histogram(verifs: dict[str, dict], T: float) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, v in verifs.items():
        e = (np.minimum(np.asarray(v["t_model"][-1]), 1.0) - np.asarray(v["t_spice"][-1]))
        ax.hist(e.ravel() * T * 1e9, bins=40, alpha=0.6, label=LABEL[kind])
    ax.set_xlabel("t_model − t_SPICE (ns), output layer")
    ax.set_ylabel("count")
    ax.legend()
    return Figure.from_matplotlib(fig, "error_histogram", "Output spike-time errors")


def _membranes(spec: DesignSpec, fit: NetworkFit, char_path: str, n: int = 3) -> Figure:
    char = load_dataset(char_path)
    models = layer_models(spec, fit, "bottom_up")
    fig, axes = plt.subplots(1, len(spec.layers), figsize=(6 * len(spec.layers), 4),
                             squeeze=False)
    for k, (phys, fl) in enumerate(models):
        data = waveforms(char, k)
        vm = predict_membrane(phys, fl, data.t_in[:n], data.t_mem)
        ax = axes[0, k]
        for p in range(n):
            line, = ax.plot(data.t_mem, data.v_mem[p, 0], lw=1.5, label=f"SPICE pattern {p}")
            ax.plot(data.t_mem, vm[p, 0], "--", color=line.get_color(), lw=1,
                    label=f"fitted PNN {p}")
        ax.set_xlabel("t / T (accumulate phase)")
        ax.set_ylabel(f"{spec.layers[k].name} neuron 0 membrane (V)")
        ax.legend(fontsize=7)
    return Figure.from_matplotlib(fig, "membranes", "Membrane during accumulation: post-layout "
                                  "SPICE (solid) vs the fitted PNN (dashed)")


def _dc_figure(dc_path: str, fit: NetworkFit) -> Figure:
    dc = load_dc(dc_path)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ldc = fit.dc[0]
    v = dc.v_mem
    lo, hi = ldc.fits["v_range_V"]
    for ax, dev, title in zip(axes, ("n", "p", "dis"), ("NMOS synapse", "PMOS synapse",
                                                          "discharger"), strict=True):
        ws, cur = dc.widths[(ldc.name, dev)], dc.current[(ldc.name, dev)]
        for idx in np.linspace(0, len(ws) - 1, 4).astype(int):
            i = cur[idx]
            m = (v >= lo) & (v <= hi)
            a = np.polyfit(v[m], i[m], 1)
            line, = ax.plot(v, i * 1e9, label=f"W = {ws[idx]:g} µm")
            ax.plot(v[m], np.polyval(a, v[m]) * 1e9, "--", color=line.get_color(), lw=0.8)
        ax.axvspan(lo, hi, color="0.9", zorder=0)
        ax.set_title(f"{title} (layer {ldc.name})")
        ax.set_xlabel("membrane voltage (V)")
        ax.set_ylabel("|I_D| (nA)")
        ax.legend(fontsize=7)
    return Figure.from_matplotlib(fig, "dc_sweeps", "DC sweeps (solid) and the linear fits over "
                                  "the membrane range (dashed, shaded) that give E± and β_d")


def _calibration_figure(cals: dict[str, dict]) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    bu = cals["bottom_up"]["candidates"]
    axes[0].plot([c["s_pos"] for c in bu], [c["rmse"] * 100 for c in bu], "o-")
    axes[0].set_xlabel("global current scale")
    axes[0].set_ylabel("calibration RMSE (% of T)")
    axes[0].set_title("bottom-up: 1-D search")
    td = cals["top_down"]["candidates"]
    sc = axes[1].scatter([c["s_pos"] for c in td], [c["s_neg"] for c in td],
                         c=[c["rmse"] * 100 for c in td], cmap="viridis")
    fig.colorbar(sc, ax=axes[1], label="RMSE (% of T)")
    axes[1].set_xlabel("positive current scale")
    axes[1].set_ylabel("negative current scale")
    axes[1].set_title("top-down: 2-D search")
    return Figure.from_matplotlib(fig, "calibration", "SPICE scale searches on training samples")


def _fit_tables(fit: NetworkFit, spec: DesignSpec, layout: dict) -> list[object]:
    rows, neuron_rows = [], []
    for ldc, fl in zip(fit.dc, fit.fitted, strict=True):
        c = np.asarray(fl.c_eff_F) * 1e15
        r = fl.residuals
        before = r.get("before", {})
        rows.append([ldc.name, ldc.E_pos, ldc.E_neg,
                     f"{ldc.v_valid[0]:.2f} … {ldc.v_valid[1]:.2f}", fl.beta_d, ldc.beta_d,
                     ldc.i_dis_A * 1e9, fl.c_scale, f"{c.min():.0f}–{c.max():.0f}", fl.v_th,
                     fl.delay_in * spec.T * 1e9, fl.delay_out * spec.T * 1e9,
                     fl.t_gate * spec.T * 1e9, before.get("spike_rms_pct_T"),
                     r.get("spike_rms_pct_T"), (r.get("membrane_rms_V") or float("nan")) * 1e3,
                     ", ".join(r.get("at_bound", [])) or "none"])
        per = r.get("per_neuron", {})
        for i in range(len(fl.c_eff_F)):
            def pick(key: str, i: int = i, per: dict = per) -> object:
                vals = per.get(key)
                return vals[i] if vals else float("nan")
            neuron_rows.append([f"{ldc.name}_mem{i}", pick("n_fired"), pick("n_outside_range"),
                                pick("spike_rms_pct_T"), pick("membrane_rms_mV")])
    dc_rows = [[ldc.name, 100 * ldc.fits["nmos"]["max_rel_residual"],
                100 * ldc.fits["pmos"]["max_rel_residual"],
                100 * ldc.fits["discharger"]["max_rel_residual"],
                ldc.fits["nmos"]["lambda_median_per_V"], ldc.fits["pmos"]["lambda_median_per_V"],
                f"{ldc.fits['v_range_V'][0]:.2f}–{ldc.fits['v_range_V'][1]:.2f}",
                " / ".join(f"{a:.2f}–{b:.2f}" for a, b in
                           (ldc.fits.get("valid_V") or {}).values()) or "—"]
               for ldc in fit.dc]
    cap_rows = []
    wiring = layout.get("membrane_wiring_F", {})
    measured = (layout.get("membrane_C") or {}).get("c_F", {})
    for layer, fl in zip(spec.layers, fit.fitted, strict=True):
        drawn = layer.membrane_capacitance()
        for i in range(layer.n_out):
            name = f"{layer.name}_mem{i}"
            cap_rows.append([name, drawn[i] * 1e15, wiring.get(name, float("nan")) * 1e15,
                             measured.get(name, float("nan")) * 1e15, fl.c_eff_F[i] * 1e15])
    return [
        Table(["layer", "E+", "E−", "validated v", "β_d (transient)", "β_d (DC)", "I_dis nA",
               "k_C", "C_eff fF", "v_th", "d_in ns", "d_out ns", "t_gate ns",
               "spike RMS % T before", "after", "membrane RMS mV", "at a bound"], rows,
              caption="Transient fit on the post-layout characterization (random patterns); "
                      "validated v: the normalised membrane range over which the DC sweeps show "
                      "every device's linear law within 2 %"),
        Table(["membrane", "fired (valid)", "outside range", "spike RMS % T",
               "membrane RMS mV"], neuron_rows,
              caption="Per-neuron fit residuals (outputs whose membrane left the validated "
                      "range are not fitted)"),
        Table(["layer", "NMOS max resid %", "PMOS max resid %", "discharger max resid %",
               "λ_N 1/V", "λ_P 1/V", "fit range V", "valid V (dis / n / p)"], dc_rows,
              caption="DC line fits over the membrane range: largest relative deviation"),
        Table(["membrane", "drawn MIM fF", "extracted wiring fF", "measured fF",
               "fitted C_eff fF"], cap_rows,
              caption="Membrane capacitance: drawn, extracted wiring, measured in ngspice on the "
                      "post-layout network (ramp test: MIM, wiring, devices), and fitted "
                      "(k_C × measured)"),
    ]


def _range_table(verifs: dict[str, dict]) -> Table:
    rows = []
    v = verifs["bottom_up"]
    for lm in v["layer_metrics"]:
        mr = lm.get("membrane_range")
        if not mr:
            continue
        lo, hi = mr["valid"]
        rms = lm.get("neuron_rms_ns") or [float("nan")] * len(mr["pnn_min"])
        for i, (pmin, pmax) in enumerate(zip(mr["pnn_min"], mr["pnn_max"], strict=True)):
            smin = mr["spice_min"][i] if mr["spice_min"] else float("nan")
            smax = mr["spice_max"][i] if mr["spice_max"] else float("nan")
            inside = lo - 1e-3 <= min(pmin, smin) and max(pmax, smax) <= hi + 1e-3
            rows.append([f"{lm['layer']}_mem{i}", f"{lo:.2f} … {hi:.2f}", pmin, pmax, smin,
                         smax, "yes" if inside else "NO", rms[i]])
    return Table(["membrane", "validated v", "PNN min", "PNN max", "SPICE min", "SPICE max",
                  "inside", "spike RMS ns"], rows,
                 caption="Bottom-up network on the test set: the normalised membrane range "
                         "each neuron uses (v = −(V − V₀)/V_th over the accumulate phase) in the "
                         "PNN and in post-layout SPICE, against the range its model was "
                         "validated over (training keeps it inside)")


def _neuron_bias(verif: dict, spec: DesignSpec) -> Table:
    """Per neuron of the bottom-up network: the mean and spread of SPICE − PNN spike time over
    the test samples where both fired, next to the synapse width the neuron carries. A mean
    offset that follows the width is a model error per device size, which a layer-wide fit
    parameter cannot absorb."""
    rows = []
    T_ns = spec.T * 1e9
    for k, layer in enumerate(spec.layers):
        tm = np.asarray(verif["t_model"][k], dtype=float)
        ts = np.asarray(verif["t_spice"][k], dtype=float)
        w, nf = layer.widths(), np.asarray(layer.fingers)
        for i in range(layer.n_out):
            both = (tm[:, i] < 1.0) & (ts[:, i] < 1.0)
            e = (ts[both, i] - tm[both, i]) * T_ns
            pos, neg = w[i] > 0, w[i] < 0
            rows.append([f"{layer.name}_n{i}", int(both.sum()),
                         float(e.mean()) if e.size else float("nan"),
                         float(e.std()) if e.size else float("nan"),
                         float(w[i][pos].sum()), int(nf[i][pos].sum()),
                         float(-w[i][neg].sum()) + 0.0, int(nf[i][neg].sum())])
    return Table(["neuron", "both fired", "mean SPICE − PNN ns", "SD ns", "NMOS µm",
                  "NMOS fingers", "PMOS µm", "PMOS fingers"], rows,
                 caption="Bottom-up network on the test set, per neuron: the systematic part of "
                         "the spike-time error (mean) against the synapse width the neuron "
                         "carries (written-back sizes, before the calibration scale)")


def _writeback_table(writeback: dict) -> list[object]:
    out = []
    for kind, w in writeback.items():
        path = w.get("sizing")
        rec = _load(path) if path else {}
        rows = []
        for r, rnd in enumerate(rec.get("rounds", [])):
            for layer, errs in rnd["rel_error"].items():
                e = 100 * np.abs(np.asarray(errs))
                rows.append([r, layer, float(e.max()), float(e.mean())])
        if rows:
            out.append(Table(["round", "layer", "max |C error| %", "mean |C error| %"], rows,
                             caption=f"{LABEL[kind]} write-back: each neuron's MIM resized from "
                                     "the capacitance measured on the written-back layout "
                                     "(round 0: the spec's MIMs)"))
    return out


#: Net classes of the wiring table: (label, test on the net name).
_NET_CLASSES = (
    ("membranes (bit lines)", lambda n: "_mem" in n),
    ("input spike lines", lambda n: n.startswith("in")),
    ("layer outputs (next layer's spike lines)", lambda n: "_out" in n),
    ("phase clocks", lambda n: n.rsplit("_", 1)[-1] in ("rst", "rstb", "fire")),
    ("bias rails", lambda n: n.rsplit("_", 1)[-1] in ("v0", "vbn", "vbp", "vdis", "vcmp")),
    ("supplies", lambda n: n in ("vdd", "vss")),
)


def _wiring_table(layout: dict) -> Table:
    wiring = layout.get("wiring_F") or layout.get("membrane_wiring_F", {})
    rows = []
    for label, test in _NET_CLASSES:
        c = np.array([v for k, v in wiring.items() if test(k)]) * 1e15
        if c.size:
            rows.append([label, int(c.size), float(c.min()), float(c.mean()), float(c.max())])
    return Table(["net class", "nets", "min fF", "mean fF", "max fF"], rows,
                 caption="Extracted wiring capacitance per net class (imcflow's extractor on "
                         "magic's model with the sky130A tables; capm shields met4 from met3 "
                         "inside a MIM, where magic counts that area as wiring)")


def _placeholder_table(placeholders: dict | None) -> list[object]:
    """Which layers' MIMs and neurons' placeholder widths the flow resized before layout, and
    why."""
    if not placeholders or not placeholders.get("resized"):
        return []
    out: list[object] = []
    mims = [[e["name"], e["ramp_time"][0], e["ramp_time"][1], e["mim_scale"]]
            for e in placeholders["layers"] if e.get("mim_scale", 1.0) != 1.0]
    if mims:
        out.append(Table(["layer", "ramp time to threshold (drawn MIM), phases", "(resized)",
                          "MIM capacitance × "], mims,
                         caption="MIMs shrunk before layout so that the discharger can ramp a "
                                 "membrane from 0 to threshold within the phase (DC model; "
                                 "imcflow.flow.placeholders)"))
    rows = [[e["name"], i, f"{b:.0%}", f"{a:.0%}", f"{s[0]:.2g} / {s[1]:.2g}",
             "yes" if i in e["flipped"] else ""]
            for e in placeholders["layers"]
            for i, (b, a, s) in enumerate(zip(e["before"], e["after"], e["scale"], strict=True))
            if tuple(s) != (1.0, 1.0) or i in e["flipped"]]
    if rows:
        out.append(Table(["layer", "neuron", "fires in range (spec widths)", "(resized)",
                          "scale + / −", "sign flipped"], rows,
                         caption="Placeholder widths resized before layout so that the "
                                 "characterization exercises every neuron (predicted with the "
                                 "DC model; imcflow.flow.placeholders). Training replaces them."))
    return out


def _design_checks(spec: DesignSpec, fit: NetworkFit) -> list[object]:
    """Per layer, what the fitted circuit can do in one phase: how far the discharger ramps a
    membrane from v = 0 at the fitted and at the designed C_eff (≥ 1 lets every non-negative
    v(1) fire; imcflow.flow.ramp_sizing), and the switching charge of a mid-range finger
    (:mod:`imcflow.pnn.ramp`)."""
    fitted = dataclasses.replace(fit, c_design=None)
    rows, weak = [], []
    for k, ldc in enumerate(fit.dc):
        reach_fit, reach = 1.0 / ramp_time(spec, fitted, k), 1.0 / ramp_time(spec, fit, k)
        sw = ldc.finger_switching(np.array([NOMINAL_FINGER_UM] * 2), np.array([True, False]))
        rows.append([ldc.name, fitted.layer_c_eff(k) * 1e15, reach_fit, fit.layer_c_eff(k) * 1e15,
                     reach, *(float(x) for x in (100 * sw.T).ravel())])
        if reach < MIN_RAMP_REACH:
            weak.append(f"layer {ldc.name}: the discharger ramps a membrane by only {reach:.2f} "
                        f"of threshold in one phase, so a neuron with v(1) < {1 - reach:.2f} "
                        "cannot fire; a wider discharger (dis_w_um) or a smaller MIM "
                        "restores the range")
    out: list[object] = [Table(
        ["layer", "C_eff fitted fF", "ramp reach", "C_eff designed fF", "ramp reach (designed)",
         "NMOS onset % ", "NMOS tail %", "PMOS onset %", "PMOS tail %"], rows,
        caption=f"Ramp reach: how far the fitted ramp lifts v from 0 in one phase (1 = to "
                f"threshold). Switching charge of a {NOMINAL_FINGER_UM:g} µm finger in % of its "
                "DC charge over a phase: at the spike's onset and the selector tail after it "
                "(imcflow.pnn.ramp)")]
    if weak:
        out.insert(0, "\n".join(f"- {w}" for w in weak))
    return out


def _phase_end_spikes(verifs: dict[str, dict], trains: dict[str, dict]) -> Table:
    """Per network, the test samples in which a hidden neuron fires within the training's
    phase-end margin of its window's end (SPICE and PNN), and the output error on them and on
    the rest: where the next layer's switching charge is all or nothing (imcflow.pnn.ramp).
    The margin is the one the train stage used (older results: the default)."""
    margin = float(trains.get("bottom_up", {}).get("phase_end_margin",
                                                   PhysicalTrainConfig().phase_end_margin))
    rows = []
    for kind, v in verifs.items():
        t_model = [np.minimum(np.asarray(t, dtype=float), 1.0) for t in v["t_model"]]
        t_spice = [np.asarray(t, dtype=float) for t in v["t_spice"]]

        def late(ts: list[np.ndarray]) -> np.ndarray:
            return np.any([((t > 1 - margin) & (t < 1)).any(1) for t in ts[:-1]], axis=0)

        hit = late(t_spice) | late(t_model)
        err = (t_model[-1] - t_spice[-1]) * 100

        rms = [float(np.sqrt(np.mean(err[m] ** 2))) if m.any() else float("nan")
               for m in (hit, ~hit)]
        rows.append([LABEL[kind], int(late(t_spice).sum()), int(late(t_model).sum()), *rms])
    return Table(["model", "samples (SPICE)", "samples (PNN)", "output RMSE % T on them",
                  "output RMSE % T on the others"], rows,
                 caption=f"Test samples with a hidden spike in the last {margin * 100:g} % of "
                         "its phase. There the next layer's selector tail is switched whole "
                         "or not at all, so a small timing error becomes a charge error; "
                         "bottom-up training keeps spikes out of this band")


def _pre_post(char: dict, spec: DesignSpec) -> list[object]:
    pre, post = load_dataset(char["pre"]), load_dataset(char["post"])
    rows = []
    for layer in spec.layers:
        n = layer.name
        both = pre.fired[n] & post.fired[n]
        m = spike_time_errors(post.t_out[n], pre.t_out[n], spec.T, mask=both)
        rows.append([n, m["n"], m["bias_ns"], m["rms_ns"], m["max_ns"],
                     float(np.mean(pre.fired[n] != post.fired[n]))])
    return [Table(["layer", "spikes compared", "mean shift ns", "RMS shift ns", "max |shift| ns",
                   "fired flags differing"], rows,
                  caption=f"Post-layout minus pre-layout spike times on the same "
                          f"{pre.n_patterns} random patterns")]


def build_report(out: Path, results: dict[str, Any], spec: DesignSpec, data) -> Document:
    """Assemble the report from the flow's stage results."""
    verifs = {k: _load(v["path"]) for k, v in results["verify"].items()}
    cals = {k: _load(v["path"]) for k, v in results["calibrate"].items()}
    trains = results["train"]
    fit = NetworkFit.load(results["fit"]["path"])
    layout = results["layout"]
    doc = Document(f"imcflow report: {spec.name} ({'-'.join(map(str, spec.shape))}), "
                   f"bottom-up vs top-down")
    doc.section("Summary", *_summary(verifs, cals, trains, spec.T), _layer_errors(verifs))
    problems = results["fit"].get("problems") or []
    if problems:
        doc.section("Fit problems", "\n".join(f"- {p}" for p in problems))
    doc.section("Spike times", _scatter(verifs, spec.T), _histogram(verifs, spec.T))
    energy = {k: v["energy_J"] for k, v in verifs.items()}
    area = {k: v["area_um2"] for k, v in verifs.items()}
    doc.section("Energy and area", Table(
        ["network", "energy per inference pJ", "layout area µm²"],
        [[LABEL[k], energy[k] * 1e12, area[k]] for k in verifs],
        caption="Energy = VDD × supply charge over a whole inference (mean of the test set)"))
    png = Path(layout["png"]).read_bytes()
    doc.section("Layout and extraction",
                f"Characterized layout: {layout['area_um2']:.0f} µm², DRC violations: "
                f"{layout['drc_violations']}, LVS: {layout['lvs_devices']} devices matched.",
                Figure("layout", png, "Layout of the characterized network"),
                _wiring_table(layout),
                *_placeholder_table(results.get("placeholders")),
                *_pre_post(results["characterize"], spec))
    doc.section("Design checks", *_design_checks(spec, fit), _phase_end_spikes(verifs, trains))
    doc.section("Fitted parameters", *_fit_tables(fit, spec, layout),
                _dc_figure(results["dc"]["path"], fit),
                _membranes(spec, fit, results["characterize"]["post"]))
    wb_spec = results.get("writeback", {}).get("bottom_up", {}).get("spec")
    doc.section("Membrane range", _range_table(verifs),
                *([_neuron_bias(verifs["bottom_up"], load_spec(wb_spec))] if wb_spec else []))
    doc.section("Write-back", *_writeback_table(results.get("writeback", {})))
    doc.section("Calibration", _calibration_figure(cals))
    return doc
