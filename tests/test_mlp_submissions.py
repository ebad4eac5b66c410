"""Realistic broken mlp.py submissions: the grader must diagnose each one correctly.

Every folder `submissions/mlp_<name>/` holds a complete student file with exactly one mistake
(its docstring says which). For each, `EXPECTED` gives the exact {question: {codes}} of the
mlp.* checks that cost points, and `MESSAGES` the words the diagnosis must contain so that a
student can act on it. `submissions/correct/` is an independent correct solution.
"""

from __future__ import annotations

import pytest

from grader.model.codes import CODES

from .conftest import DEFAULT_RUBRIC, SUBMISSIONS, assert_messages, failing as _failing, lost

pytestmark = pytest.mark.slow  # every test here grades submissions end to end

OPTIONS = dict(call_timeout_s=2)

# {submission folder: {question: {codes of its checks that cost points}}} (mlp.* questions only)
EXPECTED: dict[str, dict[str, set[str]]] = {
    "mlp_dW1_no_transpose": {"mlp.backward": {"transposed"}},
    "mlp_dW2_no_transpose": {"mlp.backward": {"transposed"}},
    "mlp_db2_batch_mean": {"mlp.backward": {"scaled"}},
    "mlp_mse_missing_2": {"mlp.mse_loss": {"scaled"}},
    "mlp_mse_hardcoded_50": {"mlp.mse_loss": {"scaled"}},
    "mlp_half_batch_mean": {"mlp.mse_loss": {"scaled"}},
    "mlp_compensating_scale": {"mlp.mse_loss": {"scaled"}, "mlp.bce_loss": {"scaled"},
                               "mlp.backward": {"scaled"}},
    "mlp_bce_wrong_sign": {"mlp.bce_loss": {"sign"}},
    "mlp_bce_no_clamp": {"mlp.bce_loss": {"nonfinite"}},
    "mlp_bce_stub": {"mlp.bce_loss": {"not_array"}},
    "mlp_bias_grad_keepdim": {"mlp.backward": {"shape"}},
    # hygiene is earned: MLP.forward's own hygiene check counts only where forward is right
    "mlp_forward_no_return": {"mlp.forward": {"not_array"}, "mlp.hygiene": {"not_array"}},
    "mlp_clear_keeps_grads": {"mlp.hygiene": {"wrong_values"}},
    "mlp_autograd_backward": {"mlp.backward": {"autograd_used"}, "mlp.hygiene": {"autograd_used"}},
    "mlp_bce_infinite_loop": {"mlp.bce_loss": {"timeout"}},
    "mlp_import_missing_module": {q: {"import_error"} for q in (
        "mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward", "mlp.hygiene")},
    "mlp_exit_at_import": {q: {"import_error"} for q in (
        "mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward", "mlp.hygiene")},
    "mlp_syntax_error": {q: {"import_error"} for q in (
        "mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward", "mlp.hygiene")},
    # a one-entry value is not "c times" the truth unless c is a simple ratio (2, 1/2, 1/50...)
    "mlp_sigmoid_derivative": {"mlp.backward": {"wrong_values"}},
    # a missing bce_loss costs only its own question: the losses' hygiene check uses mse_loss
    "mlp_bce_renamed": {"mlp.bce_loss": {"missing"}},
    # tiny random noise: values within tolerance, but not the same twice; and no clamp at -100
    "mlp_bce_random_eps": {"mlp.bce_loss": {"wrong_values"}, "mlp.hygiene": {"nondeterministic"}},
    # an in-place `dJdy_hat *= ...`: charged once, as a mutation (each determinism run gets fresh inputs)
    "mlp_mutates_upstream": {"mlp.hygiene": {"input_mutated"}},
    # minus the truth at y = 1 only, and ratio B at K = 1 only: no law, so no sign or scaled
    "mlp_bce_grad_reciprocal": {"mlp.bce_loss": {"wrong_values", "nonfinite"}},
    "mlp_mse_outer_norm": {"mlp.mse_loss": {"wrong_values"}},
    # no autograd, but no derivation either: the backward's work grows with the parameter count
    "mlp_finite_differences": {"mlp.backward": {"finite_differences"}, "mlp.hygiene": {"finite_differences"}},
}

# Submissions whose codes depend on the example (checked by their own tests below).
OTHER = ("mlp_forward_no_transpose", "mlp_returns_none")

