"""Run one check with Hypothesis and turn its outcome into a verdict.

Settings are explicit (never Hypothesis's CI-dependent defaults): no example database, no deadline, a fixed number of
examples, only the generate and shrink phases, and a seed derived from the grading seed
and the check id, so the same --seed reproduces the same examples and the same failure (or,
under a course's grading secret, from the submission's private key: see `engine.secret`).
Shrinking keeps the diagnosis: once a check failed with some code, only examples failing
with that code count as failures, so the minimal counterexample shows the same mistake.
A timeout or crash stops the check at once (nothing is shrunk through a dead worker).

A check with `components` is run again after a failure, with the values already found wrong
set aside, until it passes or every component is wrong: each component's verdict rests on
the same examples, and a wrong value costs only its own share.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky

from ..model.codes import WORKER_CODES, Status
from .checks import CallFailed, CheckContext, CheckSpec, Failure, NoEvidence, Outcome
from .compare import fit_scale_law, format_factor, law_text

PROBE_SIZES = (3, 5, 2)


class _Falsified(Exception):
    def __init__(self, failure: Failure, scenario) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.scenario = scenario


@dataclass
class ComponentOutcome:
    """One component's verdict: `failure` (on `scenario`) is None when it passed."""

    name: str
    failure: Failure | None = None
    scenario: Any = None


@dataclass
class CheckOutcome:
    """What running a check found: `failure` is None when it passed; `components` each
    component's verdict (empty for a check without components)."""

    status: Status
    examples: int
    failure: Failure | None = None
    scenario: Any = None
    shrunk: bool = False
    scale_law: str | None = None
    components: list[ComponentOutcome] = field(default_factory=list)


@dataclass
class _State:
    examples: int = 0
    evidence: int = 0
    first_code: str | None = None
    aborted: tuple | None = None
    last_failure: tuple | None = None
    no_evidence: list = field(default_factory=list)


@contextlib.contextmanager
def private_hypothesis_home() -> Iterator[None]:
    """While grading, Hypothesis keeps its files in the user's cache folder, never in the folder
    the grader runs in (a student's submission, a CI workspace); the setting that was there
    before (e.g. a student's own, under the pytest plugin) is restored afterwards."""
    from hypothesis import configuration

    key = "__hypothesis_home_directory"
    before = vars(configuration).get(key)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    configuration.set_hypothesis_home_dir(os.path.join(base, "backprop-grader", "hypothesis"))
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(before)


@contextlib.contextmanager
def no_local_constants() -> Iterator[None]:
    """While grading, Hypothesis draws no "local constants": recent versions mix numbers found
    in the source of every loaded module they take for the user's own (the grader's modules
    when it runs from a checkout, a student's project under the pytest plugin) into some
    draws, so the same seed would give other examples depending on where the grader is
    installed and what else is imported. Without them a seed means the same examples
    everywhere. (An internal hook of Hypothesis: where it does not exist, nothing changes.)"""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    constants = getattr(providers, "Constants", None)
    if original is None or constants is None:
        yield
        return
    providers._get_local_constants = constants
    try:
        yield
    finally:
        providers._get_local_constants = original


