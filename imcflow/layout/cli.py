"""``imcflow layout``: GDS (and PNG render) of a design spec."""

from __future__ import annotations

from pathlib import Path

import click

from imcflow import spec as specmod


@click.command("layout")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("layouts/demo"), show_default=True,
              help="folder for <name>.gds and <name>.png")
@click.option("--name", default=None, help="file stem (default: the spec's name)")
def layout(spec_file: Path, out_dir: Path, name: str | None) -> None:
    """Draw the sky130 layout of SPEC_FILE: GDS (byte-identical for the same spec) and PNG."""
    from imcflow.layout import write

    s = specmod.load(spec_file)
    if name is not None:
        specmod.check_identifier(name, "--name")
    files = write(s, out_dir, name=name)
    click.echo(f"wrote {files.gds} and {files.png} (area {files.area_um2:,.1f} µm²)")


COMMANDS = [layout]
