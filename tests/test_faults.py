"""Faults and determinism.

* A worker killed in the middle of a check makes that check `crash`; every other check is
  still graded (in a fresh worker).
* Killing the grader itself leaves no worker and nothing a submission started.
* Deadlines hold: a worker that stops reading cannot block the grader, and the submission's
  wall-clock budget bounds the whole grading.
* Every worker runs with the resource limits; the wire protocol rejects malformed, truncated,
  oversized and deeply nested frames and makes every string printable.
* The same --seed gives byte-identical JSON apart from timing; different seeds explore
  different shapes.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import protocol as _worker
from grader.sandbox.protocol import FrameError, FrameTimeout, read_frame, write_frame
from grader.engine.assignment import find_assignment
from grader.engine.calls import frame_location
from grader.engine.grading import worker_spec
from grader.engine.grading import GradeOptions, Grading
from grader.sandbox.jail import _bwrap_supports
from grader.sandbox.process import SandboxConfig, Worker, WorkerFailure, WorkerSession, WorkerSpec
from grader.sandbox.snapshot import take_snapshot

from .conftest import (HAVE_BWRAP, HAVE_USER_TIER, NO_BWRAP_REASON, NO_USER_TIER_REASON, REFERENCE, ROOT, SUBMISSIONS,
                       run_cli)
from .test_adversarial import survivors

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

MODES = [pytest.param("bwrap", marks=pytest.mark.bwrap),
         "none"]
MLP = (REFERENCE / "mlp.py").read_text()
THEORY = (REFERENCE / "theory.py").read_text()


def _folder(path: Path, mlp: str | None = MLP, theory: str | None = THEORY) -> Path:
    path.mkdir(parents=True)
    if mlp is not None:
        (path / "mlp.py").write_text(mlp)
    if theory is not None:
        (path / "theory.py").write_text(theory)
    return path


# -- a worker killed in the middle of a check ----------------------------------------------

BACKWARD = '''    def backward(self, dJdy_hat):
        """dJdy_hat: (B, K); fills self.grads (each the shape of its parameter)."""'''
SLOW_BACKWARD = MLP.replace(BACKWARD, BACKWARD + '''
        import time
        time.sleep(0.4)''')


def _worker_pids(worker: Worker) -> list[int]:
    """The worker's Python process(es): the jail's members running the worker script."""
    found = []
    for pid in worker.jail.members(worker.pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                if b"worker.py" in handle.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.parametrize("mode", MODES)
def test_worker_killed_mid_check_is_crash_and_the_rest_is_graded(mode: str, tmp_path: Path, monkeypatch) -> None:
    assert "time.sleep(0.4)" in SLOW_BACKWARD
    folder = _folder(tmp_path / "sub", mlp=SLOW_BACKWARD)
    killed = []
    original = Worker.request

    def request(self, header, arrays=None, timeout_s=None, what="a call"):
        if header.get("task") == "mlp.backward" and not killed:
            def kill() -> None:
                time.sleep(0.15)  # the worker is now inside MLP.backward
                pids = _worker_pids(self)
                killed.extend(pids)
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)

            threading.Thread(target=kill, daemon=True).start()
        return original(self, header, arrays, timeout_s, what)

    monkeypatch.setattr(Worker, "request", request)
    only = ["mlp.forward[relu-relu]", "mlp.backward[relu-relu]", "mlp.backward[sigmoid-sigmoid]", "theory.loss"]
    report = Grading(folder, GradeOptions(sandbox=mode, only=only, max_examples=2, seed=0)).run()
    assert killed, "the worker was never found to be killed"
    by_id = {c.id: c for c in report.checks}
    crashed = by_id.pop("mlp.backward[relu-relu]")
    assert crashed.status == "fail" and crashed.code == "crash" and crashed.score == 0
    assert "SIGKILL" in crashed.message or "status 137" in crashed.message
    assert by_id and all(c.status == "pass" for c in by_id.values()), [(c.id, c.message) for c in by_id.values()]


# -- killing the grader ---------------------------------------------------------------------

SPAWN_AND_HANG = MLP + '''

def _marker():
    with open("_marker.txt") as handle:
        return handle.read().strip()


def mse_loss(y, y_hat):
    import os, time
    for _ in range(3):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("/bin/sleep", [_marker(), "600"])
            os._exit(0)
        os.wait()
    time.sleep(600)
'''


@pytest.mark.parametrize("mode", MODES + [pytest.param("user", marks=pytest.mark.skipif(
    not HAVE_USER_TIER, reason=NO_USER_TIER_REASON))])
def test_nothing_outlives_a_killed_grader(mode: str, tmp_path: Path) -> None:
    """SIGKILL to the grader: its templates die with it, and each worker's keeper (whose
    parent-death signal is SIGTERM) first kills everything in the worker's cgroups and of its
    user id, daemons that left the worker's session included."""
    folder = _folder(tmp_path / "sub", mlp=SPAWN_AND_HANG)
    marker = "adv-grader-killed-%s" % uuid.uuid4().hex[:10]
    (folder / "_marker.txt").write_text(marker)
    grader = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(folder), "--only", "mlp.mse_loss",
                               "--sandbox", mode, "--timeout", "60"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(survivors(marker, wait_s=0)) < 3:
            assert time.monotonic() < deadline, "the submission never started its processes"
            assert grader.poll() is None
            time.sleep(0.1)
    finally:
        grader.kill()
        grader.wait()
    assert survivors(marker, wait_s=5.0) == []


