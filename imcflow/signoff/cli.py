"""``imcflow signoff``: the PDK's official DRC deck, magic and netgen on a GDS, when installed."""

from __future__ import annotations

from pathlib import Path

import click

from imcflow import spec as specmod
from imcflow.errors import ImcflowError


@click.command("signoff")
@click.argument("gds", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pdk-root", type=click.Path(path_type=Path), default=None,
              help="open_pdks root holding sky130A (default: $PDK_ROOT)")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="design spec: netgen LVS compares the layout with its circuit")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder for reports and signoff.json (default: <gds stem>_signoff beside it)")
@click.option("--top", default=None, help="top cell (default: the GDS's single top cell)")
@click.option("--timeout", "timeout_s", type=float, default=1800.0, show_default=True,
              help="limit per tool, seconds")
def signoff_cmd(gds: Path, pdk_root: Path | None, spec_file: Path | None, out_dir: Path | None,
                top: str | None, timeout_s: float) -> None:
    """Sign GDS off with the PDK's own tools: the official KLayout DRC deck (all rule groups),
    magic's net capacitances beside imcflow's, netgen LVS against --spec. A tool or PDK file
    that is missing gives a "not available" line; violations, a mismatch or a tool that fails
    give a non-zero exit."""
    from imcflow.signoff import signoff

    spec = specmod.load(spec_file) if spec_file is not None else None
    out = out_dir if out_dir is not None else gds.parent / f"{gds.stem}_signoff"
    report = signoff(gds, out, spec=spec, pdk_root=pdk_root, top=top, timeout_s=timeout_s)
    click.echo(report.text(), nl=False)
    click.echo(f"wrote {Path(report.out_dir) / 'signoff.json'}")
    bad = [c for c in report.checks if c.status in ("findings", "failed")]
    if bad:
        raise ImcflowError("sign-off: " + "; ".join(f"{c.name} {c.status}" for c in bad))


COMMANDS = [signoff_cmd]
