"""Realistic broken theory.py submissions: the grader must diagnose each one correctly.

Every folder `submissions/theory_<name>/` holds a complete student `theory.py` with exactly one
mistake (its docstring says which, and why a student makes it). For each, `EXPECTED` gives the
exact {question: {codes}} of the theory.* checks that cost points (and so: nowhere else), and
`MESSAGES` the words the diagnosis must contain so that a student can act on it.
`submissions/correct/theory.py` is an independent correct solution (not the reference key).
"""

from __future__ import annotations

import ast
import shutil
import tomllib

import pytest

from .conftest import DEFAULT_RUBRIC, assert_messages, failing as _failing, SUBMISSIONS, lost

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

OPTIONS = dict(only=["theory"], call_timeout_s=2)
THEORY_QUESTIONS = {"theory.forward", "theory.loss", "theory.jacobians", "theory.backward", "theory.sgd_step"}
RUBRIC_QUESTIONS = tomllib.loads(DEFAULT_RUBRIC.read_text())["questions"]
THEORY_POINTS = sum(q["points"] for qid, q in RUBRIC_QUESTIONS.items() if qid.startswith("theory."))
MLP_QUESTIONS = {"mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward", "mlp.hygiene"}

# {submission folder: {question: {codes of its checks that cost points}}}
EXPECTED: dict[str, dict[str, set[str]]] = {
    "theory_dl_dyhat_column": {"theory.jacobians": {"transposed"}},
    "theory_dW2_mixed": {"theory.backward": {"transposed"}},
    "theory_backward_mixed": {"theory.backward": {"transposed"}},
    "theory_db1_column": {"theory.backward": {"transposed"}},
    "theory_1d_bias_grad": {"theory.backward": {"shape"}},
    "theory_bce_no_mean": {"theory.loss": {"scaled"}, "theory.jacobians": {"scaled"}},
    "theory_mse_mean": {"theory.loss": {"scaled"}},
    "theory_jacobian_diagonal": {"theory.jacobians": {"shape"}},
    # b1 - lr * dl_db1 broadcasts a (d,1) column and a (1,d) row into a (d,d) matrix: `shape`
    "theory_sgd_no_transpose": {"theory.sgd_step": {"shape", "transposed"}},
    # non-square weights: a wrong shape; square weights: the gradient applied transposed
    "theory_sgd_weights_no_transpose": {"theory.sgd_step": {"shape", "transposed"}},
    # 1 - z^2 is not a rescaled 1 - tanh(z)^2, even where the Jacobian has one entry
    "theory_tanh_derivative": {"theory.jacobians": {"wrong_values"}},
}

# {submission: [(check id prefix, words its message must contain)]}: each needle must appear in
# the JSON message of at least one failing check whose id starts with the prefix.
MESSAGES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "theory_dl_dyhat_column": [("theory.jacobians[", (
        "dl_dyhat has shape (2,1), the transpose of the expected (1,2)",
        "dl_dyhat must be (1,K)",
        "numerator layout: the derivative of a scalar by a (K,1) vector is a (1,K) row"))],
    "theory_dW2_mixed": [("theory.backward[", (
        "dl_dW2", "dl_dW2 must be (d,K)",
        "numerator layout: the derivative of a scalar by a (K,d) matrix is a (d,K) matrix"))],
    "theory_backward_mixed": [("theory.backward[", (
        "the whole answer is in mixed layout", "this rubric asks for numerator layout",
        "dl_dW1 must be (n,d), dl_db1 (1,d), dl_dW2 (d,K), dl_db2 (1,K)"))],
    "theory_db1_column": [("theory.backward[", (
        "dl_db1", "numerator layout: the derivative of a scalar by a (d,1) vector is a (1,d) row"))],
    "theory_1d_bias_grad": [("theory.backward[", (
        "dl_db2", "1-D", "return a 2-D row array", "only the shape is not"))],
    "theory_bce_no_mean": [
        ("theory.loss[bce]", ("loss is scaled", "the factor is K", "1/K of the mean over the K outputs is missing")),
        ("theory.jacobians[", ("dl_dyhat is scaled", "the factor is K", "1/K of the mean over the K outputs"))],
    "theory_mse_mean": [("theory.loss[mse]", (
        "loss is scaled", "the factor is 1/K", "divided by K where no 1/K belongs"))],
    "theory_jacobian_diagonal": [("theory.jacobians[", (
        "diagonal", "which must be returned whole", "dz2_dz1", "dyhat_dz3"))],
    "theory_sgd_weights_no_transpose": [("theory.sgd_step[square]", (
        "the update of W1 is transposed", "the step is W - lr * dl_dW^T"))],
    "theory_tanh_derivative": [("theory.jacobians[classification-mse]", ("dz2_dz1 has wrong values",))],
}

