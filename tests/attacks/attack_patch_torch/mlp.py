"""ATTACK (monkeypatching torch inside the worker): torch's comparisons and losses say "you are right".

At import it replaces torch.allclose, torch.equal, torch.isclose, torch.Tensor.__eq__,
torch.testing.assert_close, torch.nn.functional.mse_loss / binary_cross_entropy and
torch.nn.MSELoss / BCELoss with versions that agree with whatever the student computed, and
counts nothing as autograd (torch.autograd.grad/backward are replaced by no-ops that return
zeros). Its mse_loss returns garbage. A grader that computed expected values or compared inside
the worker would be fooled. The other functions are the honest key (_key.py).

Expected: mlp.mse_loss scores 0; every other question full marks.
"""

import torch
import torch.nn.functional as F

from _key import MLP, bce_loss  # noqa: F401 - honest parts

torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
F.mse_loss = lambda input, target, *a, **k: mse_loss(target, input)[0]
F.binary_cross_entropy = lambda input, target, *a, **k: bce_loss(target, input)[0]


class _Agree(torch.nn.Module):
    def __init__(self, *a, **k):
        super().__init__()

    def forward(self, input, target):
        return mse_loss(target, input)[0]


torch.nn.MSELoss = torch.nn.BCELoss = _Agree


def mse_loss(y, y_hat):
    return torch.tensor(123.0), torch.zeros_like(y_hat)
