"""Runs a command for as long as the process that started this one lives: test
servers (moto_server, the page server) must not outlive a test run that ended
without stopping them, or they keep its output pipes open.
Usage: with_parent.py <command> [arguments...]
"""
import os
import signal
import subprocess
import sys
import time


def default_term():
    # The test process ignores or blocks SIGTERM (its service group handles it), and
    # both survive exec: give this process and the server the default back.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop(signum, frame):
    raise SystemExit(0)


signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
signal.signal(signal.SIGTERM, stop)
parent = os.getppid()
child = subprocess.Popen(sys.argv[1:], preexec_fn=default_term)
try:
    while child.poll() is None:
        if os.getppid() != parent:
            break
        time.sleep(0.5)
finally:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
sys.exit(child.returncode or 0)
