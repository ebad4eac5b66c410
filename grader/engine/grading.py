"""Grade one submission: snapshot it, start its workers, run every selected check, score.

Usage: `Grading(path, options).run() -> GradeReport`. Construction validates the path and
starts the workers at once (their imports overlap the grader's own); `run` imports the
checks (torch, Hypothesis), grades every part, and always stops the workers and removes
the snapshot.
"""

from __future__ import annotations

import gc
import importlib
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import SubmissionError
from ..model.codes import Code, Status
from ..model.results import CheckResult, ComponentResult, GradeReport, QuestionResult
from ..model.text import clean_name, clean_report
from ..sandbox.jail import resolve_mode, resource_notice, tier_notice
from ..sandbox.process import SandboxConfig, WorkerSession, WorkerSpec
from ..sandbox.snapshot import SourceFile
from .assignment import PartInfo
from .calls import PartContext, frame_location
from .checks import CheckSpec, Failure, PartSpec, PartState
from .evidence import evidence_json, repro_request
from .documents import (DocumentContext, document_patterns, find_document, grade_document_part,
                        note_points_at_stake, settle_alternatives)
from .intake import take_submission
from .plan import Plan, matches, plan
from .policies import format_penalty, late_penalty, submission_files
from .rubric import Rubric, allocate_points, load_rubric
from .secret import content_hash, submission_key
from .source import definition_lines

if TYPE_CHECKING:
    from .runner import CheckOutcome


@dataclass
class GradeOptions:
    """Choices for one grading run (None means: the rubric's setting)."""

    seed: int | None = None
    only: list[str] = field(default_factory=list)
    max_examples: int | None = None
    sandbox: str = "auto"
    warm_workers: bool = True
    call_timeout_s: float | None = None
    import_timeout_s: float | None = None
    submission_timeout_s: float | None = None
    public_only: bool = False
    rubric_path: Path | None = None
    variant: str | None = None
    label: str | None = None
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    progress: Callable[[int, int, str], None] | None = None
    """Called as progress(done, total, check id) after each check of a code part."""
    secret: bytes | None = None
    """The course's grading secret (engine.secret): private examples; None: public ones."""


PRIVATE_NOTICE = ("examples: private (drawn from the course's grading secret and this submission's contents); a"
                  " failed check shows a failing example found on the public examples (seed %d) when there is one")
PRIVATE_ONLY = ("fails on private examples only: the public examples pass, so no example can be shown (test"
                " more cases of your own: other sizes, activations and values)")


def worker_spec(info: PartInfo) -> WorkerSpec:
    """How the worker of part `info` is started (its task module's result shapes included)."""
    shapes: dict[str, dict[str, str]] = {}
    run_keys: frozenset[str] = frozenset()
    if info.tasks_module is not None:
        tasks = importlib.import_module(info.tasks_module)
        shapes, run_keys = dict(tasks.RESULT_SHAPES), frozenset(tasks.RUN_KEYS)
    return WorkerSpec(module=info.module, preload=info.preload, tasks_file=info.tasks_file(),
                      result_shapes=shapes, run_keys=run_keys)


def _may_run(module: str, only: list[str]) -> bool:
    """Whether --only selectors can select a check of part `module` (ids start with "module.")."""
    prefix = module + "."
    return not only or any(s.startswith(prefix) or prefix.startswith(s) for s in only)


def _location(part: PartSpec, check: CheckSpec, lines: dict[str, int], state: PartState,
              failure: Failure | None) -> dict[str, Any]:
    """Where to look: the student line that raised, a line the part's static analysis found,
    else the line of the student function the check exercises (its last requirement)."""
    if failure is not None and failure.location:
        return failure.location
    found = part.failure_line(check, failure, state) if failure is not None else None
    found = found or part.static_line(check, state)
    if found:
        return {"file": part.filename, "line": found}
    for name in reversed(check.requires):
        if name in lines:
            return {"file": part.filename, "line": lines[name]}
    return {"file": part.filename, "line": 1}


def _why(exc: BaseException) -> str:
    """An exception in a few words (it may carry submission data: the report cleans it)."""
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text[:200]) if text else type(exc).__name__


