"""The worker runtime: imports a submission module and answers calls; the only place student
code runs.

Run as a script inside the worker process (sandboxed, started by `grader.sandbox.process`),
with nothing of the grader visible but this file, `protocol.py` beside it, and the task
module of the part being graded. It knows no assignment: an assignment's task module (e.g.
`grader/assignments/hw1/worker_tasks.py`) defines

    TASKS: dict[str, Callable[[Runtime, module, dict, list], dict]]   # task name -> handler
    RESULT_SHAPES: dict[str, protocol.ResultShape]                  # checked by the grader
    RUN_KEYS: frozenset[str]                                          # keys of a "run" value
    setup(runtime) -> None   (optional; after the preloads, before the student's import)

and the runtime adds the task "call" (module.function(**kwargs)). A handler gets the
`Runtime` (student calls, value encoding, counters), the imported student module, the
decoded arguments (numpy arrays for arrays) and the list to append reply arrays to, and
returns the result dict its RESULT_SHAPES entry describes. Contract of the replies: only
plain data, every student value turned into a float64 array or a small description.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

if __package__:
    from . import protocol
else:  # a script inside the sandbox: load the protocol file that lies beside this one
    _spec = importlib.util.spec_from_file_location("bpg_protocol", Path(__file__).with_name("protocol.py"))
    assert _spec is not None and _spec.loader is not None
    protocol = importlib.util.module_from_spec(_spec)
    sys.modules["bpg_protocol"] = protocol
    _spec.loader.exec_module(protocol)

LIMITS = protocol.LIMITS


class _Capture:
    """Stands in for sys.stdout/sys.stderr: keeps the first `output_cap_chars` per call."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text: object) -> int:
        text = str(text)
        room = LIMITS.output_cap_chars - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def take(self) -> tuple[str, int]:
        text, dropped = "".join(self.parts), self.dropped
        self.parts, self.kept, self.dropped = [], 0, 0
        return text, dropped


class StudentFailure(Exception):
    """Student code raised while the worker ran `stage`."""

    def __init__(self, stage: str, exc: BaseException) -> None:
        super().__init__(stage)
        self.stage = stage
        self.exc = exc


TaskHandler = Callable[["Runtime", ModuleType, dict[str, Any], list[Any]], dict[str, Any]]


