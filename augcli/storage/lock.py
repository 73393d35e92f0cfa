"""One writer per OUT in object storage: a lock object, ``OUT/.augcli.lock``.

A store has no ``flock`` that dies with its holder, so the lock is an object
created with a conditional write (S3 ``If-None-Match: *``, which s3fs sends
for ``mode="create"``): of two runs starting together exactly one creates it,
the other is refused. The holder rewrites it every ``BEAT`` seconds. A lock
is taken over when it is stale: its holder ran on this machine and its
process is gone (a killed run, resumed at once), or its last beat is older
than ``STALE_AFTER`` (a run killed elsewhere; this compares the holder's
clock with ours). On a store without conditional writes the lock is written
after a check and read back; two runs starting within the same moment could
both pass there (documented in the README).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from typing import Iterator

from ..errors import UsageError
from ..outdir import LOCK_FILE
from .store import Store

BEAT = 20.0  # seconds between the holder's rewrites of its lock
STALE_AFTER = 120.0  # a lock not rewritten for this long belongs to a run that died


def _body(token: str) -> bytes:
    return json.dumps({"token": token, "host": socket.gethostname(), "pid": os.getpid(),
                       "beat": time.time()}).encode()


def _holder(store: Store) -> dict | None:
    """The lock's content; {} when it cannot be parsed; None when there is none."""
    try:
        raw = store.read(LOCK_FILE, 4096)
    except FileNotFoundError:
        return None
    try:
        held = json.loads(raw)
    except ValueError:
        return {}
    return held if isinstance(held, dict) else {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def stale(held: dict, now: float | None = None) -> bool:
    """Whether the run that wrote this lock is gone."""
    now = time.time() if now is None else now
    if held.get("host") == socket.gethostname() and isinstance(held.get("pid"), int) \
            and held["pid"] != os.getpid() and not _pid_alive(held["pid"]):
        return True
    beat = held.get("beat")
    return not isinstance(beat, (int, float)) or now - beat > STALE_AFTER


def _refuse(shown: str, held: dict) -> UsageError:
    age = time.time() - held["beat"] if isinstance(held.get("beat"), (int, float)) else None
    seen = f", last seen {age:.0f} s ago" if age is not None else ""
    who = f"host {held.get('host', '?')}, pid {held.get('pid', '?')}{seen}"
    return UsageError(f"OUT {shown} is being written by another augcli run ({who}); one run writes to a folder "
                      f"at a time: wait for it to finish, or stop it (a lock whose run died is taken over "
                      f"after {STALE_AFTER:.0f} s, at once on the machine it ran on)")


def _take(store: Store, token: str, shown: str) -> None:
    for _ in range(2):  # a stale lock is removed and the create tried once more
        try:
            store.create(LOCK_FILE, _body(token))
            return
        except FileExistsError:
            held = _holder(store)
        except NotImplementedError:
            _take_unconditionally(store, token, shown)
            return
        if held is not None and not stale(held):
            raise _refuse(shown, held)
        store.remove(LOCK_FILE)
    raise _refuse(shown, _holder(store) or {})


def _take_unconditionally(store: Store, token: str, shown: str) -> None:
    """A store without conditional writes: check, write, read back."""
    held = _holder(store)
    if held is not None and not stale(held):
        raise _refuse(shown, held)
    store.write(LOCK_FILE, _body(token))
    time.sleep(0.5)  # a run that wrote meanwhile has now overwritten ours
    held = _holder(store)
    if held is None or held.get("token") != token:
        raise _refuse(shown, held or {})


@contextlib.contextmanager
def one_writer_stored(store: Store) -> Iterator[None]:
    """Hold OUT in ``store`` for one run; refuse (exit 2) while another run holds it."""
    token = uuid.uuid4().hex
    _take(store, token, store.url)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(BEAT):
            with contextlib.suppress(OSError):
                held = _holder(store)
                if held is None or held.get("token") != token:
                    return  # taken over (we were thought dead): leave it to its new holder
                store.write(LOCK_FILE, _body(token))

    beater = threading.Thread(target=beat, name="augcli-lock-beat", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()
        with contextlib.suppress(OSError):  # quietly: a failure here must not hide why the run ended
            held = _holder(store)
            if held is not None and held.get("token") == token:
                store.remove(LOCK_FILE)
