"""A seccomp filter for workers: one process, no exec, nothing that reaches other processes.

A worker may start threads but not processes (`clone` without CLONE_THREAD fails), so a
fork bomb cannot start and a kill of the worker's pid kills all of its code. It may not
exec, ptrace, read other processes' memory, signal anything but itself, name another
process in any call (limits, scheduling, priorities), use System V or POSIX IPC, watch
files (inotify, fanotify), lock or lease files, list mounts, create, bind or connect
sockets, change file modes, owners, times or extended attributes, mount, or use io_uring
(whose operations would bypass this filter). Denied calls fail with EPERM; the program
sees an ordinary `PermissionError`.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
RET_KILL_PROCESS = 0x80000000
EPERM, ENOSYS = 1, 38
CLONE_THREAD = 0x00010000

_LD_ABS_W, _JEQ, _JSET, _JGE, _RET = 0x20, 0x15, 0x45, 0x35, 0x06

_COMMON_DENIED = [
    "fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv",
    "process_vm_writev", "tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    "socket", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown",
    "fchownat", "utime", "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr",
    "fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat",
    "removexattrat", "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "bpf",
    "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at",
    "mknod", "mknodat", "kexec_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "sethostname",
    "setdomainname", "iopl", "ioperm", "quotactl", "move_mount", "open_tree", "fsopen",
    "fsmount", "fspick", "mount_setattr",
    # other processes: their priorities, memory and kernel objects
    "setpriority", "getpriority", "ioprio_set", "ioprio_get", "kcmp", "migrate_pages",
    "move_pages", "process_madvise", "process_mrelease", "get_robust_list",
    # System V and POSIX IPC: kernel objects shared by every process of the host, that
    # outlive the worker (a channel between workers, memory no run's cgroup frees)
    "msgget", "msgsnd", "msgrcv", "msgctl", "shmget", "shmat", "shmctl", "shmdt", "semget",
    "semop", "semctl", "semtimedop", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr",
    # watching what other processes open, and locks on shared files: channels between
    # workers through the files every worker may read
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    "fanotify_init", "fanotify_mark", "flock",
    # sockets of its own (the job's socket comes connected): a socket file bound in its
    # scratch is a mailbox any sibling could send to, as sends are not file opens
    "socketpair", "bind", "connect", "listen", "accept", "accept4",
    # the mount table lists every live worker's scratch
    "listmount", "statmount",
]  # fmt: skip

_OWN_PROCESS_ONLY = [
    "prlimit64", "sched_setparam", "sched_getparam", "sched_setscheduler",
    "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_getaffinity",
    "sched_setattr", "sched_getattr",
]  # fmt: skip
"""Calls whose first argument names a process: allowed on the worker itself (its pid or 0)."""

_FCNTL_DENIED = [5, 6, 7, 36, 37, 38, 1024, 1025, 1026, 8, 10, 15]
"""fcntl commands that lock shared files, lease them, watch folders (F_GETLK, F_SETLK,
F_SETLKW, F_OFD_*, F_SETLEASE, F_GETLEASE, F_NOTIFY) or send signals to a process of the
caller's choice (F_SETOWN, F_SETSIG, F_SETOWN_EX)."""

_IOCTL_DENIED = [0x8901, 0x8902, 0x5412]
"""ioctl requests that do what F_SETOWN does (FIOSETOWN, SIOCSPGRP) or push input into a
terminal (TIOCSTI)."""

_X86_64 = {
    "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "execve": 59, "execveat": 322,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kill": 62,
    "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
    "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438, "socket": 41,
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "chown": 92, "fchown": 93,
    "lchown": 94, "fchownat": 260, "utime": 132, "utimes": 235, "futimesat": 261,
    "utimensat": 280, "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190,
    "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199, "setxattrat": 463,
    "removexattrat": 466, "mount": 165, "umount2": 166, "unshare": 272, "setns": 308,
    "pivot_root": 155, "chroot": 161, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "keyctl": 250, "add_key": 248, "request_key": 249, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_by_handle_at": 304,
    "name_to_handle_at": 303, "mknod": 133, "mknodat": 259, "kexec_load": 246,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169,
    "swapon": 167, "swapoff": 168, "acct": 163, "settimeofday": 164, "clock_settime": 227,
    "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "quotactl": 179,
    "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442,
    "prlimit64": 302, "setpriority": 141, "getpriority": 140, "sched_setparam": 142,
    "sched_getparam": 143, "sched_setscheduler": 144, "sched_getscheduler": 145,
    "sched_rr_get_interval": 148, "sched_setaffinity": 203, "sched_getaffinity": 204,
    "sched_setattr": 314, "sched_getattr": 315, "ioprio_set": 251, "ioprio_get": 252,
    "kcmp": 312, "migrate_pages": 256, "move_pages": 279, "process_madvise": 440,
    "process_mrelease": 448, "get_robust_list": 274, "msgget": 68, "msgsnd": 69,
    "msgrcv": 70, "msgctl": 71, "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67,
    "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220, "mq_open": 240,
    "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244,
    "mq_getsetattr": 245, "inotify_init": 253, "inotify_init1": 294,
    "inotify_add_watch": 254, "inotify_rm_watch": 255, "fanotify_init": 300,
    "fanotify_mark": 301, "flock": 73, "fcntl": 72, "socketpair": 53, "bind": 49,
    "connect": 42, "listen": 50, "accept": 43, "accept4": 288, "statmount": 457,
    "listmount": 458, "ioctl": 16,
}  # fmt: skip

