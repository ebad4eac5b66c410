"""The static autograd scan: it finds autograd where gradients must be derived by hand, and
does not flag code that only turns autograd off, reads a flag, or runs under __main__."""

from __future__ import annotations

import shutil

import pytest

from grader.assignments.hw1.autograd_scan import autograd_uses
from grader.engine.source import definition_lines

from .conftest import REFERENCE

HARMLESS = '''
import torch
from torch.autograd import no_grad
class MLP:
    def forward(self, x):
        assert not x.requires_grad
        with torch.no_grad():
            pass
        with torch.autograd.no_grad():
            pass
        torch.set_grad_enabled(False)
        x.requires_grad_(False)
        x.requires_grad = False
        return x
if __name__ == "__main__":
    y = torch.ones(1, requires_grad=True)
    (y * 2).sum().backward()
    print(y.grad, torch.autograd.grad)
'''

USES = '''
import torch
from torch.autograd import grad
class MLP:
    def backward(self, d):
        w = torch.zeros(2, requires_grad=True)
        w.requires_grad_()
        v = w.detach()
        v.requires_grad = True
        with torch.enable_grad():
            pass
        return w.grad, torch.autograd.functional.jacobian
'''


def test_harmless_code_is_not_flagged():
    assert autograd_uses(HARMLESS) == []


def test_every_kind_of_use_is_flagged_with_its_line_and_function():
    found = autograd_uses(USES)
    lines = {u.line for u in found}
    assert lines == {6, 7, 9, 10, 12}  # line 3 imports grad, which is never used
    assert all(u.function == "MLP.backward" for u in found if u.line > 4)
    assert any("torch.autograd" in u.what for u in found)


def test_definition_lines():
    lines = definition_lines(USES)
    assert lines == {"MLP": 4, "MLP.backward": 5}


@pytest.mark.slow
def test_a_self_test_under_main_costs_nothing(grade, tmp_path):
    """A correct mlp.py that checks itself against autograd under __main__, as the course's
    own test scripts do, keeps full marks."""
    folder = tmp_path / "self_test"
    folder.mkdir()
    source = (REFERENCE / "mlp.py").read_text() + HARMLESS.split("if __name__", 1)[0].replace(
        "class MLP:", "class _Unused:") + '''
if __name__ == "__main__":
    net = MLP(2, 3, "relu", 3, 1, "identity")
    for p in net.parameters.values():
        p.requires_grad_()
    out = net.forward(torch.randn(4, 2)).sum()
    out.backward()
    print({k: p.grad for k, p in net.parameters.items()})
'''
    (folder / "mlp.py").write_text(source)
    shutil.copy(REFERENCE / "theory.py", folder / "theory.py")
    report = grade(folder, only=["mlp.backward", "mlp.hygiene"], max_examples=3)
    assert [(c.id, c.code) for c in report.checks if c.status != "pass"] == []


def test_a_deeply_nested_expression_cannot_crash_the_scan():
    """The scan walks with its own stack: 2000 nested unary minuses parse, and still get scanned;
    source too deep for Python's parser is simply not scanned (the runtime count remains)."""
    deep = "import torch\nx = " + "-" * 2000 + "torch.autograd.grad\n"
    assert {u.what for u in autograd_uses(deep)} >= {"uses torch.autograd.grad"}
    assert autograd_uses("x = " + "-" * 100000 + "1\n") == []


@pytest.mark.slow
def test_the_runtime_count_catches_autograd_the_scan_cannot_see(grade, tmp_path):
    """Autograd reached through getattr with built-up names evades the static scan; the worker's
    count of torch.autograd calls during MLP.backward still forfeits the backward points."""
    folder = tmp_path / "obfuscated"
    folder.mkdir()
    source = (REFERENCE / "mlp.py").read_text() + '''

_GRAD = getattr(getattr(torch, "auto" + "grad"), "gr" + "ad")
_honest_backward = MLP.backward


def _backward(self, dJdy_hat):
    probe = torch.ones(1)
    setattr(probe, "requires_" + "grad", True)
    _GRAD((probe * 2).sum(), probe)
    return _honest_backward(self, dJdy_hat)


MLP.backward = _backward
'''
    assert autograd_uses(source) == []
    (folder / "mlp.py").write_text(source)
    report = grade(folder, only=["mlp.backward", "mlp.hygiene", "mlp.forward"], max_examples=2)
    backward = [c for c in report.checks if c.question == "mlp.backward" and c.max_score > 0]
    assert backward and all(c.code == "autograd_used" and c.score == 0 for c in backward)
    assert all("torch.autograd called during MLP.backward" in c.message for c in backward)
    hygiene = {c.id: c for c in report.checks}["mlp.hygiene[no_autograd]"]
    assert hygiene.code == "autograd_used" and "at run time (during MLP.backward" in hygiene.message
    assert all(c.status == "pass" for c in report.checks if c.question == "mlp.forward")
