"""``imcflow mismatch``, ``imcflow pvt``, ``imcflow mc``, ``imcflow corners``: the variation
studies."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from imcflow import progress
from imcflow import spec as specmod
from imcflow.errors import SimulationError, SpecError
from imcflow.sim.cli import parse_floats as _floats
from imcflow.sim.engines import DEFAULT_TIMEOUT, ENGINES


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(tok) for tok in text.split(",")]
    except ValueError:
        raise SpecError(f"--{what} {text!r}: expected comma-separated integers") from None



def _strs(text: str) -> list[str]:
    return [tok.strip() for tok in text.split(",") if tok.strip()]


def _seeds(seeds: str | None, instances: int, first_seed: int) -> list[int]:
    from imcflow.variation.dcmc import seed_list  # noqa: PLC0415

    if seeds:
        from imcflow.netlist.models import check_mc_seed  # noqa: PLC0415

        return [check_mc_seed(s) for s in _ints(seeds, "seeds")]
    return seed_list(instances, first_seed)


def _exec_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="parallel ngspice runs (default: one per core)"),
        click.option("--dask-local", is_flag=True,
                     help="run on a local Dask cluster of --workers single-threaded processes"),
        click.option("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)"),
        click.option("--timeout", type=click.FloatRange(min=0.01), default=DEFAULT_TIMEOUT,
                     show_default=True, help="hard timeout per ngspice run, s"),
    ]):
        f = opt(f)
    return f


def _instance_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--instances", type=click.IntRange(min=1), default=20, show_default=True,
                     help="Monte-Carlo mismatch instances (seeds first-seed, first-seed + 1, …)"),
        click.option("--first-seed", type=click.IntRange(min=1), default=1, show_default=True,
                     help="seed of the first instance"),
        click.option("--seeds", default=None,
                     help="explicit comma-separated seeds (overrides --instances; re-simulate "
                          "one instance alone with --seeds N)"),
    ]):
        f = opt(f)
    return f


#: How the points are biased (``imcflow pvt``, ``imcflow corners``): :mod:`imcflow.variation.bias`.
BIAS_OPTION = click.option(
    "--bias", type=click.Choice(["replica", "fixed"]), default="replica", show_default=True,
    help="replica: the bias voltages a current-mirror generator gives at each corner and "
         "temperature (the tt, 27 °C currents held); fixed: the spec's voltages")


def _sweep_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = _exec_options(f)
    for opt in reversed([
        click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option("--patterns", "n_patterns", type=click.IntRange(min=1), default=16,
                     show_default=True, help="number of seeded random input patterns"),
        click.option("--pattern-seed", type=int, default=0, show_default=True,
                     help="seed of the random patterns"),
        click.option("--p-spike", type=click.FloatRange(0.0, 1.0), default=0.8,
                     show_default=True, help="probability that an input spikes"),
        click.option("--inputs", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help=".npz with 'inputs' [N, n_in] (normalised spike times) and optional "
                          "'labels' [N], 'reference' [N, n_out] (replaces --patterns)"),
        click.option("--subckts", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="SPICE file replacing the network subcircuits (post-layout "
                          "extraction)"),
        click.option("--post-layout", is_flag=True,
                     help="lay out the spec, check DRC/LVS, extract it and sweep the extracted "
                          "netlist"),
        click.option("--baseline", default=None,
                     help="label of the point the others are compared with (default: tt_27C "
                          "when swept, else the first point)"),
        click.option("--grid", type=click.IntRange(min=0), default=0, show_default=True,
                     help="membrane samples per layer to keep (0: none)"),
        click.option("--dc", is_flag=True, help="also run each point's DC sweeps (dc.npz)"),
        BIAS_OPTION,
        click.option("--engine", type=click.Choice(ENGINES), default="shared",
                     show_default=True, help="ngspice engine"),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                     default=None, help="result cache (default: <out>/cache)"),
        click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
                     required=True, help="output folder"),
    ]):
        f = opt(f)
    return f


def _run(points: list[Any], opts: dict[str, Any], title: str) -> None:
    from imcflow.sim.characterize import random_patterns  # noqa: PLC0415
    from imcflow.sim.executors import default_workers  # noqa: PLC0415
    from imcflow.variation.sweep import check_sweep, load_inputs, run_sweep  # noqa: PLC0415

    if opts["dask_local"] and opts["scheduler"]:
        raise SpecError("give either --dask-local or --scheduler, not both")
    if opts["post_layout"] and opts["subckts"] is not None:
        raise SpecError("give either --post-layout or --subckts, not both")
    s = specmod.load(opts["spec_file"])
    out: Path = opts["out"]
    labels = reference = None
    if opts["inputs"] is not None:
        inp = load_inputs(opts["inputs"])
        patterns, labels, reference = inp.patterns, inp.labels, inp.reference
    else:
        patterns = random_patterns(s.n_inputs, opts["n_patterns"], opts["pattern_seed"],
                                   opts["p_spike"])
    check_sweep(s, patterns, points, labels=labels, reference=reference,
                baseline=opts["baseline"])
    sub = None
    if opts["subckts"] is not None:
        try:
            sub = opts["subckts"].read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(f"subcircuit file not found: {opts['subckts']}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read subcircuit file {opts['subckts']}: {exc}") from None
    elif opts["post_layout"]:
        from imcflow.extract.signoff import post_layout  # noqa: PLC0415

        pl = post_layout(s, out / "layout")
        sub = Path(pl.spice).read_text(encoding="utf-8")
        click.echo(f"post-layout: {pl.spice} (DRC clean, LVS {pl.lvs_devices} devices)")
    workers = opts["workers"] or default_workers()
    base = opts["baseline"] or points[0].label
    from imcflow.variation.study import point_specs  # noqa: PLC0415

    specs = point_specs(s, points, opts["bias"])
    n_total = len(points) * patterns.shape[0]
    with progress.progress() as bar:
        task = bar.add_task(f"{title}: {len(points)} points", total=n_total, status="")

        def on_progress(done: int, total: int, status: str) -> None:
            bar.update(task, completed=done, status=status)

        res = run_sweep(s, patterns, points, out, subckts=sub, labels=labels,
                        reference=reference, baseline=opts["baseline"],
                        n_grid=opts["grid"] or None, engine=opts["engine"], workers=workers,
                        dask_local=opts["dask_local"], scheduler=opts["scheduler"],
                        timeout=opts["timeout"], cache_dir=opts["cache_dir"], dc=opts["dc"],
                        on_progress=on_progress, title=f"{title} of {s.name}",
                        spec_at=lambda p: specs[p.label])
    for r in res.rows:
        if r.get("error"):
            click.echo(f"{r['label']:<18} FAILED: {r['error']}")
            continue
        parts = [f"{r['label']:<18}", f"fired {100 * r['fired_frac']:5.1f} %",
                 f"E {1e12 * r['energy_J']:8.3f} pJ"]
        if r.get("baseline_rms_ns") is not None:
            parts.append(f"Δt vs {base} {r['baseline_rms_ns']:7.2f} ns")
        if r.get("reference_rms_ns") is not None:
            parts.append(f"vs ref {r['reference_rms_ns']:7.2f} ns")
        if r.get("spice_acc") is not None:
            parts.append(f"acc {100 * r['spice_acc']:5.1f} %")
        parts.append(f"{r['n_simulated']} sim / {r['wall_s']:.1f} s")
        click.echo("  ".join(parts))
    click.echo(f"wrote {out}/summary.json, summary.csv, report.md, report.html "
               f"({len(res.rows)} points, wall {res.wall_s:.1f} s)")
    if res.failed:
        raise SimulationError(f"{len(res.failed)} point(s) failed: {', '.join(res.failed)} "
                              "(re-run to retry)")


@click.command("pvt")
@_sweep_options
@click.option("--corners", default="tt,ss,ff,sf,fs", show_default=True,
              help="comma-separated process corners")
@click.option("--temperatures", default="-40,27,85", show_default=True,
              help="comma-separated temperatures, °C")
@click.option("--mc-seeds", default=None,
              help="comma-separated mismatch seeds to cross with every corner and temperature "
                   "(default: nominal devices only)")
def pvt(corners: str, temperatures: str, mc_seeds: str | None, **opts: Any) -> None:
    """Simulate one network at every corner × temperature (resumable; one dataset per point)."""
    from imcflow.variation.sweep import pvt_points  # noqa: PLC0415

    seeds: list[int | None] = [None]
    if mc_seeds:
        from imcflow.netlist.models import check_mc_seed  # noqa: PLC0415

        seeds = [check_mc_seed(s) for s in _ints(mc_seeds, "mc-seeds")]
    pts = pvt_points(_strs(corners), _floats(temperatures, "temperatures"), seeds)
    if opts["baseline"] is None and any(p.label == "tt_27C" for p in pts):
        opts["baseline"] = "tt_27C"
    _run(pts, opts, "PVT sweep")


@click.command("mc")
@_sweep_options
@_instance_options
@click.option("--corner", default="tt", show_default=True, help="process corner")
@click.option("--temperature", type=float, default=27.0, show_default=True, help="°C")
@click.option("--no-nominal", is_flag=True,
              help="leave out the nominal point (otherwise first, and the baseline)")
def mc(instances: int, first_seed: int, seeds: str | None, corner: str, temperature: float,
       no_nominal: bool, **opts: Any) -> None:
    """Simulate N seeded mismatch instances of one network (resumable; one dataset each)."""
    from imcflow.variation.sweep import mc_points  # noqa: PLC0415

    pts = mc_points(_seeds(seeds, instances, first_seed), corner, temperature,
                    nominal=not no_nominal)
    _run(pts, opts, "Monte-Carlo sweep")


@click.command("mismatch")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@_instance_options
@click.option("--replicas", type=click.IntRange(min=1), default=4, show_default=True,
              help="copies of each device per deck (independent draws)")
@click.option("--widths", default=None,
              help="comma-separated current-source widths, µm (default 0.42,0.5,1,1.5,2,4 and "
                   "the discharger's)")
@click.option("--devices", default="n,p,dis", show_default=True,
              help="device types: n, p (synapses), dis (discharger)")
@click.option("--corner", default=None, help="process corner (default: the spec's)")
@click.option("--temperature", type=float, default=None, help="°C (default: the spec's)")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".imcflow-cache"), show_default=True)
@_exec_options
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="output folder (mismatch.json, report.md, report.html)")
def mismatch(spec_file: Path, instances: int, first_seed: int, seeds: str | None,
             replicas: int, widths: str | None, devices: str, corner: str | None,
             temperature: float | None, cache_dir: Path, workers: int | None,
             dask_local: bool, scheduler: str | None, timeout: float, out: Path) -> None:
    """Monte-Carlo DC sweeps: σ of synapse and discharger currents per width, Pelgrom fit."""
    from imcflow.sim.executors import default_workers  # noqa: PLC0415
    from imcflow.variation.dcmc import check_study, run_mc_dc  # noqa: PLC0415
    from imcflow.variation.report import mismatch_report  # noqa: PLC0415

    if dask_local and scheduler:
        raise SpecError("give either --dask-local or --scheduler, not both")
    s = specmod.load(spec_file)
    seed_values = _seeds(seeds, instances, first_seed)
    ws = _floats(widths, "widths") if widths else None
    devs = _strs(devices)
    check_study(s, seed_values, replicas=replicas, widths=ws, devices=devs, corner=corner,
                temperature=temperature)
    with progress.progress() as bar:
        task = bar.add_task(f"mismatch {s.name}", total=len(seed_values) + 1, status="")
        study = run_mc_dc(
            s, seed_values, replicas=replicas, widths=ws, devices=devs,
            corner=corner, temperature=temperature, workers=workers or default_workers(),
            dask_local=dask_local, scheduler=scheduler, cache_dir=cache_dir, timeout=timeout,
            on_done=functools.partial(lambda b, t, d, n: b.update(t, completed=d), bar, task))
    study.save(out / "mismatch.json")
    mismatch_report(study).write(out)
    for key, f in study.fits.items():
        click.echo(f"{key}: A = {100 * f['a_um']:.2f} %·µm (σ(ln I) = A/√(W·L)), residual RMS "
                   f"{100 * f['rel_residual_rms']:.1f} %, g_m/I = {f['gm_over_i_per_V']:.1f} /V")
    n_run = sum(not r["cached"] for r in study.runs)
    click.echo(f"wrote {out}/mismatch.json, report.md, report.html ({len(study.seeds)} seeds × "
               f"{study.replicas} copies; {n_run} ngspice runs, wall {study.wall_s:.1f} s)")


@click.command("corners")
@click.argument("flow_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="study folder (resumable: finished runs are cached there)")
@click.option("--corners", default="tt,ss,ff,sf,fs", show_default=True,
              help="comma-separated process corners")
@click.option("--temperatures", default="-40,27,85", show_default=True,
              help="comma-separated temperatures, °C")
@click.option("--mc-seeds", default=None,
              help="comma-separated mismatch seeds instead of the corner grid (at tt, 27 °C)")
@click.option("--trim", "knobs", type=click.IntRange(0, 2), default=1, show_default=True,
              help="per-point bias trim: 0 none, 1 both synapse biases together, 2 then the "
                   "PMOS bias on its own")
@BIAS_OPTION
@click.option("--n-test", type=click.IntRange(min=1), default=None,
              help="test samples (default: the flow's)")
@click.option("--n-trim", type=click.IntRange(min=1), default=10, show_default=True,
              help="training samples the trim is chosen on")
@click.option("--networks", type=click.Choice(["both", "bottom_up", "top_down"]),
              default="both", show_default=True, help="which written-back networks to run")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="parallel ngspice runs (default: one per core)")
def corners(flow_dir: Path, out: Path, corners: str, temperatures: str, mc_seeds: str | None,
            knobs: int, bias: str, n_test: int | None, n_trim: int, networks: str,
            workers: int | None) -> None:
    """A finished flow's written-back networks (bottom-up and top-down) on the test set at
    every corner × temperature (or mismatch instance), untrimmed and with a per-point synapse
    bias trim chosen on training samples; resumable."""
    from imcflow.sim.executors import default_workers  # noqa: PLC0415
    from imcflow.variation.study import corner_study  # noqa: PLC0415
    from imcflow.variation.sweep import mc_points, pvt_points  # noqa: PLC0415

    if mc_seeds:
        from imcflow.netlist.models import check_mc_seed  # noqa: PLC0415

        pts = mc_points([check_mc_seed(s) for s in _ints(mc_seeds, "mc-seeds")])
    else:
        pts = pvt_points(_strs(corners), _floats(temperatures, "temperatures"))
    with progress.progress() as bar:
        task = bar.add_task("corner study", total=None, status="")
        kinds = ("bottom_up", "top_down") if networks == "both" else (networks,)
        study = corner_study(flow_dir, out, pts, kinds=kinds, knobs=knobs, n_test=n_test,
                             n_trim=n_trim, workers=workers or default_workers(), bias=bias,
                             on_progress=lambda what: bar.update(task, status=what))
    for kind, net in study["networks"].items():
        for r in net["rows"]:
            u = r["untrimmed"]
            line = f"{kind:<10} {r['label']:<16} acc {_pct_or_dash(u.get('spice_acc'))}"
            if r.get("trimmed"):
                line += (f"  trim {1e3 * r['trim_n_V']:+.0f} / {1e3 * r['trim_p_V']:+.0f} mV → acc "
                         f"{_pct_or_dash(r['trimmed'].get('spice_acc'))}")
            click.echo(line)
    click.echo(f"wrote {out}/study.json, report.md, report.html (wall {study['wall_s']:.0f} s)")


def _pct_or_dash(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f} %"


COMMANDS = [mismatch, pvt, mc, corners]