# -- deadlines ----------------------------------------------------------------------------

STOPS_READING = THEORY + '''

import __main__
import time


def _never(*args, **kwargs):
    time.sleep(3600)


__main__.protocol.read_frame = _never
'''


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_that_stops_reading_cannot_block_the_grader(mode: str, tmp_path: Path) -> None:
    """The request is bigger than a pipe holds and the worker never reads it: the write itself
    must give up at the call's deadline."""
    folder = _folder(tmp_path / "sub", mlp=None, theory=STOPS_READING)
    snapshot = take_snapshot(folder, ["theory.py"])
    session = WorkerSession(snapshot.root, WorkerSpec("theory", inspect=("loss",)), SandboxConfig(mode=mode))
    try:
        assert session.load().ok
        started = time.monotonic()
        with pytest.raises(WorkerFailure) as failure:
            session.call("call", {"function": "loss", "kwargs": {}}, [np.zeros(1 << 20)], timeout_s=1.5)
        assert failure.value.code == "timeout"
        assert time.monotonic() - started < 6
    finally:
        session.close()
        snapshot.cleanup()


def test_the_submission_budget_bounds_the_whole_grading(tmp_path: Path) -> None:
    slow = THEORY.replace('def loss(y, y_hat, kind):', 'def loss(y, y_hat, kind):\n    import time\n    time.sleep(1)')
    folder = _folder(tmp_path / "sub", mlp=None, theory=slow)
    started = time.monotonic()
    report = Grading(folder, GradeOptions(sandbox="bwrap" if HAVE_BWRAP else "none", only=["theory.loss"],
                                          max_examples=10, submission_timeout_s=3.0)).run()
    assert time.monotonic() - started < 3.0 + 8.0
    assert any("time budget" in c.message for c in report.checks)
    assert all(c.score == 0 for c in report.checks)


# -- limits on every worker ----------------------------------------------------------------

REPORTS_LIMITS = THEORY + '''

def sgd_step(W1, b1, W2, b2, dl_dW1, dl_db1, dl_dW2, dl_db2, lr, layout="numerator"):
    import os, resource
    names = ["AS", "CPU", "FSIZE", "NOFILE", "CORE"]
    print("LIMITS " + " ".join("%s=%d" % (n, resource.getrlimit(getattr(resource, "RLIMIT_" + n))[0]) for n in names)
          + " UID=%d PID=%d PPID=%d" % (os.getuid(), os.getpid(), os.getppid()))
    import sys
    sandboxed = os.getuid() == 65534 and os.uname().nodename == "sandbox"  # bubblewrap's user and host name
    if sandboxed:  # never try this unsandboxed: it would really write there
        for path in (os.path.join(os.getcwd(), "planted.txt"), "/usr/lib/planted.txt",
                     os.path.join(sys.prefix, "planted.txt"), os.path.abspath(__main__.__file__)):
            try:
                with open(path, "a") as handle:
                    handle.write("# planted")
                print("WROTE", path)
            except OSError as exc:
                print("REFUSED", path, exc.errno)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


import __main__
'''


