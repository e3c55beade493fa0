"""One writer at a time: a cross-process lock around everything that writes the warehouse.

DuckDB lets a single process open a database file for writing; a second build started while
the first one runs would fail with DuckDB's own lock error part-way through. Builds therefore
take `warehouse_write_lock` first: the second build waits (and says so in the log) until the
first one has finished, then runs.

The lock is an advisory OS lock (`fcntl.flock` through the `filelock` package) on a file next to
the warehouse, `<warehouse file name>.lock`. The operating system releases it when the holding
process exits for any reason, including SIGKILL, so a crashed build never leaves a stale lock
behind. The lock file itself stays on disk on purpose (removing it on release would let two
processes lock two different files of the same name); its presence means nothing.

Advisory locks only work between processes that share one kernel: keep the warehouse on a local
disk, not on a network file system.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import filelock

logger = logging.getLogger(__name__)

# While waiting, the log says "still waiting" this often (seconds).
WAIT_LOG_INTERVAL_SECONDS = 30.0


class WarehouseLockTimeout(TimeoutError):
    """The warehouse (or another guarded file) stayed locked longer than the caller allowed."""


def lock_path_for(target_path: str | os.PathLike[str]) -> Path:
    """The lock file that guards `target_path`: `<file name>.lock` in the same folder."""
    target = Path(target_path).resolve()
    return target.with_name(target.name + ".lock")


def _holder_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".holder")


def _describe_holder(lock_path: Path) -> str:
    """Who holds the lock, as recorded by the holder when it took the lock (best effort)."""
    try:
        holder = json.loads(_holder_path(lock_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "another process"
    return f"pid {holder.get('pid')} on {holder.get('host')} (since {holder.get('acquired_at')})"


def _record_holder(lock_path: Path) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "acquired_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with contextlib.suppress(OSError):
        _holder_path(lock_path).write_text(json.dumps(holder), encoding="utf-8")


@contextlib.contextmanager
def warehouse_write_lock(
    warehouse_path: str | os.PathLike[str],
    timeout: float | None = None,
    *,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Iterator[Path]:
    """Hold the exclusive write lock of `warehouse_path` for the duration of the block.

    If another process holds it, wait: forever when `timeout` is None, else at most `timeout`
    seconds, then raise `WarehouseLockTimeout`. The log says that the build waits, for whom,
    and, once the lock is taken, how long the wait was.

    Re-entrant within one process (a build that already holds the lock may call this again,
    from any thread, without deadlocking itself). Yields the lock file's path.
    """
    with exclusive_file_lock(warehouse_path, timeout, what="Warehouse", log=log) as lock_path:
        yield lock_path


@contextlib.contextmanager
def exclusive_file_lock(
    target_path: str | os.PathLike[str],
    timeout: float | None = None,
    *,
    what: str = "File",
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Iterator[Path]:
    """The lock behind `warehouse_write_lock`, for any file (`what` names it in messages)."""
    log = log or logger
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be None or >= 0 seconds, got {timeout}")
    lock_path = lock_path_for(target_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # One lock object per path in this process (`is_singleton`), shared by all threads
    # (`thread_local=False`): nested use by the same build only increments a counter.
    lock = filelock.FileLock(
        lock_path,
        thread_local=False,
        is_singleton=True,
        preserve_lock_file=True,
    )
    started = time.monotonic()
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        log.info(
            "%s %s is being written by %s; waiting for it to finish%s.",
            what,
            target_path,
            _describe_holder(lock_path),
            "" if timeout is None else f" (at most {timeout:g} s)",
        )
        _wait_for(lock, lock_path, target_path, what, timeout, started, log)
        log.info(
            "Took the write lock of %s %s after waiting %.1f s.",
            what.lower(),
            target_path,
            time.monotonic() - started,
        )
    outermost = lock.lock_counter == 1
    if outermost:
        _record_holder(lock_path)
    try:
        yield lock_path
    finally:
        if outermost:
            with contextlib.suppress(OSError):
                _holder_path(lock_path).unlink()
        lock.release()


def _wait_for(
    lock: filelock.BaseFileLock,
    lock_path: Path,
    target_path: str | os.PathLike[str],
    what: str,
    timeout: float | None,
    started: float,
    log: logging.Logger | logging.LoggerAdapter,
) -> None:
    """Block until `lock` is taken, logging every WAIT_LOG_INTERVAL_SECONDS; honour `timeout`."""
    while True:
        waited = time.monotonic() - started
        if timeout is None:
            chunk = WAIT_LOG_INTERVAL_SECONDS
        else:
            remaining = timeout - waited
            if remaining <= 0:
                raise WarehouseLockTimeout(
                    f"{what} {target_path} is still being written by "
                    f"{_describe_holder(lock_path)} after waiting {waited:.1f} s "
                    f"(timeout {timeout:g} s); lock file {lock_path}"
                )
            chunk = min(WAIT_LOG_INTERVAL_SECONDS, remaining)
        try:
            lock.acquire(timeout=chunk, poll_interval=0.05)
            return
        except filelock.Timeout:
            if timeout is None or time.monotonic() - started < timeout:
                log.info(
                    "Still waiting for the write lock of %s %s (%.0f s so far).",
                    what.lower(),
                    target_path,
                    time.monotonic() - started,
                )
