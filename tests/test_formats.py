"""`grader grade --format junit|gradescope|markdown|github|csv`: each output is parsed and checked
against the JSON report of the same submission and selection (never against hard-coded grades).

The submission under test is realistic and hostile at once: dJdW1 is not transposed (fails),
bce_loss is missing (errors), mse_loss raises an exception whose message carries workflow
commands, backward prints workflow commands, test1.py is submitted (format penalty), and it
is 11 hours late (late penalty). All the formats are produced concurrently, once per module.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from grader.model.results import CheckResult, GradeReport, Penalty, QuestionResult

from .conftest import ROOT, SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope_results.schema.json").read_text())
SELECTION = ["--only", "mlp.backward", "--only", "mlp.mse_loss", "--only", "mlp.bce_loss", "--only", "theory.loss",
             "--max-examples", "2", "--timeout", "60"]
DATES = ["--submitted-at", "2021-02-20T10:00:00-05:00", "--due", "2021-02-19T23:00:00-05:00"]
CSV_SELECTION = ["--only", "mlp.mse_loss", "--only", "theory.loss", "--max-examples", "2", "--timeout", "60"]
STUDENT_COMMANDS = ["::error::forged", "::add-mask::x", "::error::raised", "::warning::cr", "::notice::ls"]


def _run(args: list[str], env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600, env=env)


def _flawed(folder: Path) -> Path:
    folder.mkdir(parents=True)
    source = (SUBMISSIONS / "mlp_dW1_no_transpose" / "mlp.py").read_text()
    edits = [
        ("    def backward(self, dJdy_hat):\n",
         "    def backward(self, dJdy_hat):\n        print('::error::forged')\n        print('::add-mask::x')\n"),
        ("def mse_loss(y, y_hat):\n",
         "def mse_loss(y, y_hat):\n    raise ValueError('bad\\n::error::raised\\r::warning::cr\\u2028::notice::ls')\n"),
        ("def bce_loss(y, y_hat):", "def bce_loss_v2(y, y_hat):"),
    ]
    for old, new in edits:
        assert old in source
        source = source.replace(old, new, 1)
    (folder / "mlp.py").write_text(source)
    shutil.copy(SUBMISSIONS / "correct" / "theory.py", folder / "theory.py")
    (folder / "test1.py").write_text("# the course's own test script\n")
    return folder


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """Every format's completed process (and the GitHub step summary), graded concurrently."""
    base = tmp_path_factory.mktemp("formats")
    flawed = _flawed(base / "flawed")
    correct = base / "correct"
    shutil.copytree(SUBMISSIONS / "correct", correct)
    summary = base / "step_summary.md"
    summary.write_text("earlier step\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    jobs = {
        fmt: (["grade", "flawed", "--format", fmt, *SELECTION, *DATES], None)
        for fmt in ("json", "junit", "gradescope", "markdown")
    }
    jobs["github"] = (["grade", "flawed", "--format", "github", *SELECTION, *DATES], env)
    jobs["csv"] = (["grade", "flawed", "correct", "--format", "csv", *CSV_SELECTION, *DATES], None)
    jobs["csv_json"] = (["grade", "flawed", "correct", "--format", "json", *CSV_SELECTION, *DATES], None)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, args, env, base) for name, (args, env) in jobs.items()}
        done = {name: future.result() for name, future in futures.items()}
    done["summary"] = summary.read_text()
    done["folder"] = flawed
    return done


@pytest.fixture(scope="module")
def truth(out) -> dict:
    result = out["json"]
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    statuses = {c["status"] for c in _checks(report)}
    assert statuses == {"pass", "fail", "error"}, "the fixture must exercise all three statuses"
    assert {p["policy"] for p in report["penalties"]} == {"format", "late"}
    return report


def _checks(report: dict) -> list[dict]:
    return [dict(c, question=q["id"]) for q in report["questions"] for c in q["checks"]]


