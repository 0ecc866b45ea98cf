#!/bin/sh
# Integration tests: start the real master on loopback in a temporary
# directory and drive it with real IMAP clients.
#
# A test that fails is run once more on its own; if it then passes, the
# run passes but the test is reported as FLAKY (a timing-dependent failure
# to investigate, not to ignore).
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export top_builddir top_srcdir
cache="$top_builddir/tests/.pytest-cache"
/usr/bin/python3 -m pytest -q -o cache_dir="$cache" \
    "$top_srcdir/tests/integration" "$@"
rc=$?
[ $rc -eq 0 ] && exit 0
[ $rc -ne 1 ] && exit $rc
echo "---- rerunning the failed tests once ----"
if /usr/bin/python3 -m pytest -q -o cache_dir="$cache" --last-failed \
    --last-failed-no-failures none "$top_srcdir/tests/integration" "$@"; then
	echo "FLAKY: the tests above failed once and passed on a rerun"
	exit 0
fi
exit 1
