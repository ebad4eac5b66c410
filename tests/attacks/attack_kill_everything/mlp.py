"""ATTACK (signal every process it can see): os.kill(-1, SIGKILL) and a SIGKILL to every pid
listed in /proc, from inside a call. Only meant to run sandboxed -- inside bubblewrap, where the
worker sees its own pid namespace alone, or under the user tier, where it may signal only the
processes of its own user id: the attack refuses to act otherwise (run unsandboxed it would kill
everything its user owns).

Expected: nothing outside the sandbox is touched; the kill takes the worker down with it, so
mlp.bce_loss scores 0 with `crash`; every other question gets full marks.
"""

import os
import signal

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts


def sandboxed() -> bool:
    """Whether this runs in a sandbox: bubblewrap (uid 65534 on the host name "sandbox") or the
    user tier (a user id of its own, from 1900000000 up). Unsandboxed this attack would really
    damage what it finds, so it refuses."""
    uid = os.getuid()
    return (uid == 65534 and os.uname().nodename == "sandbox") or uid >= 1_900_000_000


def bce_loss(y, y_hat):
    if sandboxed():
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