# {submission: [(check id prefix, words its message must contain)]}: each needle must appear in
# the JSON message of at least one failing check whose id starts with the prefix.
MESSAGES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "mlp_dW1_no_transpose": [("mlp.backward[", ("dJdW1", "transpose"))],
    "mlp_dW2_no_transpose": [("mlp.backward[", ("dJdW2", "transpose"))],
    "mlp_db2_batch_mean": [("mlp.backward[", ("dJdb2", "scaled", "1/B", "averaged over the batch"))],
    "mlp_mse_missing_2": [("mlp.mse_loss[gradient]", ("dJdy_hat", "1/2", "factor 2 is missing"))],
    "mlp_mse_hardcoded_50": [("mlp.mse_loss[value]", ("J is scaled", "B*K/50", "hard-coded")),
                             ("mlp.mse_loss[gradient]", ("dJdy_hat", "B*K/50", "hard-coded"))],
    "mlp_half_batch_mean": [("mlp.mse_loss[value]", ("half_batch_mean", "K/2")),
                            ("mlp.mse_loss[gradient]", ("half_batch_mean", "K/2"))],
    "mlp_compensating_scale": [
        ("mlp.mse_loss[gradient]", ("B*K", "1/(B*K) of the mean is missing", "Compensating errors")),
        ("mlp.bce_loss[gradient]", ("B*K", "Compensating errors")),
        ("mlp.backward[", ("1/(B*K)", "Compensating errors"))],
    "mlp_bce_wrong_sign": [("mlp.bce_loss[value]", ("J", "wrong sign")),
                           ("mlp.bce_loss[gradient]", ("dJdy_hat", "wrong sign"))],
    "mlp_bce_no_clamp": [("mlp.bce_loss[saturated]", ("NaN", "clamps each log at -100"))],
    "mlp_bce_stub": [("mlp.bce_loss[value]", ("bce_loss", "returned None"))],
    "mlp_bias_grad_keepdim": [("mlp.backward[", ("dJdb1", "(d,)", "broadcasting hides this"))],
    "mlp_forward_no_return": [("mlp.forward[", ("y_hat", "returned None", "missing return"))],
    "mlp_clear_keeps_grads": [("mlp.hygiene[clear_grad_and_cache]", ("clear_grad_and_cache", "not zero"))],
    "mlp_autograd_backward": [("mlp.backward[", ("forfeited", "autograd", "MLP.backward")),
                              ("mlp.hygiene[no_autograd]", ("autograd", "requires_grad_", "line"))],
    "mlp_bce_infinite_loop": [("mlp.bce_loss[", ("bce_loss", "did not finish within 2 s"))],
    "mlp_import_missing_module": [("mlp.", ("importing mlp.py", "ModuleNotFoundError", "hw1_utils"))],
    "mlp_exit_at_import": [("mlp.", ("importing mlp.py", "SystemExit", "sys.exit(0)",
                                     "output before it failed: y_hat shape"))],
    "mlp_syntax_error": [("mlp.", ("importing mlp.py", "SyntaxError", "never closed",
                                   "at mlp.py:120 in <module>: loss = torch.mean((y_hat - y) ** 2"))],
    "mlp_mutates_upstream": [("mlp.hygiene[backward_inputs_unchanged]",
                              ("argument dJdy_hat", "in place"))],
    "mlp_bce_renamed": [("mlp.bce_loss[", ("has no bce_loss",))],
    "mlp_bce_grad_reciprocal": [("mlp.bce_loss[gradient]", ("dJdy_hat has wrong values", "minus the expected",
                                                             "no sign error explains every probe"))],
    "mlp_mse_outer_norm": [("mlp.mse_loss[value]", ("J has wrong values",))],
    "mlp_finite_differences": [("mlp.backward[", ("forfeited", "finite differences", "forward passes")),
                               ("mlp.hygiene[no_autograd]", ("168 forward passes", "84 parameters"))],
    "mlp_bce_random_eps": [("mlp.hygiene[deterministic]", ("bce_loss", "differs between two calls")),
                           ("mlp.bce_loss[saturated]", ("clamps each log at -100",))],
}


@pytest.fixture
def example(grade):
    """`example(name)`: the bundled example submission `name` graded with this module's options."""
    return lambda name: grade(SUBMISSIONS / name, **OPTIONS)


def mlp_lost(report) -> dict[str, set[str]]:
    return {q: codes for q, codes in lost(report).items() if q.startswith("mlp.")}




