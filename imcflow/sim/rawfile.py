"""Reader for ngspice raw files (binary and ASCII), into numpy arrays."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imcflow.errors import SimulationError


@dataclass
class RawPlot:
    """One plot of a raw file: vectors by lower-case name (``time``, ``v(a)``, ``i(vdd)``)."""

    title: str
    plotname: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.vectors[name.lower()]
        except KeyError:
            raise SimulationError(f"vector {name!r} not in the simulation results "
                                  f"(have: {', '.join(sorted(self.vectors))})") from None


def _vector_name(kind: str, name: str) -> str:
    name = name.lower()
    if name.startswith(("v(", "i(")) or name in ("time", "frequency"):
        return name
    if kind == "current" and name.endswith("#branch"):
        return f"i({name[: -len('#branch')]})"
    if kind == "voltage":
        return f"v({name})"
    return name


def read_raw(path: str | os.PathLike[str]) -> list[RawPlot]:
    """Parse every plot in an ngspice raw file (real data; binary or ASCII)."""
    data = Path(path).read_bytes()
    plots: list[RawPlot] = []
    pos = 0
    while pos < len(data):
        header: dict[str, str] = {}
        names: list[str] = []
        while True:
            end = data.find(b"\n", pos)
            if end < 0:
                raise SimulationError(f"raw file {path} is truncated in its header")
            line = data[pos:end].decode("latin-1")
            pos = end + 1
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "variables":
                nvars = int(header["no. variables"])
                for _ in range(nvars):
                    end = data.find(b"\n", pos)
                    parts = data[pos:end].decode("latin-1").split()
                    pos = end + 1
                    names.append(_vector_name(parts[2] if len(parts) > 2 else "", parts[1]))
                continue
            if key in ("binary", "values"):
                break
            header[key] = value.strip()
        nvars, npts = int(header["no. variables"]), int(header["no. points"])
        flags = header.get("flags", "real").lower()
        if "complex" in flags:
            raise SimulationError("complex raw data is not supported")
        if key == "binary":
            nbytes = 8 * nvars * npts
            if pos + nbytes > len(data):
                raise SimulationError(f"raw file {path} is truncated ({len(data) - pos} of "
                                      f"{nbytes} data bytes)")
            arr = np.frombuffer(data, dtype="<f8", count=nvars * npts, offset=pos)
            arr = arr.reshape(npts, nvars)
            pos += nbytes
        else:
            rows = []
            lines = data[pos:].decode("latin-1").splitlines()
            vals: list[float] = []
            i = 0
            while len(rows) < npts and i < len(lines):
                toks = lines[i].split()
                i += 1
                if not toks:
                    continue
                vals.append(float(toks[-1]))
                if len(vals) == nvars:
                    rows.append(vals)
                    vals = []
            arr = np.asarray(rows, dtype=float).reshape(npts, nvars)
            pos = len(data)
        plot = RawPlot(title=header.get("title", ""), plotname=header.get("plotname", ""))
        for k, name in enumerate(names):
            plot.vectors[name] = np.array(arr[:, k])
        plots.append(plot)
    if not plots:
        raise SimulationError(f"raw file {path} holds no plot")
    return plots
