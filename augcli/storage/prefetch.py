"""A worker's few tasks at a time when SRC or OUT is in object storage:
reading and writing overlap computing, so a run on a store with latency is
not a sum of round trips.

While task *i* is decoded, augmented and encoded (``worker.process``, the
same code as a local run), the sources of tasks *i+1 .. i+AHEAD* are being
fetched and task *i-1*'s outputs are being PUT, by a few threads (the store
calls release the GIL). Memory stays bounded: at most ``AHEAD`` sources
fetched ahead and the outputs of two tasks in flight. A task's records are
handed back only once all its outputs are written, so the manifest never
names an object that is not there.
"""
from __future__ import annotations

import collections
import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from ..limits import max_source_bytes
from ..manifest import ManifestRecord, SkipRecord
from ..plan import Task
from ..trees import read_inside
from ..worker import NAME_ERRORS, Job, process

BATCH = 8  # tasks a worker is handed at once
AHEAD = 3  # sources fetched ahead of the one being worked on
WRITERS = 4  # threads PUTting outputs


class _Fetched:
    """SRC as ``process`` sees it: each source's bytes from its prefetch."""

    def __init__(self, src, futures: dict[str, Future]):
        self.src, self.futures = src, futures

    def read(self, relpath: str, limit: int | None = None, max_size: int | None = None) -> bytes:
        future = self.futures.pop(relpath, None)  # fetched with the bound process asks for (see fetch_ahead)
        if future is not None and limit is None:
            return future.result()
        return read_inside(self.src, relpath, limit, max_size)


@dataclass
class _Deferred:
    """OUT as ``process`` sees it: each write handed to the writer threads."""

    out: object
    pool: ThreadPoolExecutor
    pending: list

    def write(self, relpath: str, data: bytes) -> None:
        self.pending.append((relpath, self.pool.submit(self.out.write, relpath, data)))


def _settle(task: Task, records: list, pending: list[tuple[str, Future]]) -> list[ManifestRecord | SkipRecord]:
    """``records`` once every write of the task is done. A name the local
    filesystem refuses skips the source, as ``process`` does when it writes
    itself; any other failed write fails the run."""
    failed = None
    for relpath, future in pending:
        error = future.exception()
        if error is not None and failed is None:
            failed = (relpath, error)
    if failed is None:
        return records
    relpath, error = failed
    if not isinstance(error, OSError) or error.errno not in NAME_ERRORS:
        raise error
    at = next(i for i, r in enumerate(records) if isinstance(r, ManifestRecord) and r.path == relpath)
    reason = f"cannot write {relpath} in OUT: {error.strerror or error}"
    return records[:at] + [SkipRecord(task.source.relpath, reason, records[at].source_sha256)]


_POOLS: dict[int, tuple[ThreadPoolExecutor, ThreadPoolExecutor]] = {}  # pid -> (readers, writers)


def _pools() -> tuple[ThreadPoolExecutor, ThreadPoolExecutor]:
    """This process's fetching and writing threads, started once and kept for
    every batch (starting threads per batch cost more than the overlap won)."""
    pools = _POOLS.get(os.getpid())
    if pools is None:
        pools = _POOLS[os.getpid()] = (ThreadPoolExecutor(AHEAD, thread_name_prefix="augcli-fetch"),
                                       ThreadPoolExecutor(WRITERS, thread_name_prefix="augcli-put"))
    return pools


def process_batch(tasks: list[Task], job: Job) -> list[list[ManifestRecord | SkipRecord]]:
    """``process`` of each task, in order, with fetching and writing overlapped."""
    readers, writers = _pools()
    results = []
    fetched: dict[str, Future] = {}
    queue = collections.deque(tasks)

    def fetch_ahead() -> None:
        while queue and len(fetched) < AHEAD:
            relpath = queue.popleft().source.relpath
            fetched[relpath] = readers.submit(read_inside, job.src, relpath, max_size=max_source_bytes(job.max_pixels))

    previous = None
    try:
        for task in tasks:
            fetch_ahead()
            pending: list[tuple[str, Future]] = []
            here = replace(job, src=_Fetched(job.src, fetched), out=_Deferred(job.out, writers, pending))
            records = process(task, here)
            fetched.pop(task.source.relpath, None)
            if previous is not None:
                results.append(_settle(*previous))
            previous = (task, records, pending)
        if previous is not None:
            results.append(_settle(*previous))
    finally:  # stopped early: no write of this batch may outlive it unseen
        if previous is not None:
            wait([future for _, future in previous[2]])
    return results
