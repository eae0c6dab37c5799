"""``imcflow pdk``: what the PDK object holds, and the KLayout layer-properties file."""

from __future__ import annotations

from pathlib import Path

import click

from imcflow import atomicio


@click.group("pdk")
def pdk_group() -> None:
    """The sky130 data imcflow uses (layers, device roles, wire styles, .lyp)."""


@pdk_group.command("info")
def info() -> None:
    """Print the data folder, device roles → models, wire styles and layers."""
    from imcflow.pdk import get

    p = get()
    click.echo(f"data: {p.data_dir}")
    click.echo("roles:")
    for name, role in p.roles.items():
        click.echo(f"  {name:<9} {role.model}")
    click.echo("wire styles (layer, width, spacing µm):")
    for cls, w in p.wire_styles.items():
        click.echo(f"  {cls:<9} {w.layer:<5} {w.width_um:g} {w.spacing_um:g}")
    click.echo("layers: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in p.layers.items()))
    click.echo(f"layer properties: {p.lyp}")


@pdk_group.command("lyp")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write a copy here (default: print the shipped file's path)")
def lyp(out: Path | None) -> None:
    """The KLayout layer-properties file for imcflow's layers (klayout -l FILE design.gds)."""
    from imcflow.pdk import get

    src = get().lyp
    if out is None:
        click.echo(str(src))
        return
    atomicio.write_bytes(out, src.read_bytes())
    click.echo(f"wrote {out}")


COMMANDS = [pdk_group]