# A missing (or extra) transpose in the update is named as such, whatever shape it produced.
STEP_HINTS = {
    "theory_sgd_no_transpose": "theory.sgd_step[",
    "theory_sgd_weights_no_transpose": "theory.sgd_step[update]",
}


@pytest.fixture
def example(grade):
    """`example(name)`: the bundled example submission `name` graded with this module's options."""
    return lambda name: grade(SUBMISSIONS / name, **OPTIONS)




def test_every_theory_submission_folder_is_in_a_table():
    folders = {p.name for p in SUBMISSIONS.iterdir() if p.name.startswith("theory_") and p.is_dir()}
    assert folders == set(EXPECTED)
    assert len(folders) >= 9
    for name in folders:
        assert sorted(p.name for p in (SUBMISSIONS / name).iterdir() if p.suffix == ".py") == ["theory.py"]
        source = (SUBMISSIONS / name / "theory.py").read_text()
        assert source.startswith('"""') and "MISTAKE:" in source.split('"""')[1], name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_diagnosis(example, name):
    report = example(name)
    assert {q.id for q in report.questions} == THEORY_QUESTIONS
    assert lost(report) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message(example, name):
    assert_messages(example(name), MESSAGES[name])


# -- the correct submission and a folder without mlp.py ------------------------------------------

def test_correct_theory_scores_full_marks(grade):
    report = grade(SUBMISSIONS / "correct", **OPTIONS)
    assert {q.id for q in report.questions} == THEORY_QUESTIONS
    assert [(c.id, c.code, c.message) for c in report.checks if c.status != "pass"] == []
    assert report.score == report.max_score == THEORY_POINTS
    assert all(c.examples > 0 for c in report.checks)


SIGNATURES = {
    "forward": ["x", "W1", "b1", "W2", "b2", "f", "g"],
    "loss": ["y", "y_hat", "kind"],
    "jacobians": ["x", "y", "W1", "b1", "W2", "b2", "f", "g", "loss"],
    "backward": ["x", "y", "W1", "b1", "W2", "b2", "dl_dyhat", "dz2_dz1", "dyhat_dz3", "f"],
    "sgd_step": ["W1", "b1", "W2", "b2", "dl_dW1", "dl_db1", "dl_dW2", "dl_db2", "lr"],
}


@pytest.mark.parametrize("name", ["correct"] + sorted(EXPECTED))
def test_submissions_have_the_contracts_exact_signatures(name):
    """The theory contract's signatures (README, "Theory part"), no `layout` parameter, no use of the key."""
    source = (SUBMISSIONS / name / "theory.py").read_text()
    tree = ast.parse(source)
    found = {node.name: [a.arg for a in node.args.args] + [a.arg for a in node.args.kwonlyargs]
             for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in SIGNATURES}
    assert found == SIGNATURES
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert imported == {"numpy"}


