"""The paper's bottom-up versus top-down experiment (PAPERS.md §1.4) on Iris 5-5-3, post-layout.

* **bottom-up**: train the PNN with the fitted parameters (E±, per-device β, ramp, threshold,
  delays; one C_eff per layer) and the measured finger currents (quantization-aware), write back
  widths and per-neuron MIMs sized to that C_eff through the fitted capacitance model, then a 1-D
  SPICE search of one global current scale;
* **top-down**: train the ideal model (|E| = 100, linear ramp, design threshold, drawn C,
  current ∝ width), write back with the designer's current per µm, then a 2-D SPICE search of the
  positive and negative current scales (coarse grid, then a pattern search down to 1 % steps,
  ``td_max_evals`` only a safety cap; a search that reaches it says so in the report).

Scales multiply the written-back currents of one sign (the widths are re-derived, so a scale is a
real resizing of every synapse). The search objective is the output-spike-time RMSE between
SPICE and the model the network was trained as, on calibration samples from the *training* set;
the verification then runs the 50 held-out test samples through post-layout SPICE.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from imcflow.errors import SpecError
from imcflow.extract.signoff import post_layout
from imcflow.fit.physics import device_model
from imcflow.fit.pipeline import NetworkFit, layer_models, membrane_extent
from imcflow.flow.variation import VariationConfig, layer_perturbations
from imcflow.report.metrics import spike_time_errors, ttfs_accuracy
from imcflow.sim.capacitance import measure_membranes
from imcflow.sim.characterize import CharDataset, characterize
from imcflow.spec import DesignSpec
from imcflow.train.coding import default_scheme, encode
from imcflow.train.data import load_dataset
from imcflow.train.physical import (
    PhysicalTrainConfig,
    build_network,
    evaluate,
    mc_accuracy,
    quantizer_for,
    realised_weights,
    train_network,
)
from imcflow.writeback import DeviceModel, writeback_spec
from imcflow.writeback.sizing import realisable

KINDS = ("bottom_up", "top_down")
#: |E| the top-down model is trained at (the paper's "ANN").
TOP_DOWN_E = 100.0


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes and settings of the experiment (defaults fit the 15-minute flow on 2 cores)."""

    train: PhysicalTrainConfig = field(default_factory=lambda: PhysicalTrainConfig(
        epochs=600, lr=3e-3, weight_decay=0.0))
    qat_epochs: int = 200
    seeds: int = 4
    n_calib: int = 8
    bu_scales: tuple[float, ...] = (0.96, 0.98, 1.0, 1.02, 1.04)
    bu_fine_step: float = 0.005
    td_coarse: tuple[float, ...] = (0.8, 1.0, 1.25)
    td_fine_step: float = 0.01
    #: a safety cap only: the paper's search runs to 1 % steps, and ours must not stop earlier
    #: (with 24, every top-down search of the suite ended on the budget, not converged)
    td_max_evals: int = 160
    n_test: int | None = None
    workers: int = 2
    engine: str = "shared"
    cache_dir: str | None = None
    #: variation-aware training (None: nominal); every trained network is also evaluated on
    #: MC_DRAWS instances of the default variation, so both trainings compare on the same draws
    variation: VariationConfig | None = None


#: Data sets the flow runs on (each sample: one spike per feature + a bias spike at t = 0).
FLOW_DATASETS = ("iris", "digits")


@dataclass
class SpikeData:
    """A data set as input spike times (t per feature + a bias spike at 0) and labels.

    Iris uses the paper's direct coding t = x (100 training, 50 test samples); digits (8×8,
    scikit-learn) the image coding t = 1 − x (a black pixel does not spike). The split is fixed
    by ``split_seed``.
    """

    name: str
    split_seed: int
    n_classes: int
    t_train: np.ndarray
    y_train: np.ndarray
    t_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_inputs(self) -> int:
        return int(self.t_train.shape[1])

    def check_spec(self, spec: DesignSpec) -> None:
        """Raise :class:`SpecError` unless ``spec`` has this data set's input and output sizes."""
        if spec.n_inputs != self.n_inputs or spec.n_outputs != self.n_classes:
            raise SpecError(
                f"spec {spec.name} is {'-'.join(map(str, spec.shape))}: data set {self.name} "
                f"needs {self.n_inputs} inputs ({self.n_inputs - 1} features + a bias spike) "
                f"and {self.n_classes} outputs")


