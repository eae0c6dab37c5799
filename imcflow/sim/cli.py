"""``imcflow simulate``, ``imcflow characterize``, ``imcflow dc``: the ngspice stages."""

from __future__ import annotations

import math
from pathlib import Path

import click
import numpy as np

from imcflow import atomicio, progress
from imcflow import spec as specmod
from imcflow.errors import SpecError
from imcflow.netlist.cli import parse_pattern
from imcflow.netlist.testbench import build_transient, stimuli
from imcflow.sim import extract
from imcflow.sim.engines import DEFAULT_TIMEOUT, ENGINES, make_engine

_engine_opt = click.option("--engine", type=click.Choice(ENGINES), default="shared",
                           show_default=True, help="ngspice engine")
_corner_opt = click.option("--corner", default=None, help="process corner (default: the spec's)")
_temp_opt = click.option("--temperature", type=float, default=None,
                         help="temperature in °C (default: the spec's)")
_timeout_opt = click.option("--timeout", type=click.FloatRange(min=0.01), default=DEFAULT_TIMEOUT,
                            show_default=True, help="hard timeout per ngspice run, s")
_mc_seed_opt = click.option("--mc-seed", type=int, default=None,
                            help="simulate this seeded Monte-Carlo mismatch instance "
                                 "(1 ≤ seed < 2^31; default: nominal devices)")
_subckts_opt = click.option("--subckts", type=click.Path(dir_okay=False, path_type=Path),
                            default=None, help="SPICE file replacing the generated network "
                            "subcircuits (e.g. post-layout extraction)")


def _read_subckts(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"subcircuit file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read subcircuit file {path}: {exc}") from None


@click.command("simulate")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pattern", required=True,
              help="input spike times, normalised, e.g. '0.1,0.5,inf,0.3,0' (inf = no spike)")
@_engine_opt
@_corner_opt
@_temp_opt
@_subckts_opt
@_timeout_opt
@_mc_seed_opt
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the waveforms (time, saved vectors) to this .npz")
def simulate(spec_file: Path, pattern: str, engine: str, corner: str | None,
             temperature: float | None, subckts: Path | None, timeout: float,
             mc_seed: int | None, out: Path | None) -> None:
    """Simulate one input pattern and print every layer's output spike times."""
    s = specmod.load(spec_file)
    pat = parse_pattern(pattern, s.n_inputs)
    tb = build_transient(s, pat, corner=corner, temperature=temperature,
                         subckts=_read_subckts(subckts), mc_seed=mc_seed)
    with make_engine(engine, tb.text, tb.vectors, timeout=timeout) as eng:
        res = eng.run(stimuli(s, pat))
    layers, charge = extract.observables(s, res, n_grid=None)
    for layer, obs in zip(s.layers, layers, strict=True):
        times = ", ".join(f"{t:.6f}" if f else "none" for t, f in
                          zip(obs.t_out, obs.fired, strict=True))
        click.echo(f"{layer.name}: t_out = [{times}]")
    click.echo(f"supply charge = {charge:.4e} C, energy = {charge * s.vdd:.4e} J")
    if res.analysis_s is not None:
        click.echo(f"ngspice analysis {res.analysis_s:.3f} s, wall {res.wall_s:.3f} s")
    if out is not None:
        arrays = {k.replace("(", "_").replace(")", ""): v for k, v in res.vectors.items()}

        def writer(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]

        atomicio.write_with(out, writer)
        click.echo(f"wrote {out}")


@click.command("characterize")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--patterns", "n_patterns", type=click.IntRange(min=1), default=64,
              show_default=True, help="number of random spike patterns")
@click.option("--seed", type=int, default=0, show_default=True, help="pattern seed")
@click.option("--p-spike", type=click.FloatRange(0.0, 1.0), default=0.8, show_default=True,
              help="probability that an input spikes (at a uniform time in [0, 1))")
@_engine_opt
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="parallel ngspice workers (default: one per core)")
@click.option("--dask-local", is_flag=True, help="run on a local Dask cluster of --workers "
              "single-threaded processes")
@click.option("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
@_corner_opt
@_temp_opt
@_subckts_opt
@click.option("--post-layout", is_flag=True,
              help="lay out the spec, check DRC/LVS, extract it and simulate the extracted "
                   "netlist (devices + parasitic capacitance)")
@click.option("--grid", type=click.IntRange(min=2), default=201, show_default=True,
              help="membrane samples per layer over accumulate + fire")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".imcflow-cache"), show_default=True)
