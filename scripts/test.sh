#!/usr/bin/env bash
# The README's test command: install everything the tests need into the active Python
# (the project with its [test], [ray] and [notebook] extras, nothing else), lint, check the
# types, run every test. CI runs exactly this in a virtualenv it makes afresh (.ci/run), so
# a dependency that is not declared fails there. Debian's chromium renders the HTML report
# in a test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: chromium is not installed; the browser test will be skipped (apt-get install chromium)"
  fi
fi
python -m pip install -q -e '.[test,ray,notebook]'
# The sandbox tests also run with workers as `nobody` and with the fork server started as
# an unprivileged user (tests/sandbox/test_modes.py). Neither can enter /root, where this
# Python may live, so as root they get a Python that others can read: Debian's, in a
# virtualenv outside any home, with what a worker imports (same versions as here).
if [ "$(id -u)" = 0 ]; then
  others="${SELFTAUGHT_OTHERS_PYTHON:-/opt/selftaught-others-python}"
  if ! [ -x "$others/bin/python" ]; then
    if ! /usr/bin/python3 -c "import ensurepip" 2>/dev/null && command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    /usr/bin/python3 -m venv "$others"
  fi
  "$others/bin/pip" install -q $(python -c 'from importlib.metadata import version as v
print(" ".join(f"{p}=={v(p)}" for p in ("numpy", "pydantic", "certifi")))')
  chmod -R a+rX "$others"  # whatever the umask
fi
ruff check src tests bench
python -m mypy src/selftaught  # the [tool.mypy] settings of pyproject.toml; no error passes
python -m pytest "$@"