@pytest.mark.parametrize("mode", MODES)
def test_every_worker_runs_with_the_resource_limits(mode: str, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "sub", mlp=None, theory=REPORTS_LIMITS)
    report = Grading(folder, GradeOptions(sandbox=mode, only=["theory.sgd_step[update]"], max_examples=1)).run()
    printed = report.checks[0].output
    limits = dict(re.findall(r"(\w+)=(\d+)", printed))
    wanted = SandboxConfig().limits
    assert int(limits["AS"]) == wanted["address_space_bytes"]
    assert int(limits["CPU"]) == wanted["cpu_seconds"]
    assert int(limits["FSIZE"]) == wanted["file_size_bytes"]
    assert int(limits["NOFILE"]) == wanted["open_files"]
    assert int(limits["CORE"]) == 0
    if mode == "bwrap":
        # unprivileged, in a pid namespace of its own (the parent is that namespace's init: bubblewrap's
        # reaper, or the warm template)
        assert int(limits["UID"]) == 65534 and int(limits["PPID"]) == 1
        # the submission, the system and Python are read-only, and so is the worker's own script
        assert printed.count("REFUSED") == 4 and "WROTE" not in printed, printed


@pytest.mark.parametrize("mode", MODES)
def test_a_limit_the_worker_cannot_set_is_reported(mode: str, tmp_path: Path, monkeypatch) -> None:
    """A limit past what the kernel accepts leaves the worker running and the report says so."""
    huge = dict(SandboxConfig().limits, core_bytes=1 << 70)
    monkeypatch.setattr("grader.engine.grading.SandboxConfig", functools.partial(SandboxConfig, limits=huge))
    folder = _folder(tmp_path / "sub", mlp=None)
    report = Grading(folder, GradeOptions(sandbox=mode, only=["theory.sgd_step[update]"], max_examples=1)).run()
    assert report.checks[0].status == "pass"
    assert any("could not set these resource limits on itself: core_bytes" in n for n in report.notices), \
        report.notices


@pytest.mark.parametrize("file,inside", [
    ("mlp.py", True), ("helpers/util.py", True), ("/etc/passwd", False), ("../x.py", False),
    ("a/../../x.py", False), ("", False)])
def test_a_reported_frame_location_stays_inside_the_submission(file: str, inside: bool) -> None:
    """A (possibly forged) traceback frame can only point at a file of the submission."""
    location = frame_location({"frames": [{"file": file, "line": 3}]})
    assert location == ({"file": file, "line": 3} if inside else None)


# -- the wire protocol ----------------------------------------------------------------------

def _pipe_with(data: bytes) -> int:
    """A descriptor to read `data` from (a pipe fed by a thread: frames may exceed its buffer)."""
    read_end, write_end = os.pipe()

    def feed() -> None:
        try:
            os.write(write_end, data)
        except OSError:
            pass
        finally:
            os.close(write_end)

    threading.Thread(target=feed, daemon=True).start()
    return read_end


def _frame(body: bytes) -> bytes:
    return _worker.LENGTH.pack(len(body)) + body


