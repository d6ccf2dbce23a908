"""Landlock (Linux 5.13+): confine what a worker may read and write, without privileges.

Two layers, both applied by each worker. The first is built once by the fork server and
shared: reads only of the Python installation and system libraries minus the hidden
paths, any access beneath the scratch base, no TCP, no signals or abstract sockets
outside the worker's domain. The second is the worker's own: reads of the read roots and
its private scratch directory only, writes only in the latter. Layers intersect, so a
worker gets the narrower of the two on every access: no hidden path, no other worker's
scratch.
"""

from __future__ import annotations

import ctypes
import os

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13
TRUNCATE = 1 << 14
IOCTL_DEV = 1 << 15
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

READ = READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
"""The only rights a rule on a file (not a directory) may carry."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi_version() -> int:
    """The Landlock ABI the kernel offers; 0 when it has none (or it is disabled)."""
    try:
        version = _libc.syscall(
            SYS_CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION
        )
    except (AttributeError, OSError):
        return 0
    return max(int(version), 0)


def fs_rights(abi: int) -> int:
    """Every filesystem right the given ABI knows."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def write_rights(abi: int) -> int:
    return fs_rights(abi) & ~(READ | EXECUTE | IOCTL_DEV)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock {what}: {os.strerror(err)}")
    return result


class Ruleset:
    """One Landlock layer being built; `restrict()` applies it to the calling thread's process."""

    def __init__(self, abi: int, *, fs: int, net: int = 0, scoped: int = 0) -> None:
        attr = _RulesetAttr(fs, net if abi >= 4 else 0, scoped if abi >= 6 else 0)
        size = 24 if abi >= 6 else 16 if abi >= 4 else 8
        self.handled = fs
        self.fd = _check(
            _libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
            "create_ruleset",
        )

    def allow_fd(self, fd: int, rights: int, *, is_dir: bool) -> None:
        rights &= self.handled
        if not is_dir:
            rights &= FILE_RIGHTS
        if rights:
            rule = _PathBeneathAttr(rights, fd)
            _check(
                _libc.syscall(SYS_ADD_RULE, self.fd, RULE_PATH_BENEATH, ctypes.byref(rule), 0),
                "add_rule",
            )

    def allow(self, path: str, rights: int) -> bool:
        """Allow `rights` beneath `path`; False if it does not exist."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            self.allow_fd(fd, rights, is_dir=os.path.isdir(path))
        finally:
            os.close(fd)
        return True

    def restrict(self) -> None:
        """Apply this layer to the calling process, and close the ruleset."""
        try:
            _check(_libc.syscall(SYS_RESTRICT_SELF, self.fd, 0), "restrict_self")
        finally:
            os.close(self.fd)


def restrict_with(ruleset_fd: int) -> None:
    """Apply an already built ruleset (shared by every worker of a fork server) to the
    calling process; the descriptor stays open (the caller closes it)."""
    _check(_libc.syscall(SYS_RESTRICT_SELF, ruleset_fd, 0), "restrict_self")
