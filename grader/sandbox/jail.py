"""Where a worker runs: bubblewrap's sandbox (or none), and the process jail that makes sure
nothing a worker starts outlives it.

`resolve_mode` picks the isolation; `bwrap_argv` builds bubblewrap's command line (no
network, read-only system and Python, the snapshot at /submission, the worker's own files at
/opt/backprop-grader, nothing else of the grader); `ProcessJail` puts each worker in a pids
cgroup where one can be made, and otherwise finds its descendants through /proc.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SandboxUnavailable
from .protocol import printable
from .tiers import is_worker_uid, user_problem, writable_by_others

SANDBOX_ROOT = "/submission"
SANDBOX_RUNTIME_DIR = "/opt/backprop-grader"
NOBODY = 65534
SCRATCH_BYTES = 64 << 20   # each of the sandbox's /tmp and /dev/shm
PROC_FILES = ("/proc/cpuinfo",)
PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""The grader's own package: hidden inside the sandbox (rubrics, reference data, source)."""


TIERS = ("bwrap", "user", "none")
"""Isolation tiers, strongest first: bubblewrap's namespaces; an unprivileged user id of its own
per worker (`grader.sandbox.tiers`, for hosts without user namespaces); none."""


def resolve_mode(requested: str) -> str:
    """Map --sandbox auto|bwrap|user|none to the tier used. `auto` is the strongest tier that
    works here (bwrap, else user, else none); a named tier that cannot work is an error."""
    if requested not in ("auto",) + TIERS:
        raise SandboxUnavailable("unknown sandbox %r (choose auto, bwrap, user or none)" % requested)
    if requested == "none":
        return "none"
    if requested in ("auto", "bwrap"):
        problem = bwrap_problem()
        if problem is None:
            return "bwrap"
        if requested == "bwrap":
            raise SandboxUnavailable("--sandbox bwrap was requested but %s; pass --sandbox user or none to grade "
                                     "without it" % problem)
    problem = user_problem()
    if problem is None:
        return "user"
    if requested == "user":
        raise SandboxUnavailable("--sandbox user was requested but %s; pass --sandbox none to grade without it"
                                 % problem)
    return "none"


def tier_notice(mode: str, requested: str = "auto") -> str | None:
    """What a report says about its tier when it is weaker than bubblewrap (None for bwrap)."""
    if mode == "user":
        why = "chosen with --sandbox user" if requested == "user" else "bubblewrap is not usable here: %s" % (
            bwrap_problem())
        exposed = writable_by_others([PACKAGE_DIR] + [Path(path) for path in _python_paths()])
        if exposed:
            return ("sandbox: user (%s) -- WARNING: the grader's install is writable by other users (%s), so "
                    "student code could change it: install the grader where only root can write"
                    % (why, ", ".join(exposed[:3])))
        return ("sandbox: user (%s; student code ran under an unprivileged user id of its own with resource "
                "limits: it could not write the grader, the report or the submission, but it could read "
                "world-readable files and use the network)" % why)
    if mode == "none":
        why = "" if requested == "none" else " (bubblewrap: %s; user tier: %s)" % (bwrap_problem(), user_problem())
        return ("sandbox: none -- NOT ISOLATED%s: student code ran as a plain subprocess of the grader's own user "
                "with resource limits only" % why)
    return None


_PROBED: dict[str, str | None] = {}


def bwrap_problem() -> str | None:
    """Why bubblewrap cannot be used here (None when it can). Being installed is not enough:
    unprivileged user namespaces may be switched off (a sysctl, an AppArmor policy, a container
    without them), so a sandbox like a worker's is started once, and the answer kept."""
    path = shutil.which("bwrap")
    if path is None:
        return "bubblewrap (bwrap) is not installed; install it (Debian/Ubuntu: apt-get install bubblewrap)"
    if path not in _PROBED:
        argv = bwrap_argv(Path(os.sep), ["/bin/sh", "-c", "exit 0"])
        argv[0] = path
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=30, env=worker_env())
            _PROBED[path] = None if done.returncode == 0 else (
                "bubblewrap is installed but cannot create its sandbox here (%s)"
                % (printable(done.stderr.decode(errors="replace").strip()[:200]) or "exit status %d" % done.returncode))
        except (OSError, subprocess.SubprocessError) as exc:
            _PROBED[path] = "bubblewrap is installed but could not be started (%s)" % exc
    return _PROBED[path]


