"""ngspice engines: run a transient deck for one input pattern, return the saved vectors.

Both engines take a deck (a :class:`imcflow.netlist.Testbench`'s text, no ``.control`` block), the
vectors to return, and then, per run, the PWL points of the input sources
(:func:`imcflow.netlist.stimuli`).

* :class:`SharedEngine` (default): a long-lived PySpice ``NgSpiceShared`` in a child process
  (:mod:`imcflow.sim._shared_worker`). The deck — and the sky130 models, 3–8 s — load once; each
  run ``alter``s the PWL sources (``alter @vin0[pwl] = [ t0 v0 … ]``), ``destroy all``s the old
  plots (flat memory) and re-runs. A hard timeout kills the child's process group; the next run
  starts a fresh one.
* :class:`SubprocessEngine`: ``ngspice -b`` per run (models load every time), binary raw file;
  the fallback and the cross-check.

Both raise :class:`SimulationError` (or :class:`SimulationTimeout`) with a one-line reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

import numpy as np

from imcflow import pdk
from imcflow.errors import SimulationError, SimulationTimeout
from imcflow.sim import ngspice
from imcflow.sim.ngspice import PointList

ENGINES = ("shared", "subprocess")
#: Default hard timeout of one transient run, s (model loading has its own, longer one).
DEFAULT_TIMEOUT = 300.0
#: Hard timeout of loading a deck (sky130 models) into the shared engine, s.
LOAD_TIMEOUT = 300.0


@dataclass
class SimResult:
    """Vectors of one run (by lower-case name: ``time``, ``v(l1_out0)``, ``i(vdd)``) and timing.

    ``wall_s``: wall time of this run as the caller saw it, s; ``analysis_s``: ngspice's own
    transient analysis time (``rusage trantime``), s, or None if it did not report one.
    """

    vectors: dict[str, np.ndarray]
    wall_s: float
    analysis_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.vectors[name.lower()]
        except KeyError:
            raise SimulationError(f"vector {name!r} not in the simulation results") from None


class Engine(Protocol):
    """What characterization needs from an engine."""

    name: str

    def run(self, stimuli: Mapping[str, PointList]) -> SimResult:
        """Simulate the deck with these PWL input sources."""
        ...

    def close(self) -> None:
        """Release the simulator (idempotent)."""
        ...


def _vector_list(vectors: Sequence[str]) -> tuple[str, ...]:
    vecs = tuple(v.lower() for v in vectors)
    return vecs if "time" in vecs else ("time", *vecs)


class SubprocessEngine:
    """``ngspice -b`` per run: deck rewritten with the pattern's stimuli, binary raw output."""

    name = "subprocess"

    def __init__(self, deck: str, vectors: Sequence[str], *, num_threads: int = 1,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.deck = deck
        self.vectors = _vector_list(vectors)
        self.num_threads = num_threads
        self.timeout = timeout
        self.t_stop = ngspice.tran_stop(deck)
        self.runs = 0

    def run(self, stimuli: Mapping[str, PointList]) -> SimResult:
        deck = ngspice.deck_with_stimuli(self.deck, stimuli) if stimuli else self.deck
        t0 = time.perf_counter()
        res = ngspice.run_batch(deck, [v for v in self.vectors if v != "time"],
                                timeout=self.timeout, num_threads=self.num_threads)
        self.runs += 1
        vecs = {name: np.asarray(res.plot[name], dtype=float) for name in self.vectors}
        ngspice.check_reached(vecs["time"], self.t_stop, res.log.splitlines())
        return SimResult(vecs, time.perf_counter() - t0, res.analysis_s)

    def close(self) -> None:
        pass

    def __enter__(self) -> SubprocessEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def alter_commands(stimuli: Mapping[str, PointList]) -> list[str]:
    """ngspice ``alter`` commands that set every source's PWL points."""
    return [f"alter @{name.lower()}[pwl] = [ {ngspice.pwl_values(points)} ]"
            for name, points in stimuli.items()]


class SharedEngine:
    """One long-lived ngspice (PySpice shared mode) in a child process; see the module doc."""

    name = "shared"

    def __init__(self, deck: str, vectors: Sequence[str], *, num_threads: int = 1,
                 timeout: float = DEFAULT_TIMEOUT, load_timeout: float = LOAD_TIMEOUT) -> None:
        self.deck = ngspice.strip_end(deck) + ".end\n"
        self.vectors = _vector_list(vectors)
        self.t_stop = ngspice.tran_stop(deck)
        self.num_threads = num_threads
        self.timeout = timeout
        self.load_timeout = load_timeout
        self.runs = 0
        self.load_s: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._tmp: str | None = None

    # ----------------------------------------------------------------------- child process
    def _start(self) -> None:
        self._tmp = tempfile.mkdtemp(prefix="imcflow-shared-")
        pdk.write_spiceinit(self._tmp, self.num_threads)
        parent_sock, child_sock = socket.socketpair()
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "imcflow.sim._shared_worker", str(child_sock.fileno())],
                cwd=self._tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(child_sock.fileno(),),
                start_new_session=True, env=env)
        finally:
            child_sock.close()
        self._conn = Connection(parent_sock.detach())
        t0 = time.perf_counter()
        try:
            self._call(None, self.load_timeout, what="start")
            _, load_s = self._call(("load", self.deck),
                                   self.load_timeout - (time.perf_counter() - t0), what="load")
        except BaseException:
            self.close()
            raise
        self.load_s = float(load_s)

    def _call(self, msg: tuple[Any, ...] | None, timeout: float, what: str) -> tuple[Any, ...]:
        """Send ``msg`` (None: only wait for the next reply) and wait ≤ ``timeout`` s."""
        assert self._conn is not None and self._proc is not None
        try:
            if msg is not None:
                self._conn.send(msg)
            if not self._conn.poll(max(timeout, 0.0)):
                self.close(kill=True)
                raise SimulationTimeout(f"shared ngspice ({what}) ran past its {timeout:g} s "
                                        "timeout and was killed")
            reply = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            code = self._proc.poll()
            self.close(kill=True)
            raise SimulationError(f"shared ngspice crashed during {what}"
                                  + (f" (exit status {code})" if code is not None else ""))\
                from None
        if reply[0] == "error":
            if what in ("start", "load"):
                self.close()
            raise SimulationError(f"ngspice: {reply[1]}")
        return reply

    # ----------------------------------------------------------------------- API
    def start(self) -> None:
        """Start the child and load the deck now (otherwise the first run does it)."""
        if self._proc is None:
            self._start()

    def run(self, stimuli: Mapping[str, PointList]) -> SimResult:
        t0 = time.perf_counter()
        self.start()
        _, vecs, run_wall, analysis = self._call(
            ("run", alter_commands(stimuli), list(self.vectors)), self.timeout, what="run")
        self.runs += 1
        ngspice.check_reached(vecs["time"], self.t_stop)
        return SimResult(vecs, time.perf_counter() - t0, analysis,
                         extra={"run_wall_s": run_wall})

    def close(self, kill: bool = False) -> None:
        """Stop the child: politely (``quit``), or at once with ``kill`` (timeouts, crashes)."""
        if self._conn is not None:
            try:
                if not kill and self._proc is not None and self._proc.poll() is None:
                    self._conn.send(("quit",))
                    self._conn.poll(2.0)
            except (OSError, BrokenPipeError):
                pass
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if not kill:
                try:
                    self._proc.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    pass
            ngspice.kill_group(self._proc)
            self._proc = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> SharedEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 (interpreter shutdown)
            pass


def make_engine(kind: str, deck: str, vectors: Sequence[str], *, num_threads: int = 1,
                timeout: float = DEFAULT_TIMEOUT) -> SharedEngine | SubprocessEngine:
    """An engine by name (``shared`` or ``subprocess``)."""
    if kind == "shared":
        return SharedEngine(deck, vectors, num_threads=num_threads, timeout=timeout)
    if kind == "subprocess":
        return SubprocessEngine(deck, vectors, num_threads=num_threads, timeout=timeout)
    raise SimulationError(f"unknown engine {kind!r} (choose {' or '.join(ENGINES)})")
