#!/bin/sh
# store_churn - 10,000 connections that come and go through pool growth,
# trimming (SIGTERM) and SIGKILLed workers, then the store's lockers must
# be back where they started (tests/integration/test_store_life.py, which
# runs 2,000 by default to keep the suite short).  Prints the lockers
# before and after, and the high-water mark.
#
#   bench/store_churn.sh [connections]      (after building in build/)
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)/build}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
export top_builddir top_srcdir
BERTH_STORE_CHURN=${1:-10000} exec /usr/bin/python3 -m pytest -q -s \
    -p no:cacheprovider "$top_srcdir/tests/integration/test_store_life.py" \
    -k lockers_flat 2>&1 | grep -E '^lockers|passed|failed|Error'
