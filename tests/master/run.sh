#!/bin/sh
# master's own tests: the real master with tests/test_child as every child.
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export top_builddir top_srcdir
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "$top_srcdir/tests/master" "$@"
