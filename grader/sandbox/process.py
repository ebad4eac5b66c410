"""Worker processes that run student code, and the grader's side of their protocol.

A `Worker` is one process (inside bubblewrap when available) that imports the submission's
modules and answers calls. Every call has a deadline; on timeout, on a malformed reply or
when the process dies, the whole process group is killed and `WorkerFailure` is raised with
the diagnosis code (`timeout` or `crash`). `WorkerSession` keeps one module usable across
such deaths by starting a fresh worker on the next call.

Only plain data crosses back: JSON headers and float64 arrays (see `grader._worker`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import _worker
from ._worker import FrameError, FrameTimeout, printable, read_frame, result_problem, write_frame

WORKER_FILE = Path(_worker.__file__).resolve()
SANDBOX_ROOT = "/submission"
SANDBOX_WORKER = "/opt/backprop-grader/worker.py"
NOBODY = 65534
SCRATCH_BYTES = 64 << 20   # each of the sandbox's /tmp and /dev/shm


class SandboxUnavailable(Exception):
    """The requested sandbox cannot be used on this machine."""


def default_limits() -> dict:
    """Resource limits every worker sets on itself before importing student code."""
    return {
        "address_space_bytes": 4 << 30,
        "cpu_seconds": 300,
        "file_size_bytes": 16 << 20,
        "open_files": 256,
        "core_bytes": 0,
    }


@dataclass
class SandboxConfig:
    """How workers are started. `mode` is "bwrap" or "none"; times are seconds."""

    mode: str = "none"
    call_timeout_s: float = 5.0
    start_timeout_s: float = 60.0
    load_timeout_s: float = 20.0
    max_processes: int = 64
    limits: dict = field(default_factory=default_limits)


def resolve_mode(requested: str) -> str:
    """Map --sandbox auto|bwrap|none to the mode used. `auto` is bwrap where bubblewrap can
    create its sandbox here, else none; `bwrap` where it cannot is an error."""
    if requested not in ("auto", "bwrap", "none"):
        raise SandboxUnavailable("unknown sandbox %r (choose auto, bwrap or none)" % requested)
    if requested == "none":
        return "none"
    problem = bwrap_problem()
    if problem is None:
        return "bwrap"
    if requested == "auto":
        return "none"
    raise SandboxUnavailable("--sandbox bwrap was requested but %s; pass --sandbox none to grade without it"
                             % problem)


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


class WorkerFailure(Exception):
    """The worker could not answer: `code` is "timeout" or "crash"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


def bwrap_argv(snapshot: Path, python_argv: list[str]) -> list[str]:
    """The bubblewrap command line: no network, read-only system and Python, the snapshot
    at /submission, nothing else of the grader's files, unprivileged uid, own pid namespace."""
    argv = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
    ]
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
    package_dir = str(WORKER_FILE.parent)
    for path in _python_paths():
        if not path.startswith("/usr/"):
            argv += ["--ro-bind", path, path]
        if package_dir.startswith(path + os.sep):
            argv += ["--tmpfs", package_dir]
    argv += [
        "--ro-bind", str(snapshot), SANDBOX_ROOT,
        "--ro-bind", str(WORKER_FILE), SANDBOX_WORKER,
        "--proc", "/proc", "--dev", "/dev",
    ]
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


def worker_env() -> dict[str, str]:
    """The whole environment a worker sees (nothing of the grader's is passed through)."""
    return {
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }


class ProcessJail:
    """Finds every process a worker started so that none outlives it.

    Where a pids cgroup can be created (cgroup v1 `pids` or a v2 tree), each worker starts
    inside its own cgroup, bounded to `max_pids` processes, and everything in it is killed
    at the end. Otherwise the worker's descendants are found through /proc, and the grader
    becomes a child subreaper so that double-forked orphans come back to it to be killed.
    Under bubblewrap the sandbox's own pid namespace already ends with the worker."""

    ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup")
    _base: Path | None | bool = False
    _counter = 0

    def __init__(self, max_pids: int) -> None:
        self.max_pids = max_pids
        self.path: Path | None = None
        base = self._cgroup_base()
        if base is not None:
            ProcessJail._counter += 1
            path = base / ("w%d-%d" % (os.getpid(), ProcessJail._counter))
            try:
                path.mkdir()
                if (path / "pids.max").exists():
                    (path / "pids.max").write_text(str(max_pids))
                self.path = path
            except OSError:
                self.path = None
        if self.path is None:
            _become_subreaper()

    @classmethod
    def _cgroup_base(cls) -> Path | None:
        if cls._base is not False:
            return cls._base
        cls._base = None
        for root in cls.ROOTS:
            base = Path(root) / "backprop-grader"
            try:
                if not (Path(root) / "cgroup.procs").exists():
                    continue
                base.mkdir(exist_ok=True)
                probe = base / ("probe-%d" % os.getpid())
                probe.mkdir(exist_ok=True)
                usable = (probe / "cgroup.procs").exists()
                probe.rmdir()
            except OSError:
                continue
            if usable:
                cls._base = base
                _sweep_stale(base)
                break
        return cls._base

    def wrap(self, argv: list[str], keep_shell: bool = True) -> list[str]:
        """The command line that enters the jail, then runs `argv`.

        With `keep_shell` (no bubblewrap) `argv` runs as a child of the shell, so that a worker's
        parent is not the grader; the shell dies with the grader (SIGTERM, see `_die_with_grader`)
        and then kills everything in the cgroup, so that nothing the worker started outlives a
        grader that was killed. Without it (bubblewrap) the shell is replaced by `argv`: the
        sandbox is then the grader's own child and dies with it (--die-with-parent), and its pid
        namespace with it."""
        if not keep_shell:
            if self.path is not None:
                return ["/bin/sh", "-c", 'echo $$ > "$1" && shift && exec "$@"', "sh",
                        str(self.path / "cgroup.procs")] + argv
            return argv
        if self.path is not None:
            script = ('cg="$1"; shift; echo $$ > "$cg" || exit 126; '
                      'trap \'for i in 1 2 3 4 5; do kill -9 $(grep -vx "$$" "$cg") 2>/dev/null; done; '
                      'exit 137\' TERM; '
                      '"$@" & wait $!')
            return ["/bin/sh", "-c", script, "sh", str(self.path / "cgroup.procs")] + argv
        return ["/bin/sh", "-c", '"$@"', "sh"] + argv

    def members(self, root_pid: int) -> set[int]:
        if self.path is not None:
            try:
                return {int(p) for p in (self.path / "cgroup.procs").read_text().split()}
            except OSError:
                return set()
        return process_tree(root_pid) | _strays()

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
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            time.sleep(0.005)
        if self.path is not None:
            for _ in range(100):
                try:
                    self.path.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)


_SUBREAPER = False
_OUR_WORKERS: set[int] = set()


