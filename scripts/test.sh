#!/usr/bin/env bash
# The test suite: set up with the dev tools (first run only), lint, then pytest.
# Extra arguments go to pytest. The tests run on every core (pytest-xdist, one worker a core, a test
# file per worker so its module fixtures are built once); SEQGAN_TEST_WORKERS=0 runs them in this process.
set -euo pipefail
cd "$(dirname "$0")/.."
workers="${SEQGAN_TEST_WORKERS:-auto}"
case "$workers" in
    auto | [0-9] | [0-9][0-9]) ;;
    *) echo "SEQGAN_TEST_WORKERS must be auto or a number of test workers (0: none), got '$workers'" >&2; exit 2 ;;
esac
bash scripts/setup.sh dev
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
