"""Finding an open_pdks sky130A install: the official decks and tech files, by their install paths.

open_pdks installs the variant as ``<PDK_ROOT>/sky130A`` (``make install`` into
``<prefix>/share/pdk``; volare links ``<PDK_ROOT>/sky130A`` to its version folder). Inside it,
open_pdks' ``sky130/Makefile`` puts

* the MPW-precheck KLayout DRC deck at ``libs.tech/klayout/drc/sky130A_mr.drc``,
* magic's tech file at ``libs.tech/magic/sky130A.tech``,
* netgen's LVS setup at ``libs.tech/netgen/sky130A_setup.tcl`` (also linked as ``setup.tcl``),
* the build record at ``.config/nodeinfo.json`` (open_pdks version and commits).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imcflow.errors import ImcflowError

VARIANT = "sky130A"
#: Environment variable that names the PDK root when ``--pdk-root`` is not given.
PDK_ROOT_ENV = "PDK_ROOT"

DRC_DECK = ("libs.tech/klayout/drc/sky130A_mr.drc",)
MAGIC_TECH = ("libs.tech/magic/sky130A.tech",)
NETGEN_SETUP = ("libs.tech/netgen/sky130A_setup.tcl", "libs.tech/netgen/setup.tcl")
NODEINFO = ".config/nodeinfo.json"


def sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class PdkInstall:
    """The sky130A folder of a PDK root and the files sign-off uses (None: not installed)."""

    root: Path
    variant_dir: Path | None
    drc_deck: Path | None
    magic_tech: Path | None
    netgen_setup: Path | None
    nodeinfo: dict[str, Any]

    def why_missing(self, what: str) -> str:
        if self.variant_dir is None:
            return f"no {VARIANT} under {self.root}"
        rel = {"drc_deck": DRC_DECK, "magic_tech": MAGIC_TECH, "netgen_setup": NETGEN_SETUP}[what]
        return f"{self.variant_dir}/{rel[0]} not found"

    def provenance(self) -> dict[str, Any]:
        files = {}
        for name in ("drc_deck", "magic_tech", "netgen_setup"):
            p = getattr(self, name)
            files[name] = None if p is None else {"path": str(p), "sha256": sha256(p)}
        return {"root": str(self.root),
                "variant_dir": str(self.variant_dir) if self.variant_dir else None,
                "open_pdks": {k: self.nodeinfo[k] for k in sorted(self.nodeinfo)
                              if isinstance(self.nodeinfo[k], str | int | float)},
                "files": files}


def _variant_dir(root: Path) -> Path | None:
    for cand in (root / VARIANT, root / "share" / "pdk" / VARIANT, root):
        if (cand / "libs.tech").is_dir():
            return cand
    return None


def _first(base: Path | None, rels: tuple[str, ...]) -> Path | None:
    if base is None:
        return None
    for rel in rels:
        p = base / rel
        if p.is_file():
            return p.resolve()
    return None


def pdk_root(option: str | os.PathLike[str] | None) -> Path | None:
    """The PDK root: ``option``, else ``$PDK_ROOT``, else None. A root that is named but is not
    a folder is the user's error."""
    raw = option if option is not None else os.environ.get(PDK_ROOT_ENV) or None
    if raw is None:
        return None
    root = Path(raw).expanduser()
    if not root.is_dir():
        src = "--pdk-root" if option is not None else f"${PDK_ROOT_ENV}"
        raise ImcflowError(f"{src} {root} is not a folder")
    return root


def find(root: Path) -> PdkInstall:
    """What of sky130A is installed under ``root``."""
    vdir = _variant_dir(root)
    info: dict[str, Any] = {}
    if vdir is not None and (vdir / NODEINFO).is_file():
        try:
            data = json.loads((vdir / NODEINFO).read_text(encoding="utf-8"))
            info = data if isinstance(data, dict) else {}
        except (OSError, ValueError, RecursionError):
            info = {}
    return PdkInstall(root=root, variant_dir=vdir, drc_deck=_first(vdir, DRC_DECK),
                      magic_tech=_first(vdir, MAGIC_TECH),
                      netgen_setup=_first(vdir, NETGEN_SETUP), nodeinfo=info)