def _num(value: float) -> str:
    return ("%.2f" % value).rstrip("0").rstrip(".")


# -- JUnit -------------------------------------------------------------------------------------

def test_junit_one_testcase_per_check_with_the_json_verdicts(out, truth):
    result = out["junit"]
    assert result.returncode == 1, result.stderr
    root = ET.fromstring(result.stdout)
    checks = _checks(truth)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    counts = {status: sum(c["status"] == status for c in checks) for status in ("fail", "error")}
    for element in (root, suite):
        assert int(element.get("tests")) == len(checks)
        assert int(element.get("failures")) == counts["fail"]
        assert int(element.get("errors")) == counts["error"]
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [(c["question"], c["id"]) for c in checks]
    for case, check in zip(cases, checks):
        children = [child.tag for child in case]
        if check["status"] == "pass":
            assert children == []
            continue
        assert children == ["failure" if check["status"] == "fail" else "error"]
        element = case[0]
        assert element.get("type") == check["code"]
        text = element.text
        assert text.startswith("[%s] " % check["code"])
        assert check["message"].replace("\r", "\n") in text
        if check["replay"]:
            assert "replay: " + check["replay"] in text


def test_junit_properties_carry_raw_and_final_scores_and_each_penalty(out, truth):
    suite = ET.fromstring(out["junit"].stdout).find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert float(properties["score"]) == pytest.approx(truth["score"], abs=0.006)
    assert float(properties["final_score"]) == pytest.approx(truth["final_score"], abs=0.006)
    assert float(properties["max_score"]) == pytest.approx(truth["max_score"], abs=0.006)
    for penalty in truth["penalties"]:
        value = properties["penalty." + penalty["policy"]]
        assert value == "-%s: %s" % (_num(penalty["points"]), penalty["reason"])


# -- Gradescope ---------------------------------------------------------------------------------

def test_gradescope_results_follow_the_spec_and_the_json_report(out, truth):
    result = out["gradescope"]
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == pytest.approx(truth["final_score"], abs=1e-3)
    assert data["extra_data"]["raw_score"] == pytest.approx(truth["score"], abs=1e-3)
    checks = _checks(truth)
    assert [t["name"] for t in data["tests"]] == [c["id"] for c in checks]
    for test, check in zip(data["tests"], checks):
        assert test["score"] == pytest.approx(check["score"], abs=1e-3)
        assert test["max_score"] == pytest.approx(check["max_score"], abs=1e-3)
        assert test["status"] == ("passed" if check["status"] == "pass" else "failed")
        assert test["visibility"] == check["visibility"]
        assert check["question"] in test["tags"]
        if check["status"] != "pass":
            assert check["code"] in test["tags"]
            assert check["message"] in test["output"]


def test_gradescope_output_shows_each_penalty_and_the_raw_score(out, truth):
    output = json.loads(out["gradescope"].stdout)["output"].splitlines()
    for penalty in truth["penalties"]:
        assert "Penalty -%s: %s" % (_num(penalty["points"]), penalty["reason"]) in output
    assert "Final score %s (raw %s)." % (_num(truth["final_score"]), _num(truth["score"])) in output


# -- Markdown -----------------------------------------------------------------------------------

QUESTION_ROW = re.compile(r"^\| `(?P<id>[^`]+)` .* \| (?P<score>[\d.]+) / (?P<max>[\d.]+) \| (?P<passed>\d+) / "
                          r"(?P<total>\d+) \|$")
FAILED_ROW = re.compile(r"^\| `(?P<id>[^`]+)` \| `(?P<code>[^`]+)` \| (?P<diagnosis>.*) \|$")


