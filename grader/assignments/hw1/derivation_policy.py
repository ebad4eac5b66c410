"""HW1's rule that gradients are derived by hand, applied on evidence only.

Autograd: the worker counts every call into torch.autograd (backward, grad, and what calls
them: Tensor.backward, torch.func, torch.autograd.functional) by the student function that
made it ("autograd@MLP.backward", see `worker_tasks.setup`). That runtime count decides: a
call counted outside the losses forfeits the backward points, one inside a loss forfeits
that loss's gradient points. What the static scan (`autograd_scan`) finds without a count
to confirm it is a notice worth 0 points.

Finite differences: a backward that evaluates the forward pass once or twice per parameter
is not a derivation either. The `no_autograd` hygiene check measures the matrix-product work
MLP.backward does, in units of one forward pass, at two parameter counts; the rubric's
`finite_differences` setting says what a positive finding costs ("forfeit", the default,
like autograd; or "notice", 0 points).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...engine.checks import Failure, PartState
from ...model.results import CheckResult
from .autograd_scan import AutogradUse

LOSS_FUNCTIONS = ("mse_loss", "bce_loss")
NO_AUTOGRAD = "mlp.hygiene[no_autograd]"


def runtime_autograd(state: PartState) -> dict[str, int]:
    """{student function: calls into torch.autograd counted while it ran} ("other" for code
    outside forward, backward and the losses, e.g. the constructor)."""
    found: dict[str, int] = {}
    for name, totals in state.counters.items():
        if name.startswith("autograd@"):
            found[name[len("autograd@"):]] = sum(totals.values())
    return {k: v for k, v in found.items() if v > 0}


def _where(runtime: dict[str, int]) -> str:
    return ", ".join("%s (%d call%s)" % (k, v, "" if v == 1 else "s") for k, v in sorted(runtime.items()))


def _source(uses: Sequence[AutogradUse]) -> str:
    """The scan's findings as supporting detail ("" when there are none)."""
    if not uses:
        return ""
    return "; in the source: " + "; ".join(u.describe("mlp.py") for u in uses[:3])


def autograd_failure(state: PartState) -> Failure | None:
    """The no_autograd check's verdict so far: autograd_used when the worker counted a call."""
    runtime = runtime_autograd(state)
    if not runtime:
        return None
    return Failure("autograd_used", "mlp.py called torch.autograd at run time (during %s), where gradients must"
                   " be derived by hand%s" % (_where(runtime), _source(state.static or [])), about_example=False)


FD_PROBES = ((2, 2, 2), (6, 6, 6))
"""(n, d, K) of the two networks MLP.backward's work is measured on (batch B = FD_BATCH)."""
FD_BATCH = 2


def parameter_count(n: int, d: int, K: int) -> int:
    return d * n + d + K * d + K


def forward_passes(work: int, n: int, d: int, K: int, B: int = FD_BATCH) -> float:
    """Matrix-product work (multiply-adds) in units of one forward pass, B * (n*d + d*K)."""
    return work / float(B * (n * d + d * K))


def finite_difference_failure(passes: list[float]) -> Failure | None:
    """finite_differences when MLP.backward did the work of many forward passes on the larger
    probe network (a quarter of its parameter count or more, and at least 16) and at least
    twice as many as on the smaller one: its work grows with the number of parameters, as
    finite differences' does. A derived backward does a few passes' worth at any size."""
    small, large = passes
    count = parameter_count(*FD_PROBES[1])
    if large < max(16.0, count / 4) or large < 2 * small:
        return None
    return Failure(
        "finite_differences",
        "MLP.backward evaluates the forward pass over and over: its matrix products do the work of %.0f forward"
        " passes on a network with %d parameters (and of %.0f with %d); finite differences approximate the"
        " gradients but do not derive them; derive them with the chain rule (a derived backward does the work"
        " of about 2 forward passes)" % (large, count, small, parameter_count(*FD_PROBES[0])), about_example=False)


def _forfeit(result: CheckResult, code: str, why: str) -> None:
    previous = "" if result.status == "pass" else " (it also failed: %s)" % result.message
    result.status, result.code, result.score = "fail", code, 0.0  # type: ignore[assignment]
    result.message = why + previous


def apply(results: list[CheckResult], state: PartState, finite_differences: str = "forfeit") -> None:
    """Forfeit what the evidence shows was not derived by hand; a suspicion only is a note."""
    by_id = {r.id: r for r in results}
    static: list[AutogradUse] = state.static or []
    runtime = runtime_autograd(state)
    outside = {k: v for k, v in runtime.items() if k not in LOSS_FUNCTIONS}
    if outside:
        why = ("backward points are forfeited because mlp.py uses autograd: torch.autograd called during %s%s"
               % (_where(outside), _source([u for u in static if u.function.split(".")[0] not in LOSS_FUNCTIONS])))
        for r in results:
            if r.question == "mlp.backward":
                _forfeit(r, "autograd_used", why)
    for function in LOSS_FUNCTIONS:
        if function in runtime:
            why = "%s computes its gradient with autograd (%s); these points are forfeited%s" % (
                function, _where({function: runtime[function]}),
                _source([u for u in static if u.function.split(".")[0] == function]))
            for r in results:
                if r.question == "mlp." + function and r.id.endswith(("[gradient]", "[saturated]")):
                    _forfeit(r, "autograd_used", why)
    check = by_id.get(NO_AUTOGRAD)
    if check is None:
        return
    if static and not runtime and check.status == "pass":
        found = "; ".join(u.describe("mlp.py") for u in static[:3])
        check.notes.append("Notice (0 points): the source may use autograd (%s), but no call into torch.autograd"
                           " was counted while your code ran, so nothing is charged." % found)
    if check.code == "finite_differences":
        if finite_differences == "forfeit":
            why = "backward points are forfeited: %s" % check.message
            for r in results:
                if r.question == "mlp.backward":
                    _forfeit(r, "finite_differences", why)
        else:
            check.notes.append("Notice (0 points, the rubric's finite_differences = \"notice\"): %s" % check.message)
            check.status, check.code, check.message = "pass", None, ""
            check.counterexample, check.replay = None, None
