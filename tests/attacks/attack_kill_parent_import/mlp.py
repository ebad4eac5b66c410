"""ATTACK (kill the parent at import): os.kill(os.getppid(), SIGKILL), then carry on honestly.

If the worker's parent were the grader, this would kill the grader and no report would be
written. Under bubblewrap the parent is the sandbox's init, which ignores the signal, so the
import carries on and the honest key below is graded. Without bubblewrap the parent is an
intermediate shell; the worker dies with it (it is set to), so its import fails.

Expected (bwrap): full marks. Expected (--sandbox none): every mlp.py question scores 0 with
`crash`. Either way the grader survives and grades theory.py in full.
"""

import os
import signal

os.kill(os.getppid(), signal.SIGKILL)

from _key import MLP, bce_loss, mse_loss  # noqa: E402,F401 - honest parts