def test_every_submission_folder_is_in_a_table():
    folders = {p.name for p in SUBMISSIONS.iterdir() if p.name.startswith("mlp_") and p.is_dir()}
    tabled = set(EXPECTED) | set(OTHER)
    assert folders == tabled
    for name in folders:
        source = (SUBMISSIONS / name / "mlp.py").read_text()
        assert source.startswith('"""') and "MISTAKE:" in source.split('"""')[1], name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_diagnosis(example, name):
    assert mlp_lost(example(name)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message(example, name):
    assert_messages(example(name), MESSAGES[name])


# -- details of single submissions -------------------------------------------------------------

def test_correct_scores_full_marks_on_the_practical_part(grade):
    report = grade(SUBMISSIONS / "correct", **OPTIONS)
    questions = [q for q in report.questions if q.id.startswith("mlp.")]
    assert {q.id for q in questions} == {"mlp.forward", "mlp.mse_loss", "mlp.bce_loss", "mlp.backward",
                                         "mlp.hygiene"}
    failures = [(c.id, c.code, c.message) for q in questions for c in q.checks if c.status != "pass"]
    assert failures == []
    assert sum(q.score for q in questions) == sum(q.max_score for q in questions) > 0
    assert all(c.examples > 0 for q in questions for c in q.checks)


def test_transposes_fail_only_where_the_matrix_is_transposed(example):
    for name, bad in (("mlp_dW1_no_transpose", "dJdW1"), ("mlp_dW2_no_transpose", "dJdW2")):
        report = example(name)
        failing = _failing(report, "mlp.backward[")
        # every f, g combination is wrong (and so are both end-to-end checks)
        assert len(failing) == 11, [c.id for c in failing]
        for check in failing:
            assert check.code == "transposed"
            assert check.message.startswith(bad), check.message


def test_batch_mean_bias_is_invisible_at_batch_one_and_named_with_the_law(example):
    report = example("mlp_db2_batch_mean")
    failing = _failing(report, "mlp.backward[")
    assert failing and all(c.counterexample["B"] > 1 for c in failing)
    assert any(c.details.get("scale") == "1/B" for c in failing)


def test_compensating_pair_passes_end_to_end_and_says_so(example):
    report = example("mlp_compensating_scale")
    by_id = {c.id: c for c in report.checks}
    for kind in ("mse", "bce"):
        e2e = by_id["mlp.backward[end_to_end-%s]" % kind]
        assert e2e.status == "pass"
        assert any("Compensating errors" in note for note in e2e.notes)
    assert by_id["mlp.mse_loss[value]"].status == "pass"
    assert by_id["mlp.bce_loss[value]"].status == "pass"
    assert "Compensating errors" in report.dumps()
    assert by_id["mlp.mse_loss[gradient]"].details.get("scale") == "B*K"


def test_hardcoded_scale_law(example):
    report = example("mlp_mse_hardcoded_50")
    for check in _failing(report, "mlp.mse_loss["):
        assert check.details.get("scale") == "B*K/50"


def test_import_failures_are_errors_everywhere_in_the_practical_part(example):
    for name in ("mlp_import_missing_module", "mlp_exit_at_import", "mlp_syntax_error"):
        report = example(name)
        checks = [c for c in report.checks if c.question.startswith("mlp.")]
        assert checks and all(c.status == "error" and c.code == "import_error" for c in checks), name
        # the location is the student's line, never importlib's frames
        assert all("<frozen" not in c.message for c in checks), name


def test_autograd_forfeits_backward_but_not_the_losses(example):
    report = example("mlp_autograd_backward")
    backward = [c for c in report.checks if c.question == "mlp.backward"]
    assert backward and all(c.code == "autograd_used" and c.score == 0 for c in backward)
    for question in ("mlp.forward", "mlp.mse_loss", "mlp.bce_loss"):
        assert all(c.status == "pass" for c in report.checks if c.question == question)


def test_infinite_loop_times_out_only_in_bce(example):
    report = example("mlp_bce_infinite_loop")
    bce = [c for c in report.checks if c.question == "mlp.bce_loss"]
    assert [c.code for c in bce] == ["timeout"] * 3
    assert [c.examples for c in bce] == [1] * 3  # the check stopped at its first timeout
    assert _failing(report, "mlp.mse_loss") == []
    # the hygiene check of the losses still found evidence (from mse_loss) and passed
    assert {c.id: c.status for c in report.checks}["mlp.hygiene[loss_inputs_unchanged]"] == "pass"


def test_unclamped_bce_fails_only_at_saturated_predictions(example):
    report = example("mlp_bce_no_clamp")
    assert [c.id for c in _failing(report, "mlp.")] == ["mlp.bce_loss[saturated]"]


def test_forward_without_transpose_crashes_or_gives_wrong_values(example):
    """x @ W1 with W1 (d, n): a shape error when n != d, silently x W1 when n == d."""
    report = example("mlp_forward_no_transpose")
    found = mlp_lost(report)
    assert set(found) == {"mlp.forward", "mlp.backward"}
    assert all(codes and codes <= {"exception", "wrong_values"} for codes in found.values())
    assert set().union(*found.values()) == {"exception", "wrong_values"}
    forward = [c for c in report.checks if c.question == "mlp.forward"]
    assert all(c.status == "fail" for c in forward)
    for check in forward:
        n, d = check.counterexample["n"], check.counterexample["d"]
        if check.code == "exception":
            assert n != d
            assert "RuntimeError" in check.message and "torch.matmul(x, W1)" in check.message
        else:
            assert n == d
    backward = [c for c in _failing(report, "mlp.backward[") if "end_to_end" not in c.id]
    assert backward
    for check in backward:
        if check.code == "exception":  # the message itself names forward's line
            assert "MLP.forward raised RuntimeError" in check.message
        else:  # wrong values: the note sends the student to forward first
            assert any("fix forward first" in note for note in check.notes), check.id


def test_sigmoid_derivative_fails_only_with_a_sigmoid(example):
    report = example("mlp_sigmoid_derivative")
    for check in report.checks:
        if check.question == "mlp.backward" and "end_to_end" not in check.id:
            assert (check.status != "pass") == ("sigmoid" in check.id), (check.id, check.status)
    assert set(mlp_lost(report)) == {"mlp.backward"}


def test_mutation_is_reported_for_the_backward_input(example):
    report = example("mlp_mutates_upstream")
    check = {c.id: c for c in report.checks}["mlp.hygiene[backward_inputs_unchanged]"]
    assert check.code == "input_mutated"
    assert "changed its argument dJdy_hat in place" in check.message
    assert all(c.status == "pass" for c in report.checks if c.question in ("mlp.forward", "mlp.backward"))


def test_missing_factor_two_does_not_name_another_convention(example):
    """At B=K=1, where the shrunk example lands, a missing factor 2 equals the half_batch_mean
    convention; only the law across sizes may name a convention."""
    check = {c.id: c for c in example("mlp_mse_missing_2").checks}["mlp.mse_loss[gradient]"]
    assert "half_batch_mean" not in check.message


# -- coverage of the diagnosis codes -----------------------------------------------------------

def test_every_code_produced_is_asserted_somewhere(example):
    """Each code any of these submissions produces appears in an expectation above."""
    named = {code for table in EXPECTED.values() for codes in table.values() for code in codes}
    # asserted by test_forward_without_transpose_crashes_or_gives_wrong_values
    named |= {"exception", "wrong_values"}
    produced = set()
    for name in sorted(set(EXPECTED) | set(OTHER)):
        produced |= {c.code for c in example(name).checks if c.question.startswith("mlp.") and c.status != "pass"}
    assert produced <= named, produced - named
    assert produced <= set(CODES), produced - set(CODES)
    assert len(produced) >= 12


def test_every_design_code_is_produced_by_some_test():
    """Every diagnosis code (grader.model.codes), each expected of a bundled submission here or in the theory tests,
    except `crash`, which test_faults produces by killing a worker mid-check, and the written answers' codes, which
    test_documents produces through the engine."""
    from .test_documents import ANSWER_CODES
    from .test_theory_submissions import EXPECTED as THEORY_EXPECTED

    named = {code for table in (*EXPECTED.values(), *THEORY_EXPECTED.values())
             for codes in table.values() for code in codes}
    named |= {"exception"}  # test_forward_without_transpose_crashes_or_gives_wrong_values
    named |= {"crash"}  # test_faults.test_worker_killed_mid_check_is_crash_and_the_rest_is_graded
    named |= ANSWER_CODES  # test_documents, one test per code
    assert set(CODES) <= named, set(CODES) - named


def test_the_rubric_can_grade_to_an_earlier_semesters_loss_convention(grade, tmp_path):
    """With loss_convention = "half_batch_mean" the earlier offering's MSE earns full marks and
    torch's mean is the one diagnosed `scaled`, named as the torch convention."""
    rubric = DEFAULT_RUBRIC.read_text()
    assert rubric.count('variant = "sp21"') == 1
    path = tmp_path / "rubric.toml"
    path.write_text(rubric.replace('variant = "sp21"', 'variant = "sp21"\nloss_convention = "half_batch_mean"'))
    options = dict(only=["mlp.mse_loss", "mlp.backward"], rubric_path=path)
    earlier = grade(SUBMISSIONS / "mlp_half_batch_mean", **options)
    assert lost(earlier) == {}
    assert all(c.status == "pass" for c in earlier.checks)
    torch_mean = grade(SUBMISSIONS / "correct", **options)
    assert lost(torch_mean) == {"mlp.mse_loss": {"scaled"}}
    for check in _failing(torch_mean, "mlp.mse_loss["):
        assert "matches the 'mean' convention" in check.message, check.message
