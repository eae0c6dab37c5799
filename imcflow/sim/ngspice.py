"""Low-level ngspice plumbing shared by the engines: deck editing, batch runs, error parsing.

* :func:`deck_with_stimuli` rewrites the PWL input sources of a testbench deck;
* :func:`netlist_hash` hashes a deck *without* its stimuli (identifies the circuit + analysis);
* :func:`run_batch` runs ``ngspice -b`` on a deck in a temporary folder with a ``.spiceinit``,
  closed stdin, a hard timeout (the whole process group is killed) and a binary raw file;
* :func:`error_reason` turns ngspice's output into a one-line reason.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imcflow import pdk
from imcflow.errors import SimulationError, SimulationTimeout
from imcflow.netlist.format import fmt
from imcflow.sim.rawfile import RawPlot, read_raw

#: A PWL input-source line of a testbench: ``Vin3 in3 0 PWL(...)`` / ``Vinb3 inb3 0 PWL(...)``.
_STIM_LINE = re.compile(r"^(V(?:in|inb)\d+)\s+(\S+)\s+(\S+)\s+PWL\(.*\)\s*$", re.IGNORECASE)

#: Phrases of ngspice output that mean the run failed (checked case-insensitively).
_FATAL = (
    "timestep too small", "singular matrix", "gmin stepping failed", "source stepping failed",
    "no convergence", "simulation(s) aborted", "unknown subckt", "unknown model",
    "could not find", "no such vector", "error:", "error on line", "fatal error",
    "can't open", "cannot open", "too few parameters", "not enough parameters",
)
#: Output lines that contain a fatal phrase but are harmless.
_HARMLESS = ("note: can't find init file", "unsupported ngspice version", "warning:")


PointList = Sequence[tuple[float, float]]


def pwl_values(points: PointList) -> str:
    """``t0 v0 t1 v1 …`` text of PWL points (s, V)."""
    return " ".join(f"{fmt(t)} {fmt(v)}" for t, v in points)


def deck_with_stimuli(text: str, stimuli: Mapping[str, PointList]) -> str:
    """``text`` with the PWL of every source named in ``stimuli`` (``vin0``, ``vinb0`` …, case
    insensitive) replaced. Raises :class:`SimulationError` if a named source is not in the deck."""
    wanted = {k.lower(): v for k, v in stimuli.items()}
    seen: set[str] = set()
    out = []
    for line in text.split("\n"):
        m = _STIM_LINE.match(line)
        if m and m.group(1).lower() in wanted:
            name = m.group(1).lower()
            seen.add(name)
            line = f"{m.group(1)} {m.group(2)} {m.group(3)} PWL({pwl_values(wanted[name])})"
        out.append(line)
    missing = sorted(set(wanted) - seen)
    if missing:
        raise SimulationError(f"the deck has no PWL source {missing[0]!r} to drive")
    return "\n".join(out)


def strip_stimuli(text: str) -> str:
    """The deck without its PWL input-source lines (what identifies the circuit)."""
    return "\n".join(line for line in text.split("\n") if not _STIM_LINE.match(line))


def netlist_hash(text: str) -> str:
    """sha256 (hex) of the deck minus its input stimuli."""
    return hashlib.sha256(strip_stimuli(text).encode("utf-8")).hexdigest()


def strip_end(text: str) -> str:
    """The deck without its final ``.end`` line (so a ``.control`` block can follow)."""
    lines = text.rstrip().split("\n")
    while lines and lines[-1].strip().lower() in (".end", ""):
        lines.pop()
    return "\n".join(lines) + "\n"


_TRAN = re.compile(r"^\s*\.tran\s+(\S+)\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15}


def _spice_number(text: str) -> float:
    m = re.fullmatch(r"([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)([a-z]*)", text.lower())
    if not m:
        raise ValueError(f"not a SPICE number: {text!r}")
    suffix = next((k for k in ("meg", "t", "g", "k", "m", "u", "n", "p", "f")
                   if m.group(2).startswith(k)), None)
    return float(m.group(1)) * (_SUFFIX[suffix] if suffix else 1.0)


def tran_stop(deck: str) -> float | None:
    """Stop time (s) of the deck's ``.tran`` analysis, or None if it has none."""
    m = _TRAN.search(deck)
    return _spice_number(m.group(2)) if m else None


