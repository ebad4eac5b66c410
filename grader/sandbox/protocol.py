"""The wire protocol between the grader and a worker: frames, value encoding, limits.

Both sides use this module: the grader imports it as `grader.sandbox.protocol`, and the
worker (inside the sandbox, where the grader's package is not visible) loads this same file
on its own. So it needs only the standard library, and numpy only once arrays are sent.

A frame is a 4-byte little-endian length, a UTF-8 JSON object of that length, then the raw
bytes of the arrays the JSON lists under "arrays" (each a shape; every array little-endian
float64, C order). Nothing is pickled, ever.

Values (what a student function returned, as the worker describes it): an encoded value is a
JSON object {"t": kind, ...} with kind one of `VALUE_KINDS`: "array" ({"i": index into the
frame's arrays}), "none", "missing" (never set), "other" ({"type": what it was}), "dict"
({"items": {key: value}}) and "seq" ({"len": n, "items": [value, ...]} for a list or tuple).
Every assignment's worker tasks describe the results they send with a result shape (see
`result_problem`); the grader rejects any other structure as a broken protocol.
"""

from __future__ import annotations

import json
import os
import re
import select
import struct
import time
from dataclasses import dataclass
from typing import Any

LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class WireLimits:
    """Bounds on what one frame may carry (bytes, counts, nesting levels, characters)."""

    max_json_bytes: int = 1 << 20
    max_payload_bytes: int = 64 << 20
    max_arrays: int = 256
    max_ndim: int = 8
    max_depth: int = 24
    output_cap_chars: int = 4000

    @property
    def max_value_elements(self) -> int:
        """Array entries one reply may return, leaving room for the grader's own arrays."""
        return (self.max_payload_bytes // 8) // 2


LIMITS = WireLimits()
VALUE_KINDS = frozenset({"none", "missing", "other", "array", "dict", "seq"})

# Characters a worker's text may not carry to the grader: C0/C1 control characters other than
# newline and tab (terminal escape sequences could rewrite the grader's own report on screen)
# and lone surrogates (which no UTF-8 writer accepts). Each becomes U+FFFD.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class FrameError(Exception):
    """A frame that breaks the wire format (malformed, truncated, oversized or nested too deeply)."""


class FrameTimeout(Exception):
    """The deadline passed before a whole frame could be read or written."""


def printable(text: str) -> str:
    """`text` without control characters (except newline and tab) or lone surrogates."""
    return _UNPRINTABLE.sub("\ufffd", text)


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


def write_frame(fd: int, header: dict[str, Any], arrays: list[Any] | None = None,
                deadline: float | None = None) -> None:
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


def _clean(value: Any, depth: int = 0, limits: WireLimits = LIMITS) -> Any:
    """A JSON value with every string made printable; FrameError if nested too deeply."""
    if depth > limits.max_depth:
        raise FrameError("a reply header is nested more than %d levels deep" % limits.max_depth)
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(k): _clean(v, depth + 1, limits) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1, limits) for v in value]
    return value


def _array_shapes(header: dict[str, Any], limits: WireLimits) -> list[tuple[int, ...]]:
    shapes = header.get("arrays", [])
    if not isinstance(shapes, list) or len(shapes) > limits.max_arrays:
        raise FrameError("the array list is not a list of at most %d shapes" % limits.max_arrays)
    checked = []
    for shape in shapes:
        if (
            not isinstance(shape, list)
            or len(shape) > limits.max_ndim
            or not all(type(s) is int and 0 <= s <= limits.max_payload_bytes for s in shape)
        ):
            raise FrameError("an array shape is not a list of non-negative integers")
        checked.append(tuple(shape))
    return checked


