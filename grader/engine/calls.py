"""Calls from a check into the part's worker, and the decoding of what comes back.

`PartContext` is the `CheckContext` checks run with: it sends a task with numpy arguments,
enforces the per-call deadline and the submission's time budget, keeps what the submission
printed, adds up the worker's counters, and turns every worker reply into plain values
(numpy arrays, dicts, lists, `NotArray`/`Absent`) or a `CallFailed` carrying the diagnosis.
Nothing in a reply is trusted beyond its structure.

The time of a part is budgeted per student function, not per call (`CallBudget`): a function
that timed out is not called again in that submission, and once a call has timed out, later
deadlines follow the observed call times, so a hung submission costs about one deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..model.values import Absent, NotArray
from ..sandbox.process import WorkerFailure, WorkerSession, describe_exception
from .checks import CallFailed, Failure, PartState
from .compare import Tolerance

OUTPUT_CAP = 2000


class ProtocolViolation(Exception):
    """A worker reply that does not follow the value encoding."""


def decode_value(value: Any, arrays: list[np.ndarray]) -> Any:
    """Turn an encoded worker value into numpy arrays, dicts, lists, NotArray/Absent."""
    if isinstance(value, dict) and "t" in value:
        kind = value.get("t")
        if kind == "array":
            index = value.get("i")
            if type(index) is not int or not 0 <= index < len(arrays):
                raise ProtocolViolation("array reference out of range")
            return arrays[index]
        if kind == "none":
            return NotArray("None")
        if kind == "missing":
            return Absent("it was never set")
        if kind == "other":
            return NotArray("a %s" % str(value.get("type", "value"))[:100])
        if kind == "dict" and isinstance(value.get("items"), dict):
            return {str(k)[:100]: decode_value(v, arrays) for k, v in value["items"].items()}
        if kind == "seq" and isinstance(value.get("items"), list):
            if value.get("len") != len(value["items"]):
                return NotArray("a sequence of %s values" % str(value.get("len"))[:12])
            return [decode_value(v, arrays) for v in value["items"]]
        raise ProtocolViolation("unknown value kind")
    if isinstance(value, dict):
        return {str(k)[:100]: decode_value(v, arrays) for k, v in value.items()}
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    raise ProtocolViolation("unexpected value")


def encode_args(args: dict[str, Any]) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Replace every numpy array in `args` (nested dicts too) by a reference {"$a": index}."""
    arrays: list[np.ndarray] = []

    def encode(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            arrays.append(value)
            return {"$a": len(arrays) - 1}
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        return value

    return encode(args), arrays


def frame_location(reply: dict[str, Any]) -> dict[str, Any] | None:
    """{"file", "line"} of the last submission frame of a worker's exception reply."""
    frames = reply.get("frames")
    if not isinstance(frames, list) or not frames or not isinstance(frames[-1], dict):
        return None
    file, line = frames[-1].get("file"), frames[-1].get("line")
    if not isinstance(file, str) or type(line) is not int or line < 1:
        return None
    path = PurePosixPath(file)
    if path.is_absolute() or ".." in path.parts or not path.parts:  # a path inside the submission only
        return None
    return {"file": file[:200], "line": line}


ExceptionHint = Callable[[str, str], str]
"""(stage, exception type) -> advice appended to an exception's diagnosis ("" for none)."""


def exception_message(reply: dict[str, Any], hint: ExceptionHint | None = None) -> str:
    """The diagnosis of a student exception; "not implemented yet" for NotImplementedError."""
    if reply.get("type") == "NotImplementedError":
        return "%s is not implemented yet (it raises NotImplementedError)" % str(reply.get("stage", "it"))[:100]
    text = describe_exception(reply)
    if hint is not None:
        text += hint(str(reply.get("stage", "")), str(reply.get("type", "")))
    return text


ADAPTED_FLOOR_S = 2.0
"""The shortest deadline an adapted call gets, however fast the earlier calls were."""
ADAPTED_FACTOR = 20.0
"""An adapted deadline is this many times the slowest call of the part that completed."""


@dataclass
class CallBudget:
    """Which student functions of one part timed out, and how long its calls take.

    A call names the student functions it runs. When it times out, the suspects are those of
    its functions not yet seen completing in another call (all of them when every one was);
    a call is refused while it would run every suspect of an earlier timeout, so once a single
    function is to blame, nothing that runs it is called again. After a timeout, later calls
    get `ADAPTED_FACTOR` times the slowest completed call (at least `ADAPTED_FLOOR_S`, at most
    the rubric's deadline) instead of the full deadline: the submission has shown it can hang."""

    completed: set[str] = field(default_factory=set)
    timeouts: list[tuple[frozenset[str], float]] = field(default_factory=list)
    slowest_s: float = 0.0

    def suspects(self, functions: frozenset[str]) -> frozenset[str]:
        return (functions - self.completed) or functions

    def blocked(self, functions: Iterable[str]) -> str | None:
        """Why a call running `functions` is not made (the earlier timeout), or None."""
        running = frozenset(functions)
        for suspects, deadline_s in self.timeouts:
            if self.suspects(suspects) <= running:
                return ("%s did not finish within %.3g s earlier in this submission, so it is not called again"
                        % (" or ".join(sorted(self.suspects(suspects))), deadline_s))
        return None

    def deadline_s(self, full_s: float) -> float:
        if not self.timeouts:
            return full_s
        return min(full_s, max(ADAPTED_FLOOR_S, ADAPTED_FACTOR * self.slowest_s))

    def completed_call(self, functions: Iterable[str], duration_s: float) -> None:
        self.completed.update(functions)
        self.slowest_s = max(self.slowest_s, duration_s)

    def timed_out(self, functions: Iterable[str], deadline_s: float) -> None:
        self.timeouts.append((self.suspects(frozenset(functions)), deadline_s))


class PartContext:
    """The `CheckContext` a part's checks run with: calls into its worker session."""

    def __init__(self, session: WorkerSession, tolerance: Tolerance, settings: Any, state: PartState,
                 call_timeout_s: float, deadline: float, hint: ExceptionHint | None = None) -> None:
        self.session = session
        self.tolerance = tolerance
        self.settings = settings
        self.state = state
        self.call_timeout_s = call_timeout_s
        self.deadline = deadline
        self.hint = hint
        self.dead: set[str] = set()
        self.output_parts: list[str] = []
        self.output_size = 0
        self.last_call: tuple[str, dict[str, Any]] | None = None
        self.budget = CallBudget()

    def start_check(self) -> None:
        self.dead = set()
        self.last_call = None
        self.output_parts = []
        self.output_size = 0

    def is_dead(self, key: str) -> bool:
        return key in self.dead or self.budget.blocked((key,)) is not None

    def check_output(self) -> str:
        return "".join(self.output_parts)

    def _keep_output(self, reply: dict[str, Any]) -> None:
        text = reply.get("output")
        if isinstance(text, str) and text and self.output_size < OUTPUT_CAP:
            text = text[: OUTPUT_CAP - self.output_size]
            self.output_parts.append(text)
            self.output_size += len(text)
        dropped = reply.get("output_dropped")
        if type(dropped) is int and dropped > 0 and self.output_size < OUTPUT_CAP + 100:
            note = "\n[... %d more characters of output not kept]\n" % dropped
            self.output_parts.append(note)
            self.output_size += len(note)

    def _count(self, reply: dict[str, Any], what: str) -> None:
        counters = reply.get("counters")
        if not isinstance(counters, dict):
            return
        for name, count in list(counters.items())[:16]:
            if isinstance(name, str) and type(count) is int and count > 0:
                totals = self.state.counters.setdefault(name[:40], {})
                totals[what] = totals.get(what, 0) + count

    def call(self, task: str, args: dict[str, Any], what: str, key: str | None = None,
             functions: tuple[str, ...] = ()) -> dict[str, Any]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CallFailed(Failure("timeout", "not run: the submission used up its grading time budget"), key)
        self.last_call = (task, args)
        running = functions or (what,)
        earlier = self.budget.blocked(running)
        if earlier is not None:
            if key:
                self.dead.add(key)
            raise CallFailed(Failure("timeout", "not run: %s" % earlier, about_example=False), key)
        encoded, arrays = encode_args(args)
        timeout_s = min(self.budget.deadline_s(self.call_timeout_s), remaining)
        worker = self.session.worker
        warm = worker is not None and worker.loaded and not worker.closed  # the time is the call's alone
        started = time.monotonic()
        try:
            reply, reply_arrays = self.session.call(task, encoded, arrays, timeout_s=timeout_s, what=what,
                                                    budget_s=remaining)
        except WorkerFailure as failure:
            if key:
                self.dead.add(key)
            if failure.code == "timeout":
                self.budget.timed_out(running, timeout_s)
            raise CallFailed(Failure(failure.code, failure.message), key) from None  # type: ignore[arg-type]
        if warm:
            self.budget.completed_call(running, time.monotonic() - started)
        else:
            self.budget.completed.update(running)
        self._keep_output(reply)
        self._count(reply, what)
        status = reply.get("status")
        if status == "exception":
            not_implemented = reply.get("type") == "NotImplementedError"
            raise CallFailed(Failure("exception", exception_message(reply, self.hint),
                                     about_example=not not_implemented, location=frame_location(reply)), key)
        if status != "ok":
            raise CallFailed(Failure("crash", "the worker could not run %s" % what), key)
        try:
            result = decode_value(reply.get("result"), reply_arrays)
        except ProtocolViolation as exc:
            self.session.close()
            raise CallFailed(Failure("crash", "the worker sent a malformed reply (%s)" % exc), key) from None
        if not isinstance(result, dict):
            raise CallFailed(Failure("crash", "the worker sent a malformed reply"), key)
        return result
