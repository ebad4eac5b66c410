"""CPU and memory of a measured command's whole process tree, workers included.

A grader kills its workers rather than waiting for them (and a sandbox's inner processes
outlive the bubblewrap process that started them), so their CPU time never reaches
`getrusage(RUSAGE_CHILDREN)` of the benchmark: the orphans are reaped by init. `TreeMeter`
makes the benchmark a child subreaper (Linux `prctl(PR_SET_CHILD_SUBREAPER)`): every orphaned
descendant is re-parented to it, `reap_orphans` waits for them, and then the kernel's
RUSAGE_CHILDREN holds the CPU seconds of every process of the tree. A /proc poll adds the peak
of the tree's summed resident memory (the largest single process is `ru_maxrss`).
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass

from grader.sandbox.jail import process_parents, process_tree

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Re-parent orphaned descendants to this process (Linux); False where not supported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(timeout_s: float = 30.0) -> int:
    """Wait for every descendant re-parented to this process; the number reaped."""
    reaped = 0
    until = time.monotonic() + timeout_s
    while time.monotonic() < until:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            time.sleep(0.01)
        else:
            reaped += 1
    return reaped


def children_cpu_s() -> float:
    """User + system CPU seconds of every reaped descendant so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def children_max_rss_mb() -> float:
    """The largest resident set of any one reaped descendant so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _tree_rss_kb(root_pid: int) -> int:
    total = 0
    for pid in process_tree(root_pid, process_parents()):
        try:
            with open("/proc/%d/statm" % pid) as handle:
                total += int(handle.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class Measured:
    """One command: wall seconds, CPU seconds of its whole tree, the peak of the tree's summed
    resident memory (sampled) and its exit status."""

    wall_s: float
    cpu_s: float
    peak_tree_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def measure(argv: list[str], cwd: str, timeout_s: float = 3600.0, sample: bool = True) -> Measured:
    """Run `argv` to the end, reap its orphans, and account for its whole process tree."""
    cpu_before = children_cpu_s()
    peak = [0]
    stop = threading.Event()
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)

    def sampler() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(process.pid))
            stop.wait(0.05)

    thread = threading.Thread(target=sampler, daemon=True)
    if sample and os.path.isdir("/proc"):
        thread.start()
    try:
        out, err = process.communicate(timeout=timeout_s)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
    wall = time.perf_counter() - started
    reap_orphans()
    return Measured(wall, children_cpu_s() - cpu_before, peak[0] / 1024, process.returncode, out, err)