_AARCH64 = {
    "clone": 220, "clone3": 435, "execve": 221, "execveat": 281, "ptrace": 117,
    "process_vm_readv": 270, "process_vm_writev": 271, "kill": 129, "tkill": 130,
    "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240, "pidfd_open": 434,
    "pidfd_send_signal": 424, "pidfd_getfd": 438, "socket": 198, "fchmod": 52,
    "fchmodat": 53, "fchmodat2": 452, "fchown": 55, "fchownat": 54, "utimensat": 88,
    "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15,
    "fremovexattr": 16, "setxattrat": 463, "removexattrat": 466, "mount": 40, "umount2": 39,
    "unshare": 97, "setns": 268, "pivot_root": 41, "chroot": 51, "bpf": 280,
    "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
    "request_key": 218, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_by_handle_at": 265, "name_to_handle_at": 264,
    "mknodat": 33, "kexec_load": 104, "init_module": 105, "finit_module": 273,
    "delete_module": 106, "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89,
    "settimeofday": 170, "clock_settime": 112, "sethostname": 161, "setdomainname": 162,
    "quotactl": 60, "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442,
    "prlimit64": 261, "setpriority": 140, "getpriority": 141, "sched_setparam": 118,
    "sched_getparam": 121, "sched_setscheduler": 119, "sched_getscheduler": 120,
    "sched_rr_get_interval": 127, "sched_setaffinity": 122, "sched_getaffinity": 123,
    "sched_setattr": 274, "sched_getattr": 275, "ioprio_set": 30, "ioprio_get": 31,
    "kcmp": 272, "migrate_pages": 238, "move_pages": 239, "process_madvise": 440,
    "process_mrelease": 448, "get_robust_list": 100, "msgget": 186, "msgsnd": 189,
    "msgrcv": 188, "msgctl": 187, "shmget": 194, "shmat": 196, "shmctl": 195, "shmdt": 197,
    "semget": 190, "semop": 193, "semctl": 191, "semtimedop": 192, "mq_open": 180,
    "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184,
    "mq_getsetattr": 185, "inotify_init1": 26, "inotify_add_watch": 27,
    "inotify_rm_watch": 28, "fanotify_init": 262, "fanotify_mark": 263, "flock": 32,
    "fcntl": 25, "socketpair": 199, "bind": 200, "connect": 203, "listen": 201,
    "accept": 202, "accept4": 242, "statmount": 457, "listmount": 458, "ioctl": 29,
}  # fmt: skip

_ARCHES = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _AARCH64)}


def supported() -> bool:
    """Whether this machine's architecture has a filter here (x86_64, aarch64)."""
    return platform.machine() in _ARCHES


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _arg(i: int) -> int:
    return 16 + 8 * i  # low 32 bits of argument i (little-endian)


def _one_of(arg: int, values: list[int], then: bytes, otherwise: bytes) -> list[bytes]:
    """A block body: `then` if argument `arg` (its low 32 bits) is one of `values`."""
    n = len(values)
    tests = [_insn(_JEQ, n - i, 0, v) for i, v in enumerate(values)]
    return [_insn(_LD_ABS_W, 0, 0, _arg(arg)), *tests, otherwise, then]


def build(pid: int) -> bytes:
    """The filter program for a worker whose pid is `pid` (it may signal only itself)."""
    arch, table = _ARCHES[platform.machine()]
    deny = _insn(_RET, 0, 0, RET_ERRNO | EPERM)
    allow = _insn(_RET, 0, 0, RET_ALLOW)
    prog = [
        _insn(_LD_ABS_W, 0, 0, 4),
        _insn(_JEQ, 1, 0, arch),
        _insn(_RET, 0, 0, RET_KILL_PROCESS),
        _insn(_LD_ABS_W, 0, 0, 0),
    ]
    if arch == 0xC000003E:
        prog += [_insn(_JGE, 0, 1, 0x40000000), deny]  # the x32 ABI

    def block(nr: int, body: list[bytes]) -> None:
        prog.append(_insn(_JEQ, 0, len(body), nr))
        prog.extend(body)

    block(
        table["clone"],
        [_insn(_LD_ABS_W, 0, 0, _arg(0)), _insn(_JSET, 0, 1, CLONE_THREAD), allow, deny],
    )
    block(table["clone3"], [_insn(_RET, 0, 0, RET_ERRNO | ENOSYS)])  # glibc falls back to clone
    own = [pid, 0, -pid]
    block(
        table["kill"],
        [_insn(_LD_ABS_W, 0, 0, _arg(0))]
        + [_insn(_JEQ, len(own) - i, 0, p) for i, p in enumerate(own)]
        + [deny, allow],
    )
    for name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        block(table[name], [_insn(_LD_ABS_W, 0, 0, _arg(0)), _insn(_JEQ, 1, 0, pid), deny, allow])
    for name in _OWN_PROCESS_ONLY:
        block(table[name], _one_of(0, [pid, 0], allow, deny))
    block(table["fcntl"], _one_of(1, _FCNTL_DENIED, deny, allow))
    block(table["ioctl"], _one_of(1, _IOCTL_DENIED, deny, allow))
    for name in _COMMON_DENIED:
        if name in table:
            block(table[name], [deny])
    prog.append(allow)
    return b"".join(prog)


libc = ctypes.CDLL(None, use_errno=True)


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> None:
    """Apply the filter to the calling process (no_new_privs must already be set)."""
    code = build(os.getpid())
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _Fprog(len(code) // 8, ctypes.addressof(buf))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
