"""User-facing errors.

Every error a user can cause (bad spec, missing file, ngspice failure, ...) is raised as an
:class:`ImcflowError` subclass. The CLI turns these into a one-line message and a non-zero exit;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ImcflowError(Exception):
    """Base class of errors that are the user's input or environment, not a bug."""

    exit_code = 2


class SpecError(ImcflowError, ValueError):
    """The design spec is malformed or out of range (the message names the field)."""


class PDKError(ImcflowError):
    """The sky130 PDK data or model library cannot be found or read."""


class SimulationError(ImcflowError):
    """ngspice failed: parse error, non-convergence, crash or timeout."""

    exit_code = 3


class SimulationTimeout(SimulationError):
    """ngspice ran past its hard timeout and was killed."""


class DataError(ImcflowError):
    """A data file (dataset, IDX, GDS, checkpoint) is missing or corrupt."""


class FitError(ImcflowError):
    """A fit cannot be trusted (not identifiable, or residuals above the stated limit): the flow
    stops rather than train on it."""

    exit_code = 4
