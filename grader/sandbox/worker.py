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


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; bwrap --die-with-parent covers sandboxed runs
        pass


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


def main(argv: list[str]) -> int:
    """argv[1] is the JSON configuration: root, req_fd, resp_fd, limits, preload, tasks, and
    user ([uid, gid] to switch to before anything else, or null)."""
    config = json.loads(argv[1])
    failed_limits = _apply_limits(config.get("limits", {}))
    if config.get("user"):
        _drop_privileges(config["user"])
    _die_with_parent()  # after the user changed: changing credentials clears the parent-death signal
    runtime = Runtime(config["root"], config["req_fd"], config["resp_fd"])
    os.close(0)
    sys.stdout = sys.stderr = runtime.capture
    import numpy

    runtime.np = numpy
    if "torch" in config.get("preload", []):
        import torch

        torch.set_num_threads(1)
        runtime.torch = torch
    if config.get("tasks"):
        _load_tasks(config["tasks"], runtime)
    sys.path.insert(0, runtime.root)
    os.chdir(runtime.root)
    protocol.write_frame(runtime.resp_fd, {"status": "ready", "pid": os.getpid(), "failed_limits": failed_limits})
    runtime.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
