"""The paper's baselines (PAPERS.md §1.3) and the |E| study.

* **ANN**: a network trained at |E| = 100 (practically ideal), tested at a smaller |E|.
* **scaled ANN**: the same weights with the positive and the negative weights rescaled by two
  factors (a⁺, a⁻) found by a grid search at test time. The search scores a *selection split*
  (the validation split when the run has one, else the first ``n_select`` training samples), never
  the test split, and the test accuracy is then reported at the chosen scales.
* **study**: for each |E|, a PNN trained at that |E| versus the two baselines.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from imcflow.atomicio import write_json, write_text
from imcflow.errors import DataError

from .config import TrainConfig
from .data import Dataset, Split
from .loop import MODEL, evaluate, get_dataset, load_run, train_model
from .models import PNNNet

STUDY_E = (1.0, 1.5, 2.8, 5.0, 10.0, 30.0, 100.0)
ANN_E = 100.0


def symmetric_params(config: TrainConfig, E: float):
    """The run's PNN parameters with E⁺ = |E|, E⁻ = −|E|."""
    return dataclasses.replace(config.pnn_params(), E_pos=abs(E), E_neg=-abs(E))


def selection_split(data: Dataset, n_select: int) -> Split:
    return data.val if data.val is not None else data.train.subset(n_select)


def scaled_search(model: PNNNet, config: TrainConfig, select: Split, *, params=None,
                  coarse: Sequence[float] | None = None, fine_steps: int = 5,
                  seed: int | None = None) -> dict[str, Any]:
    """Grid-search (a⁺, a⁻) maximising accuracy on ``select`` with ``params`` swapped in.

    A coarse log grid (default 2^-2 … 2^4 in factors of 2 per axis: at small |E| the best scales
    are large), then a finer grid of ``fine_steps``² points spanning one coarse step either side
    of the best point. Ties go to the scales closest to (1, 1).
    """
    coarse = list(coarse) if coarse is not None else [float(2.0 ** k) for k in range(-2, 5)]
    results: dict[tuple[float, float], float] = {}

    def score(a: float, b: float) -> float:
        key = (round(a, 6), round(b, 6))
        if key not in results:
            with model.swapped(params=params, scales=(a, b)):
                results[key] = evaluate(model, select, config, seed=seed)["acc"]
        return results[key]

    def best() -> tuple[float, float]:
        return max(results, key=lambda k: (results[k], -abs(math.log(k[0])) - abs(math.log(k[1]))))

    for a in coarse:
        for b in coarse:
            score(a, b)
    a0, b0 = best()
    ratio = coarse[1] / coarse[0] if len(coarse) > 1 else 2.0
    fine = np.exp(np.linspace(-math.log(ratio), math.log(ratio), fine_steps))
    for fa in fine:
        for fb in fine:
            score(a0 * float(fa), b0 * float(fb))
    a, b = best()
    return {"scale_pos": a, "scale_neg": b, "select_acc": results[(a, b)],
            "select_n": len(select), "grid_points": len(results)}


def transfer_eval(model: PNNNet, config: TrainConfig, data: Dataset, E: float, *,
                  scaled: bool = True, n_select: int = 5000) -> dict[str, Any]:
    """Test the (ANN) ``model`` at |E| = ``E``: plain, and with searched weight scales."""
    params = symmetric_params(config, E)
    with model.swapped(params=params):
        plain = evaluate(model, data.test, config)["acc"]
    row: dict[str, Any] = {"E": E, "ann_acc": plain}
    if scaled:
        found = scaled_search(model, config, selection_split(data, n_select), params=params)
        with model.swapped(params=params, scales=(found["scale_pos"], found["scale_neg"])):
            row["scaled_ann_acc"] = evaluate(model, data.test, config)["acc"]
        row.update({k: found[k] for k in ("scale_pos", "scale_neg", "select_acc")})
    return row


def _e_name(E: float) -> str:
    return f"E{E:g}"


def run_study(base: TrainConfig, out: str | Path, *, E_values: Sequence[float] = STUDY_E,
              n_select: int = 5000, show_progress: bool = True,
              train_missing: bool = True) -> dict[str, Any]:
    """The |E| study: one PNN per |E| (sub-folder ``E<value>``, resumable: finished runs are
    reused), the |E| = 100 run as the ANN, and a table ``study.{json,csv,md}`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    E_all = sorted({float(e) for e in E_values} | {ANN_E})
    for E in E_all:
        run = out / _e_name(E)
        if (run / MODEL).is_file() and (run / "metrics.json").is_file():
            continue  # finished (or stopped by its time limit: epochs_done says so below)
        if not train_missing:
            raise DataError(f"study run {run} is missing")
        cfg = base.replace(E=E, E_pos=None, E_neg=None)
        train_model(cfg, out=run, resume=True, show_progress=show_progress)

    ann_cfg, ann = load_run(out / _e_name(ANN_E), device=base.device)
    data = get_dataset(ann_cfg)
    rows = []
    for E in sorted({float(e) for e in E_values}):
        cfg, model = load_run(out / _e_name(E), device=base.device)
        pnn_acc = evaluate(model, data.test, cfg)["acc"]
        done = json.loads((out / _e_name(E) / "metrics.json").read_text())["summary"]
        row = {"E": E, "pnn_acc": pnn_acc, "epochs_done": done.get("epochs_done")}
        row.update({k: v for k, v in transfer_eval(ann, ann_cfg, data, E,
                                                    n_select=n_select).items() if k != "E"})
        rows.append(row)
    ann_done = json.loads((out / _e_name(ANN_E) / "metrics.json").read_text())["summary"]
    table = {"epochs": base.epochs, "ann_epochs_done": ann_done.get("epochs_done"),
             "model": base.model, "hidden": list(base.hidden),
             "dataset": base.dataset, "limit_train": base.limit_train,
             "noise_std": base.noise_std, "n_select": n_select, "rows": rows}
    write_json(out / "study.json", table)
    cols = ["E", "pnn_acc", "ann_acc", "scaled_ann_acc", "scale_pos", "scale_neg", "epochs_done"]
    write_text(out / "study.csv", ",".join(cols) + "\n" + "".join(
        ",".join(f"{r[c]:.6g}" for c in cols) + "\n" for r in rows))
    write_text(out / "study.md", format_study(table))
    return table


def format_study(table: dict[str, Any]) -> str:
    lines = [f"|E| study: {table['dataset']} {table['model']} {table['hidden']}, "
             f"{table['epochs']} epochs, spike noise {table['noise_std']}", "",
             f"ANN = the abs(E)=100 run ({table['ann_epochs_done']} epochs); scaled ANN: "
             f"(a+, a-) grid-searched on {table['n_select']} selection samples "
             "(validation split, else training samples), then tested.", "",
             "| abs(E) | PNN-trained | ANN (E=100) | scaled ANN | scales (+, -) | PNN epochs |",
             "|---|---|---|---|---|---|"]
    for r in table["rows"]:
        lines.append(f"| {r['E']:g} | {100 * r['pnn_acc']:.2f} % | {100 * r['ann_acc']:.2f} % | "
                     f"{100 * r['scaled_ann_acc']:.2f} % | "
                     f"{r['scale_pos']:.3g}, {r['scale_neg']:.3g} | {r['epochs_done']} |")
    return "\n".join(lines) + "\n"


