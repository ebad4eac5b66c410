"""The rubric's layout switch for the theory part, and the theory key's trust chain.

A rubric with `[settings] layout = "mixed"` asks for gradients shaped like their parameters.
The instructor's key (reference/hw1/theory.py) answers in either layout through its `layout`
keyword; the tests show the grader follows the rubric, and (Hypothesis) that the key equals
the float64 oracle in both layouts.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.assignments.hw1 import oracle
from grader.assignments.hw1.strategies import Scenario, scenarios, theory_loss_inputs, theory_values
from grader.assignments.hw1.variants import VARIANTS

from .conftest import DEFAULT_RUBRIC, REFERENCE, SUBMISSIONS, lost

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

THEORY_ACTIVATIONS = VARIANTS["sp21"].theory_activations

OPTIONS = dict(only=["theory"], call_timeout_s=2)
GRADS = ("dl_dW1", "dl_db1", "dl_dW2", "dl_db2")

WRAPPER = '''"""The instructor's key (copied here as _key.py), answering in the mixed layout."""
import _key


def forward(x, W1, b1, W2, b2, f, g):
    return _key.forward(x, W1, b1, W2, b2, f, g)


def loss(y, y_hat, kind):
    return _key.loss(y, y_hat, kind)


def jacobians(x, y, W1, b1, W2, b2, f, g, loss):
    return _key.jacobians(x, y, W1, b1, W2, b2, f, g, loss, layout="mixed")


def backward(x, y, W1, b1, W2, b2, dl_dyhat, dz2_dz1, dyhat_dz3, f):
    return _key.backward(x, y, W1, b1, W2, b2, dl_dyhat, dz2_dz1, dyhat_dz3, f, layout="mixed")


def sgd_step(W1, b1, W2, b2, dl_dW1, dl_db1, dl_dW2, dl_db2, lr):
    return _key.sgd_step(W1, b1, W2, b2, dl_dW1, dl_db1, dl_dW2, dl_db2, lr, layout="mixed")
