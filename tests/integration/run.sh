#!/bin/sh
# Integration tests: start the real master on loopback in a temporary
# directory and drive it with real IMAP clients.
#
# A failure is a failure: nothing is rerun.  A test that fails only
# sometimes has found a race, in the server or in the test.
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export top_builddir top_srcdir
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "$top_srcdir/tests/integration" "$@"