def _python_paths() -> list[str]:
    """Folders the worker's Python needs: its prefixes and where its packages live."""
    import site
    import sysconfig

    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    candidates += [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    candidates += site.getsitepackages()
    real = sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)})
    kept: list[str] = []
    for path in real:
        if not any(path == k or path.startswith(k + os.sep) for k in kept):
            kept.append(path)
    return kept


def bwrap_argv(snapshot: Path, python_argv: list[str], runtime_files: Iterable[Path] = (),
               as_pid_1: bool = False) -> list[str]:
    """The bubblewrap command line: no network, read-only system and Python, the snapshot
    at /submission, each of `runtime_files` (the worker's own code) read-only under
    /opt/backprop-grader by its name, nothing else of the grader's files (its package folder is
    hidden under an empty tmpfs), no /proc but /proc/cpuinfo, unprivileged uid, own pid
    namespace (`as_pid_1`: the command is that namespace's pid 1, its init, instead of
    bubblewrap's own reaper)."""
    argv = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
    ] + (["--as-pid-1"] if as_pid_1 else [])
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                 "/etc/passwd", "/etc/group", "/etc/nsswitch.conf"):
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    # Scratch space lives in memory: bounded where this bubblewrap can size a tmpfs. /tmp comes
    # before the Python binds, which may lie under /tmp (a virtual environment there).
    sized = ["--size", str(SCRATCH_BYTES)] if _bwrap_supports("--size") else []
    argv += sized + ["--tmpfs", "/tmp"]
    package_dir = str(PACKAGE_DIR)
    for path in _python_paths():
        if not path.startswith("/usr/"):
            argv += ["--ro-bind", path, path]
        if package_dir.startswith(path + os.sep):
            argv += ["--tmpfs", package_dir]
    argv += ["--ro-bind", str(snapshot), SANDBOX_ROOT]
    for file in runtime_files:
        argv += ["--ro-bind", str(file), "%s/%s" % (SANDBOX_RUNTIME_DIR, file.name)]
    # No /proc: it would show the sandbox's command line (/proc/1/cmdline) and the host paths of
    # its mounts (/proc/self/mountinfo). Only the CPU description, which torch reads, is kept.
    argv += ["--tmpfs", "/proc"] + [arg for name in PROC_FILES if os.path.exists(name)
                                    for arg in ("--ro-bind", name, name)]
    argv += ["--remount-ro", "/proc", "--dev", "/dev"]
    # The sandbox's own root and /dev are made read-only, so that writing files cannot fill the RAM.
    argv += sized + ["--tmpfs", "/dev/shm"]
    argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", SANDBOX_ROOT, "--clearenv"]
    for key, value in worker_env().items():
        argv += ["--setenv", key, value]
    return argv + ["--"] + python_argv


_OPTIONS: dict[str, str] = {}


