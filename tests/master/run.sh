#!/bin/sh
# master's own tests: the real master with tests/test_child as every child.
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# nothing is written into the source tree (read-only under distcheck)
PYTHONDONTWRITEBYTECODE=1
export top_builddir top_srcdir PYTHONDONTWRITEBYTECODE
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "$top_srcdir/tests/master" "$@"
