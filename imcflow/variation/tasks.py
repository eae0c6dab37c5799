"""Independent SPICE jobs in parallel: a local thread pool (each job runs its own ngspice
process, so threads suffice) or Dask (a private ``LocalCluster`` of single-threaded processes, or
an existing scheduler).

``on_done(index, result)`` is called in the caller's thread as jobs finish, in any order; the
first failure cancels what has not started and is re-raised (finished jobs stay finished —
callers write each result to its own file before the next is awaited).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from typing import Any

from imcflow.errors import SimulationError
from imcflow.sim.executors import dask_client, dask_gather

Job = Callable[..., Any]
OnDone = Callable[[int, Any], None]


def run_tasks(fn: Job, args: Sequence[tuple[Any, ...]], on_done: OnDone, *, workers: int = 1,
              dask_local: bool = False, scheduler: str | None = None) -> None:
    """Call ``fn(*args[i])`` for every i on ``workers`` slots; see the module doc.

    For Dask, ``fn`` and the arguments must be picklable (a module-level function)."""
    if workers < 1:
        raise SimulationError("workers must be >= 1")
    if not args:
        return
    if dask_local or scheduler:
        _run_dask(fn, args, on_done, workers=workers, scheduler=scheduler)
        return
    with cf.ThreadPoolExecutor(max_workers=min(workers, len(args)),
                               thread_name_prefix="imcflow-var") as pool:
        futures = {pool.submit(fn, *a): i for i, a in enumerate(args)}
        try:
            for fut in cf.as_completed(futures):
                on_done(futures[fut], fut.result())
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def _run_dask(fn: Job, args: Sequence[tuple[Any, ...]], on_done: OnDone, *, workers: int,
              scheduler: str | None) -> None:
    with dask_client(workers, scheduler) as client:
        dask_gather({client.submit(fn, *a, pure=False): i for i, a in enumerate(args)}, on_done)