def _bwrap_supports(option: str) -> bool:
    """Whether the installed bubblewrap knows `option` (--size came in a later release)."""
    path = shutil.which("bwrap") or "bwrap"
    if path not in _OPTIONS:
        try:
            done = subprocess.run([path, "--help"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            _OPTIONS[path] = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        except (OSError, subprocess.SubprocessError):
            _OPTIONS[path] = ""
    return option in _OPTIONS[path]


def worker_env(home: str = "/tmp") -> dict[str, str]:
    """The whole environment a worker sees (nothing of the grader's is passed through); `home`
    is its HOME and TMPDIR."""
    return {
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "HOME": home,
        "TMPDIR": home,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }


@dataclass(frozen=True)
class WorkerResources:
    """What one worker (with everything it starts) may use where a cgroup bounds it: memory
    (anonymous, page cache, tmpfs and memfd pages alike), processes and CPUs. Under contention
    the scheduler weighs a cgroup as one, however many processes busy it."""

    memory_bytes: int = 2 << 30
    max_pids: int = 64
    cpus: float = 1.0


@dataclass(frozen=True)
class Hierarchy:
    """A writable cgroup hierarchy: `base` (our folder in it), its version and the controllers
    (of pids, memory, cpu) it provides."""

    base: Path
    version: int
    controllers: frozenset[str]


CONTROLLERS = frozenset({"pids", "memory", "cpu"})
V1_ROOTS = {"pids": ("/sys/fs/cgroup/pids",), "memory": ("/sys/fs/cgroup/memory",),
            "cpu": ("/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct")}
V2_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")


def _writable_hierarchies() -> list[Hierarchy]:
    """The hierarchies where this grader can make a cgroup per worker, covering as many of the
    controllers as it can: a cgroup v2 tree first (with the controllers it can delegate to its
    children), then v1 hierarchies for the controllers still missing."""
    found = [h for h in (_v2_hierarchy(root) for root in V2_ROOTS) if h is not None][:1]
    covered = set().union(*(h.controllers for h in found)) if found else set()
    for name, roots in V1_ROOTS.items():
        if name not in covered:
            hierarchy = next((h for h in (_v1_hierarchy(root, name) for root in roots) if h is not None), None)
            if hierarchy is not None:
                found.append(hierarchy)
    for hierarchy in found:
        _sweep_stale(hierarchy.base)
    return found


def _v2_hierarchy(root: str) -> Hierarchy | None:
    """Our folder in the cgroup v2 tree at `root`, with the controllers enabled for its children."""
    base = Path(root) / "backprop-grader"
    try:
        if not (Path(root) / "cgroup.procs").exists() or not (Path(root) / "cgroup.controllers").exists():
            return None
        offered = set((Path(root) / "cgroup.controllers").read_text().split()) & CONTROLLERS
        base.mkdir(exist_ok=True)
        for name in offered:
            for folder in (Path(root), base):
                with contextlib.suppress(OSError):
                    (folder / "cgroup.subtree_control").write_text("+%s" % name)
        enabled = set((base / "cgroup.subtree_control").read_text().split()) & CONTROLLERS
    except OSError:
        return None
    return Hierarchy(base, 2, frozenset(enabled)) if _probe(base) else None


def _v1_hierarchy(root: str, controller: str) -> Hierarchy | None:
    """Our folder in the cgroup v1 hierarchy of `controller` mounted at `root`."""
    base = Path(root) / "backprop-grader"
    try:
        if not (Path(root) / "cgroup.procs").exists():
            return None
        base.mkdir(exist_ok=True)
    except OSError:
        return None
    return Hierarchy(base, 1, frozenset({controller})) if _probe(base) else None


def _probe(base: Path) -> bool:
    """Whether a child cgroup can be made (and removed) under `base`."""
    probe = base / ("probe-%d" % os.getpid())
    try:
        probe.mkdir(exist_ok=True)
        usable = (probe / "cgroup.procs").exists()
        probe.rmdir()
        return usable
    except OSError:
        return False


def _limit_files(hierarchy: Hierarchy, resources: WorkerResources) -> list[tuple[str, str]]:
    """(file, value) pairs that bound a worker's cgroup in `hierarchy`, in the order to write them."""
    out: list[tuple[str, str]] = []
    quota = int(resources.cpus * 100_000)
    if "pids" in hierarchy.controllers:
        out.append(("pids.max", str(resources.max_pids)))
    if "memory" in hierarchy.controllers:
        if hierarchy.version == 2:
            out += [("memory.max", str(resources.memory_bytes)), ("memory.swap.max", "0")]
        else:
            out += [("memory.limit_in_bytes", str(resources.memory_bytes)),
                    ("memory.memsw.limit_in_bytes", str(resources.memory_bytes))]
    if "cpu" in hierarchy.controllers:
        if hierarchy.version == 2:
            out.append(("cpu.max", "%d 100000" % quota))
        else:
            out += [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", str(quota))]
    return out


def resource_notice() -> str | None:
    """What a report says when a worker as a whole is not bounded in memory, processes or CPU
    (no writable cgroup for them here; None when all three are bounded)."""
    missing = sorted(CONTROLLERS - ProcessJail.bounded())
    if not missing:
        return None
    return ("resources: no writable cgroup for %s here, so each worker process is limited on its own (address "
            "space, CPU time, open files%s), not a worker with all it starts" % (
                ", ".join(missing), "; processes per user under the user tier" if "pids" in missing else ""))


class ProcessJail:
    """Finds every process a worker started so that none outlives it, and bounds what they use.

    Where cgroups can be created (a v2 tree, or v1 hierarchies), each worker starts inside a
    cgroup of its own in every writable hierarchy, bounded by `WorkerResources` (memory, pids,
    CPU, as far as the hierarchies provide those controllers), and everything in it is killed
    at the end. Otherwise the worker's descendants are found through /proc, and the grader
    becomes a child subreaper so that double-forked orphans come back to it to be killed; a
    worker with a user id of its own (the user tier) also has every process of that user killed.
    Under bubblewrap the sandbox's own pid namespace already ends with the worker."""

    _hierarchies: list[Hierarchy] | None = None
    _counter = 0

    def __init__(self, max_pids: int, uid: int | None = None,
                 resources: WorkerResources | None = None, reaper: tuple[int, set[int]] | None = None) -> None:
        """`reaper`: (pid, its live children) of the process that is subreaper for the worker
        instead of this grader (a template, see `grader.sandbox.template`): its other children
        are strays too."""
        self.resources = resources or WorkerResources(max_pids=max_pids)
        self.reaper = reaper
        self.max_pids = self.resources.max_pids
        self.uid = uid
        self.cgroups: list[Path] = []
        self.enforced: set[str] = set()
        ProcessJail._counter += 1
        name = "w%d-%d" % (os.getpid(), ProcessJail._counter)
        for hierarchy in self.hierarchies():
            path = hierarchy.base / name
            try:
                path.mkdir()
            except OSError:
                continue
            self.cgroups.append(path)
            for file, value in _limit_files(hierarchy, self.resources):
                try:
                    (path / file).write_text(value)
                    self.enforced.add(file.split(".")[0])
                except OSError:
                    continue
        self.path: Path | None = self.cgroups[0] if self.cgroups else None
        if self.path is None:
            _become_subreaper()

    @classmethod
    def hierarchies(cls) -> list[Hierarchy]:
        """The writable cgroup hierarchies (found once per grader process)."""
        if cls._hierarchies is None:
            cls._hierarchies = _writable_hierarchies()
        return cls._hierarchies

    @classmethod
    def _cgroup_base(cls) -> Path | None:
        """Our folder in the hierarchy that bounds a worker's processes (None without one)."""
        return next((h.base for h in cls.hierarchies() if "pids" in h.controllers), None)

    @classmethod
    def bounded(cls) -> frozenset[str]:
        """The controllers (pids, memory, cpu) that bound each worker here."""
        return frozenset().union(*(h.controllers for h in cls.hierarchies()))

    def wrap(self, argv: list[str], keep_shell: bool = True) -> list[str]:
        """The command line that enters the jail, then runs `argv`.

        With `keep_shell` (no bubblewrap) `argv` runs as a child of the shell, so that a worker's
        parent is not the grader; the shell dies with the grader (SIGTERM, see `die_with_grader`)
        and then kills everything in the cgroup, so that nothing the worker started outlives a
        grader that was killed. Without it (bubblewrap) the shell is replaced by `argv`: the
        sandbox is then the grader's own child and dies with it (--die-with-parent), and its pid
        namespace with it."""
        count = str(len(self.cgroups))
        procs = [str(path / "cgroup.procs") for path in self.cgroups]
        enter = 'n="$1"; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n-1)); done; '
        if not keep_shell:
            if self.path is not None:
                return ["/bin/sh", "-c", enter + 'exec "$@"', "sh", count] + procs + argv
            return argv
        if self.path is not None:
            script = (enter + 'cg="%s"; '
                      'trap \'for i in 1 2 3 4 5; do kill -9 $(grep -vx "$$" "$cg") 2>/dev/null; done; '
                      'exit 137\' TERM; '
                      '"$@" & wait $!') % str(self.path / "cgroup.procs")
            return ["/bin/sh", "-c", script, "sh", count] + procs + argv
        return ["/bin/sh", "-c", '"$@"', "sh"] + argv

    def members(self, root_pid: int) -> set[int]:
        """The worker's processes: its cgroup's (else its descendants and this grader's strays),
        and, for a worker with a user id of its own (`uid`), every process of that user."""
        owned = processes_of(self.uid) if self.uid is not None and is_worker_uid(self.uid) else set()
        if self.path is not None:
            found = set(owned)
            for path in self.cgroups:
                with contextlib.suppress(OSError, ValueError):
                    found |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
            return found
        found = owned | process_tree(root_pid) | _strays()
        if self.reaper is not None:
            found |= _strays(*self.reaper)
        return found

    def adopt(self, pid: int) -> None:
        """Move process `pid` (not yet running student code) into this worker's cgroups."""
        for path in self.cgroups:
            (path / "cgroup.procs").write_text(str(pid))

    def release(self) -> None:
        """Remove this worker's cgroups (for a worker that never started)."""
        for path in self.cgroups:
            with contextlib.suppress(OSError):
                path.rmdir()

    def kill_all(self, root_pid: int) -> None:
        """SIGKILL the worker and everything it started; found before the first kill, so that
        children already re-parented away are not missed."""
        known = self.members(root_pid)
        for _ in range(100):
            pids = (known | self.members(root_pid)) - {os.getpid()}
            known = set()
            if not pids:
                break
            _kill_pids(pids)
            for pid in pids:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            time.sleep(0.005)
        for path in self.cgroups:
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)


_SUBREAPER = False
OUR_WORKERS: set[int] = set()


@functools.cache
def _prctl() -> Any:
    """libc's prctl, or None where it cannot be loaded (looked up once, on first use)."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_grader(sig: int) -> Callable[[], None]:
    """What the child runs between fork and exec: be sent `sig` when the grader's thread that
    started it dies, so that no sandbox (and no worker) outlives a killed grader."""

    def arm() -> None:
        prctl = _prctl()
        if prctl is not None:
            prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG

    return arm


def _sweep_stale(base: Path) -> None:
    """Kill what is left in the cgroups of graders that died without cleaning up (killed while
    a worker ran), and remove those cgroups. A grader that is alive is never touched."""
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not name.startswith("w") or "-" not in name or not name[1:].split("-")[0].isdigit():
            continue
        owner = int(name[1:].split("-")[0])
        if owner == os.getpid() or os.path.exists("/proc/%d" % owner):
            continue
        for _ in range(5):
            try:
                pids = [int(p) for p in (entry / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                break
            _kill_pids(pids)
            time.sleep(0.01)
        with contextlib.suppress(OSError):
            entry.rmdir()


def _become_subreaper() -> None:
    global _SUBREAPER
    if _SUBREAPER:
        return
    try:
        import ctypes

        _SUBREAPER = ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        _SUBREAPER = False


def _kill_pids(pids) -> None:
    """SIGKILL each pid, ignoring the ones already gone or not ours."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def process_parents() -> dict[int, int]:
    """{pid: parent pid} of every process visible in /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, "rb") as handle:
                    stat = handle.read()
                found[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return found


def processes_of(uid: int) -> set[int]:
    """Every process visible in /proc whose real user id is `uid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/status" % entry, "rb") as handle:
                    for line in handle:
                        if line.startswith(b"Uid:"):
                            if int(line.split()[1]) == uid:
                                found.add(int(entry))
                            break
            except (OSError, ValueError, IndexError):
                continue
    return found


def process_tree(root_pid: int, parents: dict[int, int] | None = None) -> set[int]:
    """root_pid and every process descending from it, from `parents` (default: read /proc now)."""
    parents = process_parents() if parents is None else parents
    found = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def _strays(reaper: int | None = None, known: set[int] | None = None) -> set[int]:
    """Orphans re-parented to a subreaper that it never started itself: this grader (and its
    `OUR_WORKERS`), or `reaper` and its `known` children."""
    if reaper is None and not _SUBREAPER:
        return set()
    me = os.getpid() if reaper is None else reaper
    parents = process_parents()
    ours = OUR_WORKERS if reaper is None else known or set()
    orphans = {pid for pid, parent in parents.items() if parent == me} - ours
    return set().union(*(process_tree(pid, parents) for pid in orphans)) if orphans else set()