def test_folder_with_only_theory_gets_zero_with_missing_in_every_mlp_question(grade, tmp_path):
    shutil.copy(SUBMISSIONS / "correct" / "theory.py", tmp_path / "theory.py")
    report = grade(tmp_path, call_timeout_s=2)
    by_question = {q.id: q for q in report.questions}
    assert set(by_question) == MLP_QUESTIONS | THEORY_QUESTIONS
    for qid in MLP_QUESTIONS:
        question = by_question[qid]
        assert question.max_score > 0 and question.score == 0, qid
        assert question.checks
        for check in question.checks:
            assert check.status != "pass" and check.code == "missing", (check.id, check.code)
            assert "mlp.py" in check.to_json()["message"], check.id
    for qid in THEORY_QUESTIONS:
        assert by_question[qid].score == by_question[qid].max_score > 0, qid
    assert set(lost(report)) == MLP_QUESTIONS


# -- details of single submissions -------------------------------------------------------------

def _ce(check) -> dict:
    assert check.counterexample, check.id
    return check.counterexample


def test_row_column_mistakes_show_only_where_the_dimension_is_above_one(example):
    """A (1,m) row and an (m,1) column are the same array at m = 1."""
    for name, question, visible in (
            ("theory_dl_dyhat_column", "theory.jacobians", lambda e: e["K"] > 1),
            ("theory_db1_column", "theory.backward", lambda e: e["d"] > 1),
            ("theory_dW2_mixed", "theory.backward", lambda e: e["d"] > 1 or e["K"] > 1),
            ("theory_jacobian_diagonal", "theory.jacobians", lambda e: e["d"] > 1 or e["K"] > 1)):
        failing = _failing(example(name), question + "[")
        assert failing, name
        for check in failing:
            assert visible(_ce(check)), (name, check.id, check.counterexample)


def test_backward_is_judged_with_the_oracles_jacobians(example):
    """A wrong `jacobians` is not charged again in backward, and a wrong `backward` not in sgd_step."""
    for name in ("theory_dl_dyhat_column", "theory_jacobian_diagonal", "theory_bce_no_mean", "theory_tanh_derivative"):
        report = example(name)
        assert _failing(report, "theory.backward[") == [], name
        assert _failing(report, "theory.sgd_step[") == [], name
    for name in ("theory_dW2_mixed", "theory_backward_mixed", "theory_db1_column", "theory_1d_bias_grad"):
        assert _failing(example(name), "theory.sgd_step[") == [], name


def test_whole_answer_in_mixed_layout_is_named_once_for_the_whole_answer(example):
    for check in _failing(example("theory_backward_mixed"), "theory.backward["):
        assert check.code == "transposed"
        assert check.message.startswith("the whole answer is in mixed layout"), check.message


def test_one_transposed_gradient_is_not_called_the_whole_answer(example):
    for name in ("theory_dW2_mixed", "theory_db1_column"):
        for check in _failing(example(name), "theory.backward["):
            assert "whole answer" not in check.message, (name, check.message)


def test_one_d_bias_gradient_fails_even_at_size_one(example):
    report = example("theory_1d_bias_grad")
    failing = _failing(report, "theory.backward[")
    # every gradient check (the linearity check compares the student with itself and passes)
    assert sorted(c.id for c in failing) == sorted(
        "theory.backward[%s]" % case for case in ("regression", "classification-mse", "classification-bce", "grid"))
    for check in failing:     # written as numpy prints a 1-D shape, so the student recognises it
        expected = "dl_db2 has shape (%d,); expected (1,%d)" % ((_ce(check)["K"],) * 2)
        assert check.message.startswith(expected), check.message
    assert any(_ce(c)["K"] == 1 for c in failing)


def test_scaled_losses_name_the_law_across_sizes(example):
    bce = example("theory_bce_no_mean")
    failing = _failing(bce, "theory.")
    assert failing and all(c.details.get("scale") == "K" for c in failing)
    assert all(_ce(c)["loss"] == "bce" and _ce(c)["K"] > 1 for c in failing)
    assert [c.id for c in failing if c.question == "theory.loss"] == ["theory.loss[bce]"]
    assert "theory.jacobians[regression]" not in {c.id for c in failing}    # MSE is right
    mse = example("theory_mse_mean")
    failing = _failing(mse, "theory.")
    assert [c.id for c in failing] == ["theory.loss[mse]"]
    assert failing[0].details.get("scale") == "1/K" and _ce(failing[0])["K"] > 1


