"""What the run directory's storage can do to a run: fill up, or be in use by another run.

- A full disk (or quota) while writing records, the response cache or an improver file
  raises `StorageFull`, which stops the run cleanly (`RunHalted`): SQLite rolls the failed
  transaction back, so the records hold every write that completed and resume from there.
  A small reserve file (`RESERVE`) kept in the run directory is deleted at that moment, so
  the run's last writes (its status, its usage) still find room.
- One process at a time: a run holds an exclusive `flock` on `LOCK` in its directory for
  as long as it lives; the kernel releases it when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from selftaught.errors import EXIT_RESUMABLE, RunDirError, RunHalted

LOCK = "run.lock"
RESERVE = "reserve"
RESERVE_BYTES = 512 * 1024
"""Room kept back for the writes that close a run on a full disk (a few SQLite pages)."""

_FULL_ERRNO = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_SQLITE_IOERR = 10  # SQLITE_IOERR: "disk I/O error"
_ALMOST_FULL_BYTES = 64 * 1024


class StorageFull(RunHalted):
    """No space left where the run writes. The run stops; resume it once there is room."""

    exit_code = EXIT_RESUMABLE


def is_full(exc: BaseException, where: Path | str | None = None) -> bool:
    """Whether `exc` says the device (or the user's quota) is full. SQLite reports a
    full disk as "disk I/O error" when it cannot grow its shared-memory file, so an I/O
    error counts as full when the device holding `where` has (almost) no room left."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL_ERRNO
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:
            return False
        if code & 0xFF == _SQLITE_FULL:
            return True
        return code & 0xFF == _SQLITE_IOERR and where is not None and _almost_full(where)
    return False


def _almost_full(where: Path | str) -> bool:
    try:
        st = os.statvfs(where)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _ALMOST_FULL_BYTES


def storage_full(where: Path | str) -> StorageFull:
    return StorageFull(f"no space left on the device holding {where}")


@contextlib.contextmanager
def halt_when_full(where: Path | str, on_full: object = None) -> Iterator[None]:
    """Re-raise a disk-full error from the block as `StorageFull` (after `on_full()`)."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        if not is_full(exc, where):
            raise
        if callable(on_full):
            on_full()
        raise storage_full(where) from None


def make_reserve(run_dir: Path) -> None:
    """Keep `RESERVE_BYTES` for the writes that close a run; fails with `StorageFull`."""
    path = Path(run_dir) / RESERVE
    try:
        if path.is_file() and path.stat().st_size >= RESERVE_BYTES:
            return
        with open(path, "wb") as f:
            f.write(b"\0" * RESERVE_BYTES)  # written, not sparse: the blocks are taken
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        if is_full(exc):
            raise storage_full(run_dir) from None
        raise


def release_reserve(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (Path(run_dir) / RESERVE).unlink()


class RunLock:
    """An exclusive lock on a run directory, held by this process until `release()`."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holder(run_dir)
            who = f"selftaught process {pid}" if pid else "another selftaught process"
            raise RunDirError(
                f"{run_dir} is in use by {who}; wait for it to end or stop it first"
            ) from None
        self._fd: int | None = fd
        with contextlib.suppress(OSError):  # the pid is informative; the lock is the flock
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def holder(run_dir: Path) -> int | None:
    """The pid of the live process holding the run's lock, 0 if held by an unknown
    process, None if nobody holds it. Reads only: never creates or changes a file."""
    path = Path(run_dir) / LOCK
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return int(os.pread(fd, 32, 0).split()[0])
            except (OSError, ValueError, IndexError):
                return 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
