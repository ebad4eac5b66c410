"""Per-gradient credit: a check with components (the four gradients of a backward check) earns
the shares of the components that are right; a wrong gradient costs only its own share, a
failure of the whole (an exception, a forfeit) costs every share. The terminal groups identical
failures into one row while the JSON keeps every check and component."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st
from rich.console import Console

from grader.engine.checks import CheckSpec, Failure, PartState
from grader.engine.compare import Tolerance, judge
from grader.engine.grading import score_components
from grader.engine.plan import plan
from grader.engine.rubric import load_rubric
from grader.engine.runner import run_check
from grader.errors import RubricError
from grader.faces.formats.table import render_terminal
from grader.model.results import CheckResult, ComponentResult, GradeReport

from .conftest import DEFAULT_RUBRIC, REFERENCE, SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

FAST = dict(max_examples=3, call_timeout_s=5)
MLP_GRADS = ("dJdW1", "dJdb1", "dJdW2", "dJdb2")


# -- the engine, without a worker ----------------------------------------------------------

@dataclass(frozen=True)
class Example:
    k: int = 0
    seed: int = 0


class Context:
    """A CheckContext whose checks never call a worker."""

    tolerance = Tolerance(1e-6, 1e-9)
    settings = None
    last_call: tuple[str, dict[str, Any]] | None = None

    def __init__(self) -> None:
        self.state = PartState()

    def call(self, task: str, args: dict[str, Any], what: str, key: str | None = None) -> dict[str, Any]:
        raise AssertionError("no worker here")

    def is_dead(self, key: str) -> bool:
        return False


TRUTH = np.array([[1.0, -2.0], [0.5, 3.0]])


def _spec(run, components=("a", "b")) -> CheckSpec:
    return CheckSpec("q.c[x]", "q.c", "a check", st.builds(Example, k=st.integers(0, 9), seed=st.integers(0, 3)),
                     run, max_examples=30, components=components)


def test_each_component_gets_its_own_verdict_on_the_same_examples():
    def run(ctx, example: Example):
        b = 2 * TRUTH if example.k >= 6 else TRUTH  # wrong only on some examples
        return judge([("a", -TRUTH, TRUTH), ("b", b, TRUTH), ("c", TRUTH, TRUTH)], ctx.tolerance)

    outcome = run_check(_spec(run, ("a", "b", "c")), Context(), 0, 30)
    verdicts = {v.name: v for v in outcome.components}
    assert outcome.status == "fail"
    assert verdicts["a"].failure.code == "sign"
    assert verdicts["b"].failure.code == "scaled" and verdicts["b"].scenario.k == 6, "shrunk on its own"
    assert verdicts["c"].failure is None


def test_a_component_right_on_every_example_passes():
    def run(ctx, example: Example):
        return judge([("a", TRUTH.T.copy(), TRUTH), ("b", TRUTH, TRUTH)], ctx.tolerance)

    verdicts = {v.name: v for v in run_check(_spec(run), Context(), 0, 30).components}
    assert verdicts["a"].failure.code == "transposed" and verdicts["b"].failure is None


def test_a_failure_of_the_whole_fails_every_component():
    def run(ctx, example: Example):
        if example.k > 4:
            return Failure("not_array", "backward returned None")
        return judge([("a", TRUTH, TRUTH), ("b", TRUTH, TRUTH)], ctx.tolerance)

    verdicts = run_check(_spec(run), Context(), 0, 30).components
    assert [v.failure.code for v in verdicts] == ["not_array", "not_array"]


def test_points_are_split_by_component_weight():
    check = CheckResult("q.c[x]", "q.c", "t", "fail", 0.0, 10.0, code="transposed", components=[
        ComponentResult("a", 2.0, "fail", code="transposed"), ComponentResult("b", 1.0, "pass"),
        ComponentResult("c", 1.0, "pass"), ComponentResult("d", 0.0, "pass")])
    score_components(check)
    assert [c.max_score for c in check.components] == [5.0, 2.5, 2.5, 0.0]
    assert check.score == 5.0
    check.status, check.code = "error", "timeout"
    check.settle_components()
    score_components(check)
    assert check.score == 0.0 and {c.code for c in check.components} == {"timeout"}


def test_a_verdict_on_the_whole_check_reaches_every_component():
    check = CheckResult("q.c[x]", "q.c", "t", "fail", 0.0, 4.0, code="transposed", components=[
        ComponentResult("a", 1.0, "fail", code="transposed"), ComponentResult("b", 1.0, "pass")])
    check.settle_components()  # its own component failure: unchanged
    assert [c.status for c in check.components] == ["fail", "pass"]
    check.code = "autograd_used"  # a forfeit decided across checks
    check.settle_components()
    assert [(c.status, c.code) for c in check.components] == [("fail", "autograd_used")] * 2


def test_component_weights_are_validated_against_the_checks(tmp_path: Path):
    text = DEFAULT_RUBRIC.read_text().replace("dJdW1 = 1 ", "dJdW3 = 1 ")
    assert "dJdW3" in text
    (tmp_path / "rubric.toml").write_text(text)
    with pytest.raises(RubricError, match="dJdW3"):
        plan(load_rubric(tmp_path / "rubric.toml"))


# -- HW1, graded -------------------------------------------------------------------------

def _backward(report: GradeReport) -> list[CheckResult]:
    return [c for c in report.checks if c.question == "mlp.backward"]


def _earned(check: CheckResult) -> float:
    """What a check earns from its components' own verdicts (the oracle's comparisons)."""
    total = sum(c.weight for c in check.components)
    return sum(check.max_score * c.weight / total for c in check.components if c.status == "pass")


def test_a_transposed_dJdW1_costs_only_its_share_of_each_backward_check(grade):
    report = grade(SUBMISSIONS / "mlp_dW1_no_transpose", only=["mlp.backward"], **FAST)
    rubric = load_rubric()
    checks = [c for c in _backward(report) if c.max_score > 0]
    assert len(checks) == 9, "one per activation pair"
    for check in checks:
        verdicts = {c.name: c for c in check.components}
        assert list(verdicts) == list(MLP_GRADS)
        assert check.status == "fail" and check.code == "transposed"
        assert verdicts["dJdW1"].status == "fail" and verdicts["dJdW1"].code == "transposed"
        assert all(verdicts[k].status == "pass" for k in MLP_GRADS[1:]), check.id
        assert check.score == pytest.approx(_earned(check))
    weights = {k: rubric.component_weight("mlp.backward", k) for k in MLP_GRADS}
    kept = sum(weights[k] for k in MLP_GRADS[1:]) / sum(weights.values())
    points = rubric.questions["mlp.backward"].points
    assert report.questions[0].score == pytest.approx(points * kept)
    assert 0 < report.questions[0].score < points


def test_rubric_component_weights_move_the_shares(grade, tmp_path: Path):
    text = DEFAULT_RUBRIC.read_text().replace("dJdW1 = 1 ", "dJdW1 = 2 ")
    (tmp_path / "rubric.toml").write_text(text)
    report = grade(SUBMISSIONS / "mlp_dW1_no_transpose", only=["mlp.backward[relu-sigmoid]"],
                   rubric_path=tmp_path / "rubric.toml", **FAST)
    (check,) = report.checks
    shares = {c.name: c.max_score for c in check.components}
    assert shares["dJdW1"] == pytest.approx(2 * shares["dJdb1"])
    assert check.score == pytest.approx(check.max_score * 3 / 5)


def test_one_wrong_theory_gradient_costs_only_its_share(grade):
    report = grade(SUBMISSIONS / "theory_db1_column", only=["theory.backward"], **FAST)
    failed = [c for c in report.checks if c.status == "fail"]
    assert failed
    for check in failed:
        wrong = [c.name for c in check.components if c.status == "fail"]
        assert wrong == ["dl_db1"], check.id
        assert check.score == pytest.approx(_earned(check)) and check.score > 0


def test_an_exception_in_backward_costs_every_share(grade, tmp_path: Path):
    source = (REFERENCE / "mlp.py").read_text()
    broken = source.replace('self.grads["dJdb1"] = dJdz1.sum(dim=0)', 'raise ValueError("not yet")')
    assert broken != source
    (tmp_path / "mlp.py").write_text(broken)
    report = grade(tmp_path, only=["mlp.backward[relu-relu]"], **FAST)
    (check,) = report.checks
    assert check.code == "exception" and check.score == 0.0
    assert {(c.status, c.code) for c in check.components} == {("fail", "exception")}


def test_an_autograd_forfeit_costs_every_share(grade):
    report = grade(SUBMISSIONS / "mlp_autograd_backward", only=["mlp.backward[relu-relu]"], **FAST)
    (check,) = report.checks
    assert check.code == "autograd_used" and check.score == 0.0
    assert {(c.status, c.code) for c in check.components} == {("fail", "autograd_used")}


def test_a_correct_submission_keeps_every_share(grade):
    report = grade(SUBMISSIONS / "correct", only=["mlp.backward", "theory.backward"], **FAST)
    assert report.score == report.max_score
    assert all(c.status == "pass" for check in report.checks for c in check.components)


def test_the_json_keeps_every_check_and_component(grade):
    report = grade(SUBMISSIONS / "mlp_dW1_no_transpose", only=["mlp.backward"], **FAST)
    data = report.to_json()
    checks = [c for q in data["questions"] for c in q["checks"]]
    assert len(checks) == 11
    assert all(len(c["components"]) == 4 for c in checks)
    assert GradeReport.from_json(data) == report


def test_the_terminal_groups_identical_failures_into_one_row(grade):
    report = grade(SUBMISSIONS / "mlp_dW1_no_transpose", only=["mlp.backward"], **FAST)
    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, width=80, no_color=True, highlight=False))
    text = buffer.getvalue()
    flat = " ".join(text.replace("│", " ").split())
    same = [c for c in _backward(report) if c.status == "fail"]
    assert "dJdW1 is transposed in all %d checks" % len(same) in flat or (
        "dJdW1 is transposed in %d of" % len(same) in flat)
    assert "dJdb1, dJdW2, dJdb2 are right" in flat
    table = flat.split("Failures in detail")[0]
    assert table.count("[transposed]") == 1, "one row for the identical failures"
    assert text.count("(and %d more failing the same way)" % (len(same) - 1)) == 1


def test_a_replay_command_is_one_whole_line_in_80_columns(grade, tmp_path: Path):
    folder = tmp_path / "a-submission-folder-with-a-rather-long-name-for-the-test"
    shutil.copytree(SUBMISSIONS / "mlp_dW1_no_transpose", folder)
    report = grade(folder, only=["mlp.backward[relu-sigmoid]"], **FAST)
    (check,) = report.checks
    assert check.replay and len(check.replay) > 80
    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, width=80, no_color=True, highlight=False))
    assert check.replay in [line.strip() for line in buffer.getvalue().splitlines()]


def test_the_credit_line_names_each_gradient_only_when_some_are_right():
    from grader.faces.formats.text import components_text

    partial = CheckResult("q.c[x]", "q.c", "t", "fail", 0.0, 4.0, code="transposed", components=[
        ComponentResult("a", 1.0, "fail", 0.0, 2.0, code="transposed"), ComponentResult("b", 1.0, "pass", 2.0, 2.0)])
    assert components_text(partial) == "credit per value: a transposed (0 of 2), b right (2 of 2)"
    whole = CheckResult("q.c[x]", "q.c", "t", "error", 0.0, 4.0, code="exception", components=[
        ComponentResult(name, 1.0, "fail", 0.0, 2.0, code="exception") for name in "ab"])
    assert components_text(whole) == ""