def check_seed(grading_seed: int, check_id: str, private_key: bytes | None = None) -> int:
    """The Hypothesis seed of one check: public, from the grading seed and the check id; or, with
    a submission's `private_key` (engine.secret), HMAC-SHA256(key, check id), which nobody
    without the course's secret can compute (the grading seed plays no part then)."""
    if private_key is not None:
        digest = hmac.new(private_key, b"check/" + check_id.encode(), hashlib.sha256).digest()
    else:
        digest = hashlib.sha256(("%d:%s" % (grading_seed, check_id)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def evaluate(spec: CheckSpec, context: CheckContext, scenario: Any) -> Outcome:
    """One example: the check's verdict, with a failed worker call turned into a Failure. A
    failure carries the call it is about: the call whose reply holds the values it judged
    (a check may call again after it, e.g. to confirm a diagnosis), else the last call."""
    log = getattr(context, "call_log", None)
    if isinstance(log, list):
        log.clear()
    try:
        outcome = spec.run(context, scenario)
    except CallFailed as failed:
        outcome = failed.failure
    if isinstance(outcome, Failure) and outcome.call is None:
        outcome.call = _judged_call(outcome, log or []) or getattr(context, "last_call", None)
    return outcome


def _holds(value: Any, array: np.ndarray) -> bool:
    """Whether a decoded reply `value` holds `array` (or an array sharing its memory)."""
    if isinstance(value, np.ndarray):
        return value is array or np.may_share_memory(value, array)
    if isinstance(value, dict):
        return any(_holds(v, array) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, array) for v in value)
    return False


def _judged_call(failure: Failure, log: list[tuple[str, dict[str, Any], dict[str, Any]]]
                 ) -> tuple[str, dict[str, Any]] | None:
    """The call of `log` whose reply holds a value the failure judged, or None."""
    judged = [g for g in ((failure.values or {}).get("got") or {}).values() if isinstance(g, np.ndarray)]
    for task, args, reply in log:
        if any(_holds(reply, array) for array in judged):
            return task, args
    return None


def failure_names(failure: Failure) -> list[str | None]:
    """The values a failure found wrong: its own and its others' names (None: the whole)."""
    return [f.name for f in [failure, *failure.others]]


def set_aside(outcome: Outcome, ignored: frozenset[str]) -> Outcome:
    """`outcome` without the wrong values in `ignored`: None when nothing else was wrong."""
    if not ignored or not isinstance(outcome, Failure):
        return outcome
    found = [outcome, *outcome.others]
    kept = [f for f in found if f.name is None or f.name not in ignored]
    if not kept:
        return None
    if kept[0] is outcome:
        return outcome
    first = dataclasses.replace(kept[0], others=kept[1:], values=outcome.values, call=outcome.call)
    return first


def run_check(spec: CheckSpec, context: CheckContext, grading_seed: int, max_examples: int,
              private_key: bytes | None = None) -> CheckOutcome:
    """Run `spec` on up to `max_examples` examples (private ones with `private_key`, see
    `check_seed`); the verdict, with the shrunk failing example (and, for a check with
    components, each component's verdict)."""
    with private_hypothesis_home(), no_local_constants():
        outcome = _run_check(spec, context, grading_seed, max_examples, private_key)
        if spec.components:
            outcome.components = _component_verdicts(spec, context, grading_seed, max_examples, outcome,
                                                     private_key)
        return outcome


def _component_verdicts(spec: CheckSpec, context: CheckContext, grading_seed: int, max_examples: int,
                        outcome: CheckOutcome, private_key: bytes | None) -> list[ComponentOutcome]:
    """Each component's verdict: the first run's failure charges the components it names; the
    check is run again with those set aside until it passes, fails as a whole, or every
    component is charged."""
    verdicts = {name: ComponentOutcome(name) for name in spec.components}
    current = outcome
    while current.status != "pass" and current.failure is not None:
        failure = current.failure
        named = [f for f in [failure, *failure.others] if f.name in verdicts and verdicts[f.name].failure is None]
        whole = current.status == "error" or any(name not in verdicts for name in failure_names(failure))
        if whole or not named:
            for verdict in verdicts.values():
                if verdict.failure is None:
                    verdict.failure, verdict.scenario = failure, current.scenario
            break
        for found in named:
            verdicts[found.name].failure, verdicts[found.name].scenario = found, current.scenario
        ignored = frozenset(name for name, v in verdicts.items() if v.failure is not None)
        if len(ignored) == len(verdicts):
            break
        current = _run_check(spec, context, grading_seed, max_examples, private_key, ignored)
    return list(verdicts.values())


def _run_check(spec: CheckSpec, context: CheckContext, grading_seed: int, max_examples: int,
               private_key: bytes | None, ignored: frozenset[str] = frozenset()) -> CheckOutcome:
    state = _State()

    def prop(scenario) -> None:
        if state.aborted is not None:
            return
        if state.first_code is None:  # generated examples; the shrinker's reruns are not counted
            state.examples += 1
        outcome = set_aside(evaluate(spec, context, scenario), ignored)
        if outcome is None:
            state.evidence += 1
            return
        if isinstance(outcome, NoEvidence):
            state.no_evidence.append(outcome)
            return
        if outcome.code in WORKER_CODES:
            state.aborted = (outcome, scenario)
            return
        if state.first_code is None:
            state.first_code = outcome.code
        elif outcome.code != state.first_code:
            return
        state.last_failure = (outcome, scenario)
        raise _Falsified(outcome, scenario)

    test = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )(given(spec.strategy)(prop))
    test = hypothesis_seed(check_seed(grading_seed, spec.id, private_key))(test)
    try:
        test()
    except _Falsified as falsified:
        return _refine(spec, context, CheckOutcome("fail", state.examples, falsified.failure,
                                                   falsified.scenario, shrunk=True))
    except Flaky:
        assert state.last_failure is not None
        failure, scenario = state.last_failure
        failure.message += " (the submission did not fail consistently on this example)"
        return CheckOutcome("fail", state.examples, failure, scenario, shrunk=True)
    if state.aborted is not None:
        failure, scenario = state.aborted
        return CheckOutcome("fail", state.examples, failure, scenario)
    if state.evidence == 0 and state.no_evidence:
        reason = state.no_evidence[0].failure
        return CheckOutcome("error", state.examples, Failure(
            reason.code, "could not be checked on any example: %s" % reason.message))
    return CheckOutcome("pass", state.examples)


