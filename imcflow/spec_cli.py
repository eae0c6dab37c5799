"""``imcflow spec init|validate|show``: create and check design specs."""

from __future__ import annotations

from pathlib import Path

import click

from imcflow import spec as specmod
from imcflow.errors import SpecError


@click.group("spec")
def spec() -> None:
    """Create, validate and inspect design specs (JSON)."""


@spec.command("init")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("spec.json"), show_default=True, help="spec file to write")
@click.option("--seed", type=int, default=0, show_default=True,
              help="seed of the demo's placeholder widths")
@click.option("--force", is_flag=True, help="overwrite an existing file")
def init(output: Path, seed: int, force: bool) -> None:
    """Write the embedded demo spec (Iris-sized 5-5-3 RC-Spike network, T = 1 µs)."""
    if output.exists() and not force:
        raise SpecError(f"{output} exists (use --force to overwrite)")
    specmod.save(specmod.default_spec(seed), output)
    click.echo(f"wrote {output}")


@spec.command("validate")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
def validate(spec_file: Path) -> None:
    """Check SPEC_FILE; print its shape or a one-line error naming the bad field."""
    s = specmod.load(spec_file)
    n_syn = sum(sum(1 for row in layer.width_um for w in row if w != 0) for layer in s.layers)
    click.echo(f"{spec_file}: ok — {s.name}, shape {'-'.join(map(str, s.shape))}, "
               f"{n_syn} synapses, T = {s.T:g} s, corner {s.corner}")


@spec.command("fields")
def fields() -> None:
    """List every spec field with its unit, allowed range and meaning."""
    for cls in (specmod.DesignSpec, specmod.SynapseDesign, specmod.NeuronDesign,
                specmod.LayerSpec):
        click.echo(f"{cls.__name__}:")
        for name, unit, rng, doc in specmod.field_docs(cls):
            click.echo(f"  {name:<12} {unit:<3} {rng:<16} {doc}")


COMMANDS = [spec]
