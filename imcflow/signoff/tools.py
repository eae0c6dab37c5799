"""The external sign-off programs: where they are and which version they are.

Each is looked up on ``PATH``: the KLayout application ``klayout`` (Debian's package; the pip
``klayout`` module has no Ruby engine and cannot run DRC decks), ``magic`` (≥ 8.3.411: older
releases cannot read the current sky130A tech file) and netgen (``netgen-lvs`` or ``netgen``).
A program that is missing or too old is reported with the reason, never as an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from imcflow.errors import ImcflowError

#: Oldest magic that reads the open_pdks sky130A tech file.
MAGIC_MIN = (8, 3, 411)
VERSION_TIMEOUT_S = 60


class ToolFailed(ImcflowError):
    """An external sign-off tool ran but did not finish (crash, error, timeout)."""

    exit_code = 3


@dataclass(frozen=True)
class Tool:
    """A program found on PATH (``path``, ``version``), or why not (``missing``)."""

    name: str
    path: str | None = None
    version: str | None = None
    missing: str | None = None

    @property
    def available(self) -> bool:
        return self.missing is None

    def provenance(self) -> dict[str, str | None]:
        return {"path": self.path, "version": self.version, "not_available": self.missing}


def _run_version(argv: list[str]) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"?({type(exc).__name__})"
    return (r.stdout + r.stderr).strip()


def _version_tuple(text: str) -> tuple[int, ...] | None:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


def klayout() -> Tool:
    """The KLayout application (``klayout -v`` → ``KLayout 0.28.5``)."""
    path = shutil.which("klayout")
    if path is None:
        return Tool("klayout", missing="the KLayout application (klayout) is not on PATH")
    text = _run_version([path, "-v"])
    m = re.search(r"KLayout\s+(\S+)", text)
    if not m:
        return Tool("klayout", path, missing=f"{path} -v did not report a KLayout version")
    return Tool("klayout", path, m.group(1))


def magic() -> Tool:
    """magic ≥ 8.3.411 (``magic --version`` → ``8.3.677``)."""
    path = shutil.which("magic")
    if path is None:
        return Tool("magic", missing="magic is not on PATH")
    text = _run_version([path, "--version"])
    ver = _version_tuple(text)
    if ver is None:
        return Tool("magic", path, missing=f"{path} --version did not report a version")
    version = ".".join(map(str, ver))
    if ver < MAGIC_MIN:
        return Tool("magic", path, version,
                    missing=f"magic {version} is older than {'.'.join(map(str, MAGIC_MIN))} "
                            "(it cannot read the sky130A tech file)")
    return Tool("magic", path, version)


def netgen() -> Tool:
    """netgen LVS: ``netgen-lvs`` (Debian's name; there ``netgen`` is a mesh generator) or
    ``netgen``; its banner, ``Netgen 1.5.xxx``, gives the version."""
    path = shutil.which("netgen-lvs") or shutil.which("netgen")
    if path is None:
        return Tool("netgen", missing="netgen (netgen-lvs) is not on PATH")
    text = _run_version([path, "-batch", "quit"])
    m = re.search(r"Netgen\s+(?:version\s+)?(\d+\.\d+(?:\.\d+)?)", text, re.IGNORECASE)
    if not m:
        return Tool("netgen", path, missing=f"{path} did not report a Netgen version")
    return Tool("netgen", path, m.group(1))
