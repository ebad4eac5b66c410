"""A second, small assignment: the gradient of softmax regression's cross-entropy.

A student's `softmax.py` defines `cross_entropy(W, x, y)` for weights W (K,n), one input x
(n,1) and a one-hot label y (K,1), returning (loss, dW) with dW shaped like W. It is graded by
the same engine, sandbox and faces as HW1, without a line of them knowing it exists: this
folder is the whole assignment (manifest, settings, checks, rubric).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.engine.assignment import Assignment, PartInfo
from grader.errors import RubricError


@dataclass(frozen=True)
class Settings:
    """`stable`: also check logits large enough to overflow a naive exp."""

    stable: bool = True


def parse_settings(table: Mapping[str, Any], variant: str) -> Settings:
    unknown = sorted(set(table) - {"stable"})
    if unknown:
        raise RubricError("unknown setting %s (this assignment knows: stable)" % ", ".join(unknown))
    return Settings(stable=bool(table.get("stable", True)))


ASSIGNMENT = Assignment(
    name="softmax",
    title="Softmax regression: the cross-entropy gradient",
    package=__name__,
    parts=(PartInfo("softmax", checks_module=__name__ + ".checks"),),
    parse_settings=parse_settings,
)