class Runtime:
    """What a task handler uses: `student` (call student code), `encode`/`encode_student`
    (a value to the wire), `counters` (reset before every call, sent with its reply), and the
    preloaded libraries `np` and `torch` (None when not preloaded)."""

    def __init__(self, root: str, req_fd: int, resp_fd: int) -> None:
        self.root = os.path.realpath(root)
        self.req_fd = req_fd
        self.resp_fd = resp_fd
        self.modules: dict[str, ModuleType] = {}
        self.capture = _Capture()
        self.counters: dict[str, int] = {}
        self.tasks: dict[str, TaskHandler] = {}
        self.np: Any = None
        self.torch: Any = None
        self.parent = 0  # the parent this worker dies with (0: not checked before replies)

    # -- student calls ---------------------------------------------------------------
    def student(self, stage: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            raise StudentFailure(stage, exc) from None

    def describe_exception(self, stage: str, exc: BaseException) -> dict[str, Any]:
        try:
            return self._describe(stage, exc)
        except BaseException:  # noqa: BLE001 - an exception object built to break its reader
            return {"status": "exception", "stage": stage, "type": "an unreadable exception", "message": "",
                    "frames": []}

    def _in_submission(self, filename: object) -> str | None:
        """`filename` relative to the submission folder, or None when it is not in it (the
        grader's own files, the standard library, pseudo-files such as '<frozen ...>')."""
        if not isinstance(filename, str) or not filename or filename.startswith("<"):
            return None
        path = os.path.realpath(filename)
        return os.path.relpath(path, self.root) if path.startswith(self.root + os.sep) else None

    def _describe(self, stage: str, exc: BaseException) -> dict[str, Any]:
        import traceback

        try:
            message = str(exc)
        except BaseException:  # noqa: BLE001
            message = "<unprintable>"
        frames = []
        for frame in traceback.extract_tb(exc.__traceback__):
            relative = self._in_submission(frame.filename)
            if relative is not None:
                frames.append({"file": relative, "line": frame.lineno, "function": frame.name,
                               "code": (frame.line or "")[:200]})
        if isinstance(exc, SyntaxError):
            relative = self._in_submission(exc.filename)
            if relative is not None:
                frames.append({"file": relative, "line": exc.lineno or 0, "function": "<module>",
                               "code": (exc.text or "").strip()[:200]})
                message = str(exc.msg)
            if "unicode error" in message or "Non-UTF-8" in message:
                message = ("the file is not UTF-8 text (save it as UTF-8, or declare its encoding in a"
                           " '# -*- coding: NAME -*-' first line): %s" % message)
        return {"status": "exception", "stage": stage, "type": type(exc).__name__, "message": message[:500],
                "frames": frames[-8:]}

    # -- values ----------------------------------------------------------------------
    def encode(self, obj: Any, arrays: list[Any], depth: int = 0) -> dict[str, Any]:
        """`obj` as an encoded value (see `protocol`); arrays are appended to `arrays`."""
        np, torch = self.np, self.torch or sys.modules.get("torch")
        if obj is None:
            return {"t": "none"}
        if depth > 4:
            return {"t": "other", "type": "deeply nested value"}
        if torch is not None and isinstance(obj, torch.Tensor):
            if obj.is_complex() or obj.dtype == torch.bool:
                return {"t": "other", "type": "tensor of dtype %s" % str(obj.dtype).replace("torch.", "")}
            if obj.numel() > LIMITS.max_value_elements:
                return {"t": "other", "type": "tensor too large to return"}
            obj = obj.detach().to("cpu", torch.float64).numpy()
        if isinstance(obj, bool):
            return {"t": "other", "type": "bool"}
        if isinstance(obj, (int, float)):
            obj = np.array(float(obj))
        if isinstance(obj, np.generic):
            obj = np.asarray(obj)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "fiu":
                return {"t": "other", "type": "array of dtype %s" % obj.dtype}
            used = sum(a.size for a in arrays)
            if len(arrays) >= LIMITS.max_arrays - 8 or used + obj.size > LIMITS.max_value_elements:
                return {"t": "other", "type": "array too large to return"}
            arrays.append(np.array(obj, dtype="<f8"))
            return {"t": "array", "i": len(arrays) - 1}
        if isinstance(obj, dict):
            items = {}
            for key in list(obj)[:64]:
                items[str(key)[:100]] = self.encode(obj[key], arrays, depth + 1)
            return {"t": "dict", "items": items}
        if isinstance(obj, (list, tuple)):
            return {"t": "seq", "type": type(obj).__name__, "len": len(obj),
                    "items": [self.encode(v, arrays, depth + 1) for v in list(obj)[:16]]}
        return {"t": "other", "type": type(obj).__name__[:100]}

    def encode_student(self, stage: str, obj: Any, arrays: list[Any]) -> dict[str, Any]:
        """`encode` of a student value: its own code (a property, a __len__) may run and raise."""
        result: dict[str, Any] = self.student("returning a value from " + stage, self.encode, obj, arrays)
        return result

    def decode_args(self, spec: Any, arrays: list[Any]) -> Any:
        if isinstance(spec, dict):
            if set(spec) == {"$a"}:
                return self.np.array(arrays[spec["$a"]])
            return {k: self.decode_args(v, arrays) for k, v in spec.items()}
        if isinstance(spec, list):
            return [self.decode_args(v, arrays) for v in spec]
        return spec

    # -- module loading ---------------------------------------------------------------
    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["module"]
        path = os.path.join(self.root, name + ".py")
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            return {"status": "exception", "stage": "importing %s.py" % name, "type": "ImportError",
                    "message": "cannot load %s.py" % name, "frames": []}
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            self.student("importing %s.py" % name, spec.loader.exec_module, module)
        except StudentFailure as failure:
            sys.modules.pop(name, None)
            return self.describe_exception(failure.stage, failure.exc)
        self.modules[name] = module
        found = {}
        for dotted in request.get("inspect", []):
            obj: Any = module
            kind = "missing"
            try:
                for part in dotted.split("."):
                    obj = getattr(obj, part)
                kind = "class" if isinstance(obj, type) else "callable" if callable(obj) else "value"
            except BaseException:  # noqa: BLE001
                kind = "missing"
            found[dotted] = kind
        return {"status": "ok", "attrs": found}

    # -- tasks -----------------------------------------------------------------------
    def call(self, request: dict[str, Any], arrays_in: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        module = self.modules.get(request.get("module", ""))
        if module is None:
            return {"status": "error", "message": "module not loaded"}, []
        task = str(request.get("task"))
        handler = BUILTIN_TASKS.get(task) or self.tasks.get(task)
        if handler is None:
            return {"status": "error", "message": "unknown task"}, []
        args = self.decode_args(request.get("args", {}), arrays_in)
        arrays: list[Any] = []
        for name in self.counters:
            self.counters[name] = 0
        try:
            result = handler(self, module, args, arrays)
        except StudentFailure as failure:
            return self.describe_exception(failure.stage, failure.exc), []
        except Exception as exc:  # noqa: BLE001 - student code may have broken the worker itself
            return self.describe_exception("the worker, after student code changed its environment", exc), []
        return {"status": "ok", "result": result}, arrays

    # -- main loop -------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                request, arrays_in = protocol.read_frame(self.req_fd)
            except EOFError:
                return
            op = request.get("op")
            start = time.perf_counter()
            arrays: list[Any]
            if op == "load":
                reply, arrays = self.load(request), []
            elif op == "call":
                reply, arrays = self.call(request, arrays_in)
            elif op == "exit":
                return
            else:
                reply, arrays = {"status": "error", "message": "unknown op"}, []
            if self.parent and not _parent_alive(self.parent):
                os._exit(123)  # the student's code killed this worker's parent: the worker dies with it
            output, dropped = self.capture.take()
            reply.update(id=request.get("id"), output=output, output_dropped=dropped, counters=dict(self.counters),
                         elapsed_s=time.perf_counter() - start)
            protocol.write_frame(self.resp_fd, reply, arrays)


def call_function(rt: Runtime, module: ModuleType, a: dict[str, Any], arrays: list[Any]) -> dict[str, Any]:
    """The built-in task "call": module.function(**kwargs), and the array arguments after it."""
    fn = getattr(module, a["function"])
    kwargs = dict(a["kwargs"])
    out = rt.student(a["function"], fn, **kwargs)
    after = {k: rt.encode(v, arrays) for k, v in kwargs.items() if isinstance(v, rt.np.ndarray)}
    return {"out": rt.encode_student(a["function"], out, arrays), "args_after": after}


BUILTIN_TASKS: dict[str, TaskHandler] = {"call": call_function}


def _apply_limits(limits: dict[str, Any]) -> list[str]:
    import resource

    failed = []
    table = {
        "address_space_bytes": resource.RLIMIT_AS,
        "cpu_seconds": resource.RLIMIT_CPU,
        "file_size_bytes": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
        "core_bytes": resource.RLIMIT_CORE,
        "processes": resource.RLIMIT_NPROC,
    }
    for key, which in table.items():
        if key not in limits:
            continue
        try:
            value = int(limits[key])
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OverflowError, OSError):
            failed.append(key)
    return failed


def _drop_privileges(user: Any) -> None:
    """Become `user` ([uid, gid], the user tier) for good: no supplementary groups, real, effective
    and saved ids all changed, files private by default. Exits rather than run on as root."""
    uid, gid = int(user[0]), int(user[1])
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.umask(0o077)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        os._exit(121)


def _prctl(option: int, value: int) -> bool:
    """libc's prctl(option, value); False where it cannot be called or fails."""
    try:
        import ctypes

        return bool(ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0)
    except Exception:  # noqa: BLE001 - best effort; the sandbox's own bounds still hold
        return False


PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36


def _die_with_parent(parent: int | None = None) -> None:
    """Be killed when the parent dies; exit at once if `parent` (the pid the parent had before)
    is already gone, since the parent-death signal only covers a death after it was armed."""
    import signal

    _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if parent is not None and os.getppid() != parent:
        os._exit(122)


def _parent_alive(parent: int) -> bool:
    """Whether `parent` is still this process's parent and not about to die: a SIGKILL sent to it
    shows in its pending signals before it has exited (read where /proc shows it), so a worker
    that killed its parent never answers after that, however the two are scheduled."""
    if os.getppid() != parent:
        return False
    try:
        with open("/proc/%d/status" % parent, "rb") as handle:
            for line in handle:
                if line.startswith((b"SigPnd:", b"ShdPnd:")) and int(line.split()[1], 16) & (1 << 8):
                    return False
                if line.startswith(b"State:") and line.split()[1] in (b"Z", b"X"):
                    return False
    except (OSError, ValueError, IndexError):
        pass
    return True


def _load_tasks(path: str, runtime: Runtime) -> None:
    """Import the assignment's task module from `path` and register its tasks."""
    spec = importlib.util.spec_from_file_location("bpg_tasks", path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load the task module %s" % path)
    tasks = importlib.util.module_from_spec(spec)
    sys.modules["bpg_tasks"] = tasks
    spec.loader.exec_module(tasks)
    runtime.tasks = dict(tasks.TASKS)
    setup = getattr(tasks, "setup", None)
    if setup is not None:
        setup(runtime)


def _preload(runtime: Runtime, config: dict[str, Any]) -> None:
    """Import numpy (always), torch (if listed in "preload", one thread) and the task module."""
    import numpy

    runtime.np = numpy
    if "torch" in config.get("preload", []):
        import torch

        torch.set_num_threads(1)
        runtime.torch = torch
    if config.get("tasks"):
        _load_tasks(config["tasks"], runtime)


def _enter_submission(runtime: Runtime, failed_limits: list[str]) -> None:
    """Make the submission folder the import path's head and the working folder, say ready and
    serve requests until the grader closes the channel."""
    sys.path.insert(0, runtime.root)
    os.chdir(runtime.root)
    protocol.write_frame(runtime.resp_fd, {"status": "ready", "pid": os.getpid(), "failed_limits": failed_limits})
    runtime.serve()


def main(argv: list[str]) -> int:
    """argv[1] is the JSON configuration: root, req_fd, resp_fd, limits, preload, tasks, and
    user ([uid, gid] to switch to before anything else, or null). With argv[1] == "--template",
    argv[2] configures a template instead (see `serve_template`)."""
    if argv[1] == "--template":
        return serve_template(json.loads(argv[2]))
    config = json.loads(argv[1])
    parent = os.getppid()
    failed_limits = _apply_limits(config.get("limits", {}))
    if config.get("user"):
        _drop_privileges(config["user"])
    _die_with_parent(parent)  # after the user changed: changing credentials clears the parent-death signal
    runtime = Runtime(config["root"], config["req_fd"], config["resp_fd"])
    runtime.parent = parent
    os.close(0)
    sys.stdout = sys.stderr = runtime.capture
    _preload(runtime, config)
    _enter_submission(runtime, failed_limits)
    return 0


# -- the template -------------------------------------------------------------------------
#
# A template is a worker runtime with numpy, torch and the task module already imported that
# never runs student code: on request it forks a worker, so that a fresh worker costs a fork,
# not an interpreter start and a torch import. It talks to the grader over a SOCK_SEQPACKET
# socket (one JSON object per packet, file descriptors alongside):
#
#   {"op": "fork", "worker": {root, limits, user, env, cgroups}} + [req_r, resp_w, out_w]
#        -> {"pid": pid}: the worker (under bubblewrap) or its keeper (otherwise), see below
#   {"op": "status", "pid": pid} -> {"status": exit status (negative: signal) or null}
#   {"op": "reset"} -> {"done": true}: kill every other process of the sandbox and empty its
#        scratch folders (only as pid 1 of a pid namespace: bubblewrap's sandbox)
#
# Under bubblewrap the template is pid 1 of the sandbox's pid namespace: a worker cannot kill
# it (an init ignores signals from its namespace), and orphans come back to it to be reaped.
# Otherwise each worker has a keeper between itself and the template: the keeper enters the
# worker's cgroups, forks the worker and waits for it; a worker that kills its parent kills its
# keeper and dies with it, never the template.


def serve_template(config: dict[str, Any]) -> int:
    """Run a template: config has "control_fd", "preload", "tasks" and "namespace" (true when
    pid 1 of a sandbox of its own)."""
    import select
    import socket

    control = socket.socket(fileno=int(config["control_fd"]))
    _die_with_parent(os.getppid() if not config.get("namespace") else None)
    _prctl(PR_SET_DUMPABLE, 0)  # nothing of the same user may trace it or read its memory
    in_namespace = bool(config.get("namespace")) and os.getpid() == 1
    if not in_namespace:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    runtime = Runtime("/", -1, -1)
    _preload(runtime, config)
    statuses: dict[int, int] = {}
    while True:
        readable, _, _ = select.select([control], [], [], 0.25)
        _reap(statuses)
        if not readable:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 8)
        except OSError:
            return 0
        if not data:
            return 0
        request = json.loads(data)
        try:
            reply = _template_request(runtime, control, request, fds, statuses, in_namespace)
        except Exception as exc:  # noqa: BLE001 - a failed fork (no more processes) must not end the template
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            reply = {"error": "%s: %s" % (type(exc).__name__, exc)}
        ticket = request.get("id")
        reply["id"] = ticket
        control.send(json.dumps(reply).encode())


def _template_request(runtime: Runtime, control: Any, request: dict[str, Any], fds: list[int],
                      statuses: dict[int, int], in_namespace: bool) -> dict[str, Any]:
    """Answer one request of the grader (see the protocol above); a fork returns in the parent
    only."""
    op = request.get("op")
    if op == "fork" and len(fds) == 3:
        template = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                control.close()
                code = _forked(runtime, request["worker"], fds, template, keeper=not in_namespace)
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        return {"pid": pid}
    for fd in fds:
        os.close(fd)
    if op == "status":
        _reap(statuses)
        return {"status": statuses.pop(int(request.get("pid", 0)), None)}
    if op == "reset" and in_namespace:
        _reset_namespace(statuses)
        return {"done": True}
    return {"error": "unknown request"}


def _reap(statuses: dict[int, int]) -> None:
    """Collect every finished child, keeping the last 256 exit statuses (negative: a signal)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        while len(statuses) > 256:
            del statuses[next(iter(statuses))]


def _reset_namespace(statuses: dict[int, int]) -> None:
    """Kill every other process of the sandbox (pid 1's kill(-1) reaches all of them) and
    remove what they left in /tmp and /dev/shm."""
    import shutil
    import signal

    for _ in range(3):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            break
        time.sleep(0.01)
        _reap(statuses)
    for folder in ("/tmp", "/dev/shm"):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(folder, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    for top, dirs, _ in os.walk(path):
                        for d in dirs:
                            os.chmod(os.path.join(top, d), 0o700)
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                continue
    _reap(statuses)


def _forked(runtime: Runtime, config: dict[str, Any], fds: list[int], template: int, keeper: bool) -> int:
    """In a fresh fork of the template (pid `template`, as it saw itself before the fork): become
    a worker (under bubblewrap) or a keeper that enters the worker's cgroups, forks the worker
    and ends as it ends."""
    import signal

    req_r, resp_w, out_w = fds
    _die_with_parent(template)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    os.close(devnull)
    os.close(out_w)
    if not keeper:
        return _forked_worker(runtime, config, req_r, resp_w, template)
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    cgroups = [str(procs) for procs in config.get("cgroups", [])]
    for procs in cgroups:
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))
    user = int(config["user"][0]) if config.get("user") else None

    def sweep(signum: int, frame: Any) -> None:
        _kill_worker_processes(cgroups, user)
        os._exit(137)

    signal.signal(signal.SIGTERM, sweep)
    _prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))  # the template died (with the grader): sweep first
    if os.getppid() != template:
        sweep(0, None)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = _forked_worker(runtime, config, req_r, resp_w, parent)
        finally:
            os._exit(code)
    os.close(req_r)
    os.close(resp_w)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70


def _fresh_random_state(runtime: Runtime) -> None:
    """Seed Python's and numpy's global generators from the OS, as a fresh interpreter does:
    a fork would otherwise repeat the template's state in every worker (torch's default
    generator starts from the same fixed seed in every process anyway)."""
    import random

    random.seed()
    if runtime.np is not None:
        runtime.np.random.seed()


def _kill_worker_processes(cgroups: list[str], user: int | None) -> None:
    """SIGKILL everything in the worker's cgroups (the `cgroup.procs` files) and, for a worker
    with a user id of its own, every process of that user: what a keeper leaves no trace of
    when the template above it dies (daemons that left the worker's session included)."""
    import signal

    me = os.getpid()
    for _ in range(5):
        found: set[int] = set()
        for procs in cgroups:
            try:
                with open(procs) as handle:
                    found |= {int(pid) for pid in handle.read().split()}
            except (OSError, ValueError):
                continue
        if user is not None:
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        if os.stat("/proc/" + entry).st_uid == user:
                            found.add(int(entry))
                    except OSError:
                        continue
        found.discard(me)
        if not found:
            return
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _forked_worker(runtime: Runtime, config: dict[str, Any], req_r: int, resp_w: int, parent: int) -> int:
    """The worker's side of a fork: its limits, its user, its environment, then serve."""
    failed_limits = _apply_limits(config.get("limits", {}))
    if config.get("user"):
        _drop_privileges(config["user"])
    _die_with_parent(parent)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in config.get("env", {}).items()})
    _fresh_random_state(runtime)
    runtime.root = os.path.realpath(config["root"])
    runtime.req_fd, runtime.resp_fd = req_r, resp_w
    runtime.parent = parent
    sys.stdout = sys.stderr = runtime.capture
    _enter_submission(runtime, failed_limits)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
