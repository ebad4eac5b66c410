"""The shape of an assignment: parts, questions, checks, and what a check may return.

An assignment part (the practical `mlp.py`, the theory `theory.py`) is a `PartSpec`: the
file it grades, its questions, and the checks that decide them. A check is a Hypothesis
property over `Scenario`s: `run(context, scenario)` returns None when the submission is
right on that example, a `Failure` (one DESIGN 5 code and a message) when it is wrong, or
`NoEvidence` when the example says nothing about the property (hygiene checks only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from hypothesis import strategies as st

from .compare import Diagnosis, Tolerance

CODES = (
    "missing", "import_error", "exception", "timeout", "crash", "not_array", "shape",
    "transposed", "sign", "scaled", "nonfinite", "wrong_values", "input_mutated",
    "nondeterministic", "autograd_used",
)
WORKER_CODES = ("timeout", "crash")


# The submission is wrong on one example: a DESIGN 5 code and a message in plain words.
Failure = Diagnosis


@dataclass
class NoEvidence:
    """The example could not test the property (e.g. the function raised); `failure` says why."""

    failure: Failure


class CallFailed(Exception):
    """A call into the worker did not return a value to judge (exception, timeout, crash)."""

    def __init__(self, failure: Failure, key: str | None = None) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.key = key


class CheckContext(Protocol):
    """What the engine gives a check while it runs."""

    tolerance: Tolerance
    settings: dict
    shared: dict

    def call(self, task: str, args: dict, what: str, key: str | None = None) -> dict:
        """Run a worker task; array arguments are numpy arrays. Raises CallFailed."""

    def is_dead(self, key: str) -> bool:
        """True when the student function `key` already timed out or crashed in this check."""


Outcome = Failure | NoEvidence | None


@dataclass
class CheckSpec:
    """One check: a property run on up to `max_examples` scenarios from `strategy`."""

    id: str
    question: str
    title: str
    strategy: st.SearchStrategy
    run: Callable[[CheckContext, Any], Outcome]
    requires: tuple[str, ...] = ()
    max_examples: int = 10
    shown_fields: tuple[str, ...] = ("B", "n", "d", "K", "f", "g", "loss", "seed")
    probe_dims: tuple[str, ...] = ()
    scale_role: str = "backward"
    # The expected value as a * prod(dim ** e) times the one `scale_role`'s explanations assume
    # (e.g. a "half_batch_mean" MSE is K/2 times torch's mean): scale errors are explained
    # relative to that, so that the cause is named under any rubric convention.
    scale_baseline: tuple[float, dict] = (1.0, {})
    weight: float = 1.0
    visibility: str = "visible"

    @property
    def local_id(self) -> str:
        """The id inside its question: "relu-sigmoid" for "mlp.forward[relu-sigmoid]"."""
        return self.id[len(self.question) + 1:-1]


@dataclass
class PartSpec:
    """One file of a submission and the questions graded from it."""

    name: str
    module: str
    questions: dict[str, str]
    inspect: list[str]
    with_torch: bool
    build_checks: Callable[[dict], list[CheckSpec]]
    static_checks: Callable[[str, dict], dict] = field(default=lambda source, settings: {})
    finalize: Callable[[list, dict], None] = field(default=lambda results, shared: None)

    @property
    def filename(self) -> str:
        return self.module + ".py"
