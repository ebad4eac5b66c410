"""Warm workers: a template process per part that has numpy, torch and the part's task module
imported, and forks a fresh worker on request (see the template section of
`grader.sandbox.worker`).

A fork costs milliseconds where a fresh worker costs an interpreter start and a torch import
(about a second of CPU). Isolation is that of the tier:

- bwrap: the template runs as pid 1 of a bubblewrap sandbox of its own (the same sandbox as a
  cold worker's, but with the folder of "slots" at /submission instead of one snapshot).
  Each worker gets a slot: a hard-linked copy of its snapshot under a random name in a folder
  nobody inside may list, and a cgroup of its own (moved there by the grader, by the host pid
  that its namespace pid maps to). When a template has no live worker left (between two
  submissions), it kills every other process of its sandbox and empties its /tmp and
  /dev/shm, so nothing one submission left behind meets the next.
- user / none: the template runs beside the grader (as root under the user tier) and forks,
  per worker, a keeper that enters the worker's cgroups and forks the worker, which sets its
  limits and (user tier) drops to its own user id before it answers.

Templates are kept per grader process and part (`template_for`), restarted when they die, and
killed with the grader (parent-death signal) or by `close_templates`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import protocol
from .jail import (OUR_WORKERS, SANDBOX_ROOT, bwrap_argv, die_with_grader, process_parents, process_tree,
                   worker_env)

WORKER_FILE = Path(__file__).with_name("worker.py")
RUNTIME_FILES = (WORKER_FILE, Path(protocol.__file__).resolve())
REPLY_TIMEOUT_S = 60.0


class TemplateError(Exception):
    """The template could not start or answer; the caller falls back to a cold worker."""


class Template:
    """One template process for `mode` serving workers of one part (`preload`, `tasks_file`)."""

    def __init__(self, mode: str, preload: tuple[str, ...], tasks_file: Path | None) -> None:
        self.mode = mode
        self.preload = preload
        self.tasks_file = tasks_file
        self.process: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        self.slots: Path | None = None
        self.live: set[int] = set()   # host pids of the workers (bwrap) or keepers it forked
        self.lock = threading.Lock()
        self.tickets = 0
        self.answered = 0
        self.pending: set[int] = set()  # fork tickets whose worker is not yet known (see `forked`)
        self.replies: dict[int, dict] = {}

    @property
    def namespaced(self) -> bool:
        return self.mode == "bwrap"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the template process (returns at once; its imports run in the background)."""
        grader_end, template_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        files = list(RUNTIME_FILES) + ([self.tasks_file] if self.tasks_file is not None else [])
        config: dict[str, object] = {
            "control_fd": template_end.fileno(), "preload": list(self.preload), "namespace": self.namespaced,
        }
        if self.namespaced:
            self.slots = Path(tempfile.mkdtemp(prefix="backprop-grader-%d-slots-" % os.getpid()))
            os.chmod(self.slots, 0o311)  # its owner (the sandbox's user) may enter, never list
            config["tasks"] = "/opt/backprop-grader/%s" % self.tasks_file.name if self.tasks_file else None
            argv = bwrap_argv(self.slots, [sys.executable, "-I", "-B", "/opt/backprop-grader/worker.py",
                                           "--template", json.dumps(config)], files, as_pid_1=True)
        else:
            config["tasks"] = str(self.tasks_file) if self.tasks_file is not None else None
            argv = [sys.executable, "-I", "-B", str(WORKER_FILE), "--template", json.dumps(config)]
        try:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(template_end.fileno(),), env=worker_env(), start_new_session=True, cwd="/",
                preexec_fn=die_with_grader(int(signal.SIGKILL)),
            )
        finally:
            template_end.close()
        OUR_WORKERS.add(self.process.pid)
        self.control = grader_end

    def _send(self, request: dict, fds: tuple[int, ...] = ()) -> int:
        """Send `request` (with `fds`); returns its ticket for `_reply`. Call with the lock held."""
        if self.control is None or not self.alive():
            raise TemplateError("the template is not running")
        self.tickets += 1
        try:
            socket.send_fds(self.control, [json.dumps(dict(request, id=self.tickets)).encode()], list(fds))
        except OSError as exc:
            raise TemplateError("the template's channel broke (%s)" % exc) from None
        return self.tickets

    def _reply(self, ticket: int, timeout_s: float = REPLY_TIMEOUT_S) -> dict:
        """The reply to request `ticket` (replies come in request order; earlier ones are kept
        for their own callers). Call with the lock held."""
        deadline = time.monotonic() + timeout_s
        while ticket not in self.replies:
            if self.control is None:
                raise TemplateError("the template is not running")
            try:
                ready, _, _ = select.select([self.control], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise TemplateError("the template did not answer within %.0f s" % timeout_s)
                data = self.control.recv(1 << 16)
            except OSError as exc:
                raise TemplateError("the template's channel broke (%s)" % exc) from None
            if not data:
                raise TemplateError("the template closed its channel")
            reply = json.loads(data)
            if not isinstance(reply, dict) or type(reply.get("id")) is not int:
                raise TemplateError("the template answered out of protocol")
            self.replies[reply["id"]] = reply
            self.answered = max(self.answered, reply["id"])
            if not self.namespaced and type(reply.get("pid")) is int:
                self.live.add(reply["pid"])  # a keeper: never taken for a stray, even before `forked`
        return self.replies.pop(ticket)

    def settle(self) -> None:
        """Read every outstanding reply (so that each keeper forked so far is known as live)."""
        with self.lock, contextlib.suppress(TemplateError):
            if self.answered < self.tickets:
                self.replies[self.tickets] = self._reply(self.tickets)

    def _ask(self, request: dict) -> dict:
        return self._reply(self._send(request))

    def request_fork(self, worker: dict, req_r: int, resp_w: int, out_w: int) -> int:
        """Ask for a worker configured by `worker` (root, limits, user, env, cgroups) with those
        three pipe ends (sent at once; the caller may close its copies). Returns a ticket for
        `forked`; the template answers once its own imports are done."""
        with self.lock:
            if not self.alive():
                self.close()
                self.start()
            ticket = self._send({"op": "fork", "worker": worker}, (req_r, resp_w, out_w))
            self.pending.add(ticket)
            return ticket

    def forked(self, ticket: int) -> tuple[int, int]:
        """The pid to kill the forked worker by (the worker under bubblewrap, its keeper
        otherwise), on the host and as the template knows it."""
        with self.lock:
            self.pending.discard(ticket)
            reply = self._reply(ticket)
            pid = reply.get("pid")
            if type(pid) is not int or pid <= 0:
                raise TemplateError("the template could not fork a worker (%s)" % reply.get("error", "no pid"))
            host_pid = self._host_pid(pid) if self.namespaced else pid
            self.live.add(host_pid)
            return host_pid, pid

    def _host_pid(self, namespace_pid: int) -> int:
        """The host pid of the sandbox's process `namespace_pid` (the last field of NSpid)."""
        assert self.process is not None
        for _ in range(200):
            for pid in process_tree(self.process.pid) - {self.process.pid}:
                try:
                    with open("/proc/%d/status" % pid, "rb") as handle:
                        for line in handle:
                            if line.startswith(b"NSpid:"):
                                fields = line.split()[1:]
                                if len(fields) >= 2 and int(fields[-1]) == namespace_pid:
                                    return pid
                                break
                except (OSError, ValueError):
                    continue
            time.sleep(0.005)
        raise TemplateError("the forked worker (pid %d in its sandbox) could not be found" % namespace_pid)

    def status(self, pid: int, wait_s: float = 2.0) -> int | None:
        """How the forked process `pid` (as the template knows it) ended (negative: killed by
        that signal), or None if unknown within `wait_s` seconds."""
        deadline = time.monotonic() + wait_s
        while True:
            with self.lock:
                try:
                    reply = self._ask({"op": "status", "pid": pid})
                except TemplateError:
                    return None
            status = reply.get("status")
            if type(status) is int:
                return status
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    def released(self, host_pid: int) -> None:
        """The worker `host_pid` is dead: when none is left (and none is being forked), sweep the
        sandbox (bwrap)."""
        with self.lock:
            self.live.discard(host_pid)
            if self.namespaced and not self.live and not self.pending and self.alive():
                with contextlib.suppress(TemplateError):
                    self._ask({"op": "reset"})

    def slot(self, snapshot: Path) -> tuple[Path, str]:
        """A copy of `snapshot` (hard links where possible) in a fresh slot: (host path, the
        path inside the sandbox)."""
        assert self.slots is not None
        name = secrets.token_hex(16)
        target = self.slots / name
        try:
            shutil.copytree(snapshot, target, symlinks=True, copy_function=_link_or_copy)
        except OSError as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise TemplateError("the snapshot could not be placed in a slot (%s)" % exc) from None
        return target, "%s/%s" % (SANDBOX_ROOT, name)

    def close(self) -> None:
        """Kill the template (and with it every worker it forked) and remove its slots."""
        if self.control is not None:
            with contextlib.suppress(OSError):
                self.control.close()
            self.control = None
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            OUR_WORKERS.discard(self.process.pid)
            self.process = None
        self.live.clear()
        self.pending.clear()
        self.replies.clear()
        self.answered = self.tickets
        if self.slots is not None:
            with contextlib.suppress(OSError):
                os.chmod(self.slots, 0o700)
            shutil.rmtree(self.slots, ignore_errors=True)
            self.slots = None


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


_TEMPLATES: dict[tuple, Template] = {}
_REGISTRY_LOCK = threading.Lock()


def template_for(mode: str, module: str, preload: tuple[str, ...], tasks_file: Path | None) -> Template:
    """This grader process's template for part `module` under tier `mode` (started on first use)."""
    key = (os.getpid(), mode, module, preload, tasks_file)
    with _REGISTRY_LOCK:
        template = _TEMPLATES.get(key)
        if template is None:
            if not _TEMPLATES:
                atexit.register(close_templates)  # no folder of slots is left behind at exit
            template = _TEMPLATES[key] = Template(mode, preload, tasks_file)
            template.start()
        elif not template.alive():
            with template.lock:
                template.close()
                template.start()
        return template


def close_templates() -> None:
    """Kill every template of this grader process (and the workers they forked)."""
    with _REGISTRY_LOCK:
        for key in [k for k in _TEMPLATES if k[0] == os.getpid()]:
            _TEMPLATES.pop(key).close()


def template_pids() -> set[int]:
    """The processes of this grader's templates themselves (with bubblewrap's process around
    a sandboxed one), not the workers they forked: what may outlive a grading on purpose."""
    found: set[int] = set()
    parents = process_parents()
    for key, template in list(_TEMPLATES.items()):
        if key[0] == os.getpid() and template.process is not None and template.alive():
            pid = template.process.pid
            found.add(pid)
            if template.namespaced:
                found |= {child for child, parent in parents.items() if parent == pid}
    return found


def template_fds() -> int:
    """How many file descriptors this grader's templates hold open (one channel each)."""
    return sum(1 for key, t in _TEMPLATES.items() if key[0] == os.getpid() and t.control is not None)
