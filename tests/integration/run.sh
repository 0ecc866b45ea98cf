#!/bin/sh
# Integration tests: start the real master on loopback in a temporary
# directory and drive it with real IMAP clients.
#
# A failure is a failure: nothing is rerun.  A test that fails only
# sometimes has found a race, in the server or in the test.
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# nothing is written into the source tree (read-only under distcheck)
PYTHONDONTWRITEBYTECODE=1
export top_builddir top_srcdir PYTHONDONTWRITEBYTECODE
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "$top_srcdir/tests/integration" "$@"
