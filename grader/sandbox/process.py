"""Worker processes that run student code, and the grader's side of their protocol.

A `Worker` is one process (inside bubblewrap when available) that imports the submission's
module and answers calls. Every call has a deadline; on timeout, on a malformed reply or
when the process dies, the whole process group is killed and `WorkerFailure` is raised with
the diagnosis code (`timeout` or `crash`). `WorkerSession` keeps one module usable across
such deaths by starting a fresh worker on the next call.

Only plain data crosses back: JSON headers and float64 arrays (see `grader.sandbox.protocol`).
"""

from __future__ import annotations

import contextlib
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

from ..errors import InternalSignal
from . import protocol
from .jail import (
    OUR_WORKERS, SANDBOX_ROOT, SANDBOX_RUNTIME_DIR, ProcessJail, WorkerResources, bwrap_argv,
    die_with_grader, worker_env,
)
from .protocol import (FrameError, FrameTimeout, printable, read_frame, reply_problem, result_problem,
                       write_frame)
from .template import RUNTIME_FILES, Template, TemplateError, template_for
from .tiers import UserIdentity, WorkerHome, admit_grading_group, next_identity, sweep_user_files


def default_limits() -> dict[str, int]:
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
    """How workers are started. `mode` is a tier ("bwrap", "user" or "none", see
    `grader.sandbox.jail.TIERS`); times are seconds."""

    mode: str = "none"
    call_timeout_s: float = 5.0
    start_timeout_s: float = 60.0
    load_timeout_s: float = 20.0
    max_processes: int = 64
    limits: dict[str, int] = field(default_factory=default_limits)
    worker_cpus: float = 1.0
    """CPUs one worker with everything it starts may use, where a cgroup can bound it."""
    warm: bool = True
    """Fork workers from a preloaded template (`grader.sandbox.template`) instead of starting
    each as a fresh interpreter; a template that fails falls back to a fresh interpreter."""

    def resources(self) -> WorkerResources:
        """The cgroup bounds of one worker: its processes together may hold as much memory as
        one of them may address (tmpfs and memfd pages included), `max_processes` processes and
        `worker_cpus` CPUs."""
        return WorkerResources(memory_bytes=int(self.limits.get("address_space_bytes", 4 << 30)),
                               max_pids=self.max_processes, cpus=self.worker_cpus)


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker serves: the submission `module` (module.py at the snapshot's top), the
    libraries it imports before student code (`preload`, e.g. ("torch",)), the assignment's
    task module file (see `grader.sandbox.worker`), and the attributes to report after import."""

    module: str
    preload: tuple[str, ...] = ()
    tasks_file: Path | None = None
    inspect: tuple[str, ...] = ()
    result_shapes: dict[str, protocol.ResultShape] = field(default_factory=dict)
    run_keys: frozenset[str] = frozenset()

    def result_shape(self, task: str) -> protocol.ResultShape | None:
        return protocol.BUILTIN_RESULT_SHAPES.get(task) or self.result_shapes.get(task)


class WorkerFailure(InternalSignal):
    """The worker could not answer: `code` is "timeout" or "crash"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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

    def __init__(self, snapshot: Path, config: SandboxConfig, spec: WorkerSpec) -> None:
        self.snapshot = snapshot
        self.config = config
        self.spec = spec
        self.process: subprocess.Popen[bytes] | None = None
        self.drain: _OutputDrain | None = None
        self.ready = False
        self.unenforced_limits: list[str] = []  # limits the worker could not set on itself
        self.next_id = 0
        self.closed = False
        self.loaded = False
        self.home: WorkerHome | None = None  # the user tier's private folders
        self.pid: int | None = None  # what kills it: the sandbox, shell or keeper around the worker
        self.template: Template | None = None
        self.template_pid = 0  # the pid to ask the template about (its namespace's)
        self.ticket: int | None = None  # the template's fork request not answered yet
        self.slot: Path | None = None

    def start(self) -> None:
        """Spawn the process, or ask the template for a fork (returns at once; `wait_ready`
        waits for its imports or the fork)."""
        if self.config.warm:
            try:
                self._request_fork()
                return
            except TemplateError:
                self._undo_fork()
        self._start_fresh()

    def _identity_and_env(self, runtime_files: list[Path]
                          ) -> tuple[UserIdentity | None, dict[str, int], dict[str, str]]:
        """The user tier's identity (else None), the worker's limits and its environment."""
        identity = next_identity() if self.config.mode == "user" else None
        limits = dict(self.config.limits)
        env = worker_env()
        if identity is not None:
            admit_grading_group(self.snapshot, identity.gid)
            self.home = WorkerHome(identity, runtime_files)
            env = worker_env(home=str(self.home.scratch))
            limits["processes"] = self.config.max_processes
        return identity, limits, env

    def _request_fork(self) -> None:
        mode = self.config.mode
        self.template = template_for(mode, self.spec.module, self.spec.preload, self.spec.tasks_file)
        identity, limits, env = self._identity_and_env([])
        uid = identity.uid if identity is not None else None
        reaper = None if mode == "bwrap" or self.template.process is None else (
            self.template.process.pid, self.template.live)
        self.jail = ProcessJail(self.config.max_processes, uid=uid, resources=self.config.resources(),
                                reaper=reaper)
        root = str(self.snapshot)
        if mode == "bwrap":
            self.slot, root = self.template.slot(self.snapshot)
        worker = {
            "root": root, "limits": limits, "env": env,
            "user": [identity.uid, identity.gid] if identity is not None else None,
            "cgroups": [] if mode == "bwrap" else [str(path / "cgroup.procs") for path in self.jail.cgroups],
        }
        pipes = [os.pipe() for _ in range(3)]
        (req_r, req_w), (resp_r, resp_w), (out_r, out_w) = pipes
        try:
            self.ticket = self.template.request_fork(worker, req_r, resp_w, out_w)
        except TemplateError:
            for fd in (req_r, req_w, resp_r, resp_w, out_r, out_w):
                os.close(fd)
            raise
        for fd in (req_r, resp_w, out_w):
            os.close(fd)
        os.set_blocking(req_w, False)
        os.set_blocking(resp_r, False)
        self.req_fd, self.resp_fd = req_w, resp_r
        self.drain = _OutputDrain(os.fdopen(out_r, "rb"))
        self.drain.start()

    def _finish_fork(self) -> None:
        """Wait for the template's fork; under bubblewrap, move the worker into its cgroups
        (before it has run anything of the student's). A fork that fails is abandoned for a
        fresh interpreter: the template's trouble is never the submission's."""
        assert self.template is not None and self.ticket is not None
        ticket, self.ticket = self.ticket, None
        try:
            self.pid, self.template_pid = self.template.forked(ticket)
            if self.config.mode == "bwrap":
                self.jail.adopt(self.pid)
        except (TemplateError, OSError):
            self._abandon_fork()
            self._start_fresh()

    def _abandon_fork(self) -> None:
        """Kill what a failed fork may have started and release everything it held."""
        if self.pid is not None:
            self.jail.kill_all(self.pid)
            if self.template is not None:
                self.template.released(self.pid)
            self.pid = None
        for fd in (self.req_fd, self.resp_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.drain is not None:
            self.drain.join(timeout=2)
            with contextlib.suppress(OSError):
                self.drain.stream.close()
            self.drain = None
        self._undo_fork()

    def _undo_fork(self) -> None:
        """Forget a fork that could not be requested (the fresh start takes over)."""
        if self.home is not None:
            self.home.remove()
            self.home = None
        if self.slot is not None:
            shutil.rmtree(self.slot, ignore_errors=True)
            self.slot = None
        if getattr(self, "jail", None) is not None:
            self.jail.release()
        self.template = None
        self.ticket = None

    def _start_fresh(self) -> None:
        """Spawn a fresh interpreter that imports the preloads itself (the cold path)."""
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        mode = self.config.mode
        sandboxed = mode == "bwrap"
        files = list(RUNTIME_FILES)
        tasks_file = self.spec.tasks_file
        if tasks_file is not None:
            files.append(tasks_file)
        identity, limits, env = self._identity_and_env(files)

        def where(file: Path) -> str:
            if sandboxed:
                return "%s/%s" % (SANDBOX_RUNTIME_DIR, file.name)
            return str(self.home.runtime / file.name) if self.home is not None else str(file)

        worker_config = {
            "root": SANDBOX_ROOT if sandboxed else str(self.snapshot),
            "req_fd": req_r,
            "resp_fd": resp_w,
            "preload": list(self.spec.preload),
            "tasks": where(tasks_file) if tasks_file is not None else None,
            "limits": limits,
            "user": [identity.uid, identity.gid] if identity is not None else None,
        }
        python_argv = [sys.executable, "-I", "-B", where(RUNTIME_FILES[0]), json.dumps(worker_config)]
        argv = bwrap_argv(self.snapshot, python_argv, files) if sandboxed else python_argv
        self.jail = ProcessJail(self.config.max_processes, uid=identity.uid if identity is not None else None,
                                resources=self.config.resources())
        argv = self.jail.wrap(argv, keep_shell=not sandboxed)
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(req_r, resp_w),
                env=env,
                start_new_session=True,
                cwd=str(self.snapshot),
                preexec_fn=die_with_grader(int(signal.SIGKILL if sandboxed else signal.SIGTERM)),
            )
        finally:
            os.close(req_r)
            os.close(resp_w)
        os.set_blocking(req_w, False)
        os.set_blocking(resp_r, False)
        self.pid = self.process.pid
        OUR_WORKERS.add(self.process.pid)
        self.req_fd, self.resp_fd = req_w, resp_r
        self.drain = _OutputDrain(self.process.stdout)
        self.drain.start()

    def wait_ready(self) -> None:
        if self.ready:
            return
        if self.pid is None and self.ticket is None:
            self.start()
        if self.ticket is not None:
            self._finish_fork()
        reply, _ = self._receive(self.config.start_timeout_s, "starting the worker")
        if reply.get("status") != "ready":
            self._fail("crash", "the worker did not start properly")
        failed = reply.get("failed_limits")
        if not isinstance(failed, list) or not all(type(name) is str for name in failed):
            self._fail("crash", "the worker did not start properly (a malformed list of limits)")
            return
        self.unenforced_limits = [name[:40] for name in failed[:10]]
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
        problem = reply_problem(reply, str(header.get("op")))
        if problem is not None:
            self._fail("crash", "the worker sent %s during %s (protocol broken by the submission)" % (problem, what))
        if header.get("op") == "call" and reply["status"] == "ok":
            problem = result_problem(self.spec.result_shape(str(header.get("task"))), reply.get("result"),
                                     len(reply_arrays), self.spec.run_keys)
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
        if self.template is not None and self.template_pid:
            status = self.template.status(self.template_pid)
        elif self.process is not None:
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
        if self.ticket is not None and self.template is not None:
            ticket, self.ticket = self.ticket, None
            with contextlib.suppress(TemplateError, OSError):
                self.pid, self.template_pid = self.template.forked(ticket)
        if self.pid is not None:
            pid = self.pid
            if self.template is not None:
                self.template.settle()
            self.jail.kill_all(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            if self.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=5)
                OUR_WORKERS.discard(pid)
            if self.template is not None:
                self.template.released(pid)
        if self.pid is not None or self.template is not None:
            if self.home is not None:
                sweep_user_files(self.jail.uid)
                self.home.remove()
            if self.slot is not None:
                shutil.rmtree(self.slot, ignore_errors=True)
        for fd in (getattr(self, "req_fd", None), getattr(self, "resp_fd", None)):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self.drain is not None:
            self.drain.join(timeout=2)
            if not self.drain.is_alive():
                with contextlib.suppress(OSError):
                    self.drain.stream.close()


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

    def __init__(self, snapshot: Path, spec: WorkerSpec, config: SandboxConfig) -> None:
        self.snapshot = snapshot
        self.spec = spec
        self.module = spec.module
        self.inspect: tuple[str, ...] = spec.inspect
        self.config = config
        self.worker: Worker | None = None
        self.spare: Worker | None = None
        self.load_result: LoadResult | None = None
        self.unenforced_limits: set[str] = set()  # over every worker this session started

    def prestart(self) -> None:
        """Spawn the first worker now so that its imports overlap the grader's own."""
        if self.worker is None:
            self.worker = self._new_worker()

    def _new_worker(self) -> Worker:
        worker = Worker(self.snapshot, self.config, self.spec)
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
                {"op": "load", "module": self.module, "inspect": list(self.inspect)},
                timeout_s=timeout_s, what=what,
            )
        except WorkerFailure as failure:
            result = LoadResult(False, code=failure.code, message=failure.message, output=worker.output())
        else:
            if reply.get("status") == "ok" and isinstance(reply.get("attrs"), dict):
                result = LoadResult(True, attrs=reply["attrs"], output=str(reply.get("output", "")))
            else:
                frames = reply.get("frames")
                result = LoadResult(False, code="import_error", message=describe_exception(reply),
                                    output=str(reply.get("output", "")),
                                    frames=frames if isinstance(frames, list) else [])
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
        if not worker.loaded:
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
