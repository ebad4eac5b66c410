"""The time of a part is budgeted per student function: a function that timed out is not called
again in that submission, and after a timeout the deadlines follow the observed call times."""

from __future__ import annotations

from typing import Any

import pytest

from grader.engine.calls import ADAPTED_FACTOR, ADAPTED_FLOOR_S, CallBudget, PartContext
from grader.engine.checks import CallFailed, PartState
from grader.engine.compare import Tolerance
from grader.sandbox.process import WorkerFailure

from .conftest import SUBMISSIONS

pytestmark = pytest.mark.slow  # every test here grades submissions end to end


class FakeSession:
    """A worker session whose calls to functions in `hangs` time out; records every call."""

    def __init__(self, hangs: set[str]) -> None:
        self.hangs = hangs
        self.worker = None
        self.calls: list[tuple[str, float]] = []

    def call(self, task: str, args: dict, arrays: list, timeout_s: float | None = None, what: str = "",
             budget_s: float | None = None) -> tuple[dict[str, Any], list]:
        assert timeout_s is not None
        self.calls.append((what, timeout_s))
        if what in self.hangs:
            raise WorkerFailure("timeout", "%s did not finish within %.3g s" % (what, timeout_s))
        return {"status": "ok", "result": {"t": "dict", "items": {}}}, []


def _context(session: FakeSession, call_timeout_s: float = 5.0) -> PartContext:
    return PartContext(session, Tolerance(rtol=1e-6, atol=1e-8), None, PartState(), call_timeout_s,  # type: ignore[arg-type]
                       deadline=1e12)


def _failure(context: PartContext, what: str, functions: tuple[str, ...] = ()) -> str:
    with pytest.raises(CallFailed) as raised:
        context.call("task", {}, what, functions=functions)
    assert raised.value.failure.code == "timeout"
    return raised.value.failure.message


def test_a_function_that_timed_out_is_not_called_again():
    session = FakeSession(hangs={"bce_loss"})
    context = _context(session)
    context.call("task", {}, "mse_loss", functions=("mse_loss",))
    assert "did not finish within 5 s" in _failure(context, "bce_loss", ("bce_loss",))
    context.start_check()  # a later check of the same part
    refused = _failure(context, "bce_loss", ("bce_loss",))
    assert refused.startswith("not run: bce_loss") and "not called again" in refused
    assert [what for what, _ in session.calls] == ["mse_loss", "bce_loss"]  # the worker saw it once
    # a call that runs the hung function among others is refused too; one that does not is made
    _failure(context, "forward, bce_loss, backward", ("forward", "bce_loss", "backward"))
    context.call("task", {}, "forward", functions=("forward",))
    assert [what for what, _ in session.calls] == ["mse_loss", "bce_loss", "forward"]
    assert context.is_dead("bce_loss") and not context.is_dead("mse_loss")


def test_blame_narrows_to_the_function_never_seen_finishing():
    budget = CallBudget()
    budget.completed_call(("forward",), 0.01)
    budget.timed_out(("forward", "loss", "backward"), 5.0)
    assert budget.blocked(("loss",)) is None  # still two suspects: loss, backward
    assert budget.blocked(("forward", "loss", "backward")) is not None
    budget.completed_call(("backward",), 0.01)
    message = budget.blocked(("loss",))
    assert message is not None and message.startswith("loss did not finish within 5 s")
    assert budget.blocked(("forward", "backward")) is None


def test_a_timed_out_call_without_named_functions_blocks_the_same_call():
    session = FakeSession(hangs={"MLP.forward/backward twice"})
    context = _context(session)
    _failure(context, "MLP.forward/backward twice")
    _failure(context, "MLP.forward/backward twice")
    assert len(session.calls) == 1
    context.call("task", {}, "MLP.forward")


def test_deadlines_adapt_to_observed_call_times_after_a_timeout():
    budget = CallBudget()
    budget.completed_call(("f",), 0.2)
    assert budget.deadline_s(5.0) == 5.0  # nothing timed out: the rubric's deadline
    budget.timed_out(("g",), 5.0)
    assert budget.deadline_s(5.0) == pytest.approx(min(5.0, ADAPTED_FACTOR * 0.2))
    fast = CallBudget()
    fast.completed_call(("f",), 0.001)
    fast.timed_out(("g",), 5.0)
    assert fast.deadline_s(5.0) == ADAPTED_FLOOR_S
    assert fast.deadline_s(0.5) == 0.5  # never longer than the rubric's


def test_later_calls_get_the_adapted_deadline():
    session = FakeSession(hangs={"g", "h"})
    context = _context(session)
    _failure(context, "g", ("g",))
    _failure(context, "h", ("h",))
    assert [t for _, t in session.calls] == [5.0, ADAPTED_FLOOR_S]  # "f" never completed warm: the floor


@pytest.mark.slow
def test_a_hung_submission_hits_the_deadline_once(grade):
    """bce_loss loops forever: the first bce check times out, every later check that would run
    bce_loss (its other checks, end to end with BCE) fails at once saying why."""
    report = grade(SUBMISSIONS / "mlp_bce_infinite_loop", call_timeout_s=2)
    timeouts = [c for c in report.checks if c.code == "timeout"]
    waited = [c for c in timeouts if not c.message.startswith("not run:")]
    assert len(waited) == 1 and "bce_loss did not finish within 2 s" in waited[0].message
    refused = {c.id for c in timeouts} - {waited[0].id}
    assert {"mlp.bce_loss[gradient]", "mlp.bce_loss[saturated]", "mlp.backward[end_to_end-bce]"} <= refused
    assert all("bce_loss did not finish within 2 s earlier in this submission" in c.message
               for c in timeouts if c.id in refused)
    assert all(c.status == "pass" for c in report.checks if c.question in ("mlp.forward", "mlp.mse_loss"))
