"""ATTACK (look around the sandbox and print what it finds): the sandbox's command line
(/proc/1/cmdline, the parent's), the host paths of its mounts (/proc/self/mountinfo), the
grader's package data (its rubric, at the path in _install.txt -- where a course installs the
grader is no secret -- and through an importable `grader` package), its own user and groups,
its environment, its home folder, and -- only when sandboxed -- whether it can create a file in
its snapshot, the original submission (_original.txt), the report's folder (_results.txt) and
the grader's install. Everything is printed from bce_loss, whose result is garbage.

Expected: mlp.bce_loss scores 0; the report shows no command line, mount table, host path of
the snapshot or rubric text; nothing could be written outside the worker's own scratch space.
"""

import json
import os

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts


def sandboxed() -> bool:
    """Bubblewrap (uid 65534 on the host name "sandbox") or the user tier (a uid of its own from
    1900000000 up); the write probes run only then."""
    uid = os.getuid()
    return (uid == 65534 and os.uname().nodename == "sandbox") or uid >= 1_900_000_000


def _read(path: str, limit: int = 120) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).replace(b"\0", b" ").decode(errors="replace")
    except OSError as exc:
        return "<%s>" % type(exc).__name__


def _line(name: str) -> str:
    try:
        with open(name) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _rubric() -> str:
    install = _line("_install.txt")
    found = _read(os.path.join(install, "assignments", "hw1", "rubric.toml")) if install else "<no path>"
    try:
        import importlib.resources

        found += " | " + importlib.resources.files("grader.assignments.hw1").joinpath("rubric.toml").read_text()[:120]
    except Exception as exc:  # noqa: BLE001
        found += " | <%s>" % type(exc).__name__
    return found


def _can_write(folder: str) -> bool:
    if not folder or not sandboxed():
        return False
    path = os.path.join(folder, "look_around_was_here.txt")
    try:
        with open(path, "x") as handle:
            handle.write("written by attack_look_around\n")
        return True
    except OSError:
        return False


def _home_mode() -> str:
    try:
        return oct(os.stat(os.environ.get("HOME", "/")).st_mode & 0o777)
    except OSError:
        return "?"


FOUND = {
    "init": _read("/proc/1/cmdline"),
    "parent": _read("/proc/%d/cmdline" % os.getppid()),
    "mounts": _read("/proc/self/mountinfo"),
    "rubric": _rubric(),
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "env": sorted(os.environ), "home_mode": _home_mode(),
    "wrote": {name: _can_write(folder) for name, folder in (
        ("snapshot", os.getcwd()), ("original", _line("_original.txt")), ("results", _line("_results.txt")),
        ("install", _line("_install.txt")))},
}


def bce_loss(y, y_hat):
    print("look_around " + json.dumps(FOUND))
    J, dJdy_hat = _key.bce_loss(y, y_hat)
    return J + 1.0, dJdy_hat
