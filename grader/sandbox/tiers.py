"""The `user` isolation tier: student code under an unprivileged user id, for hosts where
bubblewrap cannot create its sandbox (Docker's default seccomp profile, Gradescope, GitHub's
ubuntu-24.04 runners).

A grader running as root starts each worker as root only long enough for the worker runtime
to set its resource limits and drop to a user id of its own (`UserIdentity`): a uid no other
process has (so one worker cannot signal, trace or read another, and everything running under
it can be found and killed) and a gid shared by the workers of one grading, the only group
that may enter that grading's snapshot. The worker gets a private scratch folder (its HOME and
TMPDIR) and a root-owned copy of the worker runtime files; it cannot write the grader's
install, the report's folder or the original submission, because all of these belong to root
and are not writable by others. `user_problem` says why the tier cannot be used here (not
root; Python not reachable by an unprivileged user).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

UID_BASE = 1_900_000_000
"""Worker user ids start here: far above any account's id (no /etc/passwd entry is needed)."""
UIDS_PER_GRADER = 16
MAX_PID = 1 << 22


@dataclass(frozen=True)
class UserIdentity:
    """The uid a worker runs under and the gid of its grading."""

    uid: int
    gid: int


_counter = 0


def grading_gid() -> int:
    """The group of this grader process's workers (derived from its pid: unique while it lives)."""
    return UID_BASE + (os.getpid() % MAX_PID) * UIDS_PER_GRADER


def next_identity() -> UserIdentity:
    """A uid no live worker of this grader uses (at most 15 workers of one grader are alive at
    once: two parts, each with a worker and a spare), in this grader's group."""
    global _counter
    _counter = _counter % (UIDS_PER_GRADER - 1) + 1
    gid = grading_gid()
    return UserIdentity(uid=gid + _counter, gid=gid)


def is_worker_uid(uid: int) -> bool:
    """Whether `uid` is one the user tier hands to workers."""
    return UID_BASE <= uid < UID_BASE + MAX_PID * UIDS_PER_GRADER


_PROBED: dict[str, str | None] = {}


def user_problem() -> str | None:
    """Why the user tier cannot be used here (None when it can): the grader must be root to
    switch user ids, and an unprivileged user must be able to start this Python and import
    numpy (every folder on the way to the interpreter must be searchable by others)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ("the grader does not run as root, so it cannot run student code under another user id "
                "(run it as root: in a container, or with sudo in CI)")
    temporary = Path(tempfile.gettempdir())
    closed = [str(folder) for folder in [temporary, *temporary.parents] if not os.stat(folder).st_mode & 0o001]
    if closed:
        return ("the temporary folder %s, where the snapshots go, is not searchable by other users (%s); set TMPDIR "
                "to one that is" % (temporary, ", ".join(closed)))
    if sys.executable not in _PROBED:
        identity = UserIdentity(UID_BASE + MAX_PID * UIDS_PER_GRADER - 1, UID_BASE + MAX_PID * UIDS_PER_GRADER - 1)
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-B", "-c", "import numpy"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60, cwd="/",
                env={"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"},
                user=identity.uid, group=identity.gid, extra_groups=[])
            _PROBED[sys.executable] = None if done.returncode == 0 else (
                "an unprivileged user cannot start %s and import numpy (%s); make every folder on its path "
                "searchable by others (e.g. chmod o+x /root for a Python under /root)"
                % (sys.executable, done.stderr.decode(errors="replace").strip().splitlines()[-1:] or "no message"))
        except (OSError, subprocess.SubprocessError) as exc:
            _PROBED[sys.executable] = "could not start Python under an unprivileged user id (%s)" % exc
    return _PROBED[sys.executable]


class WorkerHome:
    """A worker's private folders: `scratch` (its HOME and TMPDIR, owned by its uid, mode 0700)
    and `runtime` (root's copy of the worker runtime files, read-only). `remove` deletes both;
    a grader killed first leaves them to the snapshot sweep (same name pattern: grader's pid)."""

    def __init__(self, identity: UserIdentity, runtime_files: list[Path]) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="backprop-grader-%d-worker-" % os.getpid()))
        os.chmod(self.base, 0o711)
        self.runtime = self.base / "runtime"
        self.runtime.mkdir(mode=0o755)
        for file in runtime_files:
            target = self.runtime / file.name
            shutil.copyfile(file, target)
            os.chmod(target, 0o444)
        os.chmod(self.runtime, 0o555)
        self.scratch = self.base / "home"
        self.scratch.mkdir(mode=0o700)
        os.chown(self.scratch, identity.uid, identity.gid)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.chmod(self.runtime, 0o755)
        shutil.rmtree(self.base, ignore_errors=True)


def admit_grading_group(snapshot_root: Path, gid: int) -> None:
    """Let the workers of this grading (group `gid`), and no other unprivileged user, enter the
    snapshot: its private parent folder goes to group `gid`, mode 0750."""
    work = snapshot_root.parent
    os.chown(work, 0, gid)
    os.chmod(work, 0o750)


def writable_by_others(paths: list[Path]) -> list[str]:
    """Those of `paths` (and their parent folders) that a worker's user could change: writable
    by others without the sticky bit, or owned by a worker's uid."""
    found = []
    for path in paths:
        for folder in [path, *path.parents]:
            try:
                info = folder.lstat()
            except OSError:
                continue
            sticky = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
            if is_worker_uid(info.st_uid) or (info.st_mode & 0o002 and not sticky):
                found.append(str(folder))
                break
    return found


SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm")


def sweep_user_files(uid: int | None) -> None:
    """Remove what a finished worker's user (`uid`, a worker uid) left in the world-writable
    temporary folders (the entries it owns at their top level)."""
    if uid is None or not is_worker_uid(uid):
        return
    for folder in SHARED_TEMP:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if info.st_uid != uid:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue
