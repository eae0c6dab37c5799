"""Child process that hosts one long-lived ngspice (PySpice ``NgSpiceShared``).

Started by :class:`imcflow.sim.engines.SharedEngine` as ``python -m imcflow.sim._shared_worker
FD`` in a folder holding a ``.spiceinit``; ``FD`` is its end of a socket pair. Requests and
replies are pickled tuples over a :class:`multiprocessing.connection.Connection`:

* ``("load", deck_text)`` → ``("ok", load_s)``: parse the deck (models load once);
* ``("run", alter_commands, vectors)`` → ``("ok", {name: array}, run_wall_s, analysis_s)``:
  ``destroy all``, ``alter`` the sources, ``run``, copy the requested vectors out;
* ``("quit",)``.

Any failure replies ``("error", one_line_reason)``. Running ngspice in a child lets the parent
kill a hung or crashed simulator without losing itself.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import re
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

_TRANTIME = re.compile(r"=\s*([0-9.eE+-]+)")


def _ngspice_vector_name(name: str) -> str:
    """imcflow vector name (``v(a)``, ``i(vdd)``, ``time``) → ngspice's plot name."""
    name = name.lower()
    if name.startswith("v(") and name.endswith(")"):
        return name[2:-1]
    if name.startswith("i(") and name.endswith(")"):
        return name[2:-1] + "#branch"
    return name


def _serve(conn: Connection) -> None:
    if ctypes.util.find_library("ngspice") is None and "NGSPICE_LIBRARY_PATH" not in os.environ:
        os.environ["NGSPICE_LIBRARY_PATH"] = "libngspice.so.0"
    logging.disable(logging.CRITICAL)  # PySpice's "Unsupported Ngspice version 39" and the like
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared  # noqa: PLC0415 (slow import)

    try:
        import numpy as np  # noqa: PLC0415
        ng = NgSpiceShared.new_instance()
    except Exception as exc:  # noqa: BLE001 (reported to the parent)
        conn.send(("error", f"cannot start shared ngspice: {exc}"))
        return

    def reason(default: str) -> str:
        from imcflow.sim.ngspice import error_reason  # noqa: PLC0415
        return error_reason(list(ng._stderr) + list(ng._stdout), default)  # noqa: SLF001

    def fatal() -> bool:
        from imcflow.sim.ngspice import has_fatal  # noqa: PLC0415
        return has_fatal(list(ng._stderr) + list(ng._stdout))  # noqa: SLF001

    conn.send(("ready",))
    last_trantime = 0.0  # ngspice's trantime accumulates over the runs of one circuit
    while True:
        try:
            msg: Any = conn.recv()
        except EOFError:
            return
        op = msg[0]
        try:
            if op == "quit":
                conn.send(("ok",))
                return
            if op == "load":
                t0 = time.perf_counter()
                try:
                    ng.load_circuit(msg[1])
                except Exception:  # noqa: BLE001
                    conn.send(("error", reason("the deck did not parse")))
                    continue
                if fatal():
                    conn.send(("error", reason("the deck did not parse")))
                    continue
                conn.send(("ok", time.perf_counter() - t0))
            elif op == "run":
                _, alters, vectors = msg
                ng.exec_command("destroy all")
                for cmd in alters:
                    try:
                        ng.exec_command(cmd)
                    except Exception:  # noqa: BLE001
                        raise RuntimeError(reason(f"{cmd.split('=')[0].strip()} failed")) from None
                t0 = time.perf_counter()
                # PySpice calls a command failed when ngspice prints anything on stderr that is
                # not a "Warning:", e.g. the "Note: Starting dynamic gmin stepping" of a hard
                # operating point (fast/cold corners): judge by ngspice's own error lines
                # instead, and let the parent check that the analysis reached its stop time.
                from PySpice.Spice.NgSpice.Shared import NgSpiceCommandError  # noqa: PLC0415
                try:
                    ng.run()
                except NgSpiceCommandError:
                    pass
                except Exception:  # noqa: BLE001
                    raise RuntimeError(reason("the simulation failed")) from None
                failed = fatal()
                wall = time.perf_counter() - t0
                if failed:
                    raise RuntimeError(reason("the simulation failed"))
                try:
                    m = _TRANTIME.search(ng.exec_command("rusage trantime"))
                    total = float(m.group(1)) if m else None
                    analysis = None
                    if total is not None:
                        analysis = total - last_trantime if total >= last_trantime else total
                        last_trantime = total
                except Exception:  # noqa: BLE001
                    analysis = None
                plot = ng.last_plot
                out = {}
                for name in vectors:
                    info = ng._ngspice_shared.ngGet_Vec_Info(  # noqa: SLF001
                        f"{plot}.{_ngspice_vector_name(name)}".encode())
                    from PySpice.Spice.NgSpice.Shared import FFI, ffi  # noqa: PLC0415
                    if info == FFI.NULL or info.v_realdata == FFI.NULL:
                        raise RuntimeError(f"no such vector {name} in the results")
                    n = info.v_length
                    out[name] = np.frombuffer(ffi.buffer(info.v_realdata, n * 8),
                                              dtype=np.float64).copy()
                conn.send(("ok", out, wall, analysis))
            else:
                conn.send(("error", f"unknown request {op!r}"))
        except Exception as exc:  # noqa: BLE001
            conn.send(("error", " ".join(str(exc).split())[:300] or type(exc).__name__))


def main() -> None:
    """Entry point: serve requests on the connection whose fd is ``argv[1]``."""
    fd = int(sys.argv[1])
    # Keep fd 1 quiet: anything ngspice prints goes to stderr (the parent discards it).
    os.dup2(2, 1)
    conn = Connection(fd)
    try:
        _serve(conn)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
