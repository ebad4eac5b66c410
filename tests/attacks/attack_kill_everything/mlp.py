"""ATTACK (signal every process it can see): os.kill(-1, SIGKILL) and a SIGKILL to every pid
listed in /proc, from inside a call. Only meant to run inside bubblewrap, where the worker sees
its own pid namespace alone: the attack refuses to act unless its pid is tiny and pid 1 is
bubblewrap (run unsandboxed it would kill everything its user owns).

Expected: with bubblewrap nothing outside the sandbox is touched; the kill takes the worker
down with it (the sandbox's init then exits), so mlp.bce_loss scores 0 with `crash`; every
other question gets full marks.
"""

import os
import signal

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts


def _inside_bubblewrap() -> bool:
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            init = handle.read().split(b"\0")[0]
    except OSError:
        return False
    return os.getpid() < 10 and os.path.basename(init) == b"bwrap"


def bce_loss(y, y_hat):
    if _inside_bubblewrap():
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != os.getpid():
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGKILL)
    return _key.bce_loss(y, y_hat)
