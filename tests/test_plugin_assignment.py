"""Assignments are plug-ins: a second assignment (tests/assignments/softmax), graded end to end by
the unchanged engine, sandbox and faces, found through its rubric or an entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.engine.assignment import find_assignment
from grader.engine.grading import GradeOptions, Grading
from grader.engine.rubric import load_rubric
from grader.errors import AssignmentNotFound

from .conftest import HAVE_BWRAP, ROOT, run_cli

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

HERE = ROOT / "tests" / "assignments" / "softmax"
RUBRIC = HERE / "rubric.toml"
MODES = ["none"] + (["bwrap"] if HAVE_BWRAP else [])


def _grade(name: str, mode: str):
    return Grading(HERE / "submissions" / name, GradeOptions(rubric_path=RUBRIC, sandbox=mode)).run()


@pytest.mark.parametrize("mode", MODES)
def test_a_correct_softmax_submission_scores_full_marks(mode: str) -> None:
    report = _grade("correct", mode)
    assert report.assignment == "softmax"
    assert [q.id for q in report.questions] == ["softmax.loss", "softmax.gradient"]
    assert report.score == report.max_score == 10
    assert all(c.status == "pass" and c.examples > 0 for c in report.checks)


@pytest.mark.parametrize("mode", MODES)
def test_a_transposed_gradient_is_diagnosed_by_the_shared_engine(mode: str) -> None:
    report = _grade("transposed", mode)
    by_id = {c.id: c for c in report.checks}
    assert by_id["softmax.loss[value]"].status == "pass"
    failed = by_id["softmax.gradient[dW]"]
    assert failed.status == "fail" and failed.code == "transposed"
    assert failed.replay and "--rubric" in failed.replay


def test_a_naive_softmax_overflows_only_where_the_settings_ask_for_large_logits(tmp_path: Path) -> None:
    report = _grade("no_stability", "none")
    assert {c.code for c in report.checks} == {"nonfinite"}
    assert all("large=True" in c.message for c in report.checks)
    lenient = tmp_path / "rubric.toml"
    lenient.write_text(RUBRIC.read_text().replace("stable = true", "stable = false"))
    relaxed = Grading(HERE / "submissions" / "no_stability", GradeOptions(rubric_path=lenient, sandbox="none")).run()
    assert relaxed.score == relaxed.max_score


@pytest.mark.cli
def test_the_command_line_grades_it_with_any_format() -> None:
    done = run_cli("grade", str(HERE / "submissions" / "transposed"), "--rubric", str(RUBRIC), "--format", "json",
                   "--sandbox", "none")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["assignment"] == "softmax" and data["score"] == 4 and data["max_score"] == 10


@pytest.mark.cli
def test_an_unknown_assignment_is_a_rubric_error(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('assignment = "no_such_assignment"\n')
    with pytest.raises(AssignmentNotFound) as raised:
        load_rubric(rubric)
    assert "hw1" in str(raised.value)
    done = run_cli("grade", str(HERE / "submissions" / "correct"), "--rubric", str(rubric))
    assert done.returncode == 2 and "no assignment named 'no_such_assignment'" in done.stderr


def test_an_installed_plugin_is_found_by_its_entry_point(tmp_path: Path) -> None:
    """A course's package registers its assignment in the `backprop_grader.assignments` group."""
    dist = tmp_path / "course_assignments-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: course-assignments\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[backprop_grader.assignments]\nsoftmax-course = tests.assignments.softmax:ASSIGNMENT\n")
    code = ("from grader.engine.assignment import find_assignment, known_assignments\n"
            "print(find_assignment('softmax-course').name, 'softmax-course' in known_assignments())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={"PYTHONPATH": "%s:%s" % (tmp_path, ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["softmax", "True"]


def test_hw1_is_found_without_any_plugin_metadata() -> None:
    """Run from a source folder (e.g. the Gradescope bundle), the shipped assignments still load."""
    assert find_assignment("hw1").name == "hw1"
