"""ATTACK (monkeypatching numpy inside the worker): every comparison numpy offers says "equal".

At import it replaces numpy.allclose, isclose, array_equal, array_equiv, testing.assert_allclose,
testing.assert_array_equal, testing.assert_array_almost_equal and linalg.norm with functions that
report no difference, then returns garbage from forward. A grader that compared inside the
worker would pass it. The other functions are the honest key (_tkey.py), which needs none of
the patched functions.

Expected: theory.forward scores 0; every other question full marks.
"""

import numpy as np

import _tkey
from _tkey import backward, jacobians, loss, sgd_step  # noqa: F401 - honest parts

np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *a, **k: True
np.array_equiv = lambda *a, **k: True
np.linalg.norm = lambda *a, **k: 0.0
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None


def forward(x, W1, b1, W2, b2, f, g):
    honest = _tkey.forward(x, W1, b1, W2, b2, f, g)
    return {k: np.zeros_like(v) for k, v in honest.items()}
