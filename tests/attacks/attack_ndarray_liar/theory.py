"""ATTACK (lying objects): forward and loss return numpy.ndarray subclasses that lie.

`Liar` claims to equal anything: __eq__/__ne__, __array_ufunc__ (np.equal, np.isclose, np.less,
...), __array_function__ (np.allclose, np.array_equal, np.testing helpers, np.linalg.norm) and
__bool__ all say "equal" or "no difference". Its actual numbers are garbage (the honest value
plus 7), so a grader that compared in the student's process, or with the student's objects,
would be fooled. The other functions are the honest key (_tkey.py, a copy of the reference).

Expected: theory.forward and theory.loss score 0; every other question full marks.
"""

import numpy as np

import _tkey
from _tkey import backward, jacobians, sgd_step  # noqa: F401 - honest parts


class Liar(np.ndarray):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc.__name__ in ("equal", "isclose", "less_equal", "greater_equal", "logical_and", "isfinite"):
            return True
        if ufunc.__name__ in ("not_equal", "less", "greater", "isnan", "isinf"):
            return False
        if ufunc.__name__ in ("subtract", "absolute"):
            return np.zeros(np.shape(inputs[0]))
        raw = [np.asarray(i.view(np.ndarray)) if isinstance(i, Liar) else i for i in inputs]
        return getattr(ufunc, method)(*raw, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        name = func.__name__
        if name in ("allclose", "array_equal", "array_equiv", "isclose", "all"):
            return True
        if name in ("norm", "max", "amax", "sum"):
            return 0.0
        if name in ("assert_allclose", "assert_array_equal", "assert_equal"):
            return None
        return super().__array_function__(func, types, args, kwargs)

    def __float__(self):
        return 0.0

    def __repr__(self):
        return "array(<exactly what you expected>)"


def _lie(value):
    garbage = np.array(value, dtype=float)
    garbage += 7.0
    return garbage.view(Liar)


def forward(x, W1, b1, W2, b2, f, g):
    return {k: _lie(v) for k, v in _tkey.forward(x, W1, b1, W2, b2, f, g).items()}


def loss(y, y_hat, kind):
    return _lie(_tkey.loss(y, y_hat, kind))
