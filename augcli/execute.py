"""Fan the tasks out over CPU cores with joblib: the only module that imports it.

Results come back in plan order (joblib's ordered generator), so the parent
appends manifest lines in the same order whatever ``--jobs`` is, and a killed
run's manifest is always a prefix of the finished one.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator

from .plan import Task
from .worker import Job, process

BACKENDS = ("loky", "threading", "dask")


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_tasks(tasks: Iterable[Task], job: Job, *, jobs: int = 1, backend: str = "loky") -> Iterator[list[dict]]:
    """Yield each task's records, in task order."""
    tasks = list(tasks)
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            yield process(task, job)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, backend=backend, return_as="generator", batch_size="auto",
                        pre_dispatch="4 * n_jobs")
    yield from parallel(delayed(process)(task, job) for task in tasks)


ProgressFn = Callable[[int], None]
