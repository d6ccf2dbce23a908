"""The folders `selftaught view` serves, the runs in them, and who is running each.

A run is named in URLs by the index of the folder it was found in and its directory's
name (`0/20250101-120000-echo`); nothing else can be named. A name is looked up among
the folder's entries, never joined onto a path as given, and the directory it names must
resolve (symlinks followed) inside the folder it was found in: `..`, absolute paths and
symlinks leading out are refused alike.

Liveness is read without taking any lock: the pid a run writes into its `run.lock`, and
whether the kernel lists an flock on that file (`/proc/locks`). `selftaught runs` asks by
trying a shared lock for an instant; the view polls every second, and must never be the
reason a `resume` finds the run in use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from selftaught.errors import UserError
from selftaught.store.faults import LOCK
from selftaught.store.reads import RECORDS


@dataclass(frozen=True)
class Folder:
    """One folder given on the command line: a run directory or a folder of them."""

    index: int
    path: Path
    """As given (absolute), shown to the user."""
    real: Path
    """With symlinks resolved: every run served from it resolves inside it."""

    @property
    def is_run(self) -> bool:
        return (self.path / RECORDS).is_file()


@dataclass(frozen=True)
class RunRef:
    """A run the view may read: its folder, its name there, its directory."""

    folder: int
    name: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.name}"


class Folders:
    """The served folders. Raises `UserError` for a path that does not exist."""

    def __init__(self, paths: list[Path]) -> None:
        folders = []
        for i, p in enumerate(paths):
            path = Path(p).absolute()
            if not path.is_dir():
                raise UserError(f"no such folder: {p}")
            folders.append(Folder(i, path, path.resolve()))
        self.folders = folders

    def runs(self, folder: Folder) -> list[RunRef]:
        """The run directories of a folder (the folder itself when it is one), by name."""
        if folder.is_run:
            return [RunRef(folder.index, folder.path.name, folder.path)]
        out = []
        try:
            entries = sorted(os.scandir(folder.path), key=lambda e: e.name)
        except OSError:
            return []
        for entry in entries:
            ref = self._inside(folder, entry.name)
            if ref is not None:
                out.append(ref)
        return out

    def problem(self, folder: Folder) -> str | None:
        """Why a folder shows no run, if it shows none."""
        if folder.is_run or self.runs(folder):
            return None
        return f"{folder.path} is not a run directory and holds no run directories"

    def find(self, folder: int, name: str) -> RunRef | None:
        """The run `name` of folder number `folder`, or None (the same for a name that
        does not exist and one that is refused, so nothing is learnt by probing)."""
        if not 0 <= folder < len(self.folders):
            return None
        f = self.folders[folder]
        if f.is_run:
            return RunRef(f.index, f.path.name, f.path) if name == f.path.name else None
        return self._inside(f, name)

    def _inside(self, folder: Folder, name: str) -> RunRef | None:
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            return None
        path = folder.path / name
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if real.parent != folder.real or not (real / RECORDS).is_file():
            return None  # a symlink leading out of the folder, or no run
        return RunRef(folder.index, name, path)


def lock_holder(run_dir: Path) -> int | None:
    """The pid in the run's `run.lock` while the kernel lists a lock on that file (0 if the
    pid is unreadable), None while nobody holds it. Takes no lock, opens nothing for
    writing. A live pid in the file counts as holding it."""
    path = Path(run_dir) / LOCK
    try:
        st = os.stat(path)
        text = path.read_text(errors="replace")
    except OSError:
        return None
    try:
        pid = int(text.split()[0])
    except (ValueError, IndexError):
        pid = 0
    # The kernel's word first; the pid as well, as a filesystem may name its device in
    # /proc/locks differently from stat().
    locked = bool(_listed_lock(st.st_dev, st.st_ino)) or (pid > 0 and pid_alive(pid))
    return pid if locked else None


def _listed_lock(dev: int, ino: int) -> bool | None:
    """Whether /proc/locks lists a lock on the file (device, inode); None if unreadable."""
    want = f"{os.major(dev):02x}:{os.minor(dev):02x}:{ino}"
    try:
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters add "->")
                if "->" in fields:
                    continue
                if len(fields) >= 6 and fields[5] == want:
                    return True
    except OSError:
        return None
    return False


def pid_alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)  # type: ignore[call-overload]
    except PermissionError:
        return True  # alive, another user's
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    return True


def live_status(run_dir: Path, recorded: str, pid: object) -> str:
    """The recorded status corrected by who holds the run now, as `selftaught runs`
    reports it: `running` only while a live process holds the lock, `locked` while one
    holds it for something else, `stopped` for a run killed without a chance to say so."""
    if (Path(run_dir) / LOCK).exists():
        if lock_holder(run_dir) is not None:
            if recorded in ("running", "finished"):
                return recorded  # a finished run still holding its lock is closing
            return "locked"
        return "stopped" if recorded == "running" else recorded
    if recorded == "running" and pid is not None and not pid_alive(pid):
        return "stopped"
    return recorded
