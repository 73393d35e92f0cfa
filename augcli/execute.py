"""Fan the tasks out over CPU cores with joblib: the only module that imports it.

Results come back in plan order (joblib's ordered generator), so the parent
appends manifest lines in the same order whatever ``--jobs`` or the backend
is, and a killed run's manifest is always a prefix of the finished one.

The ``dask`` backend runs the same tasks on a Dask cluster through joblib's
dask backend: a scheduler at ``--scheduler ADDRESS``, or a ``LocalCluster``
sized to this machine. Workers read SRC and write OUT themselves, so both
must be on storage every worker sees; only the parent writes the manifest.
"""
from __future__ import annotations

import collections
import contextlib
import importlib.util
import itertools
import os
import signal
import threading
from typing import Iterable, Iterator

from .errors import AugcliError, UsageError
from .manifest import ManifestRecord, SkipRecord
from .plan import Task
from .worker import Job, process

Result = ManifestRecord | SkipRecord  # what a task gives back, per target


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_tasks(tasks: Iterable[Task], job: Job, *, jobs: int = 1, backend: str = "loky",
              scheduler: str | None = None) -> Iterator[list[Result]]:
    """Yield each task's records, in task order. ``tasks`` is consumed as
    the workers need more (never listed), so a long plan costs no memory."""
    tasks = iter(tasks)
    # never more workers than tasks: -j 64 on 6 sources starts 6 (each costs a process and its memory)
    head = list(itertools.islice(tasks, max(jobs, 2)))
    jobs = max(1, min(jobs, len(head)))
    tasks = itertools.chain(head, tasks)
    if backend == "dask":
        yield from _run_dask(tasks, job, jobs, scheduler)
        return
    if jobs == 1 or len(head) <= 1:
        for task in tasks:
            yield process(task, job)
        return
    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    in_flight: collections.deque[Task] = collections.deque()  # handed to joblib, result not yet yielded

    def dispatch():
        for task in tasks:  # joblib pulls these as workers free up, in order
            in_flight.append(task)
            yield delayed(process)(task, job)

    while True:
        parallel = Parallel(n_jobs=jobs, backend=backend, return_as="generator", batch_size="auto",
                            pre_dispatch="4 * n_jobs")
        try:
            with workers_ignore_ctrl_c():  # the pool starts its workers here
                results = parallel(dispatch())
            for records in results:
                in_flight.popleft()
                yield records
            return
        except TerminatedWorkerError:
            # A worker died (a decoder crash, the OOM killer). The culprit is among
            # the tasks in flight: run those one at a time in a process of their
            # own, skip the one that kills it, then go on in parallel.
            suspects = list(in_flight)
            in_flight.clear()
            yield from _isolated(suspects, job)


@contextlib.contextmanager
def workers_ignore_ctrl_c():
    """Start worker processes ignoring Ctrl-C from their first instruction.

    A terminal's Ctrl-C reaches the whole process group. Only augcli itself
    should act on it (stop the pool, record the run as failed, say how to
    resume); a worker still importing its modules would instead die with a
    KeyboardInterrupt traceback. An ignored signal stays ignored across
    fork and exec, so augcli ignores it just while a pool starts its
    processes, a fraction of a second, and handles it the rest of the run.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _isolated(tasks: Iterable[Task], job: Job) -> Iterator[list[Result]]:
    """Run ``tasks`` one at a time in a one-worker pool of our own (joblib's shared
    pool is not touched, so the next ``Parallel`` starts cleanly); a task that
    kills its worker is skipped with the reason."""
    from joblib.externals.loky import ProcessPoolExecutor
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    executor = None
    try:
        for task in tasks:
            with workers_ignore_ctrl_c():  # a fresh pool starts its worker here
                executor = executor or ProcessPoolExecutor(max_workers=1)
                future = executor.submit(process, task, job)
            try:
                records = future.result()
            except TerminatedWorkerError:
                executor.shutdown(wait=False)  # broken: the next task gets a fresh one
                executor = None
                reason = "the worker process died while processing this image (a crash, or out of memory)"
                records = [SkipRecord(task.source.relpath, reason)]
            yield records
    finally:
        if executor is not None:
            executor.shutdown(wait=True)


def check_backend(backend: str, scheduler: str | None = None) -> None:
    """A backend whose package is missing, or a scheduler that does not answer,
    is a usage error found before OUT is touched (``arguments`` has already
    checked the names and the address's form)."""
    if backend != "dask":
        return
    try:
        found = importlib.util.find_spec("dask.distributed") is not None
    except ImportError:  # dask itself is not installed
        found = False
    if not found:
        raise UsageError("--backend dask needs Dask: pip install 'augcli[dask]'")
    if scheduler:
        _check_reachable(scheduler)


SCHEDULER_PORT = 8786  # Dask's default, when an address names none
REACH_TIMEOUT = 10  # seconds; as long as the Client itself is given


def _check_reachable(scheduler: str) -> None:
    """Something listens at the scheduler's host and port: a TCP connection is
    made and closed. A scheduler that cannot be reached stops the run here,
    not after OUT was locked and its augcli.json marked failed."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(scheduler)
    if parts.scheme == "inproc":
        return
    try:
        with socket.create_connection((parts.hostname, parts.port or SCHEDULER_PORT), timeout=REACH_TIMEOUT):
            pass
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({reason}); start it, or "
                         "check the address") from None


@contextlib.contextmanager
def dask_client(jobs: int, scheduler: str | None):
    """A distributed Client for ``scheduler``, or for a LocalCluster of ``jobs`` workers."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise AugcliError("--backend dask needs Dask: pip install 'augcli[dask]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise AugcliError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    with workers_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster:
        with Client(cluster) as client:
            yield client


def _run_dask(tasks: Iterable[Task], job: Job, jobs: int, scheduler: str | None) -> Iterator[list[Result]]:
    from joblib import Parallel, delayed, parallel_config

    with dask_client(jobs, scheduler):
        with parallel_config(backend="dask"):
            parallel = Parallel(return_as="generator", batch_size="auto")
            yield from parallel(delayed(process)(task, job) for task in tasks)