def check_reached(time_s: np.ndarray, t_stop: float | None, output: Iterable[str] = ()) -> None:
    """Raise :class:`SimulationError` unless a transient's time axis reaches ``t_stop``: ngspice
    can end a run early (time step too small, no convergence) without an error status."""
    if t_stop is None:
        return
    t = np.asarray(time_s, dtype=float)
    end = float(t[-1]) if t.size else 0.0
    if end < t_stop * (1.0 - 1e-9):
        why = error_reason(output, "no error message from ngspice")
        raise SimulationError(f"the transient stopped at {end * 1e9:.4g} ns of "
                              f"{t_stop * 1e9:.4g} ns ({why})")


def _interesting(line: str) -> bool:
    low = line.strip().lower()
    if any(h in low for h in _HARMLESS):
        return False
    return low.startswith("error") or any(k in low for k in _FATAL)


def error_reason(output: Iterable[str], default: str = "ngspice failed") -> str:
    """The first line of ngspice output that explains a failure, trimmed to one line."""
    for raw in output:
        line = " ".join(raw.split())
        if line and _interesting(line):
            return line[:300]
    return default


def has_fatal(output: Iterable[str]) -> bool:
    """True if any line of ngspice output reports a failure."""
    return any(_interesting(line) for line in output)


def ngspice_executable() -> str:
    """Path of the ``ngspice`` program (``IMCFLOW_NGSPICE`` overrides); SimulationError if
    missing."""
    exe = os.environ.get("IMCFLOW_NGSPICE") or shutil.which("ngspice")
    if not exe:
        raise SimulationError("ngspice is not installed (run `make setup`)")
    return exe


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` and its process group (it was started with ``start_new_session``)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@dataclass
class BatchResult:
    """A finished ``ngspice -b`` run."""

    plot: RawPlot
    log: str
    wall_s: float
    analysis_s: float | None


_ANALYSIS = re.compile(r"(?:Transient|DC)\s+(?:analysis\s+)?time\s*=\s*([0-9.eE+-]+)",
                       re.IGNORECASE)
_TOTAL_ANALYSIS = re.compile(r"Total analysis time \(seconds\)\s*=\s*([0-9.eE+-]+)")


def parse_analysis_time(log: str) -> float | None:
    """ngspice's own analysis time (s) from ``rusage`` output, if present."""
    m = _ANALYSIS.search(log) or _TOTAL_ANALYSIS.search(log)
    return float(m.group(1)) if m else None


def run_batch(deck: str, vectors: Sequence[str], *, analysis: str | None = "trantime",
              timeout: float = 300.0, num_threads: int = 1,
              workdir: str | os.PathLike[str] | None = None) -> BatchResult:
    """Run ``ngspice -b`` on ``deck`` (no ``.control`` block) and return the saved ``vectors``.

    A ``.control`` block is appended: ``run``, ``rusage <analysis>``, ``write out.raw …``,
    ``quit``. The run happens in a fresh temporary folder (inside ``workdir`` if given) with a
    ``.spiceinit`` setting ``num_threads``; stdin is closed; past ``timeout`` seconds the process
    group is killed and :class:`SimulationTimeout` raised. Any ngspice failure raises
    :class:`SimulationError` with a one-line reason.
    """
    exe = ngspice_executable()
    control = ["", ".control", "run", *([f"rusage {analysis}"] if analysis else []),
               "write out.raw " + " ".join(vectors), "quit", ".endc", ".end", ""]
    text = strip_end(deck) + "\n".join(control)
    with tempfile.TemporaryDirectory(prefix="imcflow-ng-", dir=workdir) as tmp:
        tmp_path = Path(tmp)
        pdk.write_spiceinit(tmp_path, num_threads)
        (tmp_path / "deck.spice").write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        proc = subprocess.Popen([exe, "-b", "deck.spice"], cwd=tmp_path,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            raise SimulationTimeout(f"ngspice ran past its {timeout:g} s timeout and was "
                                    "killed") from None
        except BaseException:
            kill_group(proc)
            raise
        wall = time.perf_counter() - t0
        log = out.decode("utf-8", errors="replace")
        raw = tmp_path / "out.raw"
        lines = log.splitlines()
        if proc.returncode != 0 or not raw.is_file() or raw.stat().st_size == 0:
            why = error_reason(lines, f"ngspice exited with status {proc.returncode}"
                               if proc.returncode else "ngspice wrote no results")
            raise SimulationError(f"ngspice: {why}")
        fatal = [ln for ln in lines if _interesting(ln)]
        if fatal:
            raise SimulationError(f"ngspice: {error_reason(fatal)}")
        plots = read_raw(raw)
    return BatchResult(plot=plots[-1], log=log, wall_s=wall, analysis_s=parse_analysis_time(log))