def spike_data(name: str = "iris", split_seed: int = 0) -> SpikeData:
    """Load ``name`` (one of :data:`FLOW_DATASETS`) as input spike times."""
    if name not in FLOW_DATASETS:
        raise SpecError(f"data set {name!r} is not one the flow runs on "
                        f"({', '.join(FLOW_DATASETS)})")
    ds = load_dataset(name, split_seed=split_seed)
    scheme = default_scheme(name)

    def times(x: torch.Tensor) -> np.ndarray:
        return encode(x, scheme, bias_spike=True).double().numpy()

    return SpikeData(name=name, split_seed=split_seed, n_classes=ds.n_classes,
                     t_train=times(ds.train.x), y_train=ds.train.y.numpy(),
                     t_test=times(ds.test.x), y_test=ds.test.y.numpy())


def device_models(spec: DesignSpec, fit: NetworkFit, kind: str) -> list[DeviceModel]:
    """Write-back models: measured finger table and fitted C_eff (bottom-up), or current ∝
    width and drawn C (top-down)."""
    if kind == "bottom_up":
        return [device_model(ldc, (fit.layer_c_eff(k),) * layer.n_out, spec.T)
                for k, (ldc, layer) in enumerate(zip(fit.dc, spec.layers, strict=True))]
    return [device_model(ldc, tuple(layer.membrane_capacitance()), spec.T, top_down=True)
            for ldc, layer in zip(fit.dc, spec.layers, strict=True)]


@dataclass
class TrainedModel:
    """A trained network (one of KINDS) and what it needs for write-back and prediction."""

    kind: str
    weights: list[np.ndarray]
    seed: int
    train_acc: float
    test_acc: float
    history: dict
    #: PNN accuracy on the test set over MC_DRAWS seeded instances of the default circuit
    #: variation: mean, p5, worst
    variation_acc: dict | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["weights"] = [w.tolist() for w in self.weights]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainedModel:
        d = dict(d)
        d["weights"] = [np.asarray(w, dtype=float) for w in d["weights"]]
        return cls(**d)


def _network(spec: DesignSpec, fit: NetworkFit, kind: str, weights=None, dms=None, seed=0,
             variation: VariationConfig | None = None):
    models = layer_models(spec, fit, kind, uniform_c=kind == "bottom_up")
    ranges = [ldc.v_valid for ldc in fit.dc] if kind == "bottom_up" else None
    pert = (layer_perturbations(spec, device_models(spec, fit, kind), variation)
            if variation is not None else None)
    return build_network(models, weights=weights, device_models=dms, seed=seed,
                         beta_models=device_models(spec, fit, kind),
                         E_override=TOP_DOWN_E if kind == "top_down" else None, v_ranges=ranges,
                         perturbations=pert)


#: Seeded variation instances every trained network is evaluated on (PNN, test set).
MC_DRAWS = 200


def variation_accuracy(spec: DesignSpec, fit: NetworkFit, model: TrainedModel,
                       data: SpikeData, n_draws: int = MC_DRAWS) -> dict:
    """Test accuracy of ``model``'s PNN over ``n_draws`` seeded instances of the default
    :class:`VariationConfig`: mean, p5 and worst (the same draws for every model)."""
    net = _network(spec, fit, model.kind, weights=model.weights, variation=VariationConfig())
    acc = mc_accuracy(net, torch.as_tensor(data.t_test), torch.as_tensor(data.y_test), n_draws)
    return {"mean": float(acc.mean()), "p5": float(np.percentile(acc, 5)),
            "worst": float(acc.min()), "n_draws": n_draws}