def freeze_imported_objects() -> None:
    """Once per process, when the grader's modules are loaded (torch, numpy, Hypothesis, the
    checks): every object alive then leaves the collector's generations (`gc.freeze`), so that
    a full collection while grading walks only what grading allocates, not the hundreds of
    thousands of objects of the imports (measured: a cold grade's collections take 0.05 s
    instead of 0.25 s). Those objects live as long as the process anyway."""
    if gc.get_freeze_count() == 0:
        gc.freeze()


class Grading:
    """One submission being graded."""

    def __init__(self, path: str | Path, options: GradeOptions, rubric: Rubric | None = None,
                 planned: Plan | None = None) -> None:
        self.started = time.monotonic()
        self.options = options
        rubric = rubric or load_rubric(options.rubric_path)
        if options.variant is not None and options.variant != rubric.settings.variant:
            rubric = rubric.with_variant(options.variant)
        self.rubric = rubric
        self.planned = planned if planned is not None and planned.rubric is rubric else None
        self.seed = options.seed if options.seed is not None else rubric.settings.seed
        self.mode = resolve_mode(options.sandbox)
        self.label = clean_name(options.label or path)
        parts = [p for p in rubric.assignment.parts if p.kind == "code"]
        patterns = {p.module: document_patterns(p, rubric.raw_settings)
                    for p in rubric.assignment.parts if p.kind == "document"}
        self.snapshot = take_submission(path, [p.filename for p in parts], rubric.policies,
                                        tuple(g for globs in patterns.values() for g in globs))
        self.files = submission_files(self.snapshot.original)  # what was handed in, before any student code ran
        self.documents = {module: find_document(self.snapshot.root, globs) for module, globs in patterns.items()}
        if not any(self.snapshot.files[p.filename].ok for p in parts) and not any(self.documents.values()):
            problems = "; ".join([self.snapshot.files[p.filename].problem() for p in parts] + [
                "no %s" % " or ".join(globs) for globs in patterns.values()])
            self.snapshot.cleanup()
            raise SubmissionError("nothing to grade in %s: %s" % (path, problems))
        self.private_key = (submission_key(options.secret, content_hash(self.snapshot.root))
                            if options.secret is not None else None)  # hashed before a worker starts
        settings = rubric.settings
        self.config = SandboxConfig(mode=self.mode, warm=options.warm_workers,
                                    load_timeout_s=float(options.import_timeout_s or settings.import_timeout_s))
        self.call_timeout_s = float(options.call_timeout_s or settings.call_timeout_s)
        self.budget_s = float(options.submission_timeout_s or settings.submission_timeout_s)
        self.sessions: dict[str, WorkerSession] = {}
        for info in parts:
            if self.snapshot.files[info.filename].ok and _may_run(info.module, options.only):
                session = WorkerSession(self.snapshot.root, worker_spec(info), self.config)
                session.prestart()
                self.sessions[info.module] = session
        self.not_run: dict[str, Any] = {"checks": 0, "points": 0.0}

    def run(self) -> GradeReport:
        try:
            planned = self.planned or plan(self.rubric, self.options.max_examples)
            for part in planned.parts:  # the workers are starting: import what their start no longer waits for
                for name in part.imports:
                    importlib.import_module(name)
            freeze_imported_objects()
            planned.validate_selectors(self.options.only)
            questions: list[QuestionResult] = []
            for part in planned.parts:
                questions += self._grade_part(planned, part)
            questions, dropped = settle_alternatives(questions, self._present(), self.rubric.alternatives,
                                                     self._filenames())
        finally:
            for session in self.sessions.values():
                session.close()
            self.snapshot.cleanup()
        report = GradeReport(
            grader_version=__version__, assignment=self.rubric.assignment.name, submission=self.label,
            seed=self.seed, questions=questions, sandbox=self.mode, notices=list(self.snapshot.notices),
            not_run=self.not_run if self.options.public_only else None)
        report.notices += dropped
        unenforced = sorted(set().union(*(s.unenforced_limits for s in self.sessions.values())))
        if unenforced:
            report.notices.append("sandbox: the worker could not set these resource limits on itself: %s"
                                  % ", ".join(unenforced))
        if self.private_key is not None:
            report.notices.append(PRIVATE_NOTICE % self.seed)
        for notice in (resource_notice(), tier_notice(self.mode, self.options.sandbox)):
            if notice is not None:
                report.notices.insert(0, notice)
        if self.options.public_only and self.not_run["checks"]:
            report.notices.append("--public: %d hidden checks worth %.4g points were not run; the final grade"
                                  " includes them" % (self.not_run["checks"], self.not_run["points"]))
        policies = self.rubric.policies
        graded = tuple(path.name for path in self.documents.values() if path is not None)
        for penalty in (format_penalty(policies.format, self.files, report.max_score, graded),
                        late_penalty(policies.late, self.options.submitted_at, self.options.due_at, report.score)):
            if penalty is not None:
                report.penalties.append(penalty)
        report.duration_s = time.monotonic() - self.started
        return clean_report(report)

    def _present(self) -> set[str]:
        """The parts handed in: a code part's file, a document part's document."""
        parts = self.rubric.assignment.parts
        code = {p.module for p in parts if p.kind == "code" and self.snapshot.files[p.filename].ok}
        return code | {module for module, path in self.documents.items() if path is not None}

    def _filenames(self) -> dict[str, str]:
        """Each part's file: the document found, else the file the part grades."""
        names = {p.module: p.filename for p in self.rubric.assignment.parts}
        names.update({module: path.name for module, path in self.documents.items() if path is not None})
        return names

    def _selected(self, planned: Plan, checks: list[CheckSpec]) -> list[CheckSpec]:
        chosen = [c for c in checks if not self.options.only or any(matches(s, c) for s in self.options.only)]
        if self.options.public_only:
            hidden = [c for c in chosen if c.visibility != "visible"]
            self.not_run["checks"] += len(hidden)
            self.not_run["points"] += sum(planned.points_of(c) for c in hidden)
            chosen = [c for c in chosen if c.visibility == "visible"]
        return chosen

    def _grade_part(self, planned: Plan, part: PartSpec) -> list[QuestionResult]:
        checks = self._selected(planned, part.checks)
        if not checks:
            session = self.sessions.get(part.module)
            if session:
                session.close()
            return []
        try:
            if part.grade_document is not None:
                context = DocumentContext(self.rubric.assignment_settings, self.rubric.tolerance(part.name),
                                          self.seed, self.snapshot.root)
                results, state = grade_document_part(part, checks, self.documents.get(part.module),
                                                     context), PartState()
            else:
                results, state = self._run_checks(part, checks, self.snapshot.files[part.filename])
            verdicts = [(r.status, r.code) for r in results]
            part.finalize(results, state)
            for result, before in zip(results, verdicts):
                if (result.status, result.code) != before:
                    result.settle_components()
        except Exception as exc:  # noqa: BLE001 - one part's failure never costs another part's points
            session = self.sessions.get(part.module)
            if session:
                session.close()
            results = [self._result(c, "error", Failure("crash", "this part could not be graded (%s)" % _why(exc)))
                       for c in checks]
        self._score(part.checks, results)
        note_points_at_stake(results)
        by_question: dict[str, list[CheckResult]] = {}
        for result in results:
            by_question.setdefault(result.question, []).append(result)
        return [QuestionResult(q, self.rubric.questions[q].title if q in self.rubric.questions else title,
                               by_question[q]) for q, title in part.questions.items() if q in by_question]

    def _run_checks(self, part: PartSpec, checks: list[CheckSpec], file: SourceFile
                    ) -> tuple[list[CheckResult], PartState]:
        """Each selected check's result, and what the part's checks shared (for `finalize`)."""
        state = PartState()
        if not file.ok:
            message = file.problem() + " (expected %s at the top of the submission folder)" % file.name
            return [self._result(c, "error", Failure("missing", message)) for c in checks], state
        session = self.sessions[part.module]
        session.inspect = part.inspect
        loaded = session.load()
        if not loaded.ok:
            message = loaded.message
            if loaded.output.strip():
                message += "; output before it failed: " + loaded.output.strip()[-300:]
            where = frame_location({"frames": loaded.frames}) or {"file": part.filename, "line": 1}
            code: Code = loaded.code if loaded.code in ("timeout", "crash") else "import_error"  # type: ignore[assignment]
            results = [self._result(c, "error", Failure(code, message)) for c in checks]
            for result in results:
                result.location = where
            return results, state
        state.static = part.static_checks(file.source)
        state.source = file.source
        state.attrs = dict(loaded.attrs)
        context = PartContext(session, self.rubric.tolerance(part.name), self.rubric.assignment_settings, state,
                              self.call_timeout_s, self.started + self.budget_s, part.exception_hint)
        lines = definition_lines(file.source)
        results = []
        for done, check in enumerate(checks, 1):
            missing = [name for name in check.requires if loaded.attrs.get(name, "missing") == "missing"]
            if missing:
                what = " and ".join(missing)
                results.append(self._result(check, "error", Failure(
                    "missing", "%s has no %s" % (part.filename, what))))
                continue
            try:
                results.append(self._check_result(part, check, context, lines, state))
            except Exception as exc:  # noqa: BLE001 - whatever a reply held, it costs this check only
                session.close()
                results.append(self._result(check, "fail", Failure("crash", "the grader could not read what the"
                                                                   " worker sent (%s)" % _why(exc))))
            if self.options.progress is not None:
                self.options.progress(done, len(checks), check.id)
        return results, state

    def _check_result(self, part: PartSpec, check: CheckSpec, context: PartContext, lines: dict[str, int],
                      state: PartState) -> CheckResult:
        """One check's result. Under a secret the check is graded on private examples; when it
        fails there, the evidence shown (example, message, output, replay, evidence, components'
        examples) comes from a rerun on the public examples, or the message says the failure
        shows only on private ones. Components keep the private run's verdicts."""
        from .runner import run_check

        context.start_check()
        outcome = run_check(check, context, self.seed, check.max_examples, self.private_key)
        if self.private_key is None:
            return self._shown(part, check, context, lines, state, outcome)
        if outcome.status == "pass":
            result = self._result(check, "pass", None, outcome.examples)
            result.location = _location(part, check, lines, state, None)
            return result
        graded = outcome
        context.start_check()
        outcome = run_check(check, context, self.seed, check.max_examples)
        if outcome.failure is not None:
            result = self._shown(part, check, context, lines, state, outcome)
            result.status = graded.status
        else:
            assert graded.failure is not None
            result = self._result(check, graded.status, Failure(graded.failure.code, PRIVATE_ONLY), outcome.examples)
            result.location = _location(part, check, lines, state, None)
        if graded.components:
            public = {c.name: c for c in result.components}
            result.components = [self._private_component(check, found.name, found.failure, public.get(found.name))
                                 for found in graded.components]
        return result

    def _private_component(self, check: CheckSpec, name: str, failure: Failure | None,
                           public: ComponentResult | None) -> ComponentResult:
        """A component graded on private examples: its verdict from there, what it shows (message,
        example) only from the public run, never from the private one."""
        weight = self.rubric.component_weight(check.question, name)
        if failure is None:
            return ComponentResult(name, weight, "pass")
        if public is not None and public.status != "pass":
            return ComponentResult(name, weight, "fail", code=failure.code, message=public.message,
                                   counterexample=public.counterexample)
        return ComponentResult(name, weight, "fail", code=failure.code, message=PRIVATE_ONLY)

    def _shown(self, part: PartSpec, check: CheckSpec, context: PartContext, lines: dict[str, int],
               state: PartState, outcome: CheckOutcome) -> CheckResult:
        """The result of a run whose evidence may be shown: its example, output, replay, evidence
        and components."""
        result = self._result(check, outcome.status, outcome.failure, outcome.examples)
        result.location = _location(part, check, lines, state, outcome.failure)
        result.output = context.check_output()
        if outcome.failure is not None and outcome.scenario is not None:
            result.counterexample = self._counterexample(check, outcome.scenario)
            if outcome.failure.about_example:
                where = outcome.scenario.describe(check.shown_fields)
                lead = "it already fails for" if outcome.shrunk else "it failed for"
                result.message = "%s; %s %s" % (outcome.failure.message, lead, where)
                result.replay = self._replay(check)
                self._attach_evidence(part, check, context.tolerance, outcome.failure, outcome.scenario, result)
        result.components = [self._component(check, found.name, found.failure, found.scenario)
                             for found in outcome.components]
        if outcome.scale_law:
            result.details["scale"] = outcome.scale_law
        return result

    @staticmethod
    def _counterexample(check: CheckSpec, scenario: Any) -> dict[str, Any]:
        """The example's shown fields; its seed is the example's own, named `example_seed` so
        that it is never taken for the grading seed."""
        return {("example_seed" if k == "seed" else k): getattr(scenario, k) for k in check.shown_fields}

    def _attach_evidence(self, part: PartSpec, check: CheckSpec, tolerance: Any, failure: Failure, scenario: Any,
                         result: CheckResult) -> None:
        """The failed example's values, and the part's standalone script that reproduces it."""
        result.evidence = evidence_json(failure)
        request = repro_request(check, failure, tolerance, self.seed, scenario)
        if part.repro is not None and request is not None:
            result.repro = part.repro(request)

    def _component(self, check: CheckSpec, name: str, failure: Failure | None, scenario: Any) -> ComponentResult:
        weight = self.rubric.component_weight(check.question, name)
        if failure is None:
            return ComponentResult(name, weight, "pass")
        own = failure.message.split("; also: ")[0] if failure.name == name else failure.message
        return ComponentResult(name, weight, "fail", code=failure.code, message=own,
                               counterexample=self._counterexample(check, scenario) if scenario is not None else None)

    def _result(self, check: CheckSpec, status: Status, failure: Failure | None, examples: int = 0) -> CheckResult:
        """A check's result; a check with components that failed before running any example
        (missing, import error) fails every component with the same diagnosis."""
        result = CheckResult(
            id=check.id, question=check.question, title=check.title, status=status, score=0.0,
            max_score=0.0, examples=examples, code=failure.code if failure else None,
            message=failure.message if failure else "", visibility=check.visibility)
        if check.components and failure is not None:
            result.components = [ComponentResult(name, self.rubric.component_weight(check.question, name), "fail",
                                                 code=failure.code, message=failure.message)
                                 for name in check.components]
        return result

    def _replay(self, check: CheckSpec) -> str:
        parts = ["grader", "grade", self.label, "--only", check.id, "--seed", str(self.seed)]
        if self.options.max_examples:
            parts += ["--max-examples", str(self.options.max_examples)]
        if self.options.call_timeout_s:
            parts += ["--timeout", "%g" % self.options.call_timeout_s]
        if self.options.variant and self.options.variant != self.rubric.assignment.default_variant:
            parts += ["--variant", self.options.variant]
        if self.options.rubric_path and not self.rubric.is_default():
            parts += ["--rubric", str(self.options.rubric_path)]
        return " ".join(shlex.quote(p) for p in parts)

    def _score(self, all_checks: list[CheckSpec], results: list[CheckResult]) -> None:
        by_question: dict[str, list[str]] = {}
        for check in all_checks:
            by_question.setdefault(check.question, []).append(check.local_id)
        local_of = {check.id: check.local_id for check in all_checks}
        for result in results:
            shares = allocate_points(self.rubric, result.question, by_question[result.question])
            result.max_score = shares[local_of[result.id]]
            result.score = result.max_score if result.status == "pass" else 0.0
            score_components(result)


def score_components(result: CheckResult) -> None:
    """Split a check's points over its components by weight; a check with components earns its
    passing components' points (a check in review or in error earns none)."""
    total = sum(c.weight for c in result.components)
    if total <= 0:
        return
    for component in result.components:
        component.max_score = result.max_score * component.weight / total
        component.score = component.max_score if component.status == "pass" else 0.0
    result.score = sum(c.score for c in result.components) if result.status in ("pass", "fail") else 0.0
