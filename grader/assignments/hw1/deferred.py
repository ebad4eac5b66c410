"""A module the checks use while grading, imported at its first use rather than at plan time.

HW1's oracle (and the float32 spread) import torch. A checks module that imported them at its
own import would make planning a grade import torch, and the grader starts the workers only
after planning: their own torch imports would wait for the grader's instead of running beside
it on another core. So the checks modules name them with `deferred`, and the part lists them
in `PartSpec.imports`: the engine imports them once the workers are started, before any
student code runs (`engine.grading`), as the command line's preload does too.
"""

from __future__ import annotations

import importlib
from typing import Any


class Deferred:
    """Stands for the module `name`: an attribute is looked up in the module, imported the
    first time (afterwards it is the import system's own lookup of a loaded module)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return "<deferred module %s>" % self._name