def train_kind(spec: DesignSpec, fit: NetworkFit, kind: str, data: SpikeData,
               cfg: ExperimentConfig, on_seed: Callable[[int], None] | None = None
               ) -> TrainedModel:
    """Train ``cfg.seeds`` networks (float, then quantization-aware) and keep the one with the
    best *training* accuracy (ties: lowest loss)."""
    dms = device_models(spec, fit, kind)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 5-5-3 networks: threading costs more than it gains
    try:
        return _train_seeds(spec, fit, kind, data, cfg, dms, on_seed)
    finally:
        torch.set_num_threads(threads)


def _train_seeds(spec, fit, kind, data, cfg, dms, on_seed) -> TrainedModel:
    t_tr, y_tr = torch.as_tensor(data.t_train), torch.as_tensor(data.y_train)
    t_te, y_te = torch.as_tensor(data.t_test), torch.as_tensor(data.y_test)
    best: tuple | None = None
    for seed in range(cfg.seeds):
        torch.manual_seed(seed)
        net = _network(spec, fit, kind, seed=seed, variation=cfg.variation)
        tc = cfg.train
        h1 = train_network(net, t_tr, y_tr, PhysicalTrainConfig(**{**tc.to_dict(), "seed": seed}))
        for layer, dm in zip(net, dms, strict=True):
            layer.quantizer = quantizer_for(dm)
        h2 = train_network(net, t_tr, y_tr, PhysicalTrainConfig(
            **{**tc.to_dict(), "seed": seed, "epochs": cfg.qat_epochs, "lr": tc.lr / 3}))
        train_acc, _ = evaluate(net, t_tr, y_tr)
        test_acc, _ = evaluate(net, t_te, y_te)
        key = (train_acc, -h2["loss"][-1])
        if best is None or key > best[0]:
            best = (key, TrainedModel(kind=kind, weights=realised_weights(net), seed=seed,
                                      train_acc=train_acc, test_acc=test_acc,
                                      history={"float": h1, "qat": h2}))
        if on_seed is not None:
            on_seed(seed)
    assert best is not None
    return dataclasses.replace(best[1], variation_acc=variation_accuracy(spec, fit, best[1],
                                                                         data))


def predict(spec: DesignSpec, fit: NetworkFit, model: TrainedModel, t_in: np.ndarray
            ) -> list[np.ndarray]:
    """The trained model's output times per layer (fire phase; 1 = no spike)."""
    net = _network(spec, fit, model.kind, weights=model.weights)
    net.eval()
    out = []
    with torch.no_grad():
        t = torch.as_tensor(t_in, dtype=torch.float64)
        for layer in net:
            t = layer(t)
            out.append(t.numpy().copy())
    return out


def predict_layer(spec: DesignSpec, fit: NetworkFit, model: TrainedModel, k: int,
                  t_in: np.ndarray) -> np.ndarray:
    """Layer ``k`` of the trained model alone, fed ``t_in`` [N, n_in] (e.g. the SPICE times of
    layer k − 1, 1 = no spike): its output times (1 = no spike)."""
    net = _network(spec, fit, model.kind, weights=model.weights)
    net.eval()
    with torch.no_grad():
        return net[k](torch.as_tensor(t_in, dtype=torch.float64)).numpy().copy()


