"""Gradebook export: the roster (`--roster`), the CSV's pinned header, the Canvas and Brightspace
import files, and report files the course's group can read.

Grades are never hard-coded: every number in a file is compared with the report it came from.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from grader.errors import UsageError
from grader.faces import cli, formats
from grader.faces.batch import error_report
from grader.faces.formats import RenderOptions
from grader.faces.formats.gradebook import warnings
from grader.faces.output import safe_file_stem, write_atomic, write_folder
from grader.faces.roster import load_roster, parse_roster
from grader.model.results import CheckResult, GradeReport, Penalty, QuestionResult, format_points

from .conftest import SUBMISSIONS, run_cli

ROSTER = """\ufefffolder,Student ID,Name,Login,Canvas ID,Section,Email
ada,N0012,"Lovelace, Ada",al12,101,DS-GA 1008 001,ada@example.edu
bob,N0034,"Babbage, Charles",cb34,102,DS-GA 1008 002,
cy,N0056,"Hopper, Grace",gh56,103,DS-GA 1008 001,
absent,N0078,"Noether, Emmy",en78,104,DS-GA 1008 002,
"""


def _report(folder: str, points: list[float], penalty: float = 0.0) -> GradeReport:
    checks = [CheckResult(id="q.a[%d]" % i, question="q.a", title="", status="pass" if p == 2.5 else "fail",
                          score=p, max_score=2.5, code=None if p == 2.5 else "sign") for i, p in enumerate(points)]
    report = GradeReport("0.1.0", "hw1", "class/" + folder, 0, [QuestionResult("q.a", "A", checks)])
    if penalty:
        report.penalties.append(Penalty("late", penalty, "late: 3 hours"))
    return report


@pytest.fixture
def reports() -> list[GradeReport]:
    return [_report("ada", [2.5, 2.5, 0.0]), _report("bob", [2.5, 0.0, 0.0], penalty=0.5),
            _report("stranger", [2.5, 2.5, 2.5]), error_report("class/cy", 0, "nothing to grade in class/cy")]


# -- roster ----------------------------------------------------------------------------------------

def test_the_roster_reads_its_documented_columns_and_matches_folders():
    roster = parse_roster(ROSTER)
    ada = roster.find("some/where/ada")
    assert ada is not None and (ada.student_id, ada.name, ada.login, ada.canvas_id, ada.section) == (
        "N0012", "Lovelace, Ada", "al12", "101", "DS-GA 1008 001")
    assert roster.find("class/ADA/") is ada, "a folder is matched ignoring case when that is unambiguous"
    assert roster.find("class/nobody") is None
    unknown, absent = roster.unmatched(["class/ada", "class/bob", "class/cy", "class/stranger"])
    assert unknown == ["class/stranger"] and [s.folder for s in absent] == ["absent"]


def test_a_canvas_export_is_a_roster_keyed_by_login():
    export = ("Student,ID,SIS User ID,SIS Login ID,Section,HW1 (555)\n    Points Possible,,,,,100\n"
              '"Lovelace, Ada",101,N0012,al12,001,\n"Student, Test",999,,,001,\n')
    roster = parse_roster(export)
    assert roster.key == "login" and [s.name for s in roster.students] == ["Lovelace, Ada", "Student, Test"]
    ada = roster.find("downloads/al12")
    assert ada is not None and ada.canvas_id == "101" and ada.student_id == "N0012"


@pytest.mark.parametrize("text, says", [
    ("", "is empty"),
    ("name,section\nAda,1\n", "has none of the columns folder, login or student_id"),
    ("folder,name\nada,Ada\nada,Another\n", "two rows have folder 'ada'"),
])
def test_a_wrong_roster_is_a_usage_error(text, says):
    with pytest.raises(UsageError, match=says):
        parse_roster(text)


def test_a_roster_file_that_is_not_utf8_or_missing_is_a_usage_error(tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("folder,name\nzoe,Zoë\n".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        load_roster(latin)
    with pytest.raises(UsageError, match="cannot be read"):
        load_roster(tmp_path / "missing.csv")


# -- CSV -------------------------------------------------------------------------------------------

def test_the_csv_header_is_pinned(reports):
    header = next(csv.reader(io.StringIO(formats.render("csv", reports))))
    assert header == ["submission", "student_id", "student_name", "final_score", "score", "max_score", "percent",
                      "pending_review",
                      "format_penalty", "late_penalty", "penalties", "checks_passed", "checks", "not_run_checks",
                      "not_run_points", "sandbox", "seed", "duration_s", "error", "q.a"]


def test_the_csv_carries_the_rosters_ids_and_names(reports):
    roster = parse_roster(ROSTER)
    rows = list(csv.DictReader(io.StringIO(formats.render("csv", reports, RenderOptions(roster=roster)))))
    by_folder = {row["submission"].split("/")[-1]: row for row in rows}
    for report in reports:
        row = by_folder[report.submission.split("/")[-1]]
        student = roster.find(report.submission)
        assert row["student_id"] == (student.student_id if student else "")
        assert row["student_name"] == (student.name if student else "")
        assert float(row["final_score"]) == pytest.approx(report.final_score, abs=0.006)
    without = list(csv.DictReader(io.StringIO(formats.render("csv", reports))))
    assert all(row["student_id"] == row["student_name"] == "" for row in without)


# -- Canvas ----------------------------------------------------------------------------------------

def test_canvas_import_file(reports):
    roster = parse_roster(ROSTER)
    text = formats.render("canvas", reports, RenderOptions(roster=roster, item="HW1 Backprop (12345)"))
    lines = text.splitlines()
    assert lines[0] == "Student,ID,SIS User ID,SIS Login ID,Section,HW1 Backprop (12345)"
    graded_max = max(r.max_score for r in reports if r.error is None)
    assert lines[1] == "    Points Possible,,,,,%s" % format_points(graded_max)
    rows = list(csv.reader(io.StringIO(text)))[2:]
    expected = [(roster.find(r.submission), r) for r in reports if r.error is None and roster.find(r.submission)]
    assert [row[:5] for row in rows] == [[s.name, s.canvas_id, s.student_id, s.login, s.section] for s, _ in expected]
    assert [float(row[5]) for row in rows] == [pytest.approx(r.final_score, abs=0.006) for _, r in expected]


def test_canvas_and_brightspace_need_a_roster(reports):
    for name in ("canvas", "brightspace"):
        with pytest.raises(UsageError, match="needs --roster"):
            formats.render(name, reports)
    assert cli.main(["grade", "class/ada", "--format", "canvas"]) == 2


# -- Brightspace -----------------------------------------------------------------------------------

def test_brightspace_import_file(reports):
    roster = parse_roster(ROSTER)
    text = formats.render("brightspace", reports, RenderOptions(roster=roster, item="Homework 1"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["OrgDefinedId", "Username", "Homework 1 Points Grade", "End-of-Line Indicator"]
    expected = [(roster.find(r.submission), r) for r in reports if r.error is None and roster.find(r.submission)]
    assert [row[:2] for row in rows[1:]] == [["#" + s.student_id, "#" + s.login] for s, _ in expected]
    assert [float(row[2]) for row in rows[1:]] == [pytest.approx(r.final_score, abs=0.006) for _, r in expected]
    assert all(row[3] == "#" for row in rows[1:])
    ids_only = parse_roster("folder,student_id\nada,00042\n")
    rows = list(csv.reader(io.StringIO(formats.render("brightspace", reports, RenderOptions(roster=ids_only)))))
    assert rows[0][0] == "OrgDefinedId" and rows[0][1].endswith("Points Grade") and rows[1][0] == "#00042"


def test_warnings_name_what_gets_no_row(reports):
    said = warnings(reports, parse_roster(ROSTER))
    assert said == ["roster: 1 submission folder not in the roster (no grade row): stranger",
                    "roster: 1 submission could not be graded (no grade row): cy",
                    "roster: 1 student without a submission folder (no grade row): Noether, Emmy"]


# -- files the group can read -------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_report_files_follow_the_umask_not_mkstemps_0600(tmp_path, umask, mode):
    target = tmp_path / "out" / "grades.csv"
    old = os.umask(umask)
    try:
        write_atomic(target, "a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert [p.name for p in target.parent.iterdir()] == ["grades.csv"], "no temporary file is left"


def test_a_planted_file_or_link_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    write_atomic(link, "<p>report</p>")
    assert not link.is_symlink() and link.read_text() == "<p>report</p>" and victim.read_text() == "keep me"


def test_folders_of_pages_take_only_safe_relative_names(tmp_path):
    taken: set[str] = set()
    stems = [safe_file_stem(name, taken) for name in ("ada", "ADA", "../../etc/passwd", ".hidden", "", "a b/c")]
    assert stems == ["ada", "ADA_2", "etc_passwd", "hidden", "submission", "a_b_c"]
    for bad in ("../x.html", "/abs.html", "a/../b.html"):
        with pytest.raises(ValueError):
            write_folder(tmp_path, {bad: "x"})


@pytest.mark.cli
@pytest.mark.slow
def test_the_cli_writes_a_canvas_file_from_a_class_folder(tmp_path):
    klass = tmp_path / "class"
    for name in ("ada", "bob"):
        shutil.copytree(SUBMISSIONS / "correct", klass / name)
    (klass / "bob" / "theory.py").unlink()
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    out, as_json = tmp_path / "canvas.csv", tmp_path / "grades.json"
    args = ["--each", str(klass), "--roster", str(roster), "--only", "mlp.forward", "--only", "theory.loss",
            "--max-examples", "1", "--sandbox", "none", "--fail-under", "0"]
    old = os.umask(0o022)
    try:
        done = run_cli("grade", *args, "--format", "canvas", "-o", str(out))
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert "2 students without a submission folder" in done.stderr
    assert run_cli("grade", *args, "--format", "json", "-o", str(as_json)).returncode == 0
    reports = {Path(r["submission"]).name: r for r in json.loads(as_json.read_text())}
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0][-1] == "Homework 1: Backpropagation", "the rubric's title by default"
    assert [(row[0], float(row[5])) for row in rows[2:]] == [
        ("Lovelace, Ada", pytest.approx(reports["ada"]["final_score"], abs=0.006)),
        ("Babbage, Charles", pytest.approx(reports["bob"]["final_score"], abs=0.006))]
    assert reports["ada"]["final_score"] > reports["bob"]["final_score"], "bob's missing theory.py costs points"