def read_frame(fd: int, deadline: float | None = None, limits: WireLimits = LIMITS) -> tuple[dict[str, Any], list[Any]]:
    """Read one frame; return (header, arrays). Validates sizes before reading payloads; every
    string in the header comes back printable (see `printable`).

    Raises FrameError (bad, oversized or too deeply nested frame), FrameTimeout (deadline, a
    monotonic time), EOFError (channel closed).
    """
    (length,) = LENGTH.unpack(_read_exact(fd, LENGTH.size, deadline))
    if length > limits.max_json_bytes:
        raise FrameError("a reply header of %d bytes exceeds the %d-byte cap" % (length, limits.max_json_bytes))
    try:
        header = json.loads(_read_exact(fd, length, deadline).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError("a reply header is not valid JSON (%s)" % type(exc).__name__) from None
    if not isinstance(header, dict):
        raise FrameError("a reply header is not a JSON object")
    header = _clean(header, 0, limits)
    shapes = _array_shapes(header, limits)
    sizes = []
    total = 0
    for shape in shapes:
        count = 1
        for s in shape:
            count *= s
        sizes.append(count * 8)
        total += count * 8
        if total > limits.max_payload_bytes:
            raise FrameError("a reply's arrays exceed the %d-byte cap" % limits.max_payload_bytes)
    arrays = []
    if shapes:
        import numpy as np

        for shape, size in zip(shapes, sizes, strict=True):
            raw = _read_exact(fd, size, deadline)
            arrays.append(np.frombuffer(raw, dtype="<f8").reshape(shape).copy())
    return header, arrays


def is_value(value: Any, n_arrays: int, depth: int = 0, limits: WireLimits = LIMITS) -> bool:
    """Whether `value` is an encoded value as an honest worker writes them."""
    if not isinstance(value, dict) or depth > limits.max_depth:
        return False
    kind = value.get("t")
    if not isinstance(kind, str) or kind not in VALUE_KINDS:
        return False
    if kind == "array":
        return type(value.get("i")) is int and 0 <= value["i"] < n_arrays
    if kind == "dict":
        items = value.get("items")
        return isinstance(items, dict) and all(is_value(v, n_arrays, depth + 1, limits) for v in items.values())
    if kind == "seq":
        items = value.get("items")
        return (isinstance(items, list) and type(value.get("len")) is int and type(value.get("type", "")) is str
                and all(is_value(v, n_arrays, depth + 1, limits) for v in items))
    if kind == "other":
        return type(value.get("type", "")) is str
    return True


REPLY_STATUSES = frozenset({"ok", "exception", "error"})
ATTR_KINDS = frozenset({"class", "callable", "value", "missing"})
_FRAME_FIELDS = {"file": str, "line": int, "function": str, "code": str}
_COMMON_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (int,), "status": (str,), "output": (str,), "output_dropped": (int,), "elapsed_s": (int, float),
    "counters": (dict,), "arrays": (list,), "message": (str,), "stage": (str,), "type": (str,),
    "frames": (list,), "attrs": (dict,), "result": (dict,)}


def _exact(value: Any, types: tuple[type, ...]) -> bool:
    """`value` is exactly one of `types` (a bool is no int here, nor a str subclass a str)."""
    return type(value) in types


def reply_problem(reply: dict[str, Any], op: str) -> str | None:
    """Why `reply` (to a request of kind `op`: "load" or "call") is not what an honest worker
    sends, checking the exact type of every field the grader reads; None when it is. The
    "result" of a successful call is checked apart, against its task (`result_problem`)."""
    for key, types in _COMMON_FIELDS.items():
        if key in reply and not _exact(reply[key], types):
            return "a reply whose %r is not a %s" % (key, " or ".join(t.__name__ for t in types))
    if reply.get("status") not in REPLY_STATUSES:
        return "a reply with an unknown status"
    counters = reply.get("counters", {})
    if not all(type(k) is str and type(v) is int for k, v in counters.items()):
        return "a reply whose counters are not names and whole numbers"
    if reply["status"] == "exception":
        frames = reply.get("frames", [])
        if not all(type(frame) is dict and all(_exact(frame.get(k, t()), (t,)) for k, t in _FRAME_FIELDS.items())
                   for frame in frames):
            return "a reply whose exception frames are malformed"
    if op == "load" and reply["status"] == "ok":
        attrs = reply.get("attrs")
        if attrs is None or not all(type(k) is str and type(v) is str and v in ATTR_KINDS for k, v in attrs.items()):
            return "a reply whose attributes are malformed"
    return None


ResultShape = dict[str, str]
"""What a successful reply's "result" holds for one task: field -> "value" (one encoded value),
"run" (an encoded dict holding at least the keys `run_keys` given to `result_problem`),
"values" (a plain dict of encoded values) or "int"; a field ending in "?" may be absent."""


def result_problem(shape: ResultShape | None, result: Any, n_arrays: int,
                   run_keys: frozenset[str] = frozenset()) -> str | None:
    """Why `result` is not what an honest worker returns for a task of that `shape` (None when it is)."""
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
            ok = isinstance(value, dict) and all(is_value(v, n_arrays) for v in value.values())
        elif kind == "run":
            ok = (is_value(value, n_arrays) and value["t"] == "dict" and run_keys <= set(value["items"]))
        else:
            ok = is_value(value, n_arrays)
        if not ok:
            return "a malformed %r in the result" % key[:40]
    return None


BUILTIN_RESULT_SHAPES: dict[str, ResultShape] = {
    "call": {"out": "value", "args_after": "values"},
}
"""Tasks every worker knows: "call" runs module.function(**kwargs) and reports its result and
its array arguments afterwards (to see in-place changes)."""