def predict_range(spec: DesignSpec, fit: NetworkFit, model: TrainedModel, t_in: np.ndarray
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer, the lowest and highest normalised membrane over the accumulate phase
    [N, n_out] each, as the trained model predicts them (each layer fed by the model's own
    previous layer)."""
    net = _network(spec, fit, model.kind, weights=model.weights)
    net.eval()
    out = []
    with torch.no_grad():
        t = torch.as_tensor(t_in, dtype=torch.float64)
        for layer in net:
            lo, hi = layer.membrane_range(t)
            out.append((lo.numpy().copy(), hi.numpy().copy()))
            t = layer(t)
    return out


def scaled_spec(spec: DesignSpec, fit: NetworkFit, model: TrainedModel, s_pos: float,
                s_neg: float, name: str) -> DesignSpec:
    """Write-back of ``model`` onto ``spec`` (its MIMs are kept) with positive/negative currents
    scaled by ``s_pos``/``s_neg``; a scaled weight beyond what 64 fingers carry stays at that
    limit (the scale cannot make a device larger than the hardware allows)."""
    dms = device_models(spec, fit, model.kind)
    weights = [realisable(np.where(w > 0, w * s_pos, w * s_neg), dm)
               for w, dm in zip(model.weights, dms, strict=True)]
    return writeback_spec(spec, weights, dms, name=name)


def max_scales(spec: DesignSpec, fit: NetworkFit, model: TrainedModel) -> tuple[float, float]:
    """The largest positive and negative current scales that still scale ``model``'s network:
    at them its largest weight of that sign reaches its devices' finger limit (beyond, more
    and more weights stop at the limit, so a larger scale flattens the network instead of
    scaling it — at T2_mim16 an unbounded search went on to s− = 410)."""
    out = []
    for positive in (True, False):
        lim = np.inf
        for w, dm in zip(model.weights, device_models(spec, fit, model.kind), strict=True):
            ww = np.asarray(w) if positive else -np.asarray(w)
            cap = np.broadcast_to(dm.max_weight(positive)[:, None], ww.shape)
            if (ww > 0).any():
                lim = min(lim, float(np.min(cap[ww > 0] / ww[ww > 0])))
        out.append(lim)
    return out[0], out[1]


#: Measure-and-resize rounds of the bottom-up MIM sizing (the MIM term is exact, the rest moves
#: little with the MIM: one round lands within a fraction of a femtofarad), and the relative
#: capacitance error below which the sizing stops (the 5 nm grid on a 22 µm side is ≈ 0.05 %).
MIM_ROUNDS = 2
MIM_TOLERANCE = 5e-4


def writeback_network(spec: DesignSpec, fit: NetworkFit, model: TrainedModel, name: str,
                      folder: Path) -> tuple[DesignSpec, dict]:
    """The trained ``model`` written back onto ``spec``: synapse widths and fingers; bottom-up
    also each neuron's MIM, sized so that the membrane capacitance measured in SPICE on the
    written-back post-layout network (:func:`imcflow.sim.capacitance.measure_membranes`),
    times the layer's fitted scale, equals the layer's C_eff the network was trained with.

    Returns the spec and, bottom-up, the sizing record: per round the measured capacitance of
    every membrane (F) and the relative error to its target.
    """
    new = writeback_spec(spec, model.weights, device_models(spec, fit, model.kind), name=name)
    if model.kind != "bottom_up" or fit.c_measured is None:
        return new, {}
    rounds = []
    for r in range(MIM_ROUNDS + 1):
        pl = post_layout(new, folder / f"mim{r}")
        meas = measure_membranes(new, Path(pl.spice).read_text())
        layers, errs = [], {}
        for k, layer in enumerate(new.layers):
            target = fit.layer_c_eff(k) / fit.fitted[k].c_scale     # in measured units
            c = meas.layer(new, k)
            errs[layer.name] = [float(x) for x in (c - target) / target]
            layers.append(layer.with_mims(layer.membrane_capacitance() + (target - c)))
        rounds.append({"c_measured_F": meas.c_F, "rel_error": errs,
                       "mim_um": {layer.name: list(layer.mim_w_um) for layer in new.layers}})
        if max(abs(e) for es in errs.values() for e in es) < MIM_TOLERANCE:
            break
        if r < MIM_ROUNDS:
            new = new.replace(layers=tuple(layers))
    return new, {"rounds": rounds}


def spice_run(spec: DesignSpec, folder: Path, patterns: np.ndarray, cfg: ExperimentConfig,
              n_grid: int | None = None, on_result=None) -> tuple[CharDataset, dict]:
    """Post-layout SPICE of ``spec`` on explicit input patterns (cached by content)."""
    pl = post_layout(spec, folder)
    res = characterize(spec, patterns=patterns, engine=cfg.engine, workers=cfg.workers,
                       subckts=Path(pl.spice).read_text(), n_grid=n_grid,
                       cache_dir=cfg.cache_dir, on_result=on_result)
    return res.load(), pl.to_dict()


def output_rmse(t_model: np.ndarray, ds: CharDataset) -> float:
    """RMS (normalised) of output-layer spike times, 'no spike' counted as t = 1 on both sides."""
    name = ds.spec.layers[-1].name
    t_spice = np.where(ds.fired[name], ds.t_out[name], 1.0)
    return float(np.sqrt(np.mean((np.minimum(t_model, 1.0) - t_spice) ** 2)))


@dataclass
class Calibration:
    """Scale search result: chosen (s_pos, s_neg) and every candidate's calibration RMSE."""

    kind: str
    s_pos: float
    s_neg: float
    rmse: float
    candidates: list[dict]
    #: False when the search stopped on its evaluation budget instead of at its finest step
    converged: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