@_timeout_opt
@_mc_seed_opt
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
              help="output folder (gets characterization.npz) or a .npz path")
def characterize_cmd(spec_file: Path, n_patterns: int, seed: int, p_spike: float, engine: str,
                     workers: int | None, dask_local: bool, scheduler: str | None,
                     corner: str | None, temperature: float | None, subckts: Path | None,
                     post_layout: bool, grid: int, cache_dir: Path, timeout: float,
                     mc_seed: int | None, out: Path) -> None:
    """Simulate N seeded random spike patterns; write one dataset (cached, resumable)."""
    from imcflow.sim import characterize as charmod  # noqa: PLC0415
    from imcflow.sim.executors import default_workers  # noqa: PLC0415

    if dask_local and scheduler:
        raise SpecError("give either --dask-local or --scheduler, not both")
    if post_layout and subckts is not None:
        raise SpecError("give either --post-layout or --subckts, not both")
    s = specmod.load(spec_file)
    sub = _read_subckts(subckts)
    if post_layout:
        from imcflow.extract.signoff import post_layout as run_post_layout  # noqa: PLC0415

        folder = out if out.suffix != ".npz" else out.parent
        pl = run_post_layout(s, folder / "layout")
        sub = Path(pl.spice).read_text()
        click.echo(f"post-layout: {pl.gds} (DRC clean, LVS {pl.lvs_devices} devices) → "
                   f"{pl.spice}")
    k = workers or default_workers()
    with progress.progress() as bar:
        task = bar.add_task(f"characterize {s.name}", total=n_patterns, status="")

        def on_result(idx: int, done: int, total: int) -> None:
            bar.update(task, completed=done, status="resumed" if idx < 0 else "")

        result = charmod.characterize(
            s, n_patterns, seed=seed, p_spike=p_spike, engine=engine, workers=k,
            dask_local=dask_local, scheduler=scheduler, corner=corner, temperature=temperature,
            subckts=sub, n_grid=grid, cache_dir=cache_dir, timeout=timeout, on_result=on_result,
            mc_seed=mc_seed)
        bar.update(task, completed=n_patterns, status="cached" if result.cache_hit else "done")
    dest = charmod.export(result, out)
    how = ("cache hit" if result.cache_hit else
           f"{result.n_simulated} simulated, {result.n_resumed} resumed")
    click.echo(f"wrote {dest} ({n_patterns} patterns; {how})")


@click.command("dc")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--widths", default=None,
              help="comma-separated current-source widths in µm (default 0.42,0.5,1,1.5,2,4)")
@_corner_opt
@_temp_opt
@click.option("--sweep", default=None,
              help="membrane sweep start,stop,step in V (default 0 … VDD in 10 mV steps)")
@_timeout_opt
@_mc_seed_opt
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
              help="output folder (gets dc.npz) or a .npz path")
def dc_cmd(spec_file: Path, widths: str | None, corner: str | None,
           temperature: float | None, sweep: str | None, timeout: float, mc_seed: int | None,
           out: Path) -> None:
    """DC sweeps: I_D versus membrane voltage of synapse (n, p) and discharger devices."""
    from imcflow.sim.dc import dc_characterize, load_dc  # noqa: PLC0415

    s = specmod.load(spec_file)
    ws = parse_floats(widths, "widths") if widths else None
    sw = parse_floats(sweep, "sweep") if sweep else None
    if sw is not None and len(sw) != 3:
        raise SpecError("--sweep needs start,stop,step")
    dest = dc_characterize(s, out, widths=ws, corner=corner, temperature=temperature,
                           sweep=(sw[0], sw[1], sw[2]) if sw else None, timeout=timeout,
                           mc_seed=mc_seed)
    ds = load_dc(dest)
    for (layer, dev), lam in ds.lam.items():
        lams = ", ".join(f"{x:.3f}" for x in lam)
        click.echo(f"{layer} {dev}: λ ≈ [{lams}] 1/V at W = "
                   + ", ".join(f"{w:g}" for w in ds.widths[(layer, dev)]) + " µm")
    click.echo(f"wrote {dest}")


def parse_floats(text: str, what: str) -> list[float]:
    """Comma-separated finite numbers of option ``--what``; :class:`SpecError` otherwise."""
    try:
        vals = [float(tok) for tok in text.split(",")]
    except ValueError:
        raise SpecError(f"--{what} {text!r}: expected comma-separated numbers") from None
    if not all(math.isfinite(v) for v in vals):
        raise SpecError(f"--{what}: values must be finite")
    return vals


COMMANDS = [simulate, characterize_cmd, dc_cmd]
