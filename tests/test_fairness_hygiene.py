"""Hygiene is earned: a hygiene check counts only where the function it watches returned
correct values, so a submission that computes nothing earns no hygiene points, while one
with a single wrong gradient keeps them."""

from __future__ import annotations

import pytest

from .conftest import SUBMISSIONS


def _hygiene(grade, name: str) -> dict:
    report = grade(SUBMISSIONS / name, only=["mlp.hygiene"], max_examples=3)
    return {c.id: c for c in report.checks}


@pytest.mark.slow
def test_a_submission_that_returns_none_everywhere_earns_no_hygiene_points(grade):
    checks = _hygiene(grade, "mlp_returns_none")
    assert len(checks) == 6
    for check in checks.values():
        assert check.score == 0 and check.max_score > 0, check.id
        assert check.status == "error" and "not earned" in check.message, (check.id, check.message)
    assert checks["mlp.hygiene[forward_inputs_unchanged]"].code == "not_array"
    assert "MLP.forward returned None" in checks["mlp.hygiene[forward_inputs_unchanged]"].message
    assert "mse_loss" in checks["mlp.hygiene[loss_inputs_unchanged]"].message
    assert "MLP.backward" in checks["mlp.hygiene[clear_grad_and_cache]"].message


@pytest.mark.slow
def test_the_rest_of_that_submission_is_diagnosed_as_not_implemented(grade):
    report = grade(SUBMISSIONS / "mlp_returns_none", only=["mlp.forward", "mlp.backward"], max_examples=2)
    assert report.score == 0
    assert {c.code for c in report.checks if c.question == "mlp.forward"} == {"not_array"}
    backward = [c for c in report.checks if c.id.startswith("mlp.backward[") and "end_to_end" not in c.id]
    assert backward and all(c.code == "wrong_values" and "not implemented yet?" in c.message for c in backward)


@pytest.mark.slow
def test_one_wrong_gradient_keeps_the_hygiene_points(grade):
    """dJdW1 is never transposed, but dJdb1, dJdW2 and dJdb2 are right: backward computes
    something right on every example, so its hygiene checks are earned."""
    checks = _hygiene(grade, "mlp_dW1_no_transpose")
    assert [(c.id, c.code) for c in checks.values() if c.status != "pass"] == []
