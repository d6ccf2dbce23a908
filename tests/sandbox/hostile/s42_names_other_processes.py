# kind: solution
# expect: ok
# returns: '[]'
import os
import resource
import sys
import time


def algorithm(train_samples, train_parity, test_samples):
    # Workers keep uid 0 where they cannot drop it, so uid checks let them change other
    # processes' limits and scheduling: lower the orchestrator's open-file limit to 12 and
    # it can no longer write its records. Only the kernel's filter stands in the way (the
    # audit hooks are a tripwire, switched off first).
    guards = sys.modules.get('selftaught.sandbox.guards')
    if guards is not None:
        guards.armed[0] = False
    got = []

    def attempt(name, action):
        try:
            action()
            got.append(name)
        except Exception:
            pass

    for pid in ({ORCH_PID}, os.getppid()):
        attempt(f'read limits of {pid}', lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE))
        attempt(f'set limits of {pid}', lambda: resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0)))
        attempt(f'affinity of {pid}', lambda: os.sched_getaffinity(pid))
        attempt(f'set affinity of {pid}', lambda: os.sched_setaffinity(pid, {0}))
        attempt(f'priority of {pid}', lambda: os.setpriority(os.PRIO_PROCESS, pid, 19))
        attempt(f'scheduler of {pid}', lambda: os.sched_getscheduler(pid))
        attempt(f'read priority of {pid}', lambda: os.getpriority(os.PRIO_PROCESS, pid))
        attempt(f'group of {pid}', lambda: os.getpgid(pid))
        attempt(f'session of {pid}', lambda: os.getsid(pid))
        # a CPU clock names a process: ~pid << 3 | CPUCLOCK_SCHED
        attempt(f'cpu time of {pid}', lambda: time.clock_gettime((~pid << 3) | 2))
    attempt('priority of its group', lambda: os.setpriority(os.PRIO_PGRP, 0, 19))
    attempt('priority of its user', lambda: os.getpriority(os.PRIO_USER, 0))
    # ... while the worker's own limits and scheduling stay its own to read and change
    own = [
        lambda: resource.getrlimit(resource.RLIMIT_NOFILE),
        lambda: resource.prlimit(0, resource.RLIMIT_CORE, (0, 0)),
        lambda: resource.prlimit(os.getpid(), resource.RLIMIT_NOFILE),
        lambda: os.sched_getaffinity(0),
        lambda: os.getpriority(os.PRIO_PROCESS, 0),
        lambda: os.setpriority(os.PRIO_PROCESS, os.getpid(), 5),
        lambda: os.getpgid(0),
        lambda: os.getsid(os.getpid()),
        lambda: time.process_time() + time.thread_time() + time.monotonic() + time.time(),
        lambda: time.clock_getres(time.CLOCK_MONOTONIC),
        lambda: time.sleep(0.001),
    ]
    for i, action in enumerate(own):
        try:
            action()
        except Exception as exc:
            got.append(f'own call {i} refused: {exc}')
    return repr(got)
