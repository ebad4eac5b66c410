"""The per-example savings change no value: the oracle's backpropagation, the strategies built
once, and the cached oracle values give exactly what the plain computations give."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from grader.assignments.hw1 import oracle
from grader.assignments.hw1.strategies import Scenario, network_values

from .conftest import SUBMISSIONS


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("f, g", [("relu", "sigmoid"), ("sigmoid", "tanh"), ("5relu", "identity")])
def test_backpropagate_gives_backward_with_an_explicit_gradient_bit_for_bit(dtype, f, g):
    for seed in range(4):
        values = network_values(Scenario(n=3, d=4, K=2, B=5, seed=seed))
        upstream = torch.tensor(np.random.default_rng(seed).standard_normal((5, 2)), dtype=dtype)
        grads = []
        for how in ("sum", "explicit"):
            leaves = {k: torch.tensor(values[k], dtype=dtype, requires_grad=True) for k in ("W1", "b1", "W2", "b2")}
            y_hat = oracle.mlp_forward_torch(leaves, torch.tensor(values["x"], dtype=dtype), f, g)
            if how == "sum":
                oracle.backpropagate(y_hat, upstream)
            else:
                y_hat.backward(upstream)
            grads.append({k: v.grad.clone() for k, v in leaves.items()})
        for name in grads[0]:
            assert torch.equal(grads[0][name], grads[1][name]), (seed, name)


def test_backpropagate_refuses_an_upstream_of_another_shape():
    leaf = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        oracle.backpropagate(leaf * 2, torch.ones(3, dtype=torch.float64))


def test_the_oracle_does_not_load_torch_fx_symbolic_shapes():
    """backward(upstream) would import torch.fx's symbolic shapes and sympy (a third of a
    second of every cold grade); the oracle's gradients must not."""
    code = ("import sys, numpy as np\n"
            "from grader.assignments.hw1 import oracle, float32_spread\n"
            "p = {'W1': np.ones((2, 3)), 'b1': np.ones(2), 'W2': np.ones((1, 2)), 'b2': np.ones(1)}\n"
            "x, y = np.ones((4, 3)), np.zeros((4, 1))\n"
            "truth = oracle.mlp_end_to_end_grads(p, x, y, 'relu', 'sigmoid', 'bce')\n"
            "float32_spread.end_to_end_slack(p, x, y, 'relu', 'sigmoid', 'bce', 'mean', truth)\n"
            "oracle.theory_param_grads(np.ones((3, 1)), p['W1'], np.ones((2, 1)), p['W2'], np.ones((1, 1)),"
            " 'relu', 'sigmoid', np.ones((1, 1)))\n"
            "print('torch.fx.experimental.symbolic_shapes' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_remembered_result_is_the_computed_one_and_cannot_be_changed_by_a_caller():
    from grader.assignments.hw1 import memo

    calls = []

    @memo.remembered
    def double(values: dict, scale: float) -> dict:
        calls.append(scale)
        return {k: scale * v for k, v in values.items()}

    values = {"a": np.arange(3.0), "b": np.ones((2, 2))}
    first = double(values, 2.0)
    first["a"][0] = 99.0
    again = double(values, 2.0)
    assert calls == [2.0]
    assert np.array_equal(again["a"], 2.0 * np.arange(3.0))
    double(values, -0.0)
    double(values, 0.0)
    double({"a": np.arange(3.0, dtype=np.float32), "b": np.ones((2, 2))}, 2.0)
    double({"a": np.arange(3.0).reshape(3, 1), "b": np.ones((2, 2))}, 2.0)
    assert calls == [2.0, -0.0, 0.0, 2.0, 2.0]  # -0.0, another dtype, another shape: computed again


def test_the_remembered_oracle_gives_what_it_computes():
    values = network_values(Scenario(n=2, d=3, K=2, B=4, seed=7))
    params = {k: values[k] for k in ("W1", "b1", "W2", "b2")}
    first = oracle.mlp_forward(params, values["x"], "relu", "sigmoid")
    again = oracle.mlp_forward(params, values["x"], "relu", "sigmoid")
    plain = oracle.mlp_forward.__wrapped__(params, values["x"], "relu", "sigmoid")  # type: ignore[attr-defined]
    assert np.array_equal(first, plain) and np.array_equal(again, plain) and again is not first


def test_planning_a_grade_imports_no_torch_and_the_parts_name_what_the_engine_imports_for_them():
    """The workers start after planning: a plan that imported torch would make their own torch
    imports wait for the grader's. The oracle comes in through PartSpec.imports instead."""
    code = ("import sys\n"
            "from grader.engine.plan import plan\n"
            "from grader.engine.rubric import load_rubric\n"
            "planned = plan(load_rubric(None), None)\n"
            "print('torch' in sys.modules)\n"
            "print(sorted({name for part in planned.parts for name in part.imports}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    torch_loaded, imports = done.stdout.strip().splitlines()
    assert torch_loaded == "False"
    assert imports == str(["grader.assignments.hw1.float32_spread", "grader.assignments.hw1.oracle"])


def test_a_deferred_module_is_the_module_at_first_use():
    from grader.assignments.hw1 import mlp_checks, theory_checks
    from grader.assignments.hw1 import oracle as real

    assert mlp_checks.oracle.mlp_forward is real.mlp_forward
    assert theory_checks.oracle.to_layout is real.to_layout
    assert "deferred module grader.assignments.hw1.oracle" in repr(mlp_checks.oracle)


class _Context:
    """The least a check needs: a tolerance, the settings, and a worker that answers `reply`."""

    def __init__(self, reply: dict) -> None:
        from grader.assignments.hw1.variants import parse_settings
        from grader.engine.compare import Tolerance

        self.tolerance = Tolerance()
        self.settings = parse_settings({}, "sp21")
        self.reply = reply
        self.calls = 0

    def call(self, task, args, what, key=None, functions=()):
        self.calls += 1
        return self.reply


@pytest.mark.parametrize("wrong", [False, True])
def test_the_float32_spread_is_computed_only_for_a_value_wrong_within_the_tolerance_alone(monkeypatch, wrong):
    from grader.assignments.hw1 import float32_spread, mlp_checks

    s = Scenario(n=2, d=3, K=2, B=4, f="relu", g="sigmoid", loss="mse", seed=3)
    values = network_values(s)
    params = {k: values[k] for k in ("W1", "b1", "W2", "b2")}
    context = _Context({})
    dJdy_hat = mlp_checks._upstream(context, s, values)
    grads = oracle.mlp_param_grads(params, values["x"], s.f, s.g, dJdy_hat)
    if wrong:
        grads["dJdW1"] = 2 * grads["dJdW1"]
    context.reply = {"run": {"grads": grads}}
    spreads = []
    real = float32_spread.backward_slack
    monkeypatch.setattr(float32_spread, "backward_slack", lambda *a: spreads.append(a) or real(*a))
    outcome = mlp_checks.backward_check(context, s)
    assert context.calls == 1
    assert (outcome is None, len(spreads)) == ((False, 1) if wrong else (True, 0))
    if wrong:
        assert (outcome.code, outcome.name) == ("scaled", "dJdW1")


def test_the_engine_imports_a_parts_imports_before_any_student_code_is_loaded():
    """Without the command line's preload too: the oracle (and torch) are imported by the time
    a worker imports the student's module."""
    code = ("import sys\n"
            "from grader.engine.grading import GradeOptions, Grading\n"
            "from grader.sandbox import process\n"
            "seen = []\n"
            "load = process.WorkerSession.load\n"
            "def spy(self, *args, **kwargs):\n"
            "    seen.append(all(m in sys.modules for m in ('torch', 'grader.assignments.hw1.oracle',"
            " 'grader.assignments.hw1.float32_spread')))\n"
            "    return load(self, *args, **kwargs)\n"
            "process.WorkerSession.load = spy\n"
            "report = Grading(sys.argv[1], GradeOptions(only=('mlp.forward[relu-relu]',), max_examples=1,"
            " sandbox='none')).run()\n"
            "print(seen, report.score == report.max_score)\n")
    done = subprocess.run([sys.executable, "-c", code, str(SUBMISSIONS / "correct")], capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "[True] True"