#: The smallest current scale the SPICE scale searches try.
MIN_SCALE = 0.02


def calibrate(spec: DesignSpec, fit: NetworkFit, model: TrainedModel, data: SpikeData,
              cfg: ExperimentConfig, folder: Path,
              on_candidate: Callable[[int, int], None] | None = None) -> Calibration:
    """The SPICE scale search: 1-D global scale (bottom-up) or 2-D coarse-to-fine (top-down)."""
    calib = data.t_train[: cfg.n_calib]
    target = predict(spec, fit, model, calib)[-1]
    seen: dict[tuple[float, float], float] = {}
    hi_p, hi_n = max_scales(spec, fit, model)

    def evaluate_pair(sp: float, sn: float) -> float:
        key = (round(min(sp, hi_p), 4), round(min(sn, hi_n), 4))
        if min(key) < MIN_SCALE:  # no current at all is no candidate
            return float("inf")
        if key not in seen:
            sp, sn = key
            name = f"{model.kind}_p{round(sp * 1000)}_n{round(sn * 1000)}"
            ws = scaled_spec(spec, fit, model, sp, sn, name)
            ds, _ = spice_run(ws, folder / name, calib, cfg)
            seen[key] = output_rmse(target, ds)
            if on_candidate is not None:
                on_candidate(len(seen), -1)
        return seen[key]

    if model.kind == "bottom_up":
        # The coarse list, then halving steps around the best down to bu_fine_step.
        for s in cfg.bu_scales:
            evaluate_pair(s, s)
        step = (cfg.bu_scales[1] - cfg.bu_scales[0]) / 2 if len(cfg.bu_scales) > 1 else 0.0
        while step >= cfg.bu_fine_step - 1e-9:
            best = min(seen, key=seen.get)[0]
            evaluate_pair(best - step, best - step)
            evaluate_pair(best + step, best + step)
            step /= 2
    else:
        # Coarse grid, then a pattern search from its best point: try ±step on each scale and
        # move to the best; a move that improved is pushed on along its direction with doubling
        # strides while that keeps improving (an optimum far from the grid, e.g. s+ = 0.10 at
        # T2_mim16, is reached in a few evaluations instead of one per step); with no better
        # neighbour the step halves down to td_fine_step (1 %, as the paper's grid).
        # td_max_evals only guards against a search that never settles.
        grid = cfg.td_coarse
        for sp in grid:
            for sn in grid:
                evaluate_pair(sp, sn)
        step = (grid[1] - grid[0]) / 2 if len(grid) > 1 else 0.1
        converged = False
        while len(seen) < cfg.td_max_evals:
            bp, bn = min(seen, key=seen.get)
            for dp, dn in ((step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step)):
                evaluate_pair(bp + dp, bn + dn)
            moved = min(seen, key=seen.get)
            if moved == (bp, bn):
                if step <= cfg.td_fine_step + 1e-9:
                    converged = True
                    break
                step = max(step / 2, cfg.td_fine_step)
                continue
            dp, dn = moved[0] - bp, moved[1] - bn
            stride = 2.0
            while len(seen) < cfg.td_max_evals:
                here = min(seen, key=seen.get)
                if evaluate_pair(here[0] + stride * dp, here[1] + stride * dn) >= seen[here]:
                    break
                stride *= 2.0
    (sp, sn), rmse = min(seen.items(), key=lambda kv: kv[1])
    cands = [{"s_pos": k[0], "s_neg": k[1], "rmse": v} for k, v in sorted(seen.items())]
    return Calibration(kind=model.kind, s_pos=sp, s_neg=sn, rmse=rmse, candidates=cands,
                       converged=model.kind == "bottom_up" or converged)


