"""``imcflow drc``, ``imcflow extract``, ``imcflow lvs``: physical verification of a GDS."""

from __future__ import annotations

from pathlib import Path

import click

from imcflow import atomicio
from imcflow import spec as specmod
from imcflow.errors import ImcflowError

_GDS = click.argument("gds", type=click.Path(dir_okay=False, path_type=Path))
_TOP = click.option("--top", default=None, help="top cell (default: the GDS's single top cell)")


def _write_report(path: Path | None, text: str, data: dict) -> None:
    if path is None:
        return
    if path.suffix == ".json":
        atomicio.write_json(path, data)
    else:
        atomicio.write_text(path, text)


@click.command("drc")
@click.argument("gds", type=click.Path(dir_okay=False, path_type=Path), required=False)
@_TOP
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="report file (.json for JSON, else text)")
@click.option("--rules", "show_rules", is_flag=True,
              help="print the rule table's coverage (each rule implemented or excluded, and "
                   "why) instead of checking a GDS")
def drc_cmd(gds: Path | None, top: str | None, out: Path | None, show_rules: bool) -> None:
    """Check GDS against the sky130 periphery rules (imcflow/pdk/data/drc_rules.yaml);
    non-zero exit on violations."""
    from imcflow.extract.drc import coverage_text, drc

    if show_rules:
        text = coverage_text()
        if out is not None:
            atomicio.write_text(out, text)
        click.echo(text, nl=False)
        return
    if gds is None:
        raise click.UsageError("give a GDS file to check (or --rules for the rule coverage)")
    report = drc(gds, top)
    _write_report(out, report.text(), report.to_dict())
    click.echo(report.text(), nl=False)
    if not report.clean:
        raise ImcflowError(f"DRC: {report.total} violation(s) of "
                           f"{len(report.violations)} rule(s)")


@click.command("extract")
@_GDS
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="post-layout SPICE file to write")
@_TOP
@click.option("--ports", default=None,
              help="comma-separated port order (net labels); default: every label, sorted")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="take the subckt name and port order from this spec")
@click.option("--subckt", default=None, help="subckt name (default: top cell, or imc_net_<spec>)")
@click.option("--no-parasitics", is_flag=True, help="devices only")
@click.option("--resistance", is_flag=True,
              help="add a lumped wire resistor in series with every port")
def extract_cmd(gds: Path, out: Path, top: str | None, ports: str | None,
                spec_file: Path | None, subckt: str | None, no_parasitics: bool,
                resistance: bool) -> None:
    """Extract devices and parasitics from GDS into a post-layout .subckt."""
    from imcflow.extract.postlayout import extract

    port_list = [p.strip() for p in ports.split(",") if p.strip()] if ports else None
    if spec_file is not None:
        from imcflow.netlist.cells import network_ports

        s = specmod.load(spec_file)
        port_list = port_list or network_ports(s)
        subckt = subckt or f"imc_net_{s.name}"
    text = extract(gds, port_list, top=top, subckt=subckt, parasitics=not no_parasitics,
                   resistance=resistance)
    atomicio.write_text(out, text)
    n_dev = sum(1 for line in text.splitlines() if line.startswith("X"))
    n_par = sum(1 for line in text.splitlines() if line[:2] in ("Cp", "Rp"))
    click.echo(f"wrote {out}: {n_dev} devices, {n_par} parasitic elements")


@click.command("lvs")
@_GDS
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@_TOP
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="report file (.json for JSON, else text)")
def lvs_cmd(gds: Path, spec_file: Path, top: str | None, out: Path | None) -> None:
    """Compare the devices and nets of GDS with the spec's schematic; non-zero exit on a
    mismatch."""
    from imcflow.extract.lvs import lvs

    report = lvs(gds, specmod.load(spec_file), top)
    _write_report(out, report.text(), report.to_dict())
    click.echo(report.text(), nl=False)
    if not report.match:
        raise ImcflowError(f"LVS: mismatch ({len(report.issues)} issue(s))")


COMMANDS = [drc_cmd, extract_cmd, lvs_cmd]

