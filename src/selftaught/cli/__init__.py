"""The `selftaught` command line."""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading

import typer

from selftaught.errors import RunHalted, UserError
from selftaught.text import printable

app = typer.Typer(
    name="selftaught",
    help="STOP, the Self-Taught Optimizer: a program that improves programs, and itself.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


_whole_process = threading.Event()


def whole_process() -> bool:
    """Whether the command is this process's whole program (`main` called without
    arguments, as the `selftaught` command is), so that it may leave to the process's end
    what a library call must tidy itself: see `gc_freeze`."""
    return _whole_process.is_set()


def gc_freeze() -> None:
    """In a command that is its process's whole program: every object now alive is kept
    out of the garbage collector's way from here on (`gc.freeze`), so that no full
    collection walks matplotlib's and numpy's objects again; they go with the process."""
    if whole_process():
        gc.freeze()


def _register_commands() -> None:
    """Each module of this package registers its commands on `app` when imported."""
    import importlib
    import pkgutil

    first = ["run", "resume", "tasks", "transfer", "report"]  # the order `--help` shows
    names = [m.name for m in pkgutil.iter_modules(__path__)]
    for name in first + sorted(set(names) - set(first)):
        if name in names and not name.startswith("_") and name != "progress":
            importlib.import_module(f"{__name__}.{name}")


_register_commands()


@app.callback()
def _root() -> None:
    """STOP, the Self-Taught Optimizer: a program that improves programs, and itself."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input is one line on stderr and exit code 2, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    if argv is None:
        _whole_process.set()
        # The interpreter's last garbage collections would walk every object left, those
        # of matplotlib and numpy too (0.06 s). This runs after the exit handlers the
        # command registers; nothing of ours is left to the collector (records and
        # caches are closed when the command returns).
        atexit.register(gc_freeze)
    try:
        # Without standalone mode typer *returns* the code of a `typer.Exit` (and turns
        # Ctrl-C into Exit(130)) instead of raising it.
        code = app(args=args, prog_name="selftaught", standalone_mode=False)
        if code == 130:
            print("selftaught: interrupted", file=sys.stderr)
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as exc:
        _fail(str(exc))
    except RunHalted as exc:  # e.g. the disk filled while the run was being set up
        print(printable(f"selftaught: stopped: {exc}"), file=sys.stderr)
        sys.exit(exc.exit_code or 1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        print("selftaught: interrupted", file=sys.stderr)
        sys.exit(130)
    except OSError as exc:  # a file or folder the user named cannot be used
        where = f" {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}:{where}")
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(0)  # typer has printed the help
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _fail(f"{message} (see selftaught --help)")
    except Exception as exc:  # a bug of ours: one line, the traceback on request
        if os.environ.get("SELFTAUGHT_DEBUG"):
            raise
        print(
            printable(f"selftaught: internal error: {type(exc).__name__}: {exc} ")
            + "(records are kept; SELFTAUGHT_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        sys.exit(1)


def _fail(message: str) -> None:
    print(printable(f"selftaught: error: {message}"), file=sys.stderr)  # may quote a record
    sys.exit(2)


__all__ = ["app", "main"]
