"""Waiting on an observable event with a deadline, and loopback ports;
shared by the integration tests and master's own (tests/master)."""
import os
import socket
import time

# deadlines guard against hanging for ever; the machine may be loaded far
# past what a test expects (several suites at once), so each is this many
# times the figure a test gives; a test that passes passes as soon as
# its event comes
SCALE = float(os.environ.get("BERTH_DEADLINE_SCALE", "3"))


def deadline(seconds):
    """a deadline of seconds, scaled"""
    return seconds * SCALE


def wait_for(pred, timeout=10, step=0.05):
    """until pred() gives a true value: that value, or pred()'s last once
    timeout seconds have passed (a deadline against hanging for ever,
    not a measure)"""
    end = time.time() + deadline(timeout)
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
