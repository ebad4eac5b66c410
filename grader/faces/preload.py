"""Import, before any student code runs, every module the grader may still need afterwards.

Without a sandbox (and, on a writable install, even with a weak one) student code running as
the grader's own user could rewrite a module of the grader that is imported only later -- a
report format, say -- and so write its own score. A module already imported is not read again,
so `preload_grader_modules` imports the whole grader package (its report formats included) and
the library modules that rendering and batch progress import lazily.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

NOT_PRELOADED = ("grader.__main__", "grader.faces.pytest_plugin")
"""The entry point, and the pytest plugin (it needs pytest, which the grader does not)."""
LIBRARY_MODULES = ("numpy.random", "rich.progress", "rich.live", "rich.spinner", "rich.filesize", "rich.ansi")
"""Modules of libraries imported lazily while grading and reporting (found by diffing
sys.modules around a grading in every format)."""


@functools.cache
def preload_grader_modules() -> tuple[str, ...]:
    """Import every grader module and the lazily imported library modules (once); returns
    their names."""
    import grader

    names = [info.name for info in pkgutil.walk_packages(grader.__path__, "grader.")
             if info.name not in NOT_PRELOADED]
    for name in names + list(LIBRARY_MODULES):
        importlib.import_module(name)
    return tuple(names)
