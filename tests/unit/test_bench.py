"""The benchmark's memory sampling counts the whole process tree (dbt runs as a grandchild)."""

import subprocess
import sys

import psutil

from benchmarks.bench import tree_rss_bytes

MIB = 1024**2
# A child that starts a grandchild holding 200 MiB of written (so resident) memory.
GRANDCHILD = (
    "import time\nheld = b'x' * (200 * 1024 * 1024)\nprint('ready', flush=True)\ntime.sleep(60)\n"
)
CHILD = (
    "import subprocess, sys, time\n"
    "grandchild = subprocess.Popen([sys.executable, '-c', sys.argv[1]], stdout=subprocess.PIPE,"
    " text=True)\n"
    "assert grandchild.stdout.readline().strip() == 'ready'\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def test_tree_rss_counts_the_grandchild_and_is_zero_once_gone():
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, GRANDCHILD], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        process = psutil.Process(child.pid)
        own = process.memory_info().rss
        assert own < 100 * MIB  # the child alone holds far less than the grandchild
        assert tree_rss_bytes(process) >= own + 200 * MIB
    finally:
        for descendant in psutil.Process(child.pid).children(recursive=True):
            descendant.kill()
        child.kill()
        child.wait()
    assert tree_rss_bytes(process) == 0
