"""The shape of an assignment part: questions, checks, and what a check may return.

A part (one submission file, e.g. HW1's `mlp.py`) is a `PartSpec`: the module it grades, its
questions, and the checks that decide them. A check is a Hypothesis property over scenarios
(frozen dataclasses with at least a `seed` field, defined by the assignment):
`run(context, scenario)` returns None when the submission is right on that example, a
`Failure` (one diagnosis code and a message) when it is wrong, or `NoEvidence` when the
example says nothing about the property.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import strategies as st

from ..errors import InternalSignal
from ..model.codes import Visibility
from .compare import Diagnosis, Tolerance

Failure = Diagnosis
"""The submission is wrong on one example: a diagnosis code and a message in plain words."""


@dataclass
class NoEvidence:
    """The example could not test the property (e.g. the function raised); `failure` says why."""

    failure: Failure


class CallFailed(InternalSignal):
    """A call into the worker did not return a value to judge (exception, timeout, crash)."""

    def __init__(self, failure: Failure, key: str | None = None) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.key = key


@dataclass
class PartState:
    """What the checks of one part share while it is graded.

    `attrs`: what importing the module found (dotted name -> "class"|"callable"|"value"|
    "missing"); `counters`: the worker's counters (name -> {call description: total});
    `static`: what the part's static analysis of the source found (its own type);
    `source`: the submission file's bytes (for static locations; never run)."""

    attrs: dict[str, str] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    static: Any = None
    source: bytes = b""


class CheckContext(Protocol):
    """What the engine gives a check while it runs."""

    tolerance: Tolerance
    settings: Any
    state: PartState
    last_call: tuple[str, dict[str, Any]] | None
    """The last call into the worker (task, arguments), kept as a failure's evidence."""

    def call(self, task: str, args: dict[str, Any], what: str, key: str | None = None,
             functions: tuple[str, ...] = ()) -> dict[str, Any]:
        """Run a worker task; array arguments are numpy arrays. Raises CallFailed.

        `functions` names the student functions the task runs (default: `what` as one name); a
        function that timed out earlier in the part is not run again: the call fails with
        `timeout` at once."""

    def is_dead(self, key: str) -> bool:
        """True when the student function `key` already timed out or crashed in this check, or
        timed out earlier in the part."""


Outcome = Failure | NoEvidence | None
ScaleStory = Callable[[float, dict[str, int]], "str | None"]
"""The likely cause of a scale error a * prod(dim ** e) in a student's words, or None."""


@dataclass
class CheckSpec:
    """One check: a property run on up to `max_examples` scenarios from `strategy`.

    `probe_dims` are the scenario's dimensions a `scaled` failure is re-run at, to see how the
    factor depends on them; `scale_story` names the likely cause of the fitted law.
    `components` names the values credited separately (e.g. each gradient of a backward
    check): a failure naming only some of them (its `name` and its `others`) costs only their
    share of the check's points; a failure naming none of them (an exception, a wrong return
    type) costs all of them."""

    id: str
    question: str
    title: str
    strategy: st.SearchStrategy[Any]
    run: Callable[[CheckContext, Any], Outcome]
    requires: tuple[str, ...] = ()
    max_examples: int = 10
    shown_fields: tuple[str, ...] = ()
    probe_dims: tuple[str, ...] = ()
    scale_story: ScaleStory | None = None
    weight: float = 1.0
    visibility: Visibility = "visible"
    components: tuple[str, ...] = ()

    @property
    def local_id(self) -> str:
        """The id inside its question: "relu-sigmoid" for "mlp.forward[relu-sigmoid]"."""
        return self.id[len(self.question) + 1:-1]


def _no_static(source: bytes) -> Any:
    return None


def _no_finalize(results: list[Any], state: PartState) -> None:
    return None


def _no_location(check: CheckSpec, state: PartState) -> int | None:
    return None


def _no_failure_line(check: CheckSpec, failure: Failure, state: PartState) -> int | None:
    return None


@dataclass
class ReproRequest:
    """What a part needs to write a standalone reproduction of a failed example: the check,
    the example's last call into the worker (`task`, `args`, numpy arrays as sent), the
    values judged (`expected`: name -> array; `got` as decoded), the tolerance, the failure's
    code, and the seeds (`grading_seed`, and the example's seed when it has one)."""

    check: CheckSpec
    task: str
    args: dict[str, Any]
    expected: dict[str, Any]
    got: dict[str, Any]
    tolerance: Tolerance
    code: str
    grading_seed: int
    example_seed: int | None = None


@dataclass
class PartSpec:
    """One file of a submission and the questions graded from it.

    `static_checks(source)` runs on the source before grading (never executing it) and fills
    `PartState.static`; `finalize(results, state)` may amend verdicts across checks (e.g. a
    forfeit); `static_line(check, state)` may point a check's location at a line it found;
    `inspect` lists the dotted names whose presence the worker reports after import;
    `failure_line(check, failure, state)` may point a failed check at the statement that
    produced the wrong value (static; `state.source`); `repro(request)` may write a standalone
    script that reproduces a failed example (see `ReproRequest`), or return None."""

    name: str
    module: str
    questions: dict[str, str]
    checks: list[CheckSpec]
    inspect: tuple[str, ...] = ()
    static_checks: Callable[[bytes], Any] = _no_static
    finalize: Callable[[list[Any], PartState], None] = _no_finalize
    static_line: Callable[[CheckSpec, PartState], int | None] = _no_location
    failure_line: Callable[[CheckSpec, Failure, PartState], int | None] = _no_failure_line
    repro: Callable[[ReproRequest], str | None] | None = None
    exception_hint: Callable[[str, str], str] | None = None
    """(stage, exception type) -> advice appended to a student exception's diagnosis."""
    imports: tuple[str, ...] = ()
    """Modules the checks use while grading but do not import at plan time (a heavy library:
    planning would hold the workers' start back). The engine imports them once the workers are
    started and before any student code runs."""
    grade_document: Callable[..., list[Any]] | None = None
    """A document part's grading instead of Hypothesis checks (see engine.documents): called
    as grade_document(path, context) with the document found and a DocumentContext; returns
    one engine.documents.DocumentVerdict per check id. None for a part that runs code."""

    @property
    def filename(self) -> str:
        return self.module + ".py"