def test_markdown_summary_tables_match_the_json_report(out, truth):
    result = out["markdown"]
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "## backprop-grader: flawed — %s / %s (failed)" % (
        _num(truth["final_score"]), _num(truth["max_score"]))
    rows = [QUESTION_ROW.match(line) for line in lines]
    rows = [r for r in rows if r]
    assert [r["id"] for r in rows] == [q["id"] for q in truth["questions"]]
    for row, question in zip(rows, truth["questions"]):
        assert float(row["score"]) == pytest.approx(question["score"], abs=0.006)
        assert float(row["max"]) == pytest.approx(question["max_score"], abs=0.006)
        assert int(row["passed"]) == sum(c["status"] == "pass" for c in question["checks"])
        assert int(row["total"]) == len(question["checks"])
    failed = [FAILED_ROW.match(line) for line in lines]
    failed = [f for f in failed if f]
    assert [(f["id"], f["code"]) for f in failed] == [
        (c["id"], c["code"]) for c in _checks(truth) if c["status"] != "pass"]
    for penalty in truth["penalties"]:
        assert "- **Penalty** −%s: %s" % (_num(penalty["points"]), penalty["reason"]) in lines
    assert "- Raw score %s, final %s" % (_num(truth["score"]), _num(truth["final_score"])) in lines
    # Student text cannot break the table: every row has the table's own number of cells.
    for line in lines:
        if FAILED_ROW.match(line):
            assert len(re.split(r"(?<!\\)\|", line)) == 5


# -- GitHub Actions -----------------------------------------------------------------------------

