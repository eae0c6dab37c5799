"""External sign-off of a GDS with the PDK's own decks, when the tools are installed.

Three independent checks, each run only when its program and its PDK file are present (else one
"not available" line with the reason — never a failure):

* **DRC** — the official KLayout deck (:mod:`.klayout_drc`), every rule group on;
* **PEX** — magic's net capacitances beside imcflow's (:mod:`.magic_pex`);
* **LVS** — netgen, the layout netlist against the spec's circuit (:mod:`.netgen_lvs`).

Everything lands in one folder with ``signoff.json``: per check its status and results, and a
provenance record (imcflow version, the GDS's sha256, the PDK root and open_pdks build record,
each tool's path and version, each deck's or tech file's path and sha256, the rule groups).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imcflow import __version__, atomicio
from imcflow.errors import ImcflowError
from imcflow.extract.gds import load
from imcflow.signoff import install, tools
from imcflow.signoff.klayout_drc import GROUPS, run_deck
from imcflow.signoff.magic_pex import run_magic
from imcflow.signoff.netgen_lvs import run_netgen
from imcflow.spec import DesignSpec

DEFAULT_TIMEOUT_S = 1800.0


@dataclass
class Check:
    """One check: ``status`` is ``ok``, ``findings`` (violations / mismatch), ``failed`` (the
    tool did not finish) or ``not available``; ``line`` says it in one line."""

    name: str
    status: str
    line: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SignoffReport:
    """All checks of one GDS, the provenance record and the output folder."""

    gds: str
    top: str
    out_dir: str
    checks: list[Check]
    provenance: dict[str, Any]

    @property
    def passed(self) -> bool:
        """No check found a problem or failed (unavailable checks do not count)."""
        return all(c.status in ("ok", "not available") for c in self.checks)

    def text(self) -> str:
        lines = [f"sign-off of {self.gds} (cell {self.top})"]
        lines += [f"  {c.name:<12} {c.status}: {c.line}" for c in self.checks]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"gds": self.gds, "top": self.top, "passed": self.passed,
                "checks": [{"name": c.name, "status": c.status, "summary": c.line, **c.data}
                           for c in self.checks],
                "provenance": self.provenance}


def _unavailable(name: str, why: str) -> Check:
    return Check(name, "not available", why)


def _drc(inst: install.PdkInstall | None, kl: tools.Tool, gds: Path, top: str, out: Path,
         timeout_s: float) -> Check:
    name = "klayout DRC"
    if inst is None:
        return _unavailable(name, "no PDK root (--pdk-root or $PDK_ROOT)")
    if inst.drc_deck is None:
        return _unavailable(name, inst.why_missing("drc_deck"))
    if not kl.available:
        return _unavailable(name, kl.missing or "")
    try:
        res = run_deck(kl.path or "klayout", inst.drc_deck, gds, top, out / "drc", timeout_s)
    except tools.ToolFailed as exc:
        return Check(name, "failed", str(exc))
    return Check(name, "ok" if res.clean else "findings",
                 f"{Path(res.deck).name}: {res.line()}",
                 {"deck": res.deck, "groups": list(GROUPS), "rule_categories": res.rules,
                  "violations": res.violations, "report": res.report, "log": res.log,
                  "seconds": round(res.seconds, 2)})


def _imcflow_caps(gds: Path, top: str) -> dict[str, float]:
    from imcflow.extract.postlayout import extract_design

    post = extract_design(load(gds, top))
    caps = post.parasitics.by_name() if post.parasitics is not None else {}
    return {k: v * 1e15 for k, v in caps.items()}


def _pex(inst: install.PdkInstall | None, mg: tools.Tool, gds: Path, top: str, out: Path,
         timeout_s: float) -> tuple[Check, Path | None]:
    name = "magic PEX"
    if inst is None:
        return _unavailable(name, "no PDK root (--pdk-root or $PDK_ROOT)"), None
    if inst.magic_tech is None:
        return _unavailable(name, inst.why_missing("magic_tech")), None
    if not mg.available:
        return _unavailable(name, mg.missing or ""), None
    try:
        res = run_magic(mg.path or "magic", inst.magic_tech, gds, top, out / "magic", timeout_s)
    except tools.ToolFailed as exc:
        return Check(name, "failed", str(exc)), None
    res.imcflow_fF = _imcflow_caps(gds, top)
    lvs = Path(res.lvs_spice) if res.lvs_spice else None
    return Check(name, "ok", res.line(), {"tech": str(inst.magic_tech), "nets": res.rows(),
                                          "netlist": res.spice, "log": res.log,
                                          "seconds": round(res.seconds, 2)}), lvs


def _lvs(inst: install.PdkInstall | None, ng: tools.Tool, gds: Path, top: str,
         spec: DesignSpec | None, magic_lvs: Path | None, out: Path, timeout_s: float) -> Check:
    name = "netgen LVS"
    if spec is None:
        return _unavailable(name, "no spec to compare with (--spec)")
    if inst is None:
        return _unavailable(name, "no PDK root (--pdk-root or $PDK_ROOT)")
    if inst.netgen_setup is None:
        return _unavailable(name, inst.why_missing("netgen_setup"))
    if not ng.available:
        return _unavailable(name, ng.missing or "")
    from imcflow.circuit import rcspike
    from imcflow.extract.postlayout import extract
    from imcflow.netlist.cells import render_flat

    folder = out / "netgen"
    folder.mkdir(parents=True, exist_ok=True)
    schematic = folder / "schematic.spice"
    atomicio.write_text(schematic, render_flat(rcspike.network(spec)))
    cell = f"imc_net_{spec.name}"
    if magic_lvs is not None and magic_lvs.is_file():
        layout, layout_cell, source = magic_lvs, f"{top}_flat", "magic"
    else:
        layout = folder / "layout.spice"
        atomicio.write_text(layout, extract(gds, rcspike.network_ports(spec), top=top,
                                            subckt=top, parasitics=False))
        layout_cell, source = top, "imcflow's extraction"
    try:
        res = run_netgen(ng.path or "netgen", inst.netgen_setup, layout, layout_cell, schematic,
                         cell, source, folder, timeout_s)
    except tools.ToolFailed as exc:
        return Check(name, "failed", str(exc))
    return Check(name, "ok" if res.match else "findings", res.line(),
                 {"setup": str(inst.netgen_setup), "match": res.match, "verdict": res.verdict,
                  "layout_netlist": str(layout), "schematic": str(schematic),
                  "report": res.report, "log": res.log, "seconds": round(res.seconds, 2)})


def signoff(gds: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
            spec: DesignSpec | None = None, pdk_root: str | os.PathLike[str] | None = None,
            top: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> SignoffReport:
    """Run every available external check on ``gds``; write ``<out_dir>/signoff.json``."""
    if timeout_s <= 0:
        raise ImcflowError(f"timeout must be positive, got {timeout_s:g} s")
    path = Path(gds)
    design = load(path, top)                      # readable, one top cell, known layers
    top_name = design.top_name
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = install.pdk_root(pdk_root)
    inst = install.find(root) if root is not None else None
    kl, mg, ng = tools.klayout(), tools.magic(), tools.netgen()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    drc = _drc(inst, kl, path, top_name, out, timeout_s)
    pex, magic_lvs = _pex(inst, mg, path, top_name, out, timeout_s)
    lvs = _lvs(inst, ng, path, top_name, spec, magic_lvs, out, timeout_s)
    provenance = {
        "imcflow": __version__, "python": platform.python_version(), "started_utc": started,
        "gds": {"path": str(path.resolve()), "sha256": install.sha256(path), "top": top_name},
        "spec": None if spec is None else {"name": spec.name},
        "pdk": None if inst is None else inst.provenance(),
        "tools": {t.name: t.provenance() for t in (kl, mg, ng)},
        "drc_groups": list(GROUPS),
    }
    report = SignoffReport(gds=str(path), top=top_name, out_dir=str(out),
                           checks=[drc, pex, lvs], provenance=provenance)
    atomicio.write_json(out / "signoff.json", report.to_dict())
    atomicio.write_text(out / "signoff.txt", report.text())
    return report
