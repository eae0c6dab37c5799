"""The design-point suite (``imcflow generality``, ``make generality``): the whole flow on every
point of :data:`imcflow.flow.designs.SUITE`, each in its own cached flow folder (a killed run
resumes stage by stage), and one summary report.

Per point the summary gives the bottom-up and top-down output spike-time RMSE on the held-out
test set (post-layout SPICE), their ratio, SPICE and PNN accuracy of both networks, the fit
residuals per layer, the corner and temperature simulated, and the wall time; a point whose flow
stopped says why.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from imcflow import atomicio
from imcflow import spec as specmod
from imcflow.errors import ImcflowError
from imcflow.flow.designs import DesignPoint, point
from imcflow.flow.run import FlowConfig, run_flow
from imcflow.progress import console
from imcflow.report.document import Document, Table


def _summary_row(p: DesignPoint, res: dict[str, Any], seconds: float) -> dict[str, Any]:
    spec = specmod.load(res["spec"]["path"])
    verifs = {k: json.loads(Path(v["path"]).read_text()) for k, v in res["verify"].items()}
    fit = json.loads(Path(res["fit"]["path"]).read_text())
    bu, td = verifs["bottom_up"], verifs["top_down"]
    n = len(bu["t_spice"][-1])
    row = {
        "point": p.name, "change": p.change, "shape": "-".join(map(str, spec.shape)),
        "corner": bu.get("corner", spec.corner), "temperature": bu.get("temperature"),
        "T_ns": spec.T * 1e9, "n_test": n,
        "bu_rms_pct_T": bu["metrics"]["rms_pct_T"], "td_rms_pct_T": td["metrics"]["rms_pct_T"],
        "bu_own_rms_pct_T": [lm.get("own_rms_pct_T") for lm in bu["layer_metrics"]],
        "bu_spice_acc": bu["spice_acc"], "bu_pnn_acc": bu["model_acc"],
        "td_spice_acc": td["spice_acc"], "td_pnn_acc": td["model_acc"],
        "fit_spike_rms_pct_T": [f["residuals"].get("spike_rms_pct_T") for f in fit["fitted"]],
        "fit_membrane_rms_mV": [1e3 * (f["residuals"].get("membrane_rms_V") or float("nan"))
                                for f in fit["fitted"]],
        "seconds": seconds, "stopped": None,
    }
    b = row["bu_rms_pct_T"]
    row["ratio"] = row["td_rms_pct_T"] / b if b > 0 else float("inf")
    row["bu_acc_gap_samples"] = int(round(abs(bu["spice_acc"] - bu["model_acc"]) * n))
    return row


def run_point(p: DesignPoint, out: Path, cfg: FlowConfig) -> dict[str, Any]:
    """The flow on one design point in ``out/<name>`` (resumes a killed run)."""
    folder = out / p.name
    spec_file = folder / "point_spec.json"
    t0 = time.perf_counter()
    try:
        if not spec_file.exists():
            specmod.save(p.spec(), spec_file)
        res = run_flow(folder, dataclasses.replace(cfg, spec_file=str(spec_file)))
        row = _summary_row(p, res, time.perf_counter() - t0)
    except ImcflowError as exc:
        row = {"point": p.name, "change": p.change, "stopped": str(exc),
               "seconds": time.perf_counter() - t0}
    except Exception:  # noqa: BLE001 (a bug: keep the suite going, record the traceback)
        row = {"point": p.name, "change": p.change, "seconds": time.perf_counter() - t0,
               "stopped": "internal error: " + traceback.format_exc(limit=3)}
    atomicio.write_json(folder / "summary_row.json", row)
    return row


def run_suite(out: str | Path, names: list[str], cfg: FlowConfig | None = None,
              jobs: int = 1) -> list[dict[str, Any]]:
    """Every named point (``jobs`` at once, each flow with ``cfg.workers`` ngspice processes);
    writes ``summary.json`` and the report ``report.{md,html}`` into ``out``."""
    out = Path(out)
    cfg = cfg or FlowConfig()
    points = [point(n) for n in names]
    rows: dict[str, dict[str, Any]] = {}
    if jobs <= 1:
        for p in points:
            console.print(f"[bold]■ design point {p.name}[/]: {p.change}")
            rows[p.name] = run_point(p, out, cfg)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futs = {pool.submit(run_point, p, out, cfg): p.name for p in points}
            for fut in as_completed(futs):
                rows[futs[fut]] = fut.result()
                console.print(f"[green]✓[/] design point {futs[fut]}")
    ordered = [rows[p.name] for p in points]
    atomicio.write_json(out / "summary.json", ordered)
    build_suite_report(ordered).write(out / "report")
    return ordered


def _pct(x: object) -> str:
    return "—" if x is None else f"{x * 100:.0f} %"


def build_suite_report(rows: list[dict[str, Any]]) -> Document:
    """The suite's summary table (and the reasons of any stopped point)."""
    doc = Document("imcflow design-point suite: bottom-up vs top-down on designs nobody tuned")
    table, stopped = [], []
    for r in rows:
        if r.get("stopped"):
            stopped.append(f"- **{r['point']}** ({r['change']}): stopped — {r['stopped']}")
            continue
        fit = " / ".join(f"{x:.3f}" for x in r["fit_spike_rms_pct_T"])
        mem = " / ".join(f"{x:.1f}" for x in r["fit_membrane_rms_mV"])
        own = " / ".join("—" if x is None else f"{x:.3f}"
                         for x in r.get("bu_own_rms_pct_T") or [None])
        table.append([r["point"], r["change"], r["shape"], f"{r['corner']} {r['temperature']:g} °C",
                      r["T_ns"], r["bu_rms_pct_T"], own, r["td_rms_pct_T"], r["ratio"],
                      f"{_pct(r['bu_spice_acc'])} / {_pct(r['bu_pnn_acc'])}",
                      f"{_pct(r['td_spice_acc'])} / {_pct(r['td_pnn_acc'])}", fit, mem,
                      r["seconds"] / 60])
    doc.section("Summary", Table(
        ["point", "change", "shape", "simulated at", "T ns", "bottom-up RMSE % T",
         "bottom-up RMSE % T per layer, fed SPICE's inputs", "top-down RMSE % T",
         "top-down / bottom-up", "bottom-up SPICE / PNN acc",
         "top-down SPICE / PNN acc", "fit spike RMS % T per layer", "fit membrane RMS mV",
         "minutes"], table,
        caption="Output spike-time RMSE on the held-out test set, post-layout ngspice, against "
                "the model each network was trained as"))
    if stopped:
        doc.section("Points that stopped", "\n".join(stopped))
    return doc
