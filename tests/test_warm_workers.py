"""Warm workers (grader/sandbox/template.py): workers forked from a preloaded template are as
isolated from each other as fresh ones, in every tier, within one grader process and in a
batch; a template that dies is replaced; one that cannot start falls back to fresh workers.

The central scenario: a "leaver" submission plants files in every scratch folder it can
write, leaves a double-forked process behind and tries to kill the template (its grandparent
where it can see one, pid 1 inside bubblewrap, where the template is that init); then a
"finder" submission, graded next by the same grader process (the same templates), reports
from inside its own worker what it can still see of the leaver.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import uuid
from pathlib import Path

import pytest

from grader.engine.grading import GradeOptions, Grading
from grader.sandbox import template as templates
from grader.sandbox.snapshot import take_snapshot
from grader.sandbox.process import SandboxConfig, Worker, WorkerSession, WorkerSpec
from grader.sandbox.template import TemplateError, template_pids

from .conftest import HAVE_BWRAP, HAVE_USER_TIER, NO_USER_TIER_REASON, REFERENCE, run_cli
from .test_adversarial import live_children, survivors

pytestmark = pytest.mark.slow  # every test here starts workers

TIERS = [pytest.param("bwrap", marks=pytest.mark.bwrap),
         pytest.param("user", marks=pytest.mark.skipif(not HAVE_USER_TIER, reason=NO_USER_TIER_REASON)),
         "none"]
SCRATCH = ("/tmp", "/dev/shm", "~")
ONLY = ["mlp.mse_loss[value]"]

LEAVER = '''
import os as _os
import signal as _signal
import sys as _sys

_MARK = "{marker}"
for _folder in {scratch!r}:
    try:
        with open(_os.path.join(_os.path.expanduser(_folder), "leftover-" + _MARK), "w") as _handle:
            _handle.write("left by the previous submission")
    except OSError:
        pass
if _os.fork() == 0:  # a daemon that tries to outlive its worker
    _os.setsid()
    if _os.fork() == 0:
        _os.execv(_sys.executable, [_sys.executable, "-c", "import time; time.sleep(600)", _MARK])
    _os._exit(0)


def _grandparent():
    try:
        with open("/proc/%d/stat" % _os.getppid(), "rb") as _stat:
            return int(_stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 1  # no /proc (bubblewrap): the template is this sandbox's init


try:
    _os.kill(_grandparent(), _signal.SIGKILL)  # the template, where this worker can reach it
except OSError:
    pass
'''

FINDER = '''
import os as _os

_MARK = "{marker}"
_original_mse_loss = mse_loss


def mse_loss(y, y_hat):
    found = [folder for folder in {scratch!r}
             if _os.path.exists(_os.path.join(_os.path.expanduser(folder), "leftover-" + _MARK))]
    print("leftovers found: %s" % found)
    return _original_mse_loss(y, y_hat)
'''


def _submission(folder: Path, extra: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "mlp.py").write_text((REFERENCE / "mlp.py").read_text() + extra)
    shutil.copy(REFERENCE / "theory.py", folder / "theory.py")
    return folder


def _pair(tmp_path: Path) -> tuple[Path, Path, str]:
    marker = "warm-%s" % uuid.uuid4().hex[:12]
    leaver = _submission(tmp_path / "class" / "a_leaver", LEAVER.format(marker=marker, scratch=SCRATCH))
    finder = _submission(tmp_path / "class" / "b_finder", FINDER.format(marker=marker, scratch=SCRATCH))
    return leaver, finder, marker


def _clean_host_scratch(marker: str) -> None:
    """Without a sandbox the leaver really wrote the host's /tmp and /dev/shm: remove that."""
    for folder in SCRATCH:
        path = Path(os.path.expanduser(folder)) / ("leftover-" + marker)
        if path.exists():
            path.unlink()


def _finder_output(checks: list[dict]) -> str:
    outputs = [c["output"] for c in checks if "leftovers found" in c["output"]]
    assert outputs, "the finder did not run: %s" % checks
    return outputs[0]


