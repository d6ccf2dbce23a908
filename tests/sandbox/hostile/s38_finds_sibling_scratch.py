# kind: solution
# expect: ok
# events: read_outside_roots,proc_read
# returns: 'nothing found'
import gc
import os


def algorithm(train_samples, train_parity, test_samples):
    # Other workers (the spares, at least) are alive now, each with a scratch directory
    # beside this one. Learn their names by every route, then try to reach them.
    here = os.getcwd()
    base = os.path.dirname(here)
    names = set()
    for lister in (os.listdir, lambda p: [e.name for e in os.scandir(p)]):
        try:
            names.update(lister(base))
        except OSError:
            pass
    try:  # the mount table lists every worker's scratch mount
        with open('/proc/self/mountinfo') as f:
            names.update(os.path.basename(p) for p in f.read().split() if p.startswith(base + '/'))
    except OSError:
        pass
    for obj in gc.get_objects():  # what the fork server knew, if it is still in memory
        if type(obj).__name__ in ('_Server', '_Job'):
            names.add('fork server state: ' + type(obj).__name__)
        values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple, set)) else ()
        try:
            for v in list(values)[:10000]:
                if isinstance(v, str) and v.startswith(base + '/') and not v.startswith(here):
                    names.add(os.path.basename(v))
        except Exception:
            pass
    names.discard(os.path.basename(here))
    for name in sorted(names):
        for reader in (os.listdir, os.stat, os.readlink):
            try:
                reader(os.path.join(base, name))
                return 'reached ' + name
            except (OSError, ValueError):
                pass
    return 'nothing found' if not names else 'learned ' + repr(sorted(names))