LAW_CODES = ("sign", "scaled")
SEED_PROBES = 4
"""Other draws of the failing example's own sizes that a sign or scale law must also hold on."""


def _probe_scenarios(spec: CheckSpec, base: Any) -> list[Any]:
    """Where a sign or scale law is put to the test: other draws at the same sizes, then each
    probe dimension changed alone and all of them together, two draws each."""
    probes = [dataclasses.replace(base, seed=base.seed + k) for k in range(1, SEED_PROBES + 1)]
    sized = []
    for dim in spec.probe_dims:
        size = next(s for s in PROBE_SIZES if s != getattr(base, dim))
        sized.append(dataclasses.replace(base, **{dim: size}))
    if spec.probe_dims:
        sized.append(dataclasses.replace(base, **{d: PROBE_SIZES[i % 3] + 1 for i, d in enumerate(spec.probe_dims)}))
    for variant in sized:
        probes += [variant, dataclasses.replace(variant, seed=variant.seed + 1)]
    return probes


def _observed(spec: CheckSpec, context: CheckContext, probe: Any, name: str | None) -> Failure | str:
    """The diagnosis of `name` at `probe`, or "skip" when the probe says nothing against the
    law: no evidence, a failure of something else entirely, or `name` right there (where the
    truth may well be zero, e.g. a bias gradient behind dead relu units)."""
    found = evaluate(spec, context, probe)
    if isinstance(found, NoEvidence) or found is None:
        return "skip"
    same = [f for f in [found] + found.others if f.name == name]
    return same[0] if same else "skip"


def _where(spec: CheckSpec, probe: Any) -> str:
    fields = tuple(dict.fromkeys(spec.probe_dims + ("seed",)))
    return ", ".join("%s=%s" % (k, getattr(probe, k)) for k in fields)


def _refine(spec: CheckSpec, context: CheckContext, outcome: CheckOutcome) -> CheckOutcome:
    """A `sign` or `scaled` diagnosis stands only when its law holds on every probe (other
    draws, other sizes): then a scale law is fitted to the dimensions and its likely cause
    named. Otherwise the failure is `wrong_values`, with the ratios observed as a note."""
    failure = outcome.failure
    if failure is None or failure.code not in LAW_CODES:
        return outcome
    base = outcome.scenario
    first = failure.factor if failure.code == "scaled" else -1.0
    assert first is not None
    samples = [({k: getattr(base, k) for k in spec.probe_dims}, first)]
    seen: list[str] = []
    breaking: list[str] = []
    for probe in _probe_scenarios(spec, base):
        found = _observed(spec, context, probe, failure.name)
        if isinstance(found, str):
            continue
        factor = -1.0 if found.code == "sign" else found.factor
        if factor is None:
            breaking.append("%s at %s%s" % (found.code, _where(spec, probe), "" if found.ratio is None
                                            else " (least-squares ratio %.4g)" % found.ratio))
            continue
        samples.append(({k: getattr(probe, k) for k in spec.probe_dims}, factor))
        seen.append("ratio %s at %s" % (format_factor(factor), _where(spec, probe)))
    fitted = None if breaking else fit_scale_law(samples, spec.probe_dims)
    if fitted is not None and failure.code == "sign" and (fitted[1] or abs(fitted[0] + 1) > 1e-3):
        fitted = None  # a sign error is minus the truth everywhere, not a law in the sizes
    if fitted is None:
        what = "minus the expected value" if failure.code == "sign" else "%s times the expected value" % (
            format_factor(first))
        failure.code = "wrong_values"
        failure.factor = None
        failure.message = "%s has wrong values: on this example it equals %s, but no %s explains every probe (%s)" % (
            failure.name, what, "sign error" if first == -1.0 else "constant factor or factor law in the sizes",
            "; ".join((breaking + seen)[:4]) or "no other example")
        return outcome
    if failure.code == "sign" or not spec.probe_dims:
        return outcome
    a, law = fitted
    outcome.scale_law = law_text(a, law)
    cause = spec.scale_story(a, law) if spec.scale_story is not None else None
    failure.message += "; across sizes the factor is %s" % outcome.scale_law + (": %s" % cause if cause else "")
    return outcome