def _prctl():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def _die_with_grader(sig: int) -> Callable[[], None]:
    """What the child runs between fork and exec: be sent `sig` when the grader's thread that
    started it dies, so that no sandbox (and no worker) outlives a killed grader."""

    def arm() -> None:
        if _PRCTL is not None:
            _PRCTL(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG

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
        try:
            entry.rmdir()
        except OSError:
            pass


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
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


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


def _strays() -> set[int]:
    """Orphans re-parented to this (subreaper) grader that it never started itself."""
    if not _SUBREAPER:
        return set()
    me = os.getpid()
    parents = process_parents()
    orphans = {pid for pid, parent in parents.items() if parent == me} - _OUR_WORKERS
    return set().union(*(process_tree(pid, parents) for pid in orphans)) if orphans else set()


class _OutputDrain(threading.Thread):
    """Reads what a worker writes to its stdout/stderr file descriptors, keeping a bounded head."""

    CAP = 16 << 10

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.head = bytearray()
        self.total = 0

    def run(self) -> None:
        try:
            while True:
                chunk = self.stream.read1(1 << 16)
                if not chunk:
                    return
                self.total += len(chunk)
                if len(self.head) < self.CAP:
                    self.head += chunk[: self.CAP - len(self.head)]
        except (OSError, ValueError):
            return

    def text(self) -> str:
        text = self.head.decode("utf-8", "replace")
        if self.total > len(self.head):
            text += "\n[... %d more bytes not shown]" % (self.total - len(self.head))
        return printable(text)


class Worker:
    """One worker process serving one submission snapshot; not reusable after `kill`."""

    def __init__(self, snapshot: Path, config: SandboxConfig, with_torch: bool) -> None:
        self.snapshot = snapshot
        self.config = config
        self.with_torch = with_torch
        self.process: subprocess.Popen | None = None
        self.drain: _OutputDrain | None = None
        self.ready = False
        self.unenforced_limits: list[str] = []  # limits the worker could not set on itself
        self.next_id = 0
        self.closed = False

    def start(self) -> None:
        """Spawn the process (returns at once; `wait_ready` waits for its imports)."""
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        sandboxed = self.config.mode == "bwrap"
        worker_config = {
            "root": SANDBOX_ROOT if sandboxed else str(self.snapshot),
            "req_fd": req_r,
            "resp_fd": resp_w,
            "torch": self.with_torch,
            "limits": self.config.limits,
        }
        worker_path = SANDBOX_WORKER if sandboxed else str(WORKER_FILE)
        python_argv = [sys.executable, "-I", "-B", worker_path, json.dumps(worker_config)]
        argv = bwrap_argv(self.snapshot, python_argv) if sandboxed else python_argv
        self.jail = ProcessJail(self.config.max_processes)
        argv = self.jail.wrap(argv, keep_shell=not sandboxed)
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(req_r, resp_w),
                env=worker_env(),
                start_new_session=True,
                cwd=str(self.snapshot),
                preexec_fn=_die_with_grader(int(signal.SIGKILL if sandboxed else signal.SIGTERM)),
            )
        finally:
            os.close(req_r)
            os.close(resp_w)
        os.set_blocking(req_w, False)
        os.set_blocking(resp_r, False)
        _OUR_WORKERS.add(self.process.pid)
        self.req_fd, self.resp_fd = req_w, resp_r
        self.drain = _OutputDrain(self.process.stdout)
        self.drain.start()

    def wait_ready(self) -> None:
        if self.ready:
            return
        if self.process is None:
            self.start()
        reply, _ = self._receive(self.config.start_timeout_s, "starting the worker")
        if reply.get("status") != "ready":
            self._fail("crash", "the worker did not start properly")
        failed = reply.get("failed_limits")
        self.unenforced_limits = [str(name)[:40] for name in failed[:10]] if isinstance(failed, list) else []
        self.ready = True

    def request(self, header: dict, arrays: list | None = None, timeout_s: float | None = None,
                what: str = "a call") -> tuple[dict, list]:
        """Send one request and wait for its reply, at most `timeout_s` seconds."""
        self.wait_ready()
        self.next_id += 1
        header = dict(header, id=self.next_id)
        timeout_s = timeout_s or self.config.call_timeout_s
        deadline = time.monotonic() + timeout_s
        try:
            write_frame(self.req_fd, header, arrays, deadline)
        except FrameTimeout:
            self._fail("timeout", "%s did not finish within %.3g s (the worker stopped reading)" % (what, timeout_s))
        except OSError:
            self._fail("crash", self._death_message(what))
        reply, reply_arrays = self._receive(timeout_s, what, deadline)
        if reply.get("id") != self.next_id:
            self._fail("crash", "the worker answered %s out of turn (protocol broken by the submission)" % what)
        if not isinstance(reply.get("status"), str):
            self._fail("crash", "the worker sent a reply without a status during %s (protocol broken by the"
                                " submission)" % what)
        if header.get("op") == "call" and reply["status"] == "ok":
            problem = result_problem(str(header.get("task")), reply.get("result"), len(reply_arrays))
            if problem is not None:
                self._fail("crash", "the worker sent %s during %s (protocol broken by the submission)"
                           % (problem, what))
        return reply, reply_arrays

    def _receive(self, timeout_s: float, what: str, deadline: float | None = None) -> tuple[dict, list]:
        deadline = deadline if deadline is not None else time.monotonic() + timeout_s
        try:
            return read_frame(self.resp_fd, deadline)
        except FrameTimeout:
            self._fail("timeout", "%s did not finish within %.3g s" % (what, timeout_s))
        except FrameError as exc:
            self._fail("crash", "the worker sent a malformed reply during %s: %s" % (what, exc))
        except (EOFError, OSError):
            self._fail("crash", self._death_message(what))
        raise AssertionError("unreachable")

    def _death_message(self, what: str) -> str:
        status = None
        if self.process is not None:
            try:
                status = self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                status = None
        if status is None:
            how = "the worker closed its channel"
        elif status < 0:
            how = "the worker was killed by signal %s" % _signal_name(-status)
        else:
            how = "the worker exited with status %d" % status
        if status in (-signal.SIGKILL, 137) and self.config.limits.get("address_space_bytes"):
            how += " (memory or CPU limit?)"
        if status == -signal.SIGXCPU:
            how += " (CPU time limit)"
        if status == -signal.SIGXFSZ:
            how += " (file size limit)"
        return "%s during %s" % (how, what)

    def _fail(self, code: str, message: str):
        self.kill()
        raise WorkerFailure(code, message)

    def output(self) -> str:
        """What the worker printed to its raw stdout/stderr so far (bounded)."""
        return self.drain.text() if self.drain else ""

    def kill(self) -> None:
        """Kill the worker's whole process group (and sandbox) and release its pipes."""
        if self.closed:
            return
        self.closed = True
        if self.process is not None:
            pid = self.process.pid
            self.jail.kill_all(pid)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            _OUR_WORKERS.discard(pid)
        for fd in (getattr(self, "req_fd", None), getattr(self, "resp_fd", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self.drain is not None:
            self.drain.join(timeout=2)
            if not self.drain.is_alive() and self.process is not None and self.process.stdout is not None:
                self.process.stdout.close()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


@dataclass
class LoadResult:
    """Outcome of importing one submission module in a worker."""

    ok: bool
    attrs: dict = field(default_factory=dict)
    code: str | None = None
    message: str = ""
    output: str = ""
    frames: list = field(default_factory=list)


class WorkerSession:
    """Serves calls to one submission module, restarting the worker after it dies.

    The first load's result is kept: if the module cannot be imported, every later call
    fails the same way without starting more workers. After a worker has died once, a spare
    is kept starting in the background, so that further timeouts or crashes do not each wait
    for a fresh interpreter to import torch.
    """

    def __init__(self, snapshot: Path, module: str, inspect: list[str], config: SandboxConfig,
                 with_torch: bool) -> None:
        self.snapshot = snapshot
        self.module = module
        self.inspect = inspect
        self.config = config
        self.with_torch = with_torch
        self.worker: Worker | None = None
        self.spare: Worker | None = None
        self.load_result: LoadResult | None = None
        self.unenforced_limits: set[str] = set()  # over every worker this session started

    def prestart(self) -> None:
        """Spawn the first worker now so that its imports overlap the grader's own."""
        if self.worker is None:
            self.worker = Worker(self.snapshot, self.config, self.with_torch)
            self.worker.start()

    def _new_worker(self) -> Worker:
        worker = Worker(self.snapshot, self.config, self.with_torch)
        worker.start()
        return worker

    def _live_worker(self) -> Worker:
        if self.worker is None:
            self.worker = self._new_worker()
        elif self.worker.closed:
            self.unenforced_limits.update(self.worker.unenforced_limits)
            self.worker, self.spare = self.spare or self._new_worker(), None
            self.spare = self._new_worker()
        return self.worker

    def load(self, budget_s: float | None = None) -> LoadResult:
        """Import the module (once per worker), within `budget_s` seconds when given; the first
        outcome is remembered."""
        worker = self._live_worker()
        what = "importing %s.py" % self.module
        timeout_s = self.config.load_timeout_s if budget_s is None else min(self.config.load_timeout_s, budget_s)
        try:
            reply, _ = worker.request(
                {"op": "load", "module": self.module, "inspect": self.inspect},
                timeout_s=timeout_s, what=what,
            )
        except WorkerFailure as failure:
            result = LoadResult(False, code=failure.code, message=failure.message, output=worker.output())
        else:
            if reply.get("status") == "ok" and isinstance(reply.get("attrs"), dict):
                result = LoadResult(True, attrs=reply["attrs"], output=str(reply.get("output", "")))
            else:
                frames = reply.get("frames") if isinstance(reply.get("frames"), list) else []
                result = LoadResult(False, code="import_error", message=describe_exception(reply),
                                    output=str(reply.get("output", "")), frames=frames)
        if self.load_result is None:
            self.load_result = result
        worker.loaded = result.ok
        return result

    def call(self, task: str, args: dict, arrays: list, timeout_s: float | None = None,
             what: str = "a call", budget_s: float | None = None) -> tuple[dict, list]:
        """Run `task` in a live worker (starting and loading one if needed, the import within
        `budget_s` seconds when given)."""
        if self.load_result is not None and not self.load_result.ok:
            raise WorkerFailure(self.load_result.code or "crash", self.load_result.message)
        worker = self._live_worker()
        if not getattr(worker, "loaded", False):
            result = self.load(budget_s)
            if not result.ok:
                raise WorkerFailure(result.code or "crash", result.message)
        return worker.request(
            {"op": "call", "module": self.module, "task": task, "args": args}, arrays, timeout_s, what
        )

    def close(self) -> None:
        for worker in (self.worker, self.spare):
            if worker is not None:
                self.unenforced_limits.update(worker.unenforced_limits)
                worker.kill()


def describe_exception(reply: dict) -> str:
    """One readable paragraph from a worker's exception reply (all fields untrusted)."""
    kind = str(reply.get("type", "an exception"))[:100]
    message = str(reply.get("message", ""))[:300]
    stage = str(reply.get("stage", "student code"))[:200]
    frames = reply.get("frames") if isinstance(reply.get("frames"), list) else []
    text = "%s raised %s" % (stage, kind)
    if message:
        text += ": %s" % message
    if frames and isinstance(frames[-1], dict):
        last = frames[-1]
        text += " (at %s:%s in %s: %s)" % (
            str(last.get("file", "?"))[:100], str(last.get("line", "?"))[:10],
            str(last.get("function", "?"))[:100], str(last.get("code", "")).strip()[:160],
        )
    return text
