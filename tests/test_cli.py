"""The command line: help, exit codes, the JSON schema, selection, replay, output files, colour."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest

from .conftest import DEFAULT_RUBRIC, REFERENCE, SUBMISSIONS, run_cli

SCHEMA_V2_REPORT = {"schema", "grader_version", "assignment", "submission", "seed", "score", "max_score",
                    "pending_review", "duration_s", "questions"}
SCHEMA_V2_QUESTION = {"id", "title", "score", "max_score", "checks"}
SCHEMA_V2_CHECK = {"id", "status", "score", "max_score", "examples", "code", "message", "counterexample", "replay",
                   "details"}


@pytest.fixture(scope="module")
def transposed_submission(tmp_path_factory) -> Path:
    """The reference key with one realistic mistake: dJdW1 not transposed."""
    folder = tmp_path_factory.mktemp("transposed")
    source = (REFERENCE / "mlp.py").read_text()
    mistake = source.replace('self.grads["dJdW1"] = dJdz1.T @ c["x"]', 'self.grads["dJdW1"] = c["x"].T @ dJdz1')
    assert mistake != source
    (folder / "mlp.py").write_text(mistake)
    shutil.copy(REFERENCE / "theory.py", folder / "theory.py")
    return folder


def _json(result) -> dict:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


def test_help_explains_every_subcommand(cli):
    top = cli("--help")
    assert top.returncode == 0
    for word in ("grade", "init", "export", "mlp.py", "theory.py"):
        assert word in top.stdout
    grade = cli("grade", "--help")
    assert grade.returncode == 0
    for option in ("--format", "--seed", "--only", "--max-examples", "--fail-under", "-o", "--sandbox", "--jobs",
                   "exit codes"):
        assert option in grade.stdout
    assert cli("init", "--help").returncode == 0
    assert cli("export", "--help").returncode == 0


def test_no_command_is_a_usage_error(cli):
    result = cli()
    assert result.returncode == 2
    assert "grade" in result.stdout


def test_unknown_option_and_bad_values_exit_2(cli):
    assert cli("grade", "--no-such-option", str(REFERENCE)).returncode == 2
    bad = cli("grade", str(REFERENCE), "--max-examples", "0")
    assert bad.returncode == 2 and "max-examples" in bad.stderr
    unknown = cli("grade", str(REFERENCE), "--only", "mlp.nope")
    assert unknown.returncode == 2 and "mlp.nope" in unknown.stderr and "mlp.backward" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.mark.cli
@pytest.mark.slow
def test_json_report_follows_schema_v2_and_exit_0_on_full_marks():
    result = run_cli("grade", str(REFERENCE), "--format", "json", "--only", "mlp.forward", "--only",
                     "theory.loss", "--max-examples", "3")
    assert result.returncode == 0, result.stderr
    report = _json(result)
    assert set(report) >= SCHEMA_V2_REPORT
    assert report["schema"] == 2 and report["assignment"] == "hw1" and report["pending_review"] == 0
    assert [q["id"] for q in report["questions"]] == ["mlp.forward", "theory.loss"]
    for question in report["questions"]:
        assert set(question) >= SCHEMA_V2_QUESTION
        assert question["score"] == pytest.approx(sum(c["score"] for c in question["checks"]), abs=1e-3)
        for check in question["checks"]:
            assert set(check) >= SCHEMA_V2_CHECK
            assert check["status"] == "pass" and check["code"] is None
            assert 1 <= check["examples"] <= 3
    assert report["score"] == pytest.approx(report["max_score"]) and report["max_score"] > 0


@pytest.mark.cli
@pytest.mark.slow
def test_failing_submission_exits_1_and_fail_under_decides(transposed_submission):
    args = ["grade", str(transposed_submission), "--only", "mlp.backward", "--only", "mlp.forward",
            "--max-examples", "5"]
    failing = run_cli(*args, "--format", "json")
    assert failing.returncode == 1
    report = _json(failing)
    percent = 100 * report["final_score"] / report["max_score"]
    assert 0 < percent < 100
    assert run_cli(*args, "--fail-under", str(percent - 1)).returncode == 0
    assert run_cli(*args, "--fail-under", str(percent + 1)).returncode == 1


@pytest.mark.cli
@pytest.mark.slow
def test_failure_names_the_mistake_and_its_replay_reproduces_it(transposed_submission):
    result = run_cli("grade", str(transposed_submission), "--format", "json", "--only", "mlp.backward",
                     "--seed", "7")
    checks = [c for q in _json(result)["questions"] for c in q["checks"] if c["status"] != "pass"]
    assert checks, "a missing transpose in dJdW1 must fail"
    gradient_checks = [c for c in checks if "end_to_end" not in c["id"]]
    assert {c["code"] for c in gradient_checks} == {"transposed"}
    first = gradient_checks[0]
    assert "dJdW1" in first["message"] and "(d,n)" in first["message"]
    assert "already fails for" in first["message"]
    replay = shlex.split(first["replay"])
    assert replay[:2] == ["grader", "grade"] and "--seed" in replay and first["id"] in replay
    again = run_cli(*replay[1:], "--format", "json")
    replayed = [c for q in _json(again)["questions"] for c in q["checks"]]
    assert [c["id"] for c in replayed] == [first["id"]]
    assert replayed[0]["code"] == first["code"]
    assert replayed[0]["counterexample"] == first["counterexample"]


@pytest.mark.cli
@pytest.mark.slow
def test_output_file_gets_the_report_and_the_terminal_the_table(tmp_path):
    target = tmp_path / "out" / "report.json"
    result = run_cli("grade", str(REFERENCE), "--only", "theory.sgd_step", "--max-examples", "2",
                     "--format", "json", "-o", str(target))
    assert result.returncode == 0
    assert json.loads(target.read_text())["questions"][0]["id"] == "theory.sgd_step"
    assert "theory.sgd_step" in result.stdout and "Score" in result.stdout


@pytest.mark.cli
@pytest.mark.slow
def test_no_colour_when_not_a_terminal_or_with_no_color():
    plain = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    for environment, coloured in ((plain, False), (dict(plain, NO_COLOR="1", FORCE_COLOR="1"), False),
                                  (dict(plain, FORCE_COLOR="1"), True)):  # FORCE_COLOR stands in for a terminal
        result = run_cli("grade", str(REFERENCE), "--only", "theory.loss", "--max-examples", "2", env=environment)
        assert result.returncode == 0
        assert ("\x1b[" in result.stdout) == coloured


@pytest.mark.cli
@pytest.mark.slow
def test_several_submissions_give_one_report_each(transposed_submission):
    result = run_cli("grade", str(REFERENCE), str(transposed_submission), "--format", "json", "--only",
                     "mlp.backward[relu-identity]")
    reports = _json(result)
    assert [r["submission"] for r in reports] == [str(REFERENCE), str(transposed_submission)]
    assert reports[0]["score"] == reports[0]["max_score"] and reports[1]["score"] < reports[1]["max_score"]
    assert result.returncode == 1


@pytest.mark.cli
@pytest.mark.slow
def test_correct_submission_keeps_full_marks_where_float32_saturates():
    """Seeds whose examples saturate a float32 sigmoid (no float32 code can meet the tolerance
    there) once cost a correct submission the BCE backward checks; they must not."""
    for seed in ("7", "20"):
        result = run_cli("grade", str(SUBMISSIONS / "correct"), "--only", "mlp.backward", "--seed", seed,
                         "--format", "json")
        report = _json(result)
        assert result.returncode == 0, [c for q in report["questions"] for c in q["checks"] if c["status"] != "pass"]
        assert report["score"] == report["max_score"]


def test_zero_point_checks_do_not_decide_the_exit_code():
    from grader.model.results import CheckResult, GradeReport, QuestionResult

    def check(status: str, max_score: float) -> CheckResult:
        return CheckResult(id="q[%s]" % status, question="q", title="", status=status, score=0.0,
                           max_score=max_score, code=None if status == "pass" else "wrong_values")

    informational = GradeReport("t", "hw1", "s", 0, [QuestionResult("q", "", [check("pass", 1.0), check("fail", 0.0)])])
    assert informational.all_passed
    failing = GradeReport("t", "hw1", "s", 0, [QuestionResult("q", "", [check("fail", 1.0)])])
    assert not failing.all_passed


@pytest.mark.parametrize("typo, says", [
    (('[questions."mlp.hygiene"]', '[questions."mlp.hygeine"]'), "unknown question"),
    (('"end_to_end-mse" = 0', '"end_to_end_mse" = 0'), "names no check: end_to_end_mse"),
    (('[questions."mlp.bce_loss".weights]', '[questions."mlp.bce_loss".visibility]\nvalue = "hiden"\n'
      '[questions."mlp.bce_loss".weights]'), "hiden"),
])
def test_rubric_typos_are_usage_errors(cli, tmp_path, typo, says):
    source = DEFAULT_RUBRIC.read_text()
    assert typo[0] in source
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(source.replace(typo[0], typo[1]))
    result = cli("grade", str(REFERENCE), "--rubric", str(rubric), "--only", "theory.loss")
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.cli
@pytest.mark.slow
def test_replay_carries_the_deadline(transposed_submission):
    result = run_cli("grade", str(transposed_submission), "--format", "json", "--only",
                     "mlp.backward[relu-identity]", "--timeout", "3")
    (check,) = [c for q in _json(result)["questions"] for c in q["checks"]]
    assert "--timeout 3" in check["replay"]
