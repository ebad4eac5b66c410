"""Course policies (grader/policies.py, the rubric's [policies]): the format penalty and the late
penalty, their edge cases, bad dates, and how the terminal and JSON reports show them.

Every other format's penalty lines are checked in test_formats.py against the same JSON report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest

from grader.engine import policies as policy_module
from grader.engine.policies import PolicyError, parse_policies, parse_time, read_gradescope_metadata

from .conftest import DEFAULT_RUBRIC, ROOT, SUBMISSIONS


def late_penalty(table: dict, *args):
    """late_penalty with the policy given as its rubric table (parsed as the rubric loader does)."""
    return policy_module.late_penalty(parse_policies({"late": table}).late if table else None, *args)


def format_penalty(table: dict, *args):
    return policy_module.format_penalty(parse_policies({"format": table}).format if table else None, *args)


DUE = parse_time("2021-02-19T23:00:00-05:00")
LATE = {"windows": [{"hours": 24, "penalty": 0.2}, {"hours": 72, "penalty": 0.5}], "after_last": "reject"}
FORMAT = {"penalty": 0.05, "required": ["mlp.py", "theory.py"], "forbidden": ["test1.py", "test_*.py", "*.ipynb"]}


# -- unit tests: dates ----------------------------------------------------------------------

def test_parse_time_reads_gradescope_and_utc_forms():
    gradescope = parse_time("2021-02-19T23:00:00.000000-05:00")
    assert gradescope == parse_time("2021-02-20T04:00:00Z") == parse_time("2021-02-20T04:00:00+00:00")
    assert gradescope.utcoffset() == timedelta(hours=-5)


@pytest.mark.parametrize("text", ["yesterday", "", "2021-02-30T10:00:00Z", "2021-02-19T23:00:00", "19/02/2021"])
def test_parse_time_rejects_bad_or_ambiguous_dates(text):
    with pytest.raises(PolicyError) as raised:
        parse_time(text)
    assert repr(text) in str(raised.value)


def test_gradescope_metadata(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"id": 1, "created_at": "2021-02-20T10:00:00.365935-05:00",
                                "assignment": {"due_date": "2021-02-19T23:00:00.000000-05:00", "late_due_date": None}}))
    submitted, due = read_gradescope_metadata(meta)
    assert due == DUE and submitted - due == timedelta(hours=11, microseconds=365935)
    meta.write_text(json.dumps({"created_at": "2021-02-20T10:00:00-05:00", "assignment": {"due_date": None}}))
    assert read_gradescope_metadata(meta)[1] is None
    for broken in ("{", json.dumps({"assignment": {}}), json.dumps({"created_at": "soon"})):
        meta.write_text(broken)
        with pytest.raises(PolicyError):
            read_gradescope_metadata(meta)
    with pytest.raises(PolicyError):
        read_gradescope_metadata(tmp_path / "absent.json")


# -- unit tests: the late policy ---------------------------------------------------------------

@pytest.mark.parametrize("delta", [timedelta(days=-3), timedelta(seconds=-1), timedelta(0)])
def test_on_time_and_exactly_at_the_due_date_cost_nothing(delta):
    assert late_penalty(LATE, DUE + delta, DUE, 50.0) is None


def test_the_due_date_compares_instants_not_wall_clocks():
    same_instant = parse_time("2021-02-20T04:00:00Z")
    assert late_penalty(LATE, same_instant, DUE, 50.0) is None
    one_second_later = parse_time("2021-02-20T04:00:01Z")
    assert late_penalty(LATE, one_second_later, DUE, 50.0) is not None


@pytest.mark.parametrize("delta, fraction", [
    (timedelta(seconds=1), 0.2), (timedelta(hours=23, minutes=59), 0.2), (timedelta(hours=24), 0.2),
    (timedelta(hours=24, seconds=1), 0.5), (timedelta(hours=72), 0.5)])
def test_within_a_window_the_first_window_that_holds_it_applies(delta, fraction):
    penalty = late_penalty(LATE, DUE + delta, DUE, 40.0)
    assert penalty.policy == "late"
    assert penalty.points == pytest.approx(fraction * 40.0)
    assert "late" in penalty.reason and "%g%%" % (100 * fraction) in penalty.reason


def test_windows_may_be_listed_in_any_order():
    shuffled = {"windows": list(reversed(LATE["windows"]))}
    assert late_penalty(shuffled, DUE + timedelta(hours=2), DUE, 10.0).points == pytest.approx(2.0)


def test_past_the_last_window_the_submission_is_rejected():
    penalty = late_penalty(LATE, DUE + timedelta(hours=72, seconds=1), DUE, 37.5)
    assert penalty.points == pytest.approx(37.5)
    assert "not accepted" in penalty.reason
    fraction = late_penalty(dict(LATE, after_last=0.9), DUE + timedelta(days=10), DUE, 10.0)
    assert fraction.points == pytest.approx(9.0) and "not accepted" not in fraction.reason


def test_no_dates_or_no_policy_means_no_late_penalty():
    late = DUE + timedelta(days=30)
    assert late_penalty(LATE, None, DUE, 10.0) is None
    assert late_penalty(LATE, late, None, 10.0) is None
    assert late_penalty({}, late, DUE, 10.0) is None


def test_minutes_late_are_said_in_minutes():
    assert "1 minute after" in late_penalty(LATE, DUE + timedelta(seconds=20), DUE, 1.0).reason
    assert "2.5 hours after" in late_penalty(LATE, DUE + timedelta(hours=2.5), DUE, 1.0).reason


# -- unit tests: the format policy -------------------------------------------------------------

def test_format_penalty_missing_and_forbidden_files():
    assert format_penalty(FORMAT, ["README.md", "mlp.py", "theory.py"], 100.0) is None
    missing = format_penalty(FORMAT, ["mlp.py"], 80.0)
    assert missing.policy == "format" and missing.points == pytest.approx(0.05 * 80.0)
    assert "theory.py is missing" in missing.reason
    forbidden = format_penalty(FORMAT, ["mlp.py", "test1.py", "theory.py"], 100.0)
    assert forbidden.points == pytest.approx(5.0) and "test1.py should not be submitted" in forbidden.reason


def test_format_penalty_is_deducted_once_and_finds_forbidden_files_in_sub_folders():
    penalty = format_penalty(FORMAT, ["notebooks/hw1.ipynb", "tests/test_mlp.py", "test1.py", "mlp.py"], 100.0)
    assert penalty.points == pytest.approx(5.0)
    for name in ("theory.py is missing", "notebooks/hw1.ipynb", "tests/test_mlp.py", "test1.py should"):
        assert name in penalty.reason
    assert format_penalty({}, [], 100.0) is None


@pytest.mark.parametrize("policies", [
    {"format": {"penalty": 5}}, {"format": {"penalty": -0.1}}, {"format": {"required": "mlp.py"}},
    {"format": {"forbiden": ["x"]}}, {"late": {"windows": [{"hours": 24}]}},
    {"late": {"windows": [{"hours": -1, "penalty": 0.1}]}}, {"late": {"windows": [{"hours": 24, "penalty": 2}]}},
    {"late": {"after_last": "never"}}, {"late": {"after_last": 1.5}}, {"lateness": {}}, {"late": []}])
def test_invalid_policies_are_named(policies):
    with pytest.raises(PolicyError) as raised:
        parse_policies(policies)
    assert "[policies" in str(raised.value)


def test_the_reference_rubric_policies_are_valid():
    import tomllib

    parsed = parse_policies(tomllib.loads(DEFAULT_RUBRIC.read_text())["policies"])
    assert parsed.format is not None and parsed.late is not None


# -- the command line ---------------------------------------------------------------------------

def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("dates", [
    ("--submitted-at", "yesterday", "--due", "2021-02-19T23:00:00-05:00"),
    ("--submitted-at", "2021-02-20T10:00:00", "--due", "2021-02-19T23:00:00-05:00"),
    ("--submitted-at", "2021-02-20T10:00:00-05:00", "--due", "2021-13-01T00:00:00Z")])
def test_bad_dates_exit_2_with_a_clear_message(dates):
    result = _cli("grade", str(SUBMISSIONS / "correct"), "--only", "theory.loss", *dates)
    assert result.returncode == 2
    assert "grader: error:" in result.stderr
    assert "ISO 8601" in result.stderr or "UTC offset" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_unreadable_metadata_exits_2(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text("not json")
    result = _cli("grade", str(SUBMISSIONS / "correct"), "--only", "theory.loss", "--metadata", str(meta))
    assert result.returncode == 2 and "metadata" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def penalised(tmp_path_factory):
    """A correct submission with the course's test1.py in it, submitted 11 hours late: its table
    and its JSON report, graded concurrently."""
    folder = tmp_path_factory.mktemp("penalised") / "sub"
    shutil.copytree(SUBMISSIONS / "correct", folder)
    (folder / "test1.py").write_text("# the course's own test script\n")
    common = ["grade", str(folder), "--only", "mlp.forward", "--only", "theory.loss", "--max-examples", "2",
              "--submitted-at", "2021-02-20T10:00:00-05:00", "--due", "2021-02-19T23:00:00-05:00"]
    rejected = ["grade", str(folder), "--only", "theory.loss", "--max-examples", "2",
                "--submitted-at", "2021-03-01T10:00:00-05:00", "--due", "2021-02-19T23:00:00-05:00", "--format", "json"]
    runs = [subprocess.Popen([sys.executable, "-m", "grader", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT) for args in (common, common + ["--format", "json"], rejected)]
    done = [run.communicate(timeout=300) + (run.returncode,) for run in runs]
    return {"table": done[0], "json": done[1], "rejected": done[2]}


@pytest.mark.slow
def test_json_keeps_the_raw_score_beside_the_final_one(penalised):
    stdout, stderr, code = penalised["json"]
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["score"] == pytest.approx(sum(q["score"] for q in report["questions"]), abs=1e-3)
    assert report["score"] == pytest.approx(report["max_score"])
    policies = {p["policy"]: p for p in report["penalties"]}
    assert set(policies) == {"format", "late"}
    assert "test1.py" in policies["format"]["reason"] and "hours after the due date" in policies["late"]["reason"]
    assert report["final_score"] == pytest.approx(report["score"] - sum(p["points"] for p in report["penalties"]),
                                                  abs=1e-3)
    assert 0 < report["final_score"] < report["score"]


@pytest.mark.slow
def test_terminal_shows_each_penalty_on_its_own_line_and_the_raw_score(penalised):
    stdout, stderr, code = penalised["table"]
    assert code == 0, stderr
    report = json.loads(penalised["json"][0])
    lines = stdout.splitlines()
    for penalty in report["penalties"]:
        matching = [line for line in lines if line.startswith("penalty") and penalty["policy"] + ":" in line]
        assert len(matching) == 1, stdout
    raw = [line for line in lines if line.startswith("raw score")]
    assert len(raw) == 1 and ("%g" % report["score"]) in raw[0]
    total = [line for line in lines if line.startswith("Score")]
    assert len(total) == 1 and ("Score %g / %g" % (round(report["final_score"], 2), report["max_score"])) in total[0]


@pytest.mark.slow
def test_past_the_last_window_the_final_score_is_zero_and_the_raw_score_kept(penalised):
    stdout, stderr, code = penalised["rejected"]
    assert code == 0, stderr  # every check passed; the policy, not a check, takes the points
    report = json.loads(stdout)
    assert report["score"] > 0 and report["final_score"] == 0
    assert any("not accepted" in p["reason"] for p in report["penalties"])