def test_tanh_derivative_fails_only_with_tanh(example):
    report = example("theory_tanh_derivative")
    failing = _failing(report, "theory.")
    assert failing and {c.question for c in failing} == {"theory.jacobians"}
    for check in failing:
        ce = _ce(check)
        assert "tanh" in (ce["f"], ce["g"]), check.counterexample
        # the Jacobian of the tanh layer is the one named
        assert check.message.startswith("dz2_dz1" if ce["f"] == "tanh" else "dyhat_dz3"), check.message
    # the two Jacobian cases without tanh pass
    assert {c.id for c in failing} <= {"theory.jacobians[classification-mse]", "theory.jacobians[grid]"}


def test_sgd_without_transpose(example):
    """All four unchanged: the biases broadcast to (d,d) before any weight is looked at. Weights
    only: square weights give the transposed update, other sizes a wrong shape."""
    everything = {c.id: c for c in _failing(example("theory_sgd_no_transpose"), "theory.sgd_step[")}
    assert sorted(everything) == ["theory.sgd_step[square]", "theory.sgd_step[update]"]
    square = everything["theory.sgd_step[square]"]
    assert square.code == "transposed" and square.message.startswith("the update of W1 is transposed")
    update = everything["theory.sgd_step[update]"]
    assert update.code == "shape" and "broadcast against a transposed gradient" in update.message
    weights = {c.id: c for c in _failing(example("theory_sgd_weights_no_transpose"), "theory.sgd_step[")}
    assert set(weights) == {"theory.sgd_step[square]", "theory.sgd_step[update]"}
    square = weights["theory.sgd_step[square]"]
    ce = _ce(square)
    assert square.code == "transposed" and ce["n"] == ce["d"] == ce["K"] >= 2
    update = weights["theory.sgd_step[update]"]
    ce = _ce(update)
    assert update.code == "shape" and not ce["n"] == ce["d"] == ce["K"]


@pytest.mark.parametrize("name", sorted(STEP_HINTS))
def test_missing_transpose_in_the_update_is_named(example, name):
    failing = _failing(example(name), STEP_HINTS[name])
    assert failing
    for check in failing:
        assert "W - lr * dl_dW^T" in check.to_json()["message"], (check.id, check.message)


# -- coverage of the diagnosis codes -----------------------------------------------------------

def test_every_code_produced_is_asserted_somewhere(example):
    named = {code for table in EXPECTED.values() for codes in table.values() for code in codes}
    produced = set()
    for name in sorted(EXPECTED):
        produced |= {c.code for c in example(name).checks if c.status != "pass"}
    assert produced <= named, produced - named
    assert {"transposed", "shape", "scaled", "wrong_values"} <= produced


def test_a_1d_jacobian_diagonal_is_told_to_return_the_whole_matrix(grade, tmp_path):
    """The diagonal of a (d,d) Jacobian as a 1-D (d,) array: `shape`, and the advice names the
    full matrix (a 1-D answer where a row or column is due is told which one instead)."""
    source = (SUBMISSIONS / "theory_jacobian_diagonal" / "theory.py").read_text()
    source = source.replace("dz2_dz1 = _slope(f, z1)", "dz2_dz1 = _slope(f, z1).reshape(-1)")
    source = source.replace("dyhat_dz3 = _slope(g, z3)", "dyhat_dz3 = _slope(g, z3).reshape(-1)")
    assert source.count(".reshape(-1)") == 2
    (tmp_path / "theory.py").write_text(source)
    report = grade(tmp_path, **OPTIONS)
    assert lost(report) == {"theory.jacobians": {"shape"}}
    failing = _failing(report, "theory.jacobians[")
    assert failing
    for check in failing:  # shrunk to d=1, where a (1,1) Jacobian is still not "a row"
        assert "dz2_dz1 has shape (%d,)" % check.counterexample["d"] in check.message, check.message
        assert "a 1-D array has no orientation: return the whole (d,d) matrix, not its diagonal" in check.message
