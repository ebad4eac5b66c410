"""The worker: imports a submission and answers calls; the only place student code runs.

This file runs in two places. Inside the worker process (sandboxed, started by
`grader.sandbox`) it is executed as a script, on its own, with nothing else of the grader
visible; it needs only the standard library, numpy and (for the practical part) torch.
Inside the grader process, `grader.sandbox` imports it for the frame format alone
(`write_frame`, `read_frame`), which needs no numpy at import time.

Wire format (both directions): a frame is a 4-byte little-endian length, a UTF-8 JSON
object of that length, then the raw bytes of the arrays the JSON lists under "arrays" (each
a shape; every array is little-endian float64, C order). Nothing is pickled, ever.

Contract of the worker's replies: only plain data. Every student value is converted here
into a float64 array, or a small JSON description of what it was instead (None, a list, an
object of some type). The grader trusts none of it beyond its shape.
"""

from __future__ import annotations

import json
import os
import re
import select
import struct
import sys
import time

LENGTH = struct.Struct("<I")
MAX_JSON_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 64 << 20
MAX_ARRAYS = 256
MAX_NDIM = 8
MAX_DEPTH = 24
MAX_VALUE_ELEMENTS = (MAX_PAYLOAD_BYTES // 8) // 2   # per reply, leaving room for the grader's own arrays
OUTPUT_CAP_CHARS = 4000

# Characters a worker's text may not carry to the grader: C0/C1 control characters other than
# newline and tab (terminal escape sequences could rewrite the grader's own report on screen)
# and lone surrogates (which no UTF-8 writer accepts). Each becomes U+FFFD.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# What a successful reply's "result" holds for each task (`_Worker.task`): "value" is one encoded
# value (see `_Worker.encode`), "run" an encoded dict holding y_hat and grads, "values" a plain
# dict of encoded values, "int" an integer; a key ending in "?" may be absent. The grader rejects
# any other structure as a broken protocol (the submission may have tampered with its worker).
RESULT_SHAPES = {
    "mlp.forward": {"y_hat": "value", "x_after": "value"},
    "mlp.loss": {"out": "value", "y_after": "value", "y_hat_after": "value"},
    "mlp.backward": {"run": "run", "x_after": "value", "dJdy_hat_after": "value"},
    "mlp.end_to_end": {"y_hat": "value", "loss_out": "value", "grads?": "value"},
    "mlp.clear": {"grads": "value", "cache_len": "int"},
    "mlp.repeat": {"first": "run", "second": "run", "fresh": "run"},
    "call": {"out": "value", "args_after": "values"},
}
VALUE_KINDS = {"none", "missing", "other", "array", "dict", "seq"}


class FrameError(Exception):
    """A frame that breaks the wire format (malformed, truncated, oversized or nested too deeply)."""


class FrameTimeout(Exception):
    """The deadline passed before a whole frame could be read or written."""


def _wait(fd: int, events: int, deadline: float | None) -> None:
    """Block until `fd` is ready for `events` (select.POLLIN/POLLOUT), at most until `deadline`."""
    if deadline is None:
        return
    poller = select.poll()
    poller.register(fd, events)
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise FrameTimeout()
        try:
            if poller.poll(max(1, int(wait * 1000))):
                return
        except InterruptedError:
            continue


def write_frame(fd: int, header: dict, arrays: list | None = None, deadline: float | None = None) -> None:
    """Write one frame: `header` (JSON-able) plus float64 `arrays` (numpy).

    With a `deadline` (a monotonic time) the write never blocks past it, so a peer that stops
    reading cannot hang the writer (the fd should be non-blocking then): raises FrameTimeout."""
    arrays = arrays or []
    payloads = []
    shapes = []
    if arrays:
        import numpy as np

        for a in arrays:
            a = np.array(a, dtype="<f8", order="C")  # keeps 0-d arrays 0-d (ascontiguousarray would not)
            shapes.append(list(a.shape))
            payloads.append(a.tobytes())
    body = json.dumps(dict(header, arrays=shapes), separators=(",", ":")).encode()
    data = LENGTH.pack(len(body)) + body + b"".join(payloads)
    view = memoryview(data)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        try:
            written = os.write(fd, view)
        except (BlockingIOError, InterruptedError):
            continue
        view = view[written:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks = []
    remaining = n
    while remaining:
        _wait(fd, select.POLLIN, deadline)
        try:
            chunk = os.read(fd, min(remaining, 1 << 20))
        except (BlockingIOError, InterruptedError):
            continue
        if not chunk:
            raise EOFError("the other end closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def printable(text: str) -> str:
    """`text` without control characters (except newline and tab) or lone surrogates."""
    return _UNPRINTABLE.sub("\ufffd", text)


def _clean(value, depth: int = 0):
    """A JSON value with every string made printable; FrameError if nested deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise FrameError("a reply header is nested more than %d levels deep" % MAX_DEPTH)
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def _array_shapes(header: dict) -> list[tuple[int, ...]]:
    shapes = header.get("arrays", [])
    if not isinstance(shapes, list) or len(shapes) > MAX_ARRAYS:
        raise FrameError("the array list is not a list of at most %d shapes" % MAX_ARRAYS)
    checked = []
    for shape in shapes:
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_NDIM
            or not all(type(s) is int and 0 <= s <= MAX_PAYLOAD_BYTES for s in shape)
        ):
            raise FrameError("an array shape is not a list of non-negative integers")
        checked.append(tuple(shape))
    return checked


def read_frame(
    fd: int,
    deadline: float | None = None,
    max_json: int = MAX_JSON_BYTES,
    max_payload: int = MAX_PAYLOAD_BYTES,
) -> tuple[dict, list]:
    """Read one frame; return (header, arrays). Validates sizes before reading payloads; every
    string in the header comes back printable (see `printable`).

    Raises FrameError (bad, oversized or too deeply nested frame), FrameTimeout (deadline, a
    monotonic time), EOFError (channel closed).
    """
    (length,) = LENGTH.unpack(_read_exact(fd, LENGTH.size, deadline))
    if length > max_json:
        raise FrameError("a reply header of %d bytes exceeds the %d-byte cap" % (length, max_json))
    try:
        header = json.loads(_read_exact(fd, length, deadline).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError("a reply header is not valid JSON (%s)" % type(exc).__name__) from None
    if not isinstance(header, dict):
        raise FrameError("a reply header is not a JSON object")
    header = _clean(header)
    shapes = _array_shapes(header)
    sizes = []
    total = 0
    for shape in shapes:
        count = 1
        for s in shape:
            count *= s
        sizes.append(count * 8)
        total += count * 8
        if total > max_payload:
            raise FrameError("a reply's arrays exceed the %d-byte cap" % max_payload)
    arrays = []
    if shapes:
        import numpy as np

        for shape, size in zip(shapes, sizes):
            raw = _read_exact(fd, size, deadline)
            arrays.append(np.frombuffer(raw, dtype="<f8").reshape(shape).copy())
    return header, arrays


def _is_value(value, n_arrays: int, depth: int = 0) -> bool:
    """Whether `value` is an encoded value as `_Worker.encode` writes them."""
    if not isinstance(value, dict) or value.get("t") not in VALUE_KINDS or depth > MAX_DEPTH:
        return False
    kind = value["t"]
    if kind == "array":
        return type(value.get("i")) is int and 0 <= value["i"] < n_arrays
    if kind == "dict":
        items = value.get("items")
        return isinstance(items, dict) and all(_is_value(v, n_arrays, depth + 1) for v in items.values())
    if kind == "seq":
        items = value.get("items")
        return (isinstance(items, list) and type(value.get("len")) is int
                and all(_is_value(v, n_arrays, depth + 1) for v in items))
    return True


def result_problem(task: str, result, n_arrays: int) -> str | None:
    """Why `result` is not what an honest worker returns for `task` (None when it is)."""
    shape = RESULT_SHAPES.get(task)
    if shape is None:
        return "a reply to an unknown task"
    if not isinstance(result, dict):
        return "a result that is not an object"
    required = {k for k in shape if not k.endswith("?")}
    allowed = {k.rstrip("?"): kind for k, kind in shape.items()}
    if not required <= set(result) or not set(result) <= set(allowed):
        return "a result with the wrong fields"
    for key, value in result.items():
        kind = allowed[key]
        if kind == "int":
            ok = type(value) is int
        elif kind == "values":
            ok = isinstance(value, dict) and all(_is_value(v, n_arrays) for v in value.values())
        elif kind == "run":
            ok = (_is_value(value, n_arrays) and value["t"] == "dict"
                  and {"y_hat", "grads"} <= set(value["items"]))
        else:
            ok = _is_value(value, n_arrays)
        if not ok:
            return "a malformed %r in the result" % key[:40]
    return None


# ----------------------------------------------------------------------------------------
# Everything below runs only inside the worker process.


class _Capture:
    """Stands in for sys.stdout/sys.stderr: keeps the first OUTPUT_CAP_CHARS per call."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text) -> int:
        text = str(text)
        room = OUTPUT_CAP_CHARS - self.kept
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


class _Worker:
    def __init__(self, root: str, req_fd: int, resp_fd: int) -> None:
        self.root = os.path.realpath(root)
        self.req_fd = req_fd
        self.resp_fd = resp_fd
        self.modules: dict = {}
        self.capture = _Capture()
        self.autograd_calls = 0
        self.np = None
        self.torch = None

    # -- student calls ---------------------------------------------------------------
    def student(self, stage: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            raise StudentFailure(stage, exc) from None

    def describe_exception(self, stage: str, exc: BaseException) -> dict:
        try:
            return self._describe(stage, exc)
        except BaseException:  # noqa: BLE001 - an exception object built to break its reader
            return {"status": "exception", "stage": stage, "type": "an unreadable exception", "message": "",
                    "frames": []}

    def _in_submission(self, filename) -> str | None:
        """`filename` relative to the submission folder, or None when it is not in it (the
        grader's own files, the standard library, pseudo-files such as '<frozen ...>')."""
        if not isinstance(filename, str) or not filename or filename.startswith("<"):
            return None
        path = os.path.realpath(filename)
        return os.path.relpath(path, self.root) if path.startswith(self.root + os.sep) else None

    def _describe(self, stage: str, exc: BaseException) -> dict:
        import traceback

        try:
            message = str(exc)
        except BaseException:  # noqa: BLE001
            message = "<unprintable>"
        frames = []
        for frame in traceback.extract_tb(exc.__traceback__):
            relative = self._in_submission(frame.filename)
            if relative is not None:
                frames.append(
                    {
                        "file": relative,
                        "line": frame.lineno,
                        "function": frame.name,
                        "code": (frame.line or "")[:200],
                    }
                )
        if isinstance(exc, SyntaxError):
            relative = self._in_submission(exc.filename)
            if relative is not None:
                frames.append({
                    "file": relative,
                    "line": exc.lineno or 0,
                    "function": "<module>",
                    "code": (exc.text or "").strip()[:200],
                })
                message = str(exc.msg)
            if "unicode error" in message or "Non-UTF-8" in message:
                message = ("the file is not UTF-8 text (save it as UTF-8, or declare its encoding in a"
                           " '# -*- coding: NAME -*-' first line): %s" % message)
        return {
            "status": "exception",
            "stage": stage,
            "type": type(exc).__name__,
            "message": message[:500],
            "frames": frames[-8:],
        }

    # -- values ----------------------------------------------------------------------
    def encode(self, obj, arrays: list, depth: int = 0) -> dict:
        np, torch = self.np, self.torch or sys.modules.get("torch")
        if obj is None:
            return {"t": "none"}
        if depth > 4:
            return {"t": "other", "type": "deeply nested value"}
        if torch is not None and isinstance(obj, torch.Tensor):
            if obj.is_complex() or obj.dtype == torch.bool:
                return {"t": "other", "type": "tensor of dtype %s" % str(obj.dtype).replace("torch.", "")}
            if obj.numel() > MAX_VALUE_ELEMENTS:
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
            if len(arrays) >= MAX_ARRAYS - 8 or used + obj.size > MAX_VALUE_ELEMENTS:
                return {"t": "other", "type": "array too large to return"}
            arrays.append(np.array(obj, dtype="<f8"))
            return {"t": "array", "i": len(arrays) - 1}
        if isinstance(obj, dict):
            items = {}
            for key in list(obj)[:64]:
                items[str(key)[:100]] = self.encode(obj[key], arrays, depth + 1)
            return {"t": "dict", "items": items}
        if isinstance(obj, (list, tuple)):
            return {
                "t": "seq",
                "type": type(obj).__name__,
                "len": len(obj),
                "items": [self.encode(v, arrays, depth + 1) for v in list(obj)[:16]],
            }
        return {"t": "other", "type": type(obj).__name__[:100]}

    def encode_student(self, stage: str, obj, arrays: list) -> dict:
        return self.student("returning a value from " + stage, self.encode, obj, arrays)

    def decode_args(self, spec, arrays):
        if isinstance(spec, dict):
            if set(spec) == {"$a"}:
                return self.np.array(arrays[spec["$a"]])
            return {k: self.decode_args(v, arrays) for k, v in spec.items()}
        if isinstance(spec, list):
            return [self.decode_args(v, arrays) for v in spec]
        return spec

    # -- module loading ---------------------------------------------------------------
    def load(self, request: dict) -> dict:
        import importlib.util

        name = request["module"]
        path = os.path.join(self.root, name + ".py")
        spec = importlib.util.spec_from_file_location(name, path)
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
            obj = module
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
    def tensor32(self, array):
        return self.torch.from_numpy(self.np.array(array, dtype=self.np.float32))

    def build_net(self, module, a: dict):
        net = self.student(
            "MLP.__init__",
            module.MLP,
            linear_1_in_features=a["n"],
            linear_1_out_features=a["d"],
            f_function=a["f"],
            linear_2_in_features=a["d"],
            linear_2_out_features=a["K"],
            g_function=a["g"],
        )

        def set_parameters():
            for key in ("W1", "b1", "W2", "b2"):
                net.parameters[key] = self.tensor32(a[key])

        self.student("setting MLP.parameters", set_parameters)
        return net

    def read_grads(self, net, arrays: list) -> dict:
        grads = self.student("reading MLP.grads", lambda: net.grads)
        out = {}
        for key in ("dJdW1", "dJdb1", "dJdW2", "dJdb2"):
            try:
                value = grads[key]
            except BaseException:  # noqa: BLE001
                out[key] = {"t": "missing"}
                continue
            out[key] = self.encode_student("MLP.grads", value, arrays)
        return {"t": "dict", "items": out}

    def forward_backward(self, net, x, dJdy_hat, arrays: list) -> dict:
        y_hat = self.student("MLP.forward", net.forward, x)
        y_hat_enc = self.encode_student("MLP.forward", y_hat, arrays)
        self.student("MLP.backward", net.backward, dJdy_hat)
        return {"t": "dict", "items": {"y_hat": y_hat_enc, "grads": self.read_grads(net, arrays)}}

    def task(self, module, task: str, a: dict, arrays: list) -> dict:
        enc = self.encode
        if task == "mlp.forward":
            net = self.build_net(module, a)
            x = self.tensor32(a["x"])
            y_hat = self.student("MLP.forward", net.forward, x)
            return {"y_hat": self.encode_student("MLP.forward", y_hat, arrays), "x_after": enc(x, arrays)}
        if task == "mlp.loss":
            fn = getattr(module, a["function"])
            y, y_hat = self.tensor32(a["y"]), self.tensor32(a["y_hat"])
            out = self.student(a["function"], fn, y, y_hat)
            return {
                "out": self.encode_student(a["function"], out, arrays),
                "y_after": enc(y, arrays),
                "y_hat_after": enc(y_hat, arrays),
            }
        if task == "mlp.backward":
            net = self.build_net(module, a)
            x, dJdy_hat = self.tensor32(a["x"]), self.tensor32(a["dJdy_hat"])
            run = self.forward_backward(net, x, dJdy_hat, arrays)
            return {"run": run, "x_after": enc(x, arrays), "dJdy_hat_after": enc(dJdy_hat, arrays)}
        if task == "mlp.end_to_end":
            net = self.build_net(module, a)
            fn = getattr(module, a["function"])
            x, y = self.tensor32(a["x"]), self.tensor32(a["y"])
            y_hat = self.student("MLP.forward", net.forward, x)
            y_hat_enc = self.encode_student("MLP.forward", y_hat, arrays)
            out = self.student(a["function"], fn, y, y_hat)
            out_enc = self.encode_student(a["function"], out, arrays)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                return {"y_hat": y_hat_enc, "loss_out": out_enc}
            self.student("MLP.backward", net.backward, out[1])
            return {"y_hat": y_hat_enc, "loss_out": out_enc, "grads": self.read_grads(net, arrays)}
        if task == "mlp.clear":
            net = self.build_net(module, a)
            x, dJdy_hat = self.tensor32(a["x"]), self.tensor32(a["dJdy_hat"])
            self.forward_backward(net, x, dJdy_hat, [])
            self.student("MLP.clear_grad_and_cache", net.clear_grad_and_cache)
            cache = self.student("reading MLP.cache", lambda: net.cache)
            try:
                cache_len = len(cache)
            except BaseException:  # noqa: BLE001
                cache_len = -1
            return {"grads": self.read_grads(net, arrays), "cache_len": cache_len}
        if task == "mlp.repeat":
            # each run gets inputs of its own, so that a submission that changes its inputs in
            # place (charged by the input checks) is not also seen as nondeterministic
            def inputs():
                return self.tensor32(a["x"]), self.tensor32(a["dJdy_hat"])

            net = self.build_net(module, a)
            first = self.forward_backward(net, *inputs(), arrays)
            self.student("MLP.clear_grad_and_cache", net.clear_grad_and_cache)
            second = self.forward_backward(net, *inputs(), arrays)
            fresh = self.forward_backward(self.build_net(module, a), *inputs(), arrays)
            return {"first": first, "second": second, "fresh": fresh}
        if task == "call":
            fn = getattr(module, a["function"])
            kwargs = dict(a["kwargs"])
            out = self.student(a["function"], fn, **kwargs)
            after = {k: enc(v, arrays) for k, v in kwargs.items() if isinstance(v, self.np.ndarray)}
            return {"out": self.encode_student(a["function"], out, arrays), "args_after": after}
        raise ValueError("unknown task %r" % task)

    def call(self, request: dict, arrays_in: list) -> tuple[dict, list]:
        module = self.modules.get(request.get("module"))
        if module is None:
            return {"status": "error", "message": "module not loaded"}, []
        args = self.decode_args(request.get("args", {}), arrays_in)
        arrays: list = []
        self.autograd_calls = 0
        try:
            result = self.task(module, request["task"], args, arrays)
        except StudentFailure as failure:
            return self.describe_exception(failure.stage, failure.exc), []
        except Exception as exc:  # noqa: BLE001 - student code may have broken the worker itself
            return self.describe_exception("the worker, after student code changed its environment", exc), []
        return {"status": "ok", "result": result}, arrays

    # -- main loop -------------------------------------------------------------------
    def instrument_autograd(self) -> None:
        torch = self.torch
        worker = self

        def counting(original):
            def wrapper(*args, **kwargs):
                worker.autograd_calls += 1
                return original(*args, **kwargs)

            return wrapper

        torch.autograd.backward = counting(torch.autograd.backward)
        torch.autograd.grad = counting(torch.autograd.grad)

    def serve(self) -> None:
        while True:
            try:
                request, arrays_in = read_frame(self.req_fd)
            except EOFError:
                return
            op = request.get("op")
            start = time.perf_counter()
            if op == "load":
                reply, arrays = self.load(request), []
            elif op == "call":
                reply, arrays = self.call(request, arrays_in)
            elif op == "exit":
                return
            else:
                reply, arrays = {"status": "error", "message": "unknown op"}, []
            output, dropped = self.capture.take()
            reply.update(
                id=request.get("id"),
                output=output,
                output_dropped=dropped,
                autograd_calls=self.autograd_calls,
                elapsed_s=time.perf_counter() - start,
            )
            write_frame(self.resp_fd, reply, arrays)


def _apply_limits(limits: dict) -> list[str]:
    import resource

    failed = []
    table = {
        "address_space_bytes": resource.RLIMIT_AS,
        "cpu_seconds": resource.RLIMIT_CPU,
        "file_size_bytes": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
        "core_bytes": resource.RLIMIT_CORE,
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


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; bwrap --die-with-parent covers sandboxed runs
        pass


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    _die_with_parent()
    failed_limits = _apply_limits(config.get("limits", {}))
    worker = _Worker(config["root"], config["req_fd"], config["resp_fd"])
    os.close(0)
    worker.capture = _Capture()
    sys.stdout = sys.stderr = worker.capture
    import numpy

    worker.np = numpy
    if config.get("torch"):
        import torch

        torch.set_num_threads(1)
        worker.torch = torch
        worker.instrument_autograd()
    sys.path.insert(0, worker.root)
    os.chdir(worker.root)
    write_frame(
        worker.resp_fd,
        {"status": "ready", "pid": os.getpid(), "failed_limits": failed_limits},
    )
    worker.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
