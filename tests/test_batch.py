"""Several submissions in one `grader grade`: DIR1 DIR2 ..., --each FOLDER, --jobs N. A folder that
does not exist, an empty one and one that hangs at import never spoil the others' results, and
the exit code is 2 when any could not be graded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.faces import batch
from grader.model.results import CheckResult, GradeReport, QuestionResult

from .conftest import DEFAULT_RUBRIC, SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

IMPORT_TIMEOUT_S = 3.0
SELECTION = ["--only", "mlp.forward", "--max-examples", "2", "--timeout", "30"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory) -> dict:
    """A class folder (good, empty, hang) plus a folder that does not exist, graded with --jobs 2 and
    in-process, and the good one alone; concurrently."""
    base = tmp_path_factory.mktemp("batch")
    klass = base / "class"
    shutil.copytree(SUBMISSIONS / "correct", klass / "good")
    (klass / "empty").mkdir()
    (klass / "hang").mkdir()
    (klass / "hang" / "mlp.py").write_text("while True:  # never finishes importing\n    pass\n")
    (klass / ".hidden").mkdir()  # not a submission
    rubric = DEFAULT_RUBRIC.read_text()
    fast = rubric.replace("import_timeout_s = 20.0", "import_timeout_s = %s" % IMPORT_TIMEOUT_S)
    assert fast != rubric
    (base / "fast.toml").write_text(fast)
    common = ["--rubric", "fast.toml", *SELECTION, "--format", "json"]
    jobs = {
        "parallel": ["grade", "missing_folder", "--each", "class", "--jobs", "2", *common],
        "serial": ["grade", "missing_folder", "--each", "class", *common],
        "alone": ["grade", "class/good", *common],
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, args, base) for name, args in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _verdicts(report: dict) -> list[tuple]:
    return [(c["id"], c["status"], c["code"], c["score"]) for q in report["questions"] for c in q["checks"]]


@pytest.mark.parametrize("mode", ["parallel", "serial"])
def test_failing_and_hanging_submissions_do_not_spoil_the_others(batch_run, mode):
    result = batch_run[mode]
    assert result.returncode == 2, result.stderr
    reports = json.loads(result.stdout)
    assert [r["submission"] for r in reports] == ["missing_folder", "class/empty", "class/good", "class/hang"]
    missing, empty, good, hang = reports
    assert "does not exist" in missing["error"] and missing["questions"] == []
    assert "nothing to grade" in empty["error"] and empty["questions"] == []
    alone = json.loads(batch_run["alone"].stdout)
    assert batch_run["alone"].returncode == 0
    assert "error" not in good
    assert _verdicts(good) == _verdicts(alone)
    assert good["score"] == alone["score"] and good["final_score"] == alone["final_score"]
    assert "error" not in hang, "a submission that hangs is graded: its checks fail"
    checks = [c for q in hang["questions"] for c in q["checks"]]
    assert checks and {c["code"] for c in checks} == {"timeout"}
    assert all("import" in c["message"] for c in checks)
    assert hang["score"] == 0
    for report in (missing, empty):
        assert ("grader: error: %s" % report["error"]) in result.stderr


def test_parallel_and_serial_agree(batch_run):
    parallel, serial = (json.loads(batch_run[mode].stdout) for mode in ("parallel", "serial"))
    assert [(r["submission"], r.get("error"), _verdicts(r), r["final_score"]) for r in parallel] == [
        (r["submission"], r.get("error"), _verdicts(r), r["final_score"]) for r in serial]


def test_each_needs_a_folder_with_submissions(tmp_path):
    (tmp_path / "nothing").mkdir()
    for args in (["--each", "nothing"], ["--each", "not_there"], []):
        result = _run(["grade", *args], cwd=tmp_path)
        assert result.returncode == 2 and "grader: error:" in result.stderr and "Traceback" not in result.stderr


# -- grader.batch without the command line ---------------------------------------------------------

def _report(path: str, passed: bool) -> GradeReport:
    check = CheckResult(id="q.a[x]", question="q.a", title="x", status="pass" if passed else "fail",
                        score=1.0 if passed else 0.0, max_score=1.0, code=None if passed else "wrong_values")
    return GradeReport(grader_version="t", assignment="hw1", submission=path, seed=0,
                       questions=[QuestionResult("q.a", "Q", [check])])


def test_a_grader_failure_on_one_submission_becomes_its_error_report():
    from grader.errors import SubmissionError

    def grade_one(path: str) -> GradeReport:
        if path == "crashes":
            raise RuntimeError("boom")
        if path == "absent":
            raise SubmissionError("absent does not exist")
        return _report(path, passed=path == "good")

    reports = batch.grade_many(["good", "crashes", "absent", "bad"], grade_one, [], 1, 7, 10.0, False)
    assert [r.submission for r in reports] == ["good", "crashes", "absent", "bad"]
    assert [r.error for r in reports] == [None, "internal grader error: RuntimeError: boom", "absent does not exist",
                                          None]
    assert reports[0].all_passed and not reports[3].all_passed and reports[1].seed == 7


def test_a_child_grader_past_its_deadline_is_stopped_and_reported():
    grader = batch.LongLivedGrader(batch.Children(), ["--sandbox", "none"])
    report = grader.grade(str(SUBMISSIONS / "correct"), 0, 0.5, "hw1")
    assert report.error == "grading did not finish within 0.5 s"
    assert report.questions == [] and report.percent() == 0
    assert not grader.alive()


def test_a_child_grader_grades_one_folder_after_another(tmp_path, monkeypatch):
    """Folders go to a child grader as JSON lines: one named like an option ("-x") is still a
    folder; the same child then grades the next one."""
    (tmp_path / "-x").mkdir()
    shutil.copytree(SUBMISSIONS / "correct", tmp_path / "good")
    monkeypatch.chdir(tmp_path)
    grader = batch.LongLivedGrader(batch.Children(), ["--sandbox", "none", *SELECTION])
    try:
        odd = grader.grade("-x", 0, 300, "hw1")
        assert odd.error and "nothing to grade" in odd.error
        good = grader.grade("good", 0, 300, "hw1")
        assert good.error is None and good.submission == "good" and good.score == good.max_score > 0
        assert grader.alive()
    finally:
        grader.close()
    assert not grader.alive()


def test_a_child_grader_that_died_is_reported_and_its_batch_goes_on(tmp_path):
    grader = batch.LongLivedGrader(batch.Children(), ["--sandbox", "none"])
    grader.process.kill()
    grader.process.wait()
    report = grader.grade(str(tmp_path), 0, 60, "hw1")
    assert report.error == "the child grader exited with status -9" and report.questions == []


def test_child_graders_never_import_a_grader_package_from_the_class_folder(tmp_path):
    """`cd class && grader grade --each . --jobs 2`, where a student folder is named `grader`
    and is a Python package: the child graders must import the real grader, not run its code."""
    klass = tmp_path / "class"
    shutil.copytree(SUBMISSIONS / "correct", klass / "good")
    marker = tmp_path / "student_code_ran_in_the_grader"
    planted = "open(%r, 'w').write('pwned')\n" % str(marker)
    (klass / "grader").mkdir()
    for name in ("__init__.py", "__main__.py", "batch.py"):
        (klass / "grader" / name).write_text(planted)
    script = shutil.which("grader", path=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    result = subprocess.run([script, "grade", "--each", ".", "--jobs", "2", "--only", "mlp.forward",
                             "--max-examples", "1", "--format", "json"], capture_output=True, text=True, cwd=klass,
                            timeout=600)
    assert not marker.exists()
    good, planted_folder = sorted(json.loads(result.stdout), key=lambda r: r["submission"])
    assert "error" not in good and good["score"] == good["max_score"] > 0
    assert "nothing to grade" in planted_folder["error"]
