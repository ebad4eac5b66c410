"""ATTACK (kill the parent at import): os.kill(os.getppid(), SIGKILL), then carry on honestly.

If the worker's parent were the grader, this would kill the grader and no report would be
written. Under bubblewrap the parent is the sandbox's init, which ignores the signal, so the
import carries on and the honest key below is graded. Without bubblewrap the parent is an
intermediate shell; the worker dies with it (it is set to), so its import fails. Under the
user tier that shell belongs to root: the kill raises PermissionError, and the import fails.

Expected (bwrap): full marks. Expected (--sandbox user or none): every mlp.py question scores 0
with `import_error` or `crash`. Either way the grader survives and grades theory.py in full.
"""

import os
import signal

os.kill(os.getppid(), signal.SIGKILL)

from _key import MLP, bce_loss, mse_loss  # noqa: E402,F401 - honest parts