@pytest.mark.parametrize("tier", TIERS)
def test_the_next_submission_finds_nothing_of_the_previous_one(tier: str, tmp_path: Path) -> None:
    leaver, finder, marker = _pair(tmp_path)
    try:
        options = GradeOptions(sandbox=tier, only=ONLY, max_examples=2, seed=0)
        first = Grading(leaver, options).run()
        assert first.error is None
        assert survivors(marker) == [], "the leaver's daemon outlived its grading"
        second = Grading(finder, options).run()
        assert second.error is None
        finder_check = second.checks[0]
        assert finder_check.status == "pass", finder_check
        if tier != "none":  # only a sandbox gives each worker scratch folders of its own
            assert "leftovers found: []" in finder_check.output, finder_check.output
        assert survivors(marker) == []
        assert live_children() == []
    finally:
        _clean_host_scratch(marker)


@pytest.mark.parametrize("tier", TIERS)
def test_a_batch_grades_the_pair_in_one_process_with_the_same_isolation(tier: str, tmp_path: Path) -> None:
    """`grade --each` with one job: one grader process (one set of templates) grades both."""
    _, _, marker = _pair(tmp_path)
    try:
        out = tmp_path / "report.json"
        done = run_cli("grade", "--each", str(tmp_path / "class"), "--jobs", "1", "--sandbox", tier,
                       "--only", ONLY[0], "--max-examples", "2", "--format", "json", "-o", str(out), timeout=600)
        assert done.returncode in (0, 1), done.stderr
        reports = {Path(r["submission"]).name: r for r in json.loads(out.read_text())}
        finder_checks = [c for q in reports["b_finder"]["questions"] for c in q["checks"]]
        assert [c["status"] for c in finder_checks] == ["pass"]
        if tier != "none":
            assert "leftovers found: []" in _finder_output(finder_checks)
        assert survivors(marker) == []
    finally:
        _clean_host_scratch(marker)


PID_FUNCTION = "\nimport os as _os\n\n\ndef _pid():\n    return _os.getpid()\n"


def _ping(session: WorkerSession) -> int:
    """The pid of the worker that served a call (each call returns os.getpid() via the builtin
    task: the module's own function)."""
    reply, arrays = session.call("call", {"function": "_pid", "kwargs": {}}, [])
    assert reply["status"] == "ok", reply
    return int(arrays[reply["result"]["out"]["i"]])


@pytest.mark.parametrize("tier", TIERS)
def test_a_dead_template_is_replaced(tier: str, tmp_path: Path) -> None:
    """Killing a template (from outside) costs the workers it forked, never the grading: the
    next worker comes from a new template."""
    snapshot = take_snapshot(_submission(tmp_path / "sub", PID_FUNCTION), ["mlp.py"])
    folder = snapshot.root
    spec = WorkerSpec(module="mlp", preload=("torch",))
    session = WorkerSession(folder, spec, SandboxConfig(mode=tier))
    try:
        first = _ping(session)
        template = templates.template_for(tier, "mlp", ("torch",), None)
        assert template.process is not None
        os.kill(template.process.pid, signal.SIGKILL)
        template.process.wait(timeout=10)
        session.close()
        session = WorkerSession(folder, spec, SandboxConfig(mode=tier))
        second = _ping(session)
        assert second != first or tier == "bwrap"  # pids inside a new sandbox may repeat
        assert template.alive(), "the template was restarted"
    finally:
        session.close()
        snapshot.cleanup()


def test_a_template_that_cannot_start_falls_back_to_a_fresh_worker(tmp_path: Path, monkeypatch) -> None:
    snapshot = take_snapshot(_submission(tmp_path / "sub", PID_FUNCTION), ["mlp.py"])

    def broken(*args, **kwargs):
        raise TemplateError("no template here (test)")

    monkeypatch.setattr("grader.sandbox.process.template_for", broken)
    session = WorkerSession(snapshot.root, WorkerSpec(module="mlp", preload=("torch",)), SandboxConfig(mode="none"))
    try:
        pid = _ping(session)
        assert session.worker is not None and session.worker.template is None
        assert session.worker.process is not None, "a fresh interpreter served the call"
        assert pid > 0
    finally:
        session.close()
        snapshot.cleanup()