@dataclass
class Verification:
    """Held-out test samples through post-layout SPICE, next to the model's predictions."""

    kind: str
    spec_name: str
    metrics: dict
    layer_metrics: list[dict]
    spice_acc: float
    model_acc: float
    energy_J: float
    area_um2: float
    t_model: list[list[list[float]]]
    t_spice: list[list[list[float]]]
    fired_spice: list[list[list[bool]]]
    dataset: str
    post: dict
    data_name: str = ""
    corner: str = ""
    temperature: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)


def verify(spec: DesignSpec, fit: NetworkFit, model: TrainedModel, cal: Calibration,
           data: SpikeData, cfg: ExperimentConfig, folder: Path, on_result=None) -> Verification:
    """Run the test set through the calibrated post-layout network and compare."""
    ws = scaled_spec(spec, fit, model, cal.s_pos, cal.s_neg, f"{data.name}_{model.kind}")
    t_test, y_test = data.t_test[: cfg.n_test], data.y_test[: cfg.n_test]
    ds, post = spice_run(ws, folder, t_test, cfg, n_grid=101, on_result=on_result)
    t_model = predict(spec, fit, model, t_test)
    v_model = predict_range(spec, fit, model, t_test)
    layer_metrics, t_sp, f_sp = [], [], []
    for k, layer in enumerate(ws.layers):
        fired = ds.fired[layer.name]
        ts = np.where(fired, ds.t_out[layer.name], 1.0)
        m = spike_time_errors(np.minimum(t_model[k], 1.0), ts, ws.T)
        m["fired_agreement"] = float(np.mean(fired == (t_model[k] < 1.0 - 1e-9)))
        # the layer's own model error: fed SPICE's spikes of the layer before, not the model's
        own = t_model[k] if k == 0 else predict_layer(spec, fit, model, k, t_sp[-1])
        m["own_rms_pct_T"] = spike_time_errors(np.minimum(own, 1.0), ts, ws.T)["rms_pct_T"]
        m["neuron_rms_ns"] = [float(x) for x in np.sqrt(np.mean(
            (np.minimum(t_model[k], 1.0) - ts) ** 2, axis=0)) * ws.T * 1e9]
        extent = membrane_extent(ds, k)
        m["membrane_range"] = {
            "valid": list(fit.dc[k].v_valid),
            "pnn_min": v_model[k][0].min(axis=0).tolist(),
            "pnn_max": v_model[k][1].max(axis=0).tolist(),
            "spice_min": extent[0].min(axis=0).tolist() if extent else None,
            "spice_max": extent[1].max(axis=0).tolist() if extent else None}
        layer_metrics.append({"layer": layer.name, **m})
        t_sp.append(ts.tolist())
        f_sp.append(fired.tolist())
    out = layer_metrics[-1]
    return Verification(
        kind=model.kind, spec_name=ws.name, metrics=out, layer_metrics=layer_metrics,
        spice_acc=ttfs_accuracy(np.asarray(t_sp[-1]), y_test),
        model_acc=ttfs_accuracy(np.minimum(t_model[-1], 1.0), y_test),
        energy_J=float(np.mean(ds.energy)), area_um2=float(post["area_um2"]),
        t_model=[t.tolist() for t in t_model], t_spice=t_sp, fired_spice=f_sp,
        dataset=str(Path(folder)), post=post, data_name=data.name,
        corner=str(ds.meta.get("corner", ws.corner)),
        temperature=float(ds.meta.get("temperature", ws.temperature)))
