"""Autograd findings only on evidence: the patterns that cost correct real submissions points.

The scan matches modules by whole dotted components, resolves imported names by Python's
scoping, never counts code that turns autograd off, and the worker's runtime count decides:
a suspicion nothing confirms is a 0-point notice. Each real pattern has an example folder
(submissions/correct_mlp_*) that must grade exactly as the instructor's reference does.
"""

from __future__ import annotations

import pytest

from grader.assignments.hw1.autograd_scan import autograd_uses

from .conftest import REFERENCE, SUBMISSIONS

CORRECT_PATTERNS = ("correct_mlp_torch_functional", "correct_mlp_unused_func_import", "correct_mlp_grad_disabled")


def _whats(source: str) -> list[tuple[int, str]]:
    return [(u.line, u.what) for u in autograd_uses(source)]


def test_torch_functional_is_not_torch_func():
    source = ("from torch.functional import Tensor\nimport torch.functional as TF\nimport torch.nn.functional as F\n"
              "x: Tensor = TF.einsum('i->', F.relu(y))\n")
    assert _whats(source) == []
    assert _whats("import torch.func as tf\ntf.grad(f)\n") == [(2, "uses torch.func.grad")]


def test_an_import_never_used_is_no_use_even_when_its_name_is_reused():
    method = ("from torch.func import grad\nclass MLP:\n    def clear(self):\n        for grad in self.grads:\n"
              "            self.grads[grad].zero_()\n")
    assert _whats(method) == []
    comprehension = "from torch.autograd import grad\nnames = [grad for grad in ('a', 'b')]\n"
    assert _whats(comprehension) == []
    rebound_at_module = "from torch.func import grad\nfor grad in range(3):\n    print(grad)\n"
    assert _whats(rebound_at_module) == []


def test_an_imported_name_that_is_used_is_found_where_it_is_used():
    source = "from torch.func import grad\n\ndef backward(f, x):\n    return grad(f)(x)\n"
    assert _whats(source) == [(4, "uses torch.func.grad")]
    aliased = "from torch import autograd as ag\n\ndef backward(y, x):\n    return ag.grad(y, x)\n"
    assert _whats(aliased) == [(4, "uses torch.autograd.grad")]
    shadowed_then_used = "from torch.func import grad\nprint(grad)\nfor grad in range(3):\n    pass\n"
    assert _whats(shadowed_then_used) == [(2, "uses torch.func.grad")]


@pytest.mark.parametrize("line", [
    "torch.set_grad_enabled(False)",
    "torch.set_grad_enabled(mode=False)",
    "torch.autograd.set_grad_enabled(False)",
    "torch.autograd.set_grad_enabled(mode=False)",
    "torch.autograd.grad_mode.set_grad_enabled(False)",
    "torch.no_grad()",
    "torch.autograd.no_grad()",
    "torch.inference_mode()",
    "torch.autograd.inference_mode(True)",
    "torch.is_grad_enabled()",
])
def test_turning_autograd_off_uses_nothing(line):
    assert _whats("import torch\nwith %s:\n    pass\n" % line) == []
    imported = "from torch import set_grad_enabled, no_grad, inference_mode\nset_grad_enabled(mode=False)\n"
    assert _whats(imported) == []


@pytest.mark.parametrize("line, what", [
    ("torch.set_grad_enabled(True)", "calls torch.set_grad_enabled()"),
    ("torch.autograd.set_grad_enabled(mode=flag)", "calls torch.autograd.set_grad_enabled()"),
    ("torch.enable_grad()", "calls torch.enable_grad()"),
])
def test_turning_autograd_on_is_a_suspicion(line, what):
    assert _whats("import torch\nwith %s:\n    pass\n" % line) == [(2, what)]


@pytest.mark.slow
@pytest.mark.parametrize("name", CORRECT_PATTERNS)
def test_each_real_pattern_grades_as_the_reference(grade, name):
    """Full grade: every check passes and the score equals the instructor's reference's."""
    source = (SUBMISSIONS / name / "mlp.py").read_text()
    assert autograd_uses(source) == []
    report = grade(SUBMISSIONS / name)
    reference = grade(REFERENCE)
    assert [(c.id, c.code, c.message) for c in report.checks if c.status != "pass"] == []
    assert report.score == reference.score == reference.max_score


@pytest.mark.slow
def test_real_autograd_still_forfeits_on_the_runtime_count(grade):
    report = grade(SUBMISSIONS / "mlp_autograd_backward", only=["mlp.backward", "mlp.hygiene"], max_examples=2)
    backward = [c for c in report.checks if c.question == "mlp.backward" and c.max_score > 0]
    assert backward and all(c.code == "autograd_used" and c.score == 0 for c in backward)
    assert all("torch.autograd called during MLP.backward" in c.message for c in backward)
    hygiene = {c.id: c for c in report.checks}["mlp.hygiene[no_autograd]"]
    assert hygiene.code == "autograd_used" and "requires_grad_" in hygiene.message


@pytest.mark.slow
def test_a_suspicion_nothing_confirms_is_a_zero_point_notice(grade, tmp_path):
    """Autograd switched on in the constructor only (the grader sets the parameters itself, and
    backward is derived by hand): the scan reports it, the count finds nothing, no point is lost."""
    source = (REFERENCE / "mlp.py").read_text().replace(
        "        self.cache = dict()\n\n    def forward",
        "        self.cache = dict()\n        for value in self.parameters.values():\n"
        "            value.requires_grad_()\n\n    def forward", 1)
    assert [u.what for u in autograd_uses(source)] == ["calls requires_grad_()"]
    (tmp_path / "mlp.py").write_text(source)
    report = grade(tmp_path, only=["mlp.backward", "mlp.hygiene"], max_examples=2)
    assert [(c.id, c.code) for c in report.checks if c.status != "pass"] == []
    hygiene = {c.id: c for c in report.checks}["mlp.hygiene[no_autograd]"]
    assert hygiene.score == hygiene.max_score > 0
    assert any(note.startswith("Notice (0 points)") and "requires_grad_" in note for note in hygiene.notes)


@pytest.mark.slow
def test_autograd_in_one_loss_forfeits_only_that_loss_gradient(grade, tmp_path):
    """The count is kept per student function: bce_loss's autograd, also reached end to end
    through MLP.backward's checks, costs bce_loss's gradient points, not the backward's."""
    source = (REFERENCE / "mlp.py").read_text() + '''

_by_hand = bce_loss


def bce_loss(y, y_hat):
    J, _ = _by_hand(y, y_hat)
    leaf = y_hat.detach().clone().requires_grad_()
    torch.nn.functional.binary_cross_entropy(leaf, y).backward()
    return J, leaf.grad
'''
    (tmp_path / "mlp.py").write_text(source)
    report = grade(tmp_path, only=["mlp.bce_loss", "mlp.backward[end_to_end-bce]", "mlp.hygiene[no_autograd]"],
                   max_examples=2)
    by_id = {c.id: c for c in report.checks}
    assert by_id["mlp.bce_loss[gradient]"].code == "autograd_used"
    assert by_id["mlp.bce_loss[value]"].status == "pass"
    assert by_id["mlp.backward[end_to_end-bce]"].status == "pass"
    assert "bce_loss (" in by_id["mlp.hygiene[no_autograd]"].message
