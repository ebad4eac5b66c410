"""bench/example_cost.py: one grading with its parts timed, per example."""

from __future__ import annotations

import importlib.util

import pytest

from grader.assignments.hw1 import mlp_checks, theory_checks
from grader.engine import calls, runner

from .conftest import ROOT, SUBMISSIONS


def _example_cost():
    spec = importlib.util.spec_from_file_location("example_cost", ROOT / "bench" / "example_cost.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_parts_of_a_grade_are_timed_and_counted_per_example_and_the_grader_is_left_as_it_was():
    example_cost = _example_cost()
    def grader_functions() -> tuple:
        return (runner.run_check, runner.evaluate, calls.PartContext.call, mlp_checks.oracle,
                mlp_checks.float32_spread, theory_checks.oracle)

    originals = grader_functions()
    cost = example_cost.measure([str(SUBMISSIONS / "correct"), "--only", "mlp.forward[relu-sigmoid]",
                                 "--max-examples", "3", "--sandbox", "none"])
    assert (cost["examples"], cost["checks"], cost["score"]) == (3, 1, cost["max_score"])
    assert cost["worker_calls"] >= 3 and cost["oracle_calls"] >= 3
    assert set(cost["seconds"]) == set(example_cost.PARTS)
    assert all(cost["seconds"][part] > 0 for part in ("hypothesis", "check code", "oracle", "float32", "worker"))
    assert sum(cost["seconds"].values()) <= cost["grade_wall_s"] + 1e-3
    assert cost["outside_parts_s"] == pytest.approx(cost["grade_wall_s"] - sum(cost["seconds"].values()), abs=2e-3)
    assert abs(cost["ms_per_example"]["oracle"] * 3 - cost["seconds"]["oracle"] * 1000) < 0.1
    lines = example_cost.render(cost)
    assert any("oracle" in line and "%d calls" % cost["oracle_calls"] in line for line in lines)
    assert grader_functions() == originals


def test_the_measured_commands_keep_their_bytecode_in_the_benchmarks_own_folder(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("grade_speed", ROOT / "bench" / "grade_speed.py")
    assert spec is not None and spec.loader is not None
    grade_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grade_speed)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    assert grade_speed.measured_env()["PYTHONDONTWRITEBYTECODE"] == "1"  # before main sets a folder
    monkeypatch.setitem(grade_speed.BYTECODE_ENV, "PYTHONPYCACHEPREFIX", str(tmp_path))
    env = grade_speed.measured_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["PYTHONPYCACHEPREFIX"] == str(tmp_path)
