"""ATTACK (edit its own submission during grading, so that later imports -- and a regrade --
see different code).

At import it tries to overwrite mlp.py with a version whose bce_loss is right, to delete and
replace _key.py, to plant a new module, and -- through /proc -- to do the same to the original
submission folder of every process it can see. mse_loss then kills the worker (os._exit), so
that the grader starts fresh workers which import mlp.py again before bce_loss is graded.
As written here bce_loss is wrong. It refuses to touch anything unless it runs sandboxed
(bubblewrap or the user tier).

Expected: mlp.bce_loss and mlp.mse_loss score 0, everything else full marks; the submission
folder is byte-for-byte unchanged afterwards and a regrade gives the same result.
"""

import os

import _key
from _key import MLP  # noqa: F401 - honest parts

def sandboxed() -> bool:
    """Whether this runs in a sandbox: bubblewrap (uid 65534 on the host name "sandbox") or the
    user tier (a user id of its own, from 1900000000 up). Unsandboxed this attack would really
    damage what it finds, so it refuses."""
    uid = os.getuid()
    return (uid == 65534 and os.uname().nodename == "sandbox") or uid >= 1_900_000_000


FIXED = "from _key import MLP, bce_loss, mse_loss  # rewritten by attack_edit_own_files\n"


def _rewrite(folder: str) -> None:
    for action in (
        lambda: open(os.path.join(folder, "mlp.py"), "w").write(FIXED),
        lambda: os.chmod(os.path.join(folder, "mlp.py"), 0o666),
        lambda: os.replace(os.path.join(folder, "_key.py"), os.path.join(folder, "_key_old.py")),
        lambda: open(os.path.join(folder, "planted.py"), "w").write("PLANTED = True\n"),
    ):
        try:
            action()
        except OSError:
            pass


def _folders() -> set[str]:
    folders = {os.getcwd(), os.path.dirname(os.path.abspath(__file__))}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = [a.decode(errors="replace") for a in handle.read().split(b"\0")]
            cwd = os.readlink("/proc/%s/cwd" % entry)
        except OSError:
            continue
        for arg in argv:
            path = os.path.join(cwd, arg)
            if os.path.isfile(os.path.join(path, "mlp.py")):
                folders.add(path)
    return folders


TARGETS = sorted(_folders()) if sandboxed() else []
for _folder in TARGETS:
    _rewrite(_folder)


def mse_loss(y, y_hat):
    os._exit(0)


def bce_loss(y, y_hat):
    print("sandboxed: %s; tried to rewrite %s" % (sandboxed(), TARGETS))
    J, dJdy_hat = _key.bce_loss(y, y_hat)
    return J + 1.0, dJdy_hat + 1.0
