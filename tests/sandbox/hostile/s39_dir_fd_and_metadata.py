# kind: solution
# expect: ok
# events: path_escape,read_outside_roots
# returns: '[]'
import os


def algorithm(train_samples, train_parity, test_samples):
    # Routes around a path check that joins a path to the scratch directory: paths relative
    # to a descriptor, directories outside scratch as descriptors, links, metadata calls.
    got = []

    def attempt(name, action):
        try:
            action()
            got.append(name)
        except Exception:  # refused (or False: ZeroDivisionError)
            pass

    here = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
    other = '{OTHER_RUN}'
    attempt('climb from a descriptor', lambda: os.open('../../../../../' + other, os.O_RDONLY, dir_fd=here))
    attempt('write by climbing', lambda: os.open('../escaped', os.O_WRONLY | os.O_CREAT, dir_fd=here))
    attempt('root as a descriptor', lambda: os.open('/', os.O_RDONLY | os.O_DIRECTORY))
    attempt('root as a path descriptor', lambda: os.open('/', os.O_PATH))
    attempt('other run as a descriptor', lambda: os.open(os.path.dirname(other), os.O_PATH))
    attempt('link out', lambda: os.symlink(other, 'link'))
    attempt('hard link out', lambda: os.link(other, 'hard'))
    attempt('read other run', lambda: open(other, 'rb').read(1))
    attempt('stat other run', lambda: os.stat(other))
    attempt('lstat other run', lambda: os.lstat(other))
    attempt('access other run', lambda: os.access(other, os.R_OK) or 1 / 0)
    attempt('exists other run', lambda: os.path.exists(other) or 1 / 0)
    attempt('list other run', lambda: os.listdir(os.path.dirname(other)))
    attempt('scan other run', lambda: list(os.scandir(os.path.dirname(other))))
    attempt('readlink of cwd', lambda: os.readlink('/proc/self/cwd'))
    attempt('leave scratch', lambda: os.chdir('/'))
    attempt('rename out', lambda: (open('x', 'w').close(), os.rename('x', '{OUTSIDE}')))
    return repr(got)
