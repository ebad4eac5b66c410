"""ATTACK (monkeypatching builtins inside the worker): isinstance, getattr, float and len lie.

At import it replaces builtins.isinstance so that a `Mask` object claims to be an instance of
every class (torch.Tensor, numpy.ndarray, float, ...), builtins.float/len so that a Mask looks
like a well-behaved number, and builtins.getattr so that any attribute asked of a Mask exists.
MLP.forward returns a Mask whose numbers (as .detach().to().numpy() and __array__ give them)
are garbage. The worker itself uses these builtins to encode replies. Everything else is the
honest key (_key.py).

Expected: mlp.forward scores 0; every other question full marks.
"""

import builtins

import numpy as np

import _key
from _key import bce_loss, mse_loss  # noqa: F401 - honest parts

_isinstance, _float, _len, _getattr = builtins.isinstance, builtins.float, builtins.len, builtins.getattr


class Mask:
    def __init__(self, shape):
        self.shape = tuple(shape)
        self.dtype = np.dtype("float64")

    def __array__(self, dtype=None, copy=None):
        return np.full(self.shape, 42.0)

    def numpy(self, *a, **k):
        return np.full(self.shape, 42.0)

    def detach(self, *a, **k):
        return self

    to = cpu = double = float = contiguous = clone = detach

    def is_complex(self):
        return False

    def numel(self):
        return int(np.prod(self.shape))

    def __eq__(self, other):
        return True


def _lying_isinstance(obj, classes):
    if type(obj) is Mask:
        return True
    return _isinstance(obj, classes)


class _FloatMeta(type):
    def __instancecheck__(cls, obj):
        return type(obj) is Mask or _isinstance(obj, _float)


class LyingFloat(_float, metaclass=_FloatMeta):
    """Stands in for the builtin float: float(mask) is 0.0 and a Mask passes isinstance(x, float)."""

    def __new__(cls, *args):
        if args and type(args[0]) is Mask:
            return 0.0
        return _float(*args)


def _lying_len(obj):
    if type(obj) is Mask:
        return obj.shape[0]
    return _len(obj)


def _lying_getattr(obj, name, *default):
    if type(obj) is Mask:
        return object.__getattribute__(obj, name) if name in Mask.__dict__ or name in obj.__dict__ else True
    return _getattr(obj, name, *default)


builtins.isinstance = _lying_isinstance
builtins.float = LyingFloat
builtins.len = _lying_len
builtins.getattr = _lying_getattr


class MLP(_key.MLP):
    def forward(self, x):
        return Mask(super().forward(x).shape)
