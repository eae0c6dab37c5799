"""``imcflow flow | fit | writeback | verify | report | generality``: closing the loop."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from imcflow import jsonio
from imcflow import spec as specmod
from imcflow.errors import DataError
from imcflow.fit.pipeline import NetworkFit, fit_network
from imcflow.flow import STAGES
from imcflow.progress import console
from imcflow.sim.characterize import load_dataset
from imcflow.sim.dc import load_dc

OUT = click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
                   default=Path("runs/flow"), show_default=True, help="flow folder")
WORKERS = click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
                       help="parallel ngspice processes")


def _run(out: Path, workers: int, stop_after: str | None, spec_file: Path | None = None,
         patterns: int | None = None, dataset: str | None = None,
         split_seed: int | None = None, reuse: bool = False,
         variation_aware: bool = False) -> dict:
    from imcflow.flow.run import FlowConfig, run_flow, saved_config

    base = saved_config(out) if reuse else None
    if base is not None:   # verify / report of an existing flow folder: its own settings
        return run_flow(out, dataclasses.replace(base, workers=workers), stop_after=stop_after)
    kw: dict = {"workers": workers}
    if spec_file is not None:
        kw["spec_file"] = str(spec_file)
    if patterns is not None:
        kw["char_patterns"] = patterns
    if dataset is not None:
        kw["dataset"] = dataset
    if split_seed is not None:
        kw["split_seed"] = split_seed
    cfg = FlowConfig(**kw)
    if variation_aware:
        from imcflow.flow.variation import VariationConfig

        cfg = dataclasses.replace(cfg, experiment=dataclasses.replace(
            cfg.experiment, variation=VariationConfig()))
    return run_flow(out, cfg, stop_after=stop_after)


@click.command("flow")
@OUT
@WORKERS
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="design spec (default: the embedded 5-5-3 demo)")
@click.option("--patterns", type=click.IntRange(4, 10000), default=None,
              help="random patterns for the characterization (default 32)")
@click.option("--dataset", type=click.Choice(["iris", "digits"]), default=None,
              help="data set to train and verify on (default iris); the spec must have its "
                   "input (features + a bias spike) and output sizes")
@click.option("--split-seed", type=click.IntRange(0, 2**31 - 1), default=None,
              help="seed of the train/test split (default 0)")
@click.option("--stop-after", type=click.Choice(list(STAGES)), default=None,
              help="stop after this stage")
@click.option("--variation-aware", is_flag=True,
              help="train against the circuit's mismatch and a residual corner spread "
                   "(imcflow.flow.variation); compare with a nominal flow by imcflow corners")
def flow(out: Path, workers: int, spec_file: Path | None, patterns: int | None,
         dataset: str | None, split_seed: int | None, stop_after: str | None,
         variation_aware: bool) -> None:
    """The main job: spec → DC sweeps → placeholder widths → layout/DRC/LVS/extraction →
    characterization → fit → train →
    write-back → SPICE calibration → verification → report. Cached per stage."""
    res = _run(out, workers, stop_after, spec_file, patterns, dataset, split_seed,
               variation_aware=variation_aware)
    if "report" in res:
        console.print(f"report: {res['report']['html']}")


@click.command("verify")
@OUT
@WORKERS
def verify(out: Path, workers: int) -> None:
    """Run (or reuse) the flow up to the post-layout verification of the test set."""
    res = _run(out, workers, "verify", reuse=True)
    for kind, v in res["verify"].items():
        click.echo(f"{kind}: output spike-time RMSE {v['rms_ns']:.2f} ns, SPICE accuracy "
                   f"{v['spice_acc']:.0%}, PNN accuracy {v['model_acc']:.0%}")


@click.command("report")
@OUT
@WORKERS
def report(out: Path, workers: int) -> None:
    """Write the Markdown + HTML report of a flow folder (running missing stages)."""
    res = _run(out, workers, None, reuse=True)
    click.echo(res["report"]["html"])


@click.command("fit")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dc", "dc_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DC dataset (imcflow dc)")
@click.option("--char", "char_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="characterization dataset (imcflow characterize)")
@click.option("--steps", type=click.IntRange(0, 100000), default=600, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("fit.json"), show_default=True)
def fit(spec_file: Path, dc_file: Path, char_file: Path | None, steps: int,
        output: Path) -> None:
    """Fit the PNN parameters of SPEC to its DC sweeps and (optionally) transient runs."""
    spec = specmod.load(spec_file)
    char = load_dataset(char_file) if char_file is not None else None
    nf = fit_network(spec, load_dc(dc_file), char, steps=steps)
    nf.save(output)
    for ldc, fl in zip(nf.dc, nf.fitted, strict=True):
        rms = fl.residuals.get("spike_rms_pct_T")
        click.echo(f"{ldc.name}: E+ {ldc.E_pos:.2f}  E- {ldc.E_neg:.2f}  beta_d {fl.beta_d:.3f}"
                   f"  v_th {fl.v_th:.3f}" + (f"  spike RMS {rms:.3f} % of T" if rms else ""))
    click.echo(f"wrote {output}")


@click.command("writeback")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--fit", "fit_file", required=True, type=click.Path(dir_okay=False,
                                                                   path_type=Path))
@click.option("--model", "model_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="trained model JSON (a flow's train/<kind>.json)")
@click.option("--scale", nargs=2, type=float, default=(1.0, 1.0), show_default=True,
              help="positive and negative current scales")
@click.option("--name", default=None, help="name of the written-back network")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True)
def writeback(spec_file: Path, fit_file: Path, model_file: Path, scale: tuple[float, float],
              name: str | None, output: Path) -> None:
    """Write trained weights back to synapse widths and fingers: a new spec."""
    from imcflow.flow.experiment import TrainedModel, scaled_spec

    spec = specmod.load(spec_file)
    data = jsonio.load(model_file, "model file")
    try:
        model = TrainedModel.from_dict(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{model_file} is not a trained model file ({exc})") from None
    new = scaled_spec(spec, NetworkFit.load(fit_file), model, scale[0], scale[1],
                      name or f"{spec.name}_{model.kind}")
    specmod.save(new, output)
    click.echo(f"wrote {output}")


@click.command("generality")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("runs/generality"), show_default=True,
              help="suite folder (one flow folder per point)")
@WORKERS
@click.option("--points", default=None,
              help="comma-separated design points (default: the whole suite; see --list)")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="design points run at once (each with --workers ngspice processes)")
@click.option("--list", "list_points", is_flag=True, help="list the design points and exit")
def generality(out: Path, workers: int, points: str | None, jobs: int,
               list_points: bool) -> None:
    """The design-point suite: the whole flow on every point (hidden width, T, channel length,
    MIM, biases, corner, temperature), one cached flow folder each, and a summary report."""
    from imcflow.flow.designs import SMOKE, SUITE
    from imcflow.flow.run import FlowConfig
    from imcflow.flow.suite import run_suite

    if list_points:
        for p in (*SUITE, SMOKE):
            click.echo(f"{p.name:<12} {p.change}")
        return
    names = [n.strip() for n in points.split(",") if n.strip()] if points else \
        [p.name for p in SUITE]
    rows = run_suite(out, names, FlowConfig(workers=workers), jobs=jobs)
    for r in rows:
        if r.get("stopped"):
            click.echo(f"{r['point']}: stopped — {r['stopped']}")
        else:
            click.echo(f"{r['point']}: bottom-up {r['bu_rms_pct_T']:.3f} % T, top-down "
                       f"{r['td_rms_pct_T']:.2f} % T ({r['ratio']:.1f}×)")
    click.echo(f"report: {out / 'report' / 'report.html'}")


COMMANDS = [flow, fit, writeback, verify, report, generality]