'''


@pytest.fixture(scope="module")
def mixed_rubric(tmp_path_factory):
    text = DEFAULT_RUBRIC.read_text()
    text, count = re.subn(r'^layout = "numerator"', 'layout = "mixed"', text, flags=re.M)
    assert count == 1
    path = tmp_path_factory.mktemp("rubric") / "rubric.toml"
    path.write_text(text)
    assert tomllib.loads(text)["settings"]["layout"] == "mixed"
    return path


@pytest.fixture(scope="module")
def mixed_key(tmp_path_factory):
    """A submission folder whose theory.py is the reference key with layout="mixed"."""
    folder = tmp_path_factory.mktemp("mixed_key")
    shutil.copy(REFERENCE / "theory.py", folder / "_key.py")
    (folder / "theory.py").write_text(WRAPPER)
    return folder


def _theory_questions(report) -> dict:
    return {q.id: q for q in report.questions if q.id.startswith("theory.")}


def _failing(report, question: str) -> list:
    return [c for c in report.checks if c.question == question and c.status != "pass"]


# -- grading under the mixed rubric --------------------------------------------------------------

def test_reference_key_defaults_to_numerator_so_it_is_not_graded_directly_under_mixed(grade, mixed_rubric):
    report = grade(REFERENCE, rubric_path=mixed_rubric, **OPTIONS)
    assert report.score < report.max_score
    assert {"theory.jacobians", "theory.backward"} <= set(lost(report))


def test_reference_key_in_mixed_layout_scores_full_marks_under_the_mixed_rubric(grade, mixed_rubric, mixed_key):
    report = grade(mixed_key, rubric_path=mixed_rubric, **OPTIONS)
    questions = _theory_questions(report)
    assert set(questions) == {"theory.forward", "theory.loss", "theory.jacobians", "theory.backward",
                              "theory.sgd_step"}
    assert [(c.id, c.code, c.message) for c in report.checks if c.status != "pass"] == []
    assert report.score == report.max_score > 0
    assert all(c.examples > 0 for c in report.checks)


def test_reference_key_in_mixed_layout_loses_points_under_the_default_rubric(grade, mixed_key):
    """The wrapper really answers in the mixed layout: the numerator rubric charges it."""
    found = lost(grade(mixed_key, **OPTIONS))
    assert set(found) == {"theory.jacobians", "theory.backward", "theory.sgd_step"}
    assert found["theory.jacobians"] == {"transposed"}
    # the key's mixed backward is named as such: as a whole answer where it runs (K = 1), as
    # "written for mixed layout" where it raises on the numerator rubric's (1,K) row
    backward = _failing(grade(mixed_key, **OPTIONS), "theory.backward")
    assert backward
    for check in backward:
        assert check.code == "transposed"
        assert ("the whole answer is in mixed layout" in check.message
                or "backward is written for mixed layout" in check.message), check.message


def test_numerator_submission_under_the_mixed_rubric(grade, mixed_rubric):
    report = grade(SUBMISSIONS / "correct", rubric_path=mixed_rubric, **OPTIONS)
    found = lost(report)
    # forward and loss do not depend on the layout
    assert set(found) == {"theory.jacobians", "theory.backward", "theory.sgd_step"}
    # dl_dyhat: a (1,K) row where the mixed layout's (K,1) column is due; only visible for K > 1
    assert found["theory.jacobians"] == {"transposed"}
    for check in _failing(report, "theory.jacobians"):
        assert check.counterexample["K"] > 1
        assert check.message.startswith("dl_dyhat has shape (%d,%d)" % (1, check.counterexample["K"]))
        assert "mixed layout (this rubric's setting)" in check.message
    # backward: named as a numerator-layout answer, whether it runs (K = 1) or raises (K > 1)
    backward = _failing(report, "theory.backward")
    assert backward
    for check in backward:
        assert check.code == "transposed"
        assert ("the whole answer is in numerator layout" in check.message
                and "this rubric asks for mixed layout" in check.message) or (
                "backward is written for numerator layout" in check.message
                and "this rubric uses mixed layout" in check.message), check.message


def test_numerator_backward_under_the_mixed_rubric_is_diagnosed_as_a_layout_error(grade, mixed_rubric):
    report = grade(SUBMISSIONS / "correct", rubric_path=mixed_rubric, **OPTIONS)
    failing = _failing(report, "theory.backward")
    assert failing
    for check in failing:
        assert check.code == "transposed", (check.id, check.code, check.message)
        assert "numerator layout" in check.message


def test_numerator_dl_dyhat_under_the_mixed_rubric_names_the_numerator_layout(grade, mixed_rubric):
    failing = _failing(grade(SUBMISSIONS / "correct", rubric_path=mixed_rubric, **OPTIONS), "theory.jacobians")
    assert failing
    for check in failing:
        assert "numerator layout" in check.message, check.message


def test_numerator_sgd_step_under_the_mixed_rubric_names_the_transpose(grade, mixed_rubric):
    failing = _failing(grade(SUBMISSIONS / "correct", rubric_path=mixed_rubric, **OPTIONS), "theory.sgd_step")
    assert failing
    for check in failing:
        assert "transpose" in check.message, check.message


def test_whole_mixed_backward_gets_full_backward_marks_under_the_mixed_rubric(grade, mixed_rubric):
    name = "theory_backward_mixed"
    numerator = grade(SUBMISSIONS / name, **OPTIONS)
    assert set(lost(numerator)) == {"theory.backward"}             # the mistake, under the homework's rubric
    report = grade(SUBMISSIONS / name, rubric_path=mixed_rubric, **OPTIONS)
    backward = _theory_questions(report)["theory.backward"]
    assert [(c.id, c.code, c.message) for c in backward.checks if c.status != "pass"] == []
    assert backward.score == backward.max_score > 0
    assert "theory.backward" not in lost(report)


def test_a_single_mixed_gradient_is_still_wrong_under_the_mixed_rubric(grade, mixed_rubric):
    """theory_dW2_mixed has dl_dW2 shaped like W2 and the rest numerator: under the mixed rubric
    the other three gradients are the transposed ones."""
    report = grade(SUBMISSIONS / "theory_dW2_mixed", rubric_path=mixed_rubric, **OPTIONS)
    assert "theory.backward" in lost(report)
    assert all("whole answer" not in c.message for c in _failing(report, "theory.backward"))


# -- the key equals the oracle in both layouts ---------------------------------------------------

def _load_key():
    spec = importlib.util.spec_from_file_location("reference_theory_key", REFERENCE / "theory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KEY = _load_key()
# BCE needs predictions in (0, 1): a sigmoid output
GRID = scenarios(f=THEORY_ACTIVATIONS, g=THEORY_ACTIVATIONS, loss=("mse", "bce"), batch=False).map(
    lambda s: s if s.loss == "mse" else Scenario(**{**s.as_dict(), "g": "sigmoid"}))


def _same(got, expected, what):
    got = np.asarray(got)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=what)


@settings(database=None, deadline=None, max_examples=150, derandomize=True)
@given(GRID, st.sampled_from(("numerator", "mixed")))
def test_reference_theory_equals_oracle_in_both_layouts(s, layout):
    v = theory_values(s)
    net = (v["x"], v["W1"], v["b1"], v["W2"], v["b2"])

    got = KEY.forward(*net, s.f, s.g)
    expected = oracle.theory_forward(*net, s.f, s.g)
    for k in ("z1", "z2", "z3", "y_hat"):
        _same(got[k], expected[k], k)

    inputs = theory_loss_inputs(s)
    truth = oracle.theory_loss(inputs["y"], inputs["y_hat"], s.loss)
    _same(KEY.loss(inputs["y"], inputs["y_hat"], s.loss), np.asarray(truth), "loss")
    truth = oracle.theory_loss(v["y"], expected["y_hat"], s.loss)
    _same(KEY.loss(v["y"], expected["y_hat"], s.loss), np.asarray(truth), "loss at the network's prediction")

    got = KEY.jacobians(v["x"], v["y"], *net[1:], s.f, s.g, s.loss, layout=layout)
    jac = oracle.theory_jacobians(v["x"], v["y"], *net[1:], s.f, s.g, s.loss, layout)
    for k in ("dz2_dz1", "dyhat_dz3", "dl_dyhat"):
        _same(got[k], jac[k], k)
    assert jac["dl_dyhat"].shape == ((1, s.K) if layout == "numerator" else (s.K, 1))

    column = oracle.theory_jacobians(v["x"], v["y"], *net[1:], s.f, s.g, s.loss, "mixed")["dl_dyhat"]
    param_shaped = oracle.theory_param_grads(*net, s.f, s.g, column)
    grads = oracle.to_layout(param_shaped, layout)
    got = KEY.backward(v["x"], v["y"], *net[1:], jac["dl_dyhat"], jac["dz2_dz1"], jac["dyhat_dz3"], s.f, layout=layout)
    for k in GRADS:
        _same(got[k], grads[k], k)

    got = KEY.sgd_step(v["W1"], v["b1"], v["W2"], v["b2"], *(grads[k] for k in GRADS), v["lr"], layout=layout)
    for k in ("W1", "b1", "W2", "b2"):
        _same(got[k], v[k] - v["lr"] * param_shaped["dl_d" + k], "updated " + k)
