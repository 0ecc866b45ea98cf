#!/bin/sh
# master's own tests: the real master with tests/test_child as every child.
exec "$(dirname "$0")/../pytest.sh" master "$@"
