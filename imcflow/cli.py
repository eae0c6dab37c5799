"""The ``imcflow`` command line: a thin click group. Each stage contributes its commands.

Errors the user can cause (:class:`imcflow.errors.ImcflowError`, click usage errors) print one line
and exit non-zero; no traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from imcflow import __version__
from imcflow.errors import ImcflowError

# Stage modules that define click commands; each exposes ``COMMANDS`` (a list of click commands).
_STAGE_CLIS: tuple[str, ...] = (
    "imcflow.crosspoint.cli",
    "imcflow.train.cli",
    "imcflow.spec_cli",
    "imcflow.pdk.cli",
    "imcflow.netlist.cli",
    "imcflow.layout.cli",
    "imcflow.extract.cli",
    "imcflow.signoff.cli",
    "imcflow.sim.cli",
    "imcflow.flow.cli",
    "imcflow.variation.cli",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imcflow")
def cli() -> None:
    """imcflow: co-design of charge-domain analog in-memory computing circuits (sky130)."""


def _register() -> None:
    for name in _STAGE_CLIS:
        module = importlib.import_module(name)
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI, map user errors to a one-line message."""
    try:
        cli.main(args=argv, prog_name="imcflow", standalone_mode=False)
    except ImcflowError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except FileNotFoundError as exc:
        click.echo(f"error: file not found: {exc.filename}", err=True)
        return 2
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"error: {exc.strerror or exc}{where}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
