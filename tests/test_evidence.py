"""The evidence of a failed check: the shrunk example's inputs and expected / got values in every
format and in the JSON (`evidence`), a standalone reproduction script (`repro`) that exits 1
against the broken submission and 0 against a correct one, locations at the statement that
produced the wrong value, and seeds named unambiguously."""

from __future__ import annotations

import ast
import io
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from rich.console import Console

from grader.assignments.hw1 import oracle
from grader.assignments.hw1.locations import value_line
from grader.engine.evidence import plain
from grader.faces.formats import render
from grader.faces.formats.table import render_terminal
from grader.faces.formats.text import difference_text, evidence_lines, value_text
from grader.model.results import CheckResult, GradeReport

from .conftest import SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

FAST = dict(max_examples=3, call_timeout_s=5)
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "report.schema.json").read_text())
PARAMS = ("W1", "b1", "W2", "b2")


@pytest.fixture
def dw1(grade) -> GradeReport:
    """The transposed-dJdW1 example, graded on one activation pair and end to end."""
    return grade(SUBMISSIONS / "mlp_dW1_no_transpose", only=["mlp.backward[relu-sigmoid]", "mlp.backward[end_to_end"],
                 **FAST)


def _check(report: GradeReport, check_id: str) -> CheckResult:
    return next(c for c in report.checks if c.id == check_id)


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _run_repro(script: str, folder: Path, tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    """The script run in a copy of `folder`, with the grader out of reach (its own folder first)."""
    where = tmp_path / name
    shutil.copytree(folder, where)
    (where / "repro.py").write_text(script)
    return subprocess.run([sys.executable, "-I", "repro.py"], cwd=where, capture_output=True, text=True, timeout=120)


def _imports(script: str) -> set[str]:
    """The top-level modules a script imports (standalone: numpy, torch, the student's module)."""
    found = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def test_the_evidence_holds_the_example_and_the_oracles_values(dw1):
    check = _check(dw1, "mlp.backward[relu-sigmoid]")
    evidence = check.evidence
    assert evidence is not None and set(evidence) == {"inputs", "expected", "got"}
    inputs = {k: np.array(v) for k, v in evidence["inputs"].items()}
    assert set(inputs) == {"x", "dJdy_hat", *PARAMS}
    example = check.counterexample
    truth = oracle.mlp_param_grads({k: inputs[k] for k in PARAMS}, inputs["x"], example["f"], example["g"],
                                   inputs["dJdy_hat"])
    for name, value in truth.items():
        np.testing.assert_allclose(np.array(evidence["expected"][name]), value, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.array(evidence["got"]["dJdW1"]).T, truth["dJdW1"], rtol=1e-5, atol=1e-6)
    assert inputs["x"].shape == (example["B"], example["n"])


def test_the_json_validates_and_survives_a_round_trip(dw1):
    report = dw1
    data = json.loads(report.dumps())
    jsonschema.validate(data, SCHEMA)
    again = GradeReport.from_json(data)
    assert again == report
    assert again.checks[0].evidence == report.checks[0].evidence and again.checks[0].repro == report.checks[0].repro


def test_non_finite_numbers_become_strings_json_can_hold():
    assert plain(np.array([[1.0, math.nan], [math.inf, -math.inf]])) == [[1.0, "nan"], ["inf", "-inf"]]
    assert "nan" in value_text([1.0, "nan"])


def test_small_values_are_shown_in_full_and_large_ones_summarised():
    small = value_text([[0.123456, -2.0], [3.0, 4.0]])
    assert "0.1235" in small and "-2." in small
    large = value_text(np.arange(100.0).reshape(10, 10).tolist())
    assert large.startswith("100 entries: min 0, max 99")
    assert "largest |difference| 1 at (9, 9)" in difference_text(
        np.eye(10).tolist(), (np.eye(10) - np.diag([0] * 9 + [1])).tolist())
    assert difference_text([[1.0, 2.0]], [[1.0], [2.0]]) == "none: got is (1,2), expected (2,1)"
    lines = evidence_lines({"inputs": {"x": [[1.0]]}, "expected": {"y": [1.0]}, "got": {"y": "None"}})
    assert any("got = None" in line for line in lines) and all(len(line) <= 80 for line in lines)


def test_the_repro_reproduces_against_the_broken_submission_only(dw1, tmp_path: Path):
    script = _check(dw1, "mlp.backward[relu-sigmoid]").repro
    assert script is not None and _imports(script) <= {"sys", "math", "traceback", "numpy", "torch", "mlp"}
    broken = _run_repro(script, SUBMISSIONS / "mlp_dW1_no_transpose", tmp_path, "broken")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "dJdW1: expected" in broken.stdout and "dJdW1: got" in broken.stdout and "REPRODUCED" in broken.stdout
    fixed = _run_repro(script, SUBMISSIONS / "correct", tmp_path, "correct")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_a_theory_repro_reproduces_against_the_broken_submission_only(grade, tmp_path: Path):
    report = grade(SUBMISSIONS / "theory_db1_column", only=["theory.backward[grid]"], **FAST)
    (check,) = report.checks
    assert check.status == "fail" and check.repro
    assert _imports(check.repro) <= {"sys", "math", "traceback", "numpy", "torch", "theory"}
    broken = _run_repro(check.repro, SUBMISSIONS / "theory_db1_column", tmp_path, "broken")
    assert broken.returncode == 1 and "dl_db1" in broken.stdout, broken.stdout + broken.stderr
    fixed = _run_repro(check.repro, SUBMISSIONS / "correct", tmp_path, "correct")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    source = SUBMISSIONS / "theory_db1_column" / "theory.py"
    assert check.location == {"file": "theory.py", "line": value_line(source.read_bytes(), "backward", "dl_db1")}


def test_a_failure_points_at_the_statement_that_assigns_the_wrong_gradient(dw1):
    report = dw1
    source = SUBMISSIONS / "mlp_dW1_no_transpose" / "mlp.py"
    line = _line_of(source, 'self.grads["dJdW1"]')
    assert _check(report, "mlp.backward[relu-sigmoid]").location == {"file": "mlp.py", "line": line}
    # end to end: the losses pass their own checks, so the wrong value is backward's
    for check in report.checks:
        if check.id.startswith("mlp.backward[end_to_end") and check.status == "fail":
            assert check.location == {"file": "mlp.py", "line": line}


def test_an_end_to_end_failure_points_at_the_loss_when_the_loss_is_wrong(grade):
    folder = SUBMISSIONS / "mlp_mse_missing_2"
    report = grade(folder, only=["mlp.backward[end_to_end-mse]", "mlp.mse_loss[gradient]"], **FAST)
    end_to_end = _check(report, "mlp.backward[end_to_end-mse]")
    assert end_to_end.status == "fail" and _check(report, "mlp.mse_loss[gradient]").status == "fail"
    assert end_to_end.location == {"file": "mlp.py", "line": value_line((folder / "mlp.py").read_bytes(),
                                                                        "mse_loss", None)}


def test_seeds_are_named_apart_in_every_format(dw1):
    report = dw1
    check = _check(report, "mlp.backward[relu-sigmoid]")
    assert "seed" not in check.counterexample and "example_seed" in check.counterexample
    assert "example_seed=%d" % check.counterexample["example_seed"] in check.message
    assert "seed=" not in check.message.replace("example_seed=", "")
    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, width=80, no_color=True, highlight=False))
    terminal = buffer.getvalue()
    assert "grading seed %d" % report.seed in terminal
    assert "the grading seed is its --seed" in terminal
    assert "example seed %d" % check.counterexample["example_seed"] in check.repro
    assert "grading seed %d" % report.seed in check.repro


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_every_text_format_shows_expected_got_and_difference(dw1, fmt: str):
    report = dw1
    text = render(fmt, [report])
    check = _check(report, "mlp.backward[relu-sigmoid]")
    for needle in ("inputs:", "dJdW1:", "expected (", "got (", "difference (got - expected)", check.replay):
        assert needle in text, needle
