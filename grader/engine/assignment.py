"""The assignment: which files a HW1 submission holds and which module grades each.

Kept free of heavy imports so that workers can be started before torch and Hypothesis load
in the grader's own process; `load_part` imports a part's checks when they are needed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

ASSIGNMENT = "hw1"


@dataclass(frozen=True)
class PartInfo:
    """A submission file (`module`.py), whether its worker preloads torch, and its checks' module."""

    module: str
    with_torch: bool
    checks_module: str

    @property
    def filename(self) -> str:
        return self.module + ".py"


PARTS = (
    PartInfo("mlp", True, "grader.hw1_mlp"),
    PartInfo("theory", False, "grader.hw1_theory"),
)


def load_part(info: PartInfo):
    """The part's `PartSpec` (imports its checks, the oracle and Hypothesis)."""
    return importlib.import_module(info.checks_module).PART
