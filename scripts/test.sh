#!/usr/bin/env bash
# The README's test command: install everything the tests need, lint, run every test.
# CI runs exactly this (.ci/run). Debian's chromium renders the HTML report in a test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: chromium is not installed; the browser test will be skipped (apt-get install chromium)"
  fi
fi
pip install -q -e '.[test,ray]'
ruff check src tests bench
python -m pytest "$@"
