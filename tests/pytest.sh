#!/bin/sh
# pytest on one folder of tests (integration, master), as the runners in
# those folders ask: pytest.sh FOLDER [pytest arguments]
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
# nothing is written into the source tree (read-only under distcheck)
PYTHONDONTWRITEBYTECODE=1
export top_builddir top_srcdir PYTHONDONTWRITEBYTECODE
dir=$1
shift
# BERTH_TESTS=unit: the check suites alone (CI's distcheck, whose tarball
# build runs the same code the full suite has just run)
if [ "${BERTH_TESTS:-all}" = unit ]; then
	echo "$dir: skipped (BERTH_TESTS=unit)"
	exit 77
fi
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "$top_srcdir/tests/$dir" "$@"
