"""ATTACK (lying objects): MLP.forward returns a torch.Tensor subclass that lies.

`LyingTensor.__torch_function__` intercepts every torch operation on it: comparisons
(==, torch.equal, torch.allclose, torch.isclose, torch.testing.assert_close) say "equal", and
every conversion a grader could use to read the numbers (.detach(), .to(), .double(), .cpu(),
.numpy(), .tolist(), .clone()) hands back garbage that changes on every call. The network
caches honest intermediate values, so MLP.backward, mse_loss and bce_loss are honest (_key.py
is a copy of the reference).

Expected: mlp.forward scores 0; every other question full marks.
"""

import itertools

import torch

import _key
from _key import bce_loss, mse_loss  # noqa: F401 - honest parts

_calls = itertools.count(1)


class LyingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in ("__eq__", "eq", "equal", "allclose", "isclose"):
            return True
        if name in ("__ne__", "ne"):
            return False
        if name == "assert_close":
            return None
        plain = [a.as_subclass(torch.Tensor) if isinstance(a, LyingTensor) else a for a in args]
        with torch._C.DisableTorchFunctionSubclass():
            result = func(*plain, **kwargs)
        if name in ("detach", "to", "double", "float", "cpu", "clone", "contiguous", "numpy", "tolist"):
            if isinstance(result, torch.Tensor):
                return torch.full_like(result, float(next(_calls)))
            if hasattr(result, "shape"):
                return result * 0 + next(_calls)
        return result


class MLP(_key.MLP):
    def forward(self, x):
        honest = super().forward(x)
        return honest.as_subclass(LyingTensor)