COMMAND = re.compile(r"^::(?P<command>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def _decode(text: str, prop: bool = False) -> str:
    if prop:
        text = text.replace("%3A", ":").replace("%2C", ",")
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _annotations(stdout: str) -> list[dict]:
    found = []
    for line in stdout.split("\n"):
        match = COMMAND.match(line)
        if not match:
            continue
        props = {}
        for item in (match["props"] or "").split(","):
            if item:
                key, _, value = item.partition("=")
                props[key] = _decode(value, prop=True)
        found.append({"command": match["command"], "props": props, "raw": match["data"],
                      "message": _decode(match["data"])})
    return found


def _def_lines(path: Path) -> dict[str, int]:
    """{"MLP.backward" or "mse_loss": line of its def}, found by parsing the file."""
    lines = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            lines[node.name] = node.lineno
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    lines["%s.%s" % (node.name, item.name)] = item.lineno
    return lines


def test_github_only_the_graders_own_commands_start_a_line(out, truth):
    result = out["github"]
    assert result.returncode == 1, result.stderr
    # No line separator other than \n may hide in the output (what a runner might split on).
    assert result.stdout.splitlines() == result.stdout.rstrip("\n").split("\n")
    ids = {c["id"] for c in _checks(truth)} | {q["id"] for q in truth["questions"]}
    lines = (result.stdout + result.stderr).split("\n")
    commands = [line for line in lines if line.startswith("::")]
    assert commands
    for line in commands:
        match = COMMAND.match(line)
        assert match and match["command"] in ("error", "warning", "notice"), line
        title = _annotations(line)[0]["props"].get("title", "")
        assert title.startswith("backprop-grader") or title.split(" ")[0].rstrip(":,") in ids, line
    for forged in STUDENT_COMMANDS:
        assert not any(line.startswith(forged) for line in lines)


def test_github_carries_the_student_text_percent_encoded(out):
    annotations = _annotations(out["github"].stdout)
    raws = " ".join(a["raw"] for a in annotations)
    messages = " ".join(a["message"] for a in annotations)
    # Submission text is defused at the boundary (every "::name" becomes ": :name"), then percent-encoded.
    assert "%0A: :error: :forged%0A: :add-mask: :x" in raws  # printed by backward
    assert "bad\\n: :error: :raised" in raws  # raised by mse_loss: one line, its breaks shown as \n
    assert "\ufffd: :warning: :cr" in raws and "\\n: :notice: :ls" in raws  # after a \r and a U+2028: inert
    assert not set(raws) & set("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    assert "\n: :error: :forged" in messages and "bad\\n: :error: :raised" in messages


def test_github_neutralises_every_line_break_in_any_text():
    """Rendered directly, with text the worker would already have cleaned: the format must not rely on it."""
    from grader.faces import formats

    hostile = "a\r::error::cr\n::error::lf\u2028::error::ls\x85::error::nel\x0b::error::vt %0A::error::literal"
    check = CheckResult(id="mlp.forward[relu-relu]", question="mlp.forward", title="t", status="fail", score=0.0,
                        max_score=1.0, code="exception", message=hostile, output=hostile,
                        location={"file": "mlp.py", "line": 3})
    report = GradeReport(grader_version="t", assignment="hw1", submission="sub\n::error::label", seed=0,
                         questions=[QuestionResult("mlp.forward", "F", [check])], notices=[hostile],
                         penalties=[Penalty("format", 1.0, hostile)])
    text = formats.render("github", [report])
    lines = text.splitlines()
    assert lines == text.rstrip("\n").split("\n")
    assert all(COMMAND.match(line) and COMMAND.match(line)["command"] in ("error", "warning", "notice")
               for line in lines)
    assert not any(line.startswith("::error::") for line in lines)
    (annotation,) = [a for a in _annotations(text) if a["command"] == "error"]
    assert "%250A::error::literal" in annotation["raw"]  # a literal %0A stays literal text
    assert "\r::error::cr\n::error::lf" in annotation["message"]


def test_github_annotates_the_line_of_the_failing_function(out, truth):
    annotations = [a for a in _annotations(out["github"].stdout) if a["command"] == "error"]
    assert 1 <= len(annotations) <= 10
    lines = _def_lines(out["folder"] / "mlp.py")
    failed = [c for c in _checks(truth) if c["status"] != "pass"]

    def about(question: str, code: str) -> dict:
        (found,) = [a for a in annotations if question in a["props"]["title"] and a["props"]["title"].endswith(
            "[%s]" % code)]
        assert found["props"]["file"] == "flawed/mlp.py"
        return found

    transposed = about("mlp.backward", "transposed")  # at the statement that assigns the wrong gradient
    source = (out["folder"] / "mlp.py").read_text().splitlines()
    assert int(transposed["props"]["line"]) > lines["MLP.backward"]
    assert source[int(transposed["props"]["line"]) - 1].strip().startswith('self.grads["dJdW1"] =')
    assert "dJdW1" in transposed["message"] and "replay: grader grade flawed --only" in transposed["message"]
    raised = about("mlp.mse_loss", "exception")  # at the line that raised, inside mse_loss
    assert source[int(raised["props"]["line"]) - 1].strip().startswith("raise ValueError('bad")
    assert int(raised["props"]["line"]) > lines["mse_loss"]
    missing = about("mlp.bce_loss", "missing")  # bce_loss does not exist: the annotation is on the file
    assert "line" not in missing["props"] and "bce_loss" in missing["message"]
    named = set()
    for annotation in annotations:
        named |= {c["id"] for c in failed if c["id"] in annotation["message"] + annotation["props"]["title"]}
    assert named == {c["id"] for c in failed}, "every failed check is named by some annotation"


def test_github_penalties_and_score_and_the_step_summary(out, truth):
    annotations = _annotations(out["github"].stdout)
    warnings = [a["message"] for a in annotations if a["command"] == "warning"]
    for penalty in truth["penalties"]:
        assert "-%s: %s" % (_num(penalty["points"]), penalty["reason"]) in warnings
    notices = [a["message"] for a in annotations if a["command"] == "notice"]
    assert "flawed: %s / %s" % (_num(truth["final_score"]), _num(truth["max_score"])) in notices
    assert out["summary"] == "earlier step\n" + out["markdown"].stdout


def test_github_at_most_10_annotations_with_a_pointer_to_the_rest(tmp_path):
    """A starter folder fails in more places than 10; the rest are counted in a warning."""
    assert _run(["init", str(tmp_path / "starter")]).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    result = _run(["grade", ".", "--format", "github"], env=env, cwd=tmp_path / "starter")
    report = json.loads(_run(["grade", str(tmp_path / "starter"), "--format", "json"]).stdout)
    annotations = _annotations(result.stdout)
    errors = [a for a in annotations if a["command"] == "error"]
    assert len(errors) == 10
    places = {(c["location"]["file"], c["location"]["line"], c["code"]) if c["location"] else c["id"]
              for c in _checks(report)}
    assert len(places) > 10
    named = set()
    for annotation in errors:
        named |= {c["id"] for c in _checks(report) if c["id"] in annotation["message"] + annotation["props"]["title"]}
    (warning,) = [a["message"] for a in annotations if a["command"] == "warning"]
    assert warning.startswith("%d more failed checks" % (len(_checks(report)) - len(named)))


# -- CSV ------------------------------------------------------------------------------------------

def test_csv_one_row_per_submission_matching_the_json_reports(out):
    result = out["csv"]
    assert result.returncode == 1, result.stderr
    reports = json.loads(out["csv_json"].stdout)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["submission"] for r in rows] == [r["submission"] for r in reports] == ["flawed", "correct"]
    for row, report in zip(rows, reports):
        for key in ("final_score", "score", "max_score"):
            assert float(row[key]) == pytest.approx(report[key], abs=0.006)
        for policy in ("format", "late"):
            points = sum(p["points"] for p in report["penalties"] if p["policy"] == policy)
            assert float(row["%s_penalty" % policy]) == pytest.approx(points, abs=0.006)
        assert row["penalties"] == "; ".join(p["reason"] for p in report["penalties"])
        assert int(row["checks_passed"]) == sum(c["status"] == "pass" for c in _checks(report))
        assert int(row["checks"]) == len(_checks(report))
        for question in report["questions"]:
            assert float(row[question["id"]]) == pytest.approx(question["score"], abs=0.006)
        assert row["error"] == ""


def test_a_submission_that_could_not_be_graded_is_one_error_in_every_format():
    """Rendered directly from the report `grader grade` makes for a folder it cannot grade."""
    from grader.faces import formats
    from grader.faces.batch import error_report

    report = error_report("missing_folder", 0, "missing_folder does not exist")
    suite = ET.fromstring(formats.render("junit", [report])).find("testsuite")
    assert len(suite.findall("testcase")) == int(suite.get("tests")) == int(suite.get("errors")) == 1
    assert "does not exist" in suite.find("testcase/error").text
    data = json.loads(formats.render("gradescope", [report]))
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == 0 and "could not grade" in data["output"]
    (annotation,) = [a for a in _annotations(formats.render("github", [report])) if a["command"] == "error"]
    assert "does not exist" in annotation["message"]
    assert "**Not graded:** missing_folder does not exist" in formats.render("markdown", [report])
    (row,) = csv.DictReader(io.StringIO(formats.render("csv", [report])))
    assert row["error"] == "missing_folder does not exist" and float(row["final_score"]) == 0


def test_markdown_student_text_cannot_make_links_images_or_html():
    from grader.faces import formats

    planted = "raised ValueError: ![pixel](https://evil.example/t.png) [click](https://evil.example) <img src=x>"
    check = CheckResult(id="mlp.forward[relu-relu]", question="mlp.forward", title="relu-relu", status="fail",
                        score=0.0, max_score=1.0, code="exception", message=planted)
    report = GradeReport(grader_version="t", assignment="hw1", submission="s", seed=0,
                         questions=[QuestionResult("mlp.forward", "Forward", [check])])
    (row,) = [line for line in formats.render("markdown", [report]).splitlines() if "pixel" in line]
    diagnosis = re.split(r"(?<!\\)\|", row)[3]
    assert re.search(r"(?<!\\)[\[\]]", diagnosis) is None, diagnosis
    assert "<img" not in diagnosis and "&lt;img" in diagnosis