@pytest.mark.parametrize("data,error", [
    (b"\x05\x00", EOFError),                                                  # truncated length
    (_worker.LENGTH.pack(100) + b'{"a": 1}', EOFError),                       # truncated header
    (_worker.LENGTH.pack(0xFFFFFFFF), FrameError),                            # 4 GiB header
    (_frame(b"\xff\xfe not json"), FrameError),                               # not UTF-8 / JSON
    (_frame(b"[1, 2]"), FrameError),                                          # not an object
    (_frame(b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}"), FrameError),  # recursion bomb
    (_frame(b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}"), FrameError),          # nested past the cap
    (_frame(b'{"arrays": [[-1]]}'), FrameError),                              # negative shape
    (_frame(b'{"arrays": [[1.5]]}'), FrameError),                             # non-integer shape
    (_frame(b'{"arrays": [[1, 1, 1, 1, 1, 1, 1, 1, 1]]}'), FrameError),      # too many dimensions
    (_frame(b'{"arrays": [[8192, 8192]]}'), FrameError),                      # 512 MiB of payload
    (_frame(json.dumps({"arrays": [[1]] * 300}).encode()), FrameError),       # too many arrays
    (_frame(b'{"arrays": [[4]]}') + b"\0" * 8, EOFError),                     # payload cut short
    (_frame(b'{"id": ' + b"9" * 5000 + b"}"), FrameError),                    # absurd integer
])
def test_malformed_frames_are_rejected(data: bytes, error: type) -> None:
    fd = _pipe_with(data)
    try:
        with pytest.raises(error):
            read_frame(fd, time.monotonic() + 2)
    finally:
        os.close(fd)


def test_frame_strings_come_back_printable() -> None:
    header = {"message": "ok \x1b[2J\x1b[31mFAKE\r\x07 \ud800", "\x1b[1mkey": ["\x9b31m", "tab\tand\nnewline"]}
    body = json.dumps(header).encode()  # lone surrogates travel as \\ud800 escapes
    fd = _pipe_with(_frame(body))
    try:
        got, arrays = read_frame(fd, time.monotonic() + 2)
    finally:
        os.close(fd)
    text = json.dumps(got, ensure_ascii=False)
    assert arrays == []
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", text.replace("\\n", "").replace("\\t", ""))
    assert got["\ufffd[1mkey"] == ["\ufffd31m", "tab\tand\nnewline"]
    text.encode("utf-8")


def test_a_frame_round_trips_and_reading_stops_at_the_deadline() -> None:
    read_end, write_end = os.pipe()
    try:
        arrays = [np.arange(6.0).reshape(2, 3), np.array(7.5)]
        write_frame(write_end, {"status": "ok", "x": [1, "a"]}, arrays)
        header, got = read_frame(read_end, time.monotonic() + 2)
        assert header == {"status": "ok", "x": [1, "a"], "arrays": [[2, 3], []]}
        assert [a.tolist() for a in got] == [a.tolist() for a in arrays]
        started = time.monotonic()
        with pytest.raises(FrameTimeout):
            read_frame(read_end, time.monotonic() + 0.3)
        assert time.monotonic() - started < 1.5
    finally:
        os.close(read_end)
        os.close(write_end)


def test_writing_to_a_full_pipe_stops_at_the_deadline() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        started = time.monotonic()
        with pytest.raises(FrameTimeout):
            write_frame(write_end, {"op": "call"}, [np.zeros(1 << 20)], deadline=time.monotonic() + 0.5)
        assert time.monotonic() - started < 2
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("task,result,n_arrays,ok", [
    ("mlp.forward", {"y_hat": {"t": "array", "i": 0}, "x_after": {"t": "array", "i": 1}}, 2, True),
    ("mlp.forward", {"y_hat": {"t": "array", "i": 0}}, 1, False),                          # a field missing
    ("mlp.forward", {"y_hat": {"t": "array", "i": 5}, "x_after": {"t": "none"}}, 1, False),  # no such array
    ("mlp.forward", {"y_hat": 3, "x_after": {"t": "none"}}, 0, False),                     # not an encoded value
    ("mlp.forward", {"y_hat": {"t": "none"}, "x_after": {"t": "none"}, "extra": 1}, 0, False),
    ("mlp.repeat", {"first": {"t": "none"}, "second": {"t": "none"}, "fresh": {"t": "none"}}, 0, False),
    ("mlp.clear", {"grads": {"t": "dict", "items": {}}, "cache_len": "0"}, 0, False),
    ("mlp.end_to_end", {"y_hat": {"t": "none"}, "loss_out": {"t": "seq", "type": "tuple", "len": 2,
                                                             "items": [{"t": "none"}, {"t": "none"}]}}, 0, True),
    ("call", {"out": {"t": "other", "type": "x"}, "args_after": {"x": {"t": "array", "i": 0}}}, 1, True),
    ("call", {"out": {"t": "bogus"}, "args_after": {}}, 0, False),
    ("no.such.task", {}, 0, False),
])
def test_reply_structure_is_checked(task: str, result: dict, n_arrays: int, ok: bool) -> None:
    spec = worker_spec(find_assignment("hw1").part("mlp"))
    assert (_worker.result_problem(spec.result_shape(task), result, n_arrays, spec.run_keys) is None) == ok


# -- determinism ----------------------------------------------------------------------------

def _failing_submission(path: Path) -> Path:
    return _folder(path, mlp=(SUBMISSIONS / "mlp_dW2_no_transpose" / "mlp.py").read_text(),
                   theory=(SUBMISSIONS / "theory_sgd_no_transpose" / "theory.py").read_text())


@pytest.mark.cli
def test_same_seed_gives_byte_identical_json(tmp_path: Path) -> None:
    folder = _failing_submission(tmp_path / "sub")
    args = ["grade", str(folder), "--seed", "7", "--format", "json", "--max-examples", "4",
            "--only", "mlp.backward[relu-relu]", "--only", "mlp.forward[relu-relu]", "--only", "theory.sgd_step"]
    texts = []
    for run in range(2):
        out = tmp_path / ("run%d.json" % run)
        done = run_cli(*args, "-o", str(out), timeout=300)
        assert done.returncode == 1, done.stderr
        texts.append(re.sub(r'"duration_s": [0-9.eE+-]+', '"duration_s": 0', out.read_text()))
    assert texts[0] == texts[1]
    data = json.loads(texts[0])
    assert data["seed"] == 7
    failing = [c for q in data["questions"] for c in q["checks"] if c["status"] != "pass"]
    assert failing and all(c["counterexample"] and "--seed 7" in c["replay"] for c in failing)


PRINTS_SHAPES = MLP.replace('''    def forward(self, x):
        """x: (B, n) -> y_hat: (B, K)."""''', '''    def forward(self, x):
        """x: (B, n) -> y_hat: (B, K)."""
        print("shape", tuple(x.shape), tuple(self.parameters["W2"].shape))''')


def test_different_seeds_explore_different_shapes(tmp_path: Path) -> None:
    assert 'print("shape"' in PRINTS_SHAPES
    folder = _folder(tmp_path / "sub", mlp=PRINTS_SHAPES, theory=None)
    mode = "bwrap" if HAVE_BWRAP else "none"

    def shapes(seed: int) -> list[str]:
        report = Grading(folder, GradeOptions(sandbox=mode, seed=seed, only=["mlp.forward"], max_examples=6)).run()
        assert all(c.status == "pass" for c in report.checks)
        return [line for c in report.checks for line in c.output.splitlines() if line.startswith("shape")]

    first, again, other = shapes(1), shapes(1), shapes(2)
    assert first == again
    assert len(set(first)) > 3
    assert first != other and set(first) != set(other)


def test_every_worker_task_has_a_reply_structure() -> None:
    """The grader rejects a reply to a task it has no structure for; a task added to the worker
    without one would fail every call."""
    from grader.assignments.hw1 import worker_tasks
    from grader.sandbox import worker

    assert worker_tasks.TASKS and set(worker_tasks.TASKS) == set(worker_tasks.RESULT_SHAPES)
    assert set(worker.BUILTIN_TASKS) == set(_worker.BUILTIN_RESULT_SHAPES)


FILLS_SCRATCH = THEORY + '''

def sgd_step(W1, b1, W2, b2, dl_dW1, dl_db1, dl_dW2, dl_db2, lr, layout="numerator"):
    import os
    sandboxed = os.getuid() == 65534 and os.uname().nodename == "sandbox"  # bubblewrap's user and host name
    if not sandboxed:  # never fill a real disk
        raise RuntimeError("not sandboxed")
    block = b"x" * (1 << 20)
    for folder in ("/tmp", "/dev/shm", "/", "/dev"):
        written = 0
        try:
            for i in range(40):
                with open(os.path.join(folder, "fill%d" % i), "wb") as handle:
                    for _ in range(15):
                        handle.write(block)
                        written += 1
        except OSError as exc:
            print("FILLED %s %d MB then errno %d" % (folder, written, exc.errno))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
'''


@pytest.mark.bwrap
def test_writing_files_inside_the_sandbox_is_bounded(tmp_path: Path) -> None:
    """/tmp and /dev/shm are small in-memory scratch folders; everything else is read-only."""
    folder = _folder(tmp_path / "sub", mlp=None, theory=FILLS_SCRATCH)
    report = Grading(folder, GradeOptions(sandbox="bwrap", only=["theory.sgd_step[update]"], max_examples=1)).run()
    found = re.findall(r"FILLED (\S+) (\d+) MB then errno (\d+)", report.checks[0].output)
    filled = {path: (int(megabytes), int(errno)) for path, megabytes, errno in found}
    assert set(filled) == {"/tmp", "/dev/shm", "/", "/dev"}, report.checks[0].output + report.checks[0].message
    if _bwrap_supports("--size"):  # bubblewrap 0.4-0.6 cannot size a tmpfs
        for scratch in ("/tmp", "/dev/shm"):
            assert filled[scratch][0] <= 64 and filled[scratch][1] == 28  # ENOSPC
    for fixed in ("/", "/dev"):
        assert filled[fixed] == (0, 30)  # EROFS


def test_snapshots_left_by_killed_graders_are_swept(tmp_path: Path, monkeypatch) -> None:
    """A grader killed mid-grading cannot remove its snapshot; the next grading removes it (only
    when its grader is gone and it is old enough), and leaves everything else alone."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead_pid = next(pid for pid in range(4194303, 300, -1) if not os.path.exists("/proc/%d" % pid))
    stale = tmp_path / ("backprop-grader-%d-abcdefgh" % dead_pid)
    young = tmp_path / ("backprop-grader-%d-ijklmnop" % dead_pid)
    mine = tmp_path / ("backprop-grader-%d-qrstuvwx" % os.getpid())
    other = tmp_path / "backprop-grader-batch-yzabcdef"
    for work in (stale, young, mine, other):
        (work / "submission").mkdir(parents=True)
        (work / "submission" / "mlp.py").write_text("x")
        (work / "submission").chmod(0o555)
    old = time.time() - 2 * 3600
    for work in (stale, mine, other):
        os.utime(work, (old, old))
    snapshot = take_snapshot(SUBMISSIONS / "correct", ["mlp.py", "theory.py"])
    try:
        assert snapshot.root.parent.parent == tmp_path
        assert not stale.exists()
        assert young.exists() and mine.exists() and other.exists()
    finally:
        snapshot.cleanup()
        for work in (young, mine, other):
            (work / "submission").chmod(0o755)


def test_python_installed_under_tmp_stays_visible_in_the_sandbox(monkeypatch) -> None:
    """A virtual environment under /tmp must be bound after the sandbox's own /tmp is mounted,
    or the private /tmp would hide the interpreter (bwrap: execvp ...: No such file)."""
    from grader.sandbox import jail as sandbox

    monkeypatch.setattr(sandbox, "_python_paths", lambda: ["/tmp/some-venv", "/opt/python"])
    argv = sandbox.bwrap_argv(Path("/tmp/snapshot"), ["/tmp/some-venv/bin/python", "-I"])
    tmp_mount = max(i for i, a in enumerate(argv) if a == "/tmp" and argv[i - 1] == "--tmpfs")
    venv_bind = argv.index("/tmp/some-venv")
    assert argv[venv_bind - 1] == "--ro-bind" and tmp_mount < venv_bind


def test_bwrap_works_where_it_is_installed() -> None:
    """Installed but unusable (user namespaces off) would silently skip every bubblewrap test;
    fail loudly instead. Where bwrap is not installed at all, the tests run without it."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    assert HAVE_BWRAP, NO_BWRAP_REASON
