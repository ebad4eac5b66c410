"""ATTACK (hard exit at import): importing theory.py calls os._exit(0), skipping every cleanup.

No exception, no traceback, exit status 0: the worker process simply disappears while the
grader waits for its answer.

Expected: every theory.py question scores 0 (crash); mlp.py is graded in full.
"""

import os

os._exit(0)

from _tkey import backward, forward, jacobians, loss, sgd_step  # noqa: E402,F401 - never reached
