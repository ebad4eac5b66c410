"""A stop asked for by Ctrl-C or SIGTERM.

The command line's signal handlers set `requested` and raise KeyboardInterrupt. The exception
can land where it is swallowed (an at-fork hook run while a worker is being started prints it
and goes on), so a loop over submissions also checks the flag between them."""

from __future__ import annotations

import threading

requested = threading.Event()
