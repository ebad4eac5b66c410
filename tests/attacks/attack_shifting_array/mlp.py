"""ATTACK (lying objects): mse_loss returns objects whose __array__ changes its answer on each call.

`Shifty.__array__` gives the honest value the first time it is asked and garbage afterwards
(a grader that converted twice, once to check and once to record, would be fooled); its
__eq__ says "equal" and its __len__/__float__ lie too. Everything else is the honest key.

Expected: mlp.mse_loss scores 0 (a Shifty is not a tensor); every other question full marks.
"""

import itertools

import numpy as np
import torch

import _key
from _key import MLP, bce_loss  # noqa: F401 - honest parts


class Shifty:
    def __init__(self, honest):
        self.honest = honest.detach().numpy().astype(float)
        self.asked = itertools.count()

    def __array__(self, dtype=None, copy=None):
        if next(self.asked) == 0:
            return np.asarray(self.honest, dtype=dtype)
        return np.asarray(self.honest * 0 + 1e6 * np.random.rand(), dtype=dtype)

    def __eq__(self, other):
        return True

    def __float__(self):
        return float(np.random.rand())

    def __len__(self):
        return len(self.honest)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return torch.tensor(np.asarray(self))


def mse_loss(y, y_hat):
    J, dJdy_hat = _key.mse_loss(y, y_hat)
    return Shifty(J), Shifty(dJdy_hat)
