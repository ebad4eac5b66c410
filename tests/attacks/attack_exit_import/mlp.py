"""ATTACK (exit at import): importing mlp.py calls sys.exit(0), as if every check had passed.

A grader that ran student code in its own process, or that read "exit status 0" as success,
would report a clean run. The honest definitions below are never reached.

Expected: every mlp.py question scores 0 (import_error); theory.py is graded in full.
"""

import sys

sys.exit(0)

from _key import MLP, bce_loss, mse_loss  # noqa: E402,F401 - never reached
