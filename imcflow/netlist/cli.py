"""``imcflow netlist``: write the SPICE netlist and a testbench of a spec."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from imcflow import atomicio
from imcflow import spec as specmod
from imcflow.errors import SpecError
from imcflow.netlist.cells import network_subckts
from imcflow.netlist.testbench import build_transient


def parse_pattern(text: str, n_inputs: int) -> np.ndarray:
    """Comma-separated normalised spike times ('inf' = no spike) → array [n_inputs]."""
    try:
        values = np.array([float(tok) for tok in text.split(",")], dtype=float)
    except ValueError:
        raise SpecError(f"pattern {text!r}: expected comma-separated numbers or 'inf'") from None
    if values.shape[0] != n_inputs:
        raise SpecError(f"pattern has {values.shape[0]} values, the network has {n_inputs} inputs")
    if np.any(np.isnan(values)) or np.any(values < 0):
        raise SpecError("pattern spike times must be >= 0 (inf = no spike)")
    return values


@click.command("netlist")
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("netlists/demo"), show_default=True)
@click.option("--pattern", default=None,
              help="input spike times for the testbench, e.g. '0.1,0.5,inf,0.3,0' "
                   "(default: every input at t = 0)")
@click.option("--corner", default=None, help="process corner (default: the spec's)")
@click.option("--mc-seed", type=int, default=None,
              help="testbench of this seeded Monte-Carlo mismatch instance (default: nominal)")
def netlist(spec_file: Path, out_dir: Path, pattern: str | None, corner: str | None,
            mc_seed: int | None) -> None:
    """Write <name>.spice (subcircuits) and <name>_tb.spice (transient testbench)."""
    s = specmod.load(spec_file)
    pat = (np.zeros(s.n_inputs) if pattern is None else parse_pattern(pattern, s.n_inputs))
    tb = build_transient(s, pat, corner=corner, mc_seed=mc_seed)
    net_path = out_dir / f"{s.name}.spice"
    tb_path = out_dir / f"{s.name}_tb.spice"
    atomicio.write_text(net_path, network_subckts(s))
    atomicio.write_text(tb_path, tb.text)
    click.echo(f"wrote {net_path} and {tb_path}")


COMMANDS = [netlist]
