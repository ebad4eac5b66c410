"""ATTACK (spawn many processes): at import it starts 200 detached sleepers (fork, setsid, fork,
exec sleep 600), each with the marker from _marker.txt as argv[0], and carries on when the
system refuses more; then it is the honest key (bce_loss also prints how many it started).

Expected: full marks (the honest code still runs); the number of processes is bounded while it
runs, and none of the sleepers outlives grading.
"""

import os

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts


def _marker() -> str:
    try:
        with open("_marker.txt") as handle:
            return handle.read().strip() or "attack-fork-many"
    except OSError:
        return "attack-fork-many"


def spawn(count: int = 200) -> int:
    started = 0
    marker = _marker()
    for _ in range(count):
        try:
            child = os.fork()
        except OSError:
            continue
        if child == 0:
            status = 1
            try:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/bin/sleep", [marker, "600"])
                status = 0
            except BaseException:  # noqa: BLE001
                pass
            os._exit(status)
        _, status = os.waitpid(child, 0)
        started += status == 0
    return started


SPAWNED = spawn()


def bce_loss(y, y_hat):
    print("spawned %d of 200" % SPAWNED)
    return _key.bce_loss(y, y_hat)