def test_templates_are_only_the_processes_left_after_a_grading(tmp_path: Path) -> None:
    """After a grading, what this process still has below it is its templates, nothing else."""
    folder = _submission(tmp_path / "sub", "")
    report = Grading(folder, GradeOptions(sandbox="bwrap" if HAVE_BWRAP else "none", only=ONLY,
                                          max_examples=2)).run()
    assert report.error is None
    assert template_pids(), "the grading left its templates warm for the next one"
    assert live_children() == []


def test_a_fork_that_fails_falls_back_to_a_fresh_worker(tmp_path: Path, monkeypatch) -> None:
    """The template's trouble after the request (here: its answer) is never the submission's."""
    snapshot = take_snapshot(_submission(tmp_path / "sub", PID_FUNCTION), ["mlp.py"])

    def failing(self, ticket):
        raise TemplateError("the template could not fork a worker (test)")

    monkeypatch.setattr(templates.Template, "forked", failing)
    session = WorkerSession(snapshot.root, WorkerSpec(module="mlp", preload=("torch",)), SandboxConfig(mode="none"))
    try:
        assert _ping(session) > 0
        assert session.worker is not None and session.worker.process is not None
    finally:
        session.close()
        snapshot.cleanup()


@pytest.mark.parametrize("tier", TIERS)
def test_a_worker_forked_but_not_yet_used_survives_the_end_of_another(tier: str, tmp_path: Path) -> None:
    """A spare whose fork was requested while the last live worker ended is not swept with it
    (under bubblewrap the end of the last worker sweeps the template's sandbox)."""
    snapshot = take_snapshot(_submission(tmp_path / "sub", PID_FUNCTION), ["mlp.py"])
    spec = WorkerSpec(module="mlp", preload=("torch",))
    first = Worker(snapshot.root, SandboxConfig(mode=tier), spec)
    second = Worker(snapshot.root, SandboxConfig(mode=tier), spec)
    try:
        first.wait_ready()
        second.start()  # requested, not waited for
        first.kill()
        second.wait_ready()
        reply, _ = second.request({"op": "load", "module": "mlp", "inspect": []})
        assert reply["status"] == "ok", reply
    finally:
        first.kill()
        second.kill()
        snapshot.cleanup()


RANDOM_FUNCTION = ("\nimport random as _random\n\nimport numpy as _np\n\n\n"
                   "def _draw():\n    return _random.random() + _np.random.random()\n")


def test_forked_workers_do_not_repeat_the_templates_random_state(tmp_path: Path) -> None:
    """Each worker's unseeded generators (Python's `random`, numpy's global one) start where a
    fresh interpreter's would (from the OS), not from a state every fork of the template shares."""
    snapshot = take_snapshot(_submission(tmp_path / "sub", RANDOM_FUNCTION), ["mlp.py"])
    draws = []
    try:
        for _ in range(2):
            session = WorkerSession(snapshot.root, WorkerSpec(module="mlp", preload=("torch",)),
                                    SandboxConfig(mode="none"))
            try:
                reply, arrays = session.call("call", {"function": "_draw", "kwargs": {}}, [])
                assert reply["status"] == "ok", reply
                assert session.worker is not None and session.worker.template is not None
                draws.append(float(arrays[reply["result"]["out"]["i"]]))
            finally:
                session.close()
    finally:
        snapshot.cleanup()
    assert draws[0] != draws[1]


def test_a_forked_worker_reseeds_numpys_global_generator() -> None:
    """Where the template has numpy.random loaded (a task module may import it), the fork
    reseeds it: Python reseeds `random` after a fork by itself, numpy does not."""
    import numpy

    from grader.sandbox import worker

    runtime = worker.Runtime("/", -1, -1)
    runtime.np = numpy
    numpy.random.seed(1234)
    expected = numpy.random.random()
    numpy.random.seed(1234)
    worker._fresh_random_state(runtime)
    assert numpy.random.random() != expected
