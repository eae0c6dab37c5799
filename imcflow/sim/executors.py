"""Executors: run independent spike patterns on several long-lived engines.

* :func:`run_local` (default): ``workers`` engines (each its own ngspice process — a shared-mode
  child or ``ngspice -b`` runs), fed from one queue by one driver thread each;
* :func:`run_dask`: the same tasks on a Dask cluster (``LocalCluster(n_workers=K,
  threads_per_worker=1, processes=True)`` or an existing scheduler); each Dask worker process
  keeps one engine per deck alive across tasks.

Both call ``on_result(index, result)`` in the caller's thread as results arrive (any order); the
caller stores them by index, so the merged output does not depend on the executor. The first
failure stops the run and is re-raised (results already delivered stay delivered).
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from imcflow.errors import ImcflowError, SimulationError
from imcflow.sim.engines import DEFAULT_TIMEOUT, make_engine


@dataclass(frozen=True)
class EngineConfig:
    """Everything a worker needs to build its engine (picklable)."""

    kind: str
    deck: str
    vectors: tuple[str, ...]
    num_threads: int = 1
    timeout: float = DEFAULT_TIMEOUT

    def key(self) -> str:
        h = hashlib.sha256()
        for part in (self.kind, self.deck, "\n".join(self.vectors), str(self.num_threads),
                     repr(self.timeout)):
            h.update(part.encode("utf-8") + b"\0")
        return h.hexdigest()

    def make(self) -> Any:
        return make_engine(self.kind, self.deck, self.vectors, num_threads=self.num_threads,
                           timeout=self.timeout)


#: ``evaluate(engine, pattern) -> result``: one pattern on one engine (must be picklable for Dask).
Evaluate = Callable[[Any, np.ndarray], Any]
OnResult = Callable[[int, Any], None]


def default_workers() -> int:
    """One worker per core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def threads_per_engine(workers: int) -> int:
    """ngspice OpenMP threads per engine: 1. Required whenever several simulations run at once;
    also the default for one worker, because on these small decks a second OpenMP thread only
    helps on an idle machine — on a busy 2-core host it measured 5–20× slower (spin-waiting)."""
    del workers
    return 1


def run_local(cfg: EngineConfig, evaluate: Evaluate, jobs: Sequence[tuple[int, np.ndarray]],
              on_result: OnResult, workers: int = 1) -> None:
    """Run ``jobs`` (index, pattern) on ``workers`` engines; see the module doc."""
    if workers < 1:
        raise SimulationError("workers must be >= 1")
    if not jobs:
        return
    workers = min(workers, len(jobs))
    todo: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue()
    for job in jobs:
        todo.put(job)
    for _ in range(workers):
        todo.put(None)
    done: queue.Queue[tuple[str, int, Any]] = queue.Queue()
    stop = threading.Event()

    def drive() -> None:
        engine = None
        try:
            engine = cfg.make()
            while not stop.is_set():
                job = todo.get()
                if job is None:
                    break
                idx, pattern = job
                try:
                    done.put(("ok", idx, evaluate(engine, pattern)))
                except BaseException as exc:  # noqa: BLE001 (handed to the caller)
                    done.put(("error", idx, exc))
                    break
        except BaseException as exc:  # noqa: BLE001
            done.put(("error", -1, exc))
        finally:
            if engine is not None:
                engine.close()
            done.put(("exit", -1, None))

    threads = [threading.Thread(target=drive, name=f"imcflow-sim-{k}", daemon=True)
               for k in range(workers)]
    for t in threads:
        t.start()
    alive = workers
    error: BaseException | None = None
    try:
        while alive:
            kind, idx, payload = done.get()
            if kind == "exit":
                alive -= 1
            elif kind == "error":
                if error is None:
                    error = payload
                stop.set()
            elif error is None:
                on_result(idx, payload)
    except BaseException:
        stop.set()
        raise
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=1.0)
    if error is not None:
        raise error


# ----------------------------------------------------------------------------- Dask

_WORKER_ENGINES: dict[str, Any] = {}


def _dask_task(cfg: EngineConfig, evaluate: Evaluate, pattern: np.ndarray) -> Any:
    """Runs inside a Dask worker: one engine per deck per worker process, reused."""
    key = cfg.key()
    engine = _WORKER_ENGINES.get(key)
    if engine is None:
        for old in _WORKER_ENGINES.values():  # one ngspice per process
            old.close()
        _WORKER_ENGINES.clear()
        engine = _WORKER_ENGINES[key] = cfg.make()
    return evaluate(engine, pattern)


def _dask_cleanup() -> int:
    for engine in _WORKER_ENGINES.values():
        engine.close()
    n = len(_WORKER_ENGINES)
    _WORKER_ENGINES.clear()
    return n


@contextmanager
def dask_client(workers: int = 1, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: on the cluster at ``scheduler`` (``tcp://host:port``), or on a private
    ``LocalCluster`` of ``workers`` single-threaded processes; closes what it opened."""
    try:
        from dask.distributed import Client, LocalCluster  # noqa: PLC0415
    except ImportError:
        raise SimulationError("Dask is not installed (pip install -e .[dist])") from None
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise SimulationError(f"cannot reach Dask scheduler {scheduler}: "
                                      f"{' '.join(str(exc).split())[:200]}") from None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def dask_gather(futures: dict[Any, int], on_result: Callable[[int, Any], None]) -> None:
    """Hand each Dask future's result to ``on_result(index, result)`` as it completes; a task's
    failure is a :class:`SimulationError` (imcflow's own errors pass as they are); futures
    still pending are cancelled on the way out."""
    from dask.distributed import as_completed  # noqa: PLC0415

    try:
        for fut in as_completed(list(futures)):
            try:
                result = fut.result()
            except ImcflowError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise SimulationError(f"Dask task failed: {exc}") from None
            on_result(futures[fut], result)
    finally:
        for fut in futures:
            fut.cancel()


def run_dask(cfg: EngineConfig, evaluate: Evaluate, jobs: Sequence[tuple[int, np.ndarray]],
             on_result: OnResult, *, workers: int = 1, scheduler: str | None = None) -> None:
    """Run ``jobs`` on Dask (see :func:`dask_client`); each worker's engines close at the end."""
    if not jobs:
        return
    with dask_client(workers, scheduler) as client:
        futures = {client.submit(_dask_task, cfg, evaluate, pattern, pure=False): idx
                   for idx, pattern in jobs}
        try:
            dask_gather(futures, on_result)
        finally:
            try:
                client.run(_dask_cleanup)
            except Exception:  # noqa: BLE001 (best effort)
                pass
