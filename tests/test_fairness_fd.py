"""Finite differences are not a derivation: a backward whose matrix-product work grows with the
parameter count forfeits like autograd (the rubric's `finite_differences` policy), with its own
code; a derived backward, vectorised or looping over the batch, is never taken for one."""

from __future__ import annotations

import pytest

from grader.assignments.hw1 import derivation_policy
from grader.engine.source import definition_lines
from grader.errors import RubricError

from .conftest import DEFAULT_RUBRIC, REFERENCE, SUBMISSIONS

FD = SUBMISSIONS / "mlp_finite_differences"
SELECTION = ["mlp.backward[sigmoid-sigmoid]", "mlp.backward[relu-identity]", "mlp.hygiene[no_autograd]"]


def test_the_rule_on_measured_work():
    count = derivation_policy.parameter_count(*derivation_policy.FD_PROBES[1])
    assert count == 84
    assert derivation_policy.finite_difference_failure([2.0, 2.0]) is None  # derived: constant
    assert derivation_policy.finite_difference_failure([6.0, 10.0]) is None  # e.g. Jacobians: grows, but few
    found = derivation_policy.finite_difference_failure([24.0, 168.0])  # central differences: 2 per parameter
    assert found is not None and found.code == "finite_differences" and "168" in found.message


@pytest.mark.slow
def test_finite_differences_forfeit_the_backward_points(grade):
    report = grade(FD, only=SELECTION)
    by_id = {c.id: c for c in report.checks}
    for check_id in SELECTION[:2]:
        check = by_id[check_id]
        assert check.code == "finite_differences" and check.score == 0 and check.max_score > 0
        assert "forfeited" in check.message
    hygiene = by_id["mlp.hygiene[no_autograd]"]
    assert hygiene.code == "finite_differences" and "84 parameters" in hygiene.message
    backward_line = definition_lines((FD / "mlp.py").read_bytes())["MLP.backward"]
    assert hygiene.location == {"file": "mlp.py", "line": backward_line}
    assert not any(c.code == "autograd_used" for c in report.checks)


@pytest.mark.slow
def test_the_notice_policy_costs_nothing(grade, tmp_path):
    rubric = tmp_path / "rubric.toml"
    text = DEFAULT_RUBRIC.read_text()
    assert 'finite_differences = "forfeit"' in text
    rubric.write_text(text.replace('finite_differences = "forfeit"', 'finite_differences = "notice"'))
    report = grade(FD, only=SELECTION, rubric_path=rubric)
    assert [(c.id, c.code) for c in report.checks if c.status != "pass"] == []
    hygiene = {c.id: c for c in report.checks}["mlp.hygiene[no_autograd]"]
    assert hygiene.score == hygiene.max_score > 0
    assert any("Notice (0 points" in note and "finite differences" in note for note in hygiene.notes)


def test_an_unknown_policy_is_a_rubric_error(tmp_path):
    from grader.engine.rubric import load_rubric

    rubric = tmp_path / "rubric.toml"
    rubric.write_text(DEFAULT_RUBRIC.read_text().replace('finite_differences = "forfeit"',
                                                         'finite_differences = "ignore"'))
    with pytest.raises(RubricError, match="finite_differences"):
        load_rubric(rubric)


@pytest.mark.slow
def test_a_backward_looping_over_the_batch_is_a_derivation(grade, tmp_path):
    """One example at a time, outer products and all: more Python, the same work."""
    source = (REFERENCE / "mlp.py").read_text()
    start = source.index("        self.grads[\"dJdW2\"] = dJdz3.T @ c[\"z2\"]")
    end = source.index("    def clear_grad_and_cache")
    looped = '''        for key in self.grads:
            self.grads[key] = torch.zeros_like(self.parameters[key[3:]])
        for row in range(dJdz3.shape[0]):
            self.grads["dJdW2"] = self.grads["dJdW2"] + torch.outer(dJdz3[row], c["z2"][row])
            self.grads["dJdb2"] = self.grads["dJdb2"] + dJdz3[row]
            self.grads["dJdW1"] = self.grads["dJdW1"] + torch.outer(dJdz1[row], c["x"][row])
            self.grads["dJdb1"] = self.grads["dJdb1"] + dJdz1[row]

'''
    (tmp_path / "mlp.py").write_text(source[:start] + looped + source[end:])
    report = grade(tmp_path, only=SELECTION)
    assert [(c.id, c.code, c.message) for c in report.checks if c.status != "pass"] == []
