#!/bin/sh
# Integration tests: start the real master on loopback in a temporary
# directory and drive it with real IMAP clients.
#
# A failure is a failure: nothing is rerun.  A test that fails only
# sometimes has found a race, in the server or in the test.
exec "$(dirname "$0")/../pytest.sh" integration "$@"
