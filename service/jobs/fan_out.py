"""One large solve over the whole Dask cluster: the neighbourhood search's sub-models fan out.

A job runs as one task on one Dask worker. When its problem is large (at least
``LINLI_FAN_OUT_MIN_DEMANDS`` open demands), :func:`cluster_executor` gives the engine an
executor on the same cluster, so the sub-models of the neighbourhood search run on every
worker (:func:`matcher.dispatch.lns.improve_batched`).
The task secedes from its worker's thread pool
while it waits (``distributed.worker_client``), so even single-threaded workers run the
sub-models. The plan depends on the seed only, not on the number of workers (see
:func:`matcher.dispatch.solve.solve`, ``executor``).

Outside a Dask worker (the default process pool, the CLI without ``--executor``) there is no
cluster to fan out over and the solve is the one-process one.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from matcher.dispatch.problem import Problem


def open_demands(problem: Problem) -> int:
    """Demands the solve dispatches (the pinned ones are fixed)."""
    return sum(1 for demand in problem.demands if demand.pinned is None)


def on_dask_worker() -> bool:
    """Whether this code runs inside a Dask worker's task."""
    try:
        from distributed import get_worker
    except ImportError:
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True


@contextmanager
def cluster_executor(problem: Problem, min_demands: int) -> Iterator[Executor | None]:
    """An executor on this task's Dask cluster when ``problem`` is worth fanning out, else None.

    Args:
        problem: The problem about to be solved.
        min_demands: Fan out from this many open demands; 0 never fans out.
    """
    if min_demands <= 0 or open_demands(problem) < min_demands or not on_dask_worker():
        yield None
        return
    from distributed import worker_client

    with worker_client(separate_thread=True) as client:
        yield client.get_executor(pure=False)
