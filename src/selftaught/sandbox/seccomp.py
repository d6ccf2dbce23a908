"""A seccomp filter for workers: an allow list, one process, nothing that reaches others.

A worker may make the calls a Python program needs on its own: files through descriptors
and paths (which Landlock confines), memory, threads, time, signals to itself, polling, and
its job's socket. Every other call fails: those named below with EPERM (the program sees an
ordinary `PermissionError`), any call not on the list, including every call newer than
this list, with ENOSYS (as on an older kernel, so the C library falls back where it can).

Named and refused: starting processes (`clone` without CLONE_THREAD, `fork`, `vfork`; so a
fork bomb cannot start and a kill of the worker's pid kills all of its code), exec,
ptrace, other processes' memory, signals to anything but itself, any call that names
another process (limits, scheduling, priorities, CPU clocks), System V or POSIX IPC,
watching files (inotify, fanotify), `flock`, probing others' file locks, leases, listing
mounts, sockets of its own (`socket`, `bind`, `connect`; a `socketpair` is allowed and can
reach nothing else, as sends with an address are refused), changing file modes, owners,
times or extended attributes, mount, and io_uring (whose operations would bypass this
filter). docs/security.md, "Layers".
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import struct

from selftaught.sandbox.syscalls import AARCH64, X86_64

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
RET_KILL_PROCESS = 0x80000000
EPERM, ENOTTY, ENOSYS = 1, 25, 38
CLONE_THREAD = 0x00010000

_LD_ABS_W, _JEQ, _JSET, _JGE, _JA, _RET = 0x20, 0x15, 0x45, 0x35, 0x05, 0x06

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
    # other processes: their I/O priorities, memory and kernel objects
    "ioprio_set", "ioprio_get", "kcmp", "migrate_pages",
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
    # memory outside the address-space limit (a memfd's pages are counted by no rlimit,
    # and by the run's cgroup against whichever worker the kernel then picks), and the
    # page cache's state of shared files (which pages are resident: a channel)
    "memfd_create", "mincore",
    # sockets of its own (the job's socket comes connected): a socket file bound in its
    # scratch is a mailbox any sibling could send to, as sends are not file opens
    "bind", "connect", "listen", "accept", "accept4", "sendmsg", "sendmmsg",
    # the mount table lists every live worker's scratch
    "listmount", "statmount",
]  # fmt: skip

_OWN_PROCESS_ONLY = [
    "prlimit64", "sched_setparam", "sched_getparam", "sched_setscheduler",
    "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_getaffinity",
    "sched_setattr", "sched_getattr", "getpgid", "getsid",
]  # fmt: skip
"""Calls whose first argument names a process: allowed on the worker itself (its pid or 0)."""

_CLOCKS = ["clock_gettime", "clock_getres", "clock_nanosleep", "timer_create"]
"""Allowed on the clocks of a number (real time, monotonic, its own CPU time): a negative
clock id names another process's or thread's CPU clock, which tells what it is doing."""

_PRIORITY = ["getpriority", "setpriority"]
"""Allowed on the worker itself only: `which` PRIO_PROCESS and `who` its pid or 0."""

_ALLOWED = [
    # the most frequent first: each call is compared in this order
    "newfstatat", "futex", "read", "write", "lseek", "close", "openat", "getcwd", "mmap",
    "munmap", "mprotect", "brk", "mremap", "recvfrom", "rt_sigaction",
    "rt_sigprocmask", "rt_sigreturn", "setitimer", "getitimer", "gettid", "getpid",
    "nanosleep", "getrandom",
    # files, through what Landlock lets it open
    "open", "openat2", "creat", "stat", "lstat", "fstat", "statx", "statfs", "fstatfs",
    "access", "faccessat", "faccessat2", "readv", "writev", "pread64", "pwrite64", "preadv",
    "pwritev", "getdents", "getdents64", "readlink", "readlinkat",
    "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "truncate",
    "ftruncate", "fallocate", "fsync", "fdatasync", "sync_file_range", "readahead",
    "copy_file_range", "sendfile", "splice", "tee", "dup", "dup2", "dup3",
    "pipe", "pipe2", "close_range", "umask", "getxattr", "lgetxattr", "fgetxattr",
    "listxattr", "llistxattr", "flistxattr",
    # waiting on its own descriptors
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "signalfd", "signalfd4",
    # memory and threads
    "msync", "membarrier", "get_mempolicy", "set_mempolicy", "mbind",
    "pkey_mprotect", "pkey_alloc", "pkey_free", "futex_waitv", "set_robust_list",
    "set_tid_address", "rseq", "exit", "exit_group", "sched_yield", "getcpu", "arch_prctl",
    "prctl", "wait4", "waitid",
    # signals to itself, timers, clocks
    "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait", "sigaltstack", "pause", "alarm",
    "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
    "restart_syscall", "gettimeofday", "time", "times", "getrusage",
    # who it is
    "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid",
    "getresgid", "getpgrp", "uname", "getrlimit",
    "setrlimit",
    # its job's socket (and a socketpair of its own: asyncio makes one)
    "recvmsg", "recvmmsg", "shutdown", "getsockname", "getpeername", "getsockopt",
    "setsockopt", "socketpair",
]  # fmt: skip
"""Calls a worker may make freely (the filtered ones are in `build`)."""

_FCNTL_ALLOWED = [0, 1, 2, 3, 4, 6, 7, 37, 38, 1030, 1032, 1033, 1034]
"""fcntl commands a worker may use: descriptors and their flags (F_DUPFD, F_GETFD, F_SETFD,
F_GETFL, F_SETFL, F_DUPFD_CLOEXEC), taking record locks (F_SETLK, F_SETLKW, F_OFD_SETLK,
F_OFD_SETLKW: sqlite on a scratch file needs them; on a shared file it may only read, a
lock is a read lock, which nothing another worker may do can see, as F_GETLK is refused),
a pipe's size (F_GETPIPE_SZ) and seals. Refused: F_GETLK (the probe that would see another's
lock), leases, F_NOTIFY, F_SETOWN/F_SETSIG (signals to a process of its choice),
F_SET_RW_HINT (kept on a shared file's inode), F_SETPIPE_SZ (pipe memory is counted per
user, host-wide)."""

_IOCTL_ALLOWED = [0x5401, 0x5413, 0x541B, 0x5421, 0x5450, 0x5451, 0x80086601]
"""ioctl requests a worker may make: is it a terminal, its size (TCGETS, TIOCGWINSZ), bytes
waiting, non-blocking and close-on-exec flags (FIONREAD, FIONBIO, FIONCLEX, FIOCLEX), and
reading a file's flags (FS_IOC_GETFLAGS). Any other fails with ENOTTY: most act on the file
itself, and Landlock does not check them (a worker that keeps uid 0 set a read-only host
file's flags with FS_IOC_SETFLAGS)."""

_ADVICE_IGNORED = {"fadvise64": (3, [4, 5]), "madvise": (2, [20, 21])}
"""Advice that would evict shared files from the page cache (POSIX_FADV_DONTNEED,
POSIX_FADV_NOREUSE, MADV_COLD, MADV_PAGEOUT): the call succeeds and does nothing."""

_ARCHES = {"x86_64": (0xC000003E, X86_64), "aarch64": (0xC00000B7, AARCH64)}


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


def _rules(pid: int) -> dict[int, list[bytes]]:
    """What each system call number gets, for a worker whose pid is `pid`: a body of
    instructions whose every path ends in a return. Numbers not in it get ENOSYS."""
    _, table = _ARCHES[platform.machine()]
    deny = _insn(_RET, 0, 0, RET_ERRNO | EPERM)
    allow = _insn(_RET, 0, 0, RET_ALLOW)
    rules: dict[int, list[bytes]] = {}

    def block(nr: int, body: list[bytes]) -> None:
        rules.setdefault(nr, body)  # a number named twice keeps its first rule

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
        block(table[name], _one_of(0, [pid], allow, deny))
    for name in _OWN_PROCESS_ONLY:
        block(table[name], _one_of(0, [pid, 0], allow, deny))
    block(table["fcntl"], _one_of(1, _FCNTL_ALLOWED, allow, deny))
    block(table["ioctl"], _one_of(1, _IOCTL_ALLOWED, allow, _insn(_RET, 0, 0, RET_ERRNO | ENOTTY)))
    for name, (arg, advice) in _ADVICE_IGNORED.items():
        block(table[name], _one_of(arg, advice, _insn(_RET, 0, 0, RET_ERRNO | 0), allow))
    for name in _CLOCKS:
        block(
            table[name],
            [_insn(_LD_ABS_W, 0, 0, _arg(0)), _insn(_JSET, 0, 1, 0x80000000), deny, allow],
        )
    for name in _PRIORITY:
        block(
            table[name],
            [_insn(_LD_ABS_W, 0, 0, _arg(0)), _insn(_JEQ, 0, 3, 0)]
            + [_insn(_LD_ABS_W, 0, 0, _arg(1)), _insn(_JEQ, 2, 0, pid), _insn(_JEQ, 1, 0, 0)]
            + [deny, allow],
        )
    # a send with an address could reach a named socket: only sends on its own connection
    block(
        table["sendto"],
        [_insn(_LD_ABS_W, 0, 0, _arg(4)), _insn(_JEQ, 0, 2, 0)]
        + [_insn(_LD_ABS_W, 0, 0, _arg(4) + 4), _insn(_JEQ, 1, 0, 0), deny, allow],
    )
    for name in _ALLOWED:
        if name in table:
            block(table[name], [allow])
    for name in _COMMON_DENIED:
        if name in table:
            block(table[name], [deny])
    return rules


_NOT_LISTED = _insn(_RET, 0, 0, RET_ERRNO | ENOSYS)


def _linear(rules: dict[int, list[bytes]]) -> list[bytes]:
    """The dispatch as a chain, each number compared in turn: the plain form of what
    `_search` does (the tests run both on every number)."""
    prog = []
    for nr, body in rules.items():
        prog.append(_insn(_JEQ, 0, len(body), nr))
        prog.extend(body)
    return [*prog, _NOT_LISTED]


def _intervals(rules: dict[int, list[bytes]]) -> list[tuple[int, bytes]]:
    """The numbers from 0 up as runs that get the same body: (first number, body)."""
    runs: list[tuple[int, bytes]] = []

    def add(start: int, body: bytes) -> None:
        if not runs or runs[-1][1] != body:
            runs.append((start, body))

    nxt = 0
    for nr in sorted(rules):
        if nr > nxt:
            add(nxt, _NOT_LISTED)
        add(nr, b"".join(rules[nr]))
        nxt = nr + 1
    add(nxt, _NOT_LISTED)
    return runs


def _search(runs: list[tuple[int, bytes]]) -> list[bytes]:
    """The dispatch as a binary search over the runs of numbers: about log2(runs)
    comparisons for any call. The kernel runs a new filter once for every number (to
    cache the calls it always allows), so a chain of some 250 numbers cost each worker
    0.3 ms to install. Bodies longer than one instruction are placed once, after the
    search, and reached by a jump."""
    shared: dict[bytes, int] = {}  # body -> its offset after the search
    code: list[bytes | tuple[int, int]] = []  # an instruction, or (jump to body, at)

    def emit(lo: int, hi: int) -> list[bytes | tuple[int, int]]:
        if hi - lo == 1:
            body = runs[lo][1]
            if len(body) == 8:
                return [body]
            if body not in shared:
                shared[body] = sum(len(b) for b in shared) // 8
            return [(shared[body], 0)]
        middle = (lo + hi) // 2
        low, high = emit(lo, middle), emit(middle, hi)
        first = runs[middle][0]  # number >= first: the high runs
        if len(low) <= 255:
            return [_insn(_JGE, len(low), 0, first), *low, *high]
        return [_insn(_JGE, 0, 1, first), _insn(_JA, 0, 0, len(low)), *low, *high]

    code = emit(0, len(runs))
    out = []
    for at, item in enumerate(code):
        if isinstance(item, tuple):
            item = _insn(_JA, 0, 0, len(code) - at - 1 + item[0])
        out.append(item)
    return out + list(shared)


def _header() -> list[bytes]:
    """Kill a call of another architecture, refuse the x32 ABI, and load the number."""
    arch, _ = _ARCHES[platform.machine()]
    prog = [
        _insn(_LD_ABS_W, 0, 0, 4),
        _insn(_JEQ, 1, 0, arch),
        _insn(_RET, 0, 0, RET_KILL_PROCESS),
        _insn(_LD_ABS_W, 0, 0, 0),
    ]
    if arch == 0xC000003E:
        prog += [_insn(_JGE, 0, 1, 0x40000000), _insn(_RET, 0, 0, RET_ERRNO | EPERM)]  # x32
    return prog


def build(pid: int) -> bytes:
    """The filter program for a worker whose pid is `pid` (it may signal only itself)."""
    prog = _header()
    prog += _search(_intervals(_rules(pid)))
    return b"".join(prog)


libc = ctypes.CDLL(None, use_errno=True)


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PROBES = (0x1234567, 0x7654321)
"""Two pids no process has (pid_max is at most 2**22), for finding where `build` puts one."""


@functools.cache
def _template() -> tuple[bytes, tuple[int, ...], tuple[int, ...]]:
    """The filter built once, and where its pid goes: the offsets of the `k` fields that
    hold the pid, and of those that hold its negative (a process group). The fork server
    calls this before it forks, so each worker only writes its own pid in (`program`)."""
    first, second = (build(p) for p in _PROBES)
    if len(first) != len(second):  # the layout would depend on the pid: never patch it
        raise RuntimeError("the seccomp filter's layout depends on the pid")
    plus, minus = [], []
    for offset in range(4, len(first), 8):  # the `k` field of each 8-byte instruction
        if first[offset : offset + 4] != second[offset : offset + 4]:
            (k,) = struct.unpack_from("I", first, offset)
            if k == _PROBES[0]:
                plus.append(offset)
            elif k == -_PROBES[0] & 0xFFFFFFFF:
                minus.append(offset)
            else:
                raise AssertionError(f"the filter uses its pid as {k:#x}")
    return first, tuple(plus), tuple(minus)


def prepare() -> None:
    """Build the template now: the fork server calls this once, before it forks."""
    _template()


def program(pid: int) -> bytes:
    """`build(pid)`, from the template: the same bytes, in a few microseconds."""
    code, plus, minus = _template()
    out = bytearray(code)
    for offset in plus:
        struct.pack_into("I", out, offset, pid & 0xFFFFFFFF)
    for offset in minus:
        struct.pack_into("I", out, offset, -pid & 0xFFFFFFFF)
    return bytes(out)


def install() -> None:
    """Apply the filter to the calling process (no_new_privs must already be set)."""
    code = program(os.getpid())
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _Fprog(len(code) // 8, ctypes.addressof(buf))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
