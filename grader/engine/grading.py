"""Grade one submission: snapshot it, start its workers, run every selected check, score.

Usage: `Grading(path, options).run() -> GradeReport`. Construction validates the path and
starts the workers at once (their imports overlap the grader's own); `run` imports the
checks (torch, Hypothesis), grades every part, and always stops the workers and removes
the snapshot.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import numpy as np

from . import __version__
from .assignment import ASSIGNMENT, PARTS, PartInfo, load_part
from .compare import Absent, NotArray
from .policies import format_penalty, late_penalty, submission_files
from .results import CheckResult, GradeReport, QuestionResult
from .sandbox import SandboxConfig, WorkerFailure, WorkerSession, describe_exception, resolve_mode
from .scoring import VISIBILITIES, Rubric, RubricError, allocate_points, load_rubric
from .spec import CallFailed, CheckSpec, Failure, PartSpec
from .static_scan import definition_lines
from .submission import SourceFile, SubmissionError, take_snapshot

OUTPUT_CAP = 2000


@dataclass
class GradeOptions:
    """Choices for one grading run (None means: the rubric's setting)."""

    seed: int | None = None
    only: list[str] = field(default_factory=list)
    max_examples: int | None = None
    sandbox: str = "auto"
    call_timeout_s: float | None = None
    import_timeout_s: float | None = None
    submission_timeout_s: float | None = None
    public_only: bool = False
    rubric_path: Path | None = None
    label: str | None = None
    submitted_at: datetime | None = None
    due_at: datetime | None = None


class UnknownSelector(Exception):
    """--only named no question or check; usage error."""


class ProtocolViolation(Exception):
    """A worker reply that does not follow the value encoding."""


def decode_value(value, arrays: list):
    """Turn an encoded worker value into numpy arrays, dicts, lists, NotArray/Absent."""
    if isinstance(value, dict) and "t" in value:
        kind = value.get("t")
        if kind == "array":
            index = value.get("i")
            if type(index) is not int or not 0 <= index < len(arrays):
                raise ProtocolViolation("array reference out of range")
            return arrays[index]
        if kind == "none":
            return NotArray("None")
        if kind == "missing":
            return Absent("it was never set")
        if kind == "other":
            return NotArray("a %s" % str(value.get("type", "value"))[:100])
        if kind == "dict" and isinstance(value.get("items"), dict):
            return {str(k)[:100]: decode_value(v, arrays) for k, v in value["items"].items()}
        if kind == "seq" and isinstance(value.get("items"), list):
            if value.get("len") != len(value["items"]):
                return NotArray("a sequence of %s values" % str(value.get("len"))[:12])
            return [decode_value(v, arrays) for v in value["items"]]
        raise ProtocolViolation("unknown value kind")
    if isinstance(value, dict):
        return {str(k)[:100]: decode_value(v, arrays) for k, v in value.items()}
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    raise ProtocolViolation("unexpected value")


def encode_args(args: dict) -> tuple[dict, list]:
    """Replace every numpy array in `args` (nested dicts too) by a reference {"$a": index}."""
    arrays: list = []

    def encode(value):
        if isinstance(value, np.ndarray):
            arrays.append(value)
            return {"$a": len(arrays) - 1}
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        return value

    return encode(args), arrays


class PartContext:
    """The `CheckContext` a part's checks run with: calls into its worker session."""

    def __init__(self, session: WorkerSession, rubric: Rubric, part: str, call_timeout_s: float,
                 deadline: float) -> None:
        self.session = session
        self.tolerance = rubric.tolerance(part)
        self.settings = rubric.settings
        self.shared: dict = {"autograd_runtime": {}}
        self.call_timeout_s = call_timeout_s
        self.deadline = deadline
        self.dead: set[str] = set()
        self.output_parts: list[str] = []
        self.output_size = 0

    def start_check(self) -> None:
        self.dead = set()
        self.output_parts = []
        self.output_size = 0

    def is_dead(self, key: str) -> bool:
        return key in self.dead

    def check_output(self) -> str:
        return "".join(self.output_parts)

    def _keep_output(self, reply: dict) -> None:
        text = reply.get("output")
        if isinstance(text, str) and text and self.output_size < OUTPUT_CAP:
            text = text[: OUTPUT_CAP - self.output_size]
            self.output_parts.append(text)
            self.output_size += len(text)
        dropped = reply.get("output_dropped")
        if type(dropped) is int and dropped > 0 and self.output_size < OUTPUT_CAP + 100:
            note = "\n[... %d more characters of output not kept]\n" % dropped
            self.output_parts.append(note)
            self.output_size += len(note)

    def call(self, task: str, args: dict, what: str, key: str | None = None) -> dict:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CallFailed(Failure("timeout", "not run: the submission used up its grading time budget"), key)
        encoded, arrays = encode_args(args)
        try:
            reply, reply_arrays = self.session.call(
                task, encoded, arrays, timeout_s=min(self.call_timeout_s, remaining), what=what, budget_s=remaining)
        except WorkerFailure as failure:
            if key:
                self.dead.add(key)
            raise CallFailed(Failure(failure.code, failure.message), key) from None
        self._keep_output(reply)
        count = reply.get("autograd_calls")
        if type(count) is int and count > 0:
            runtime = self.shared["autograd_runtime"]
            runtime[what] = runtime.get(what, 0) + count
        status = reply.get("status")
        if status == "exception":
            not_implemented = reply.get("type") == "NotImplementedError"
            raise CallFailed(Failure("exception", _exception_message(reply), about_example=not not_implemented,
                                     location=frame_location(reply)), key)
        if status != "ok":
            raise CallFailed(Failure("crash", "the worker could not run %s" % what), key)
        try:
            result = decode_value(reply.get("result"), reply_arrays)
        except ProtocolViolation as exc:
            self.session.close()
            raise CallFailed(Failure("crash", "the worker sent a malformed reply (%s)" % exc), key) from None
        if not isinstance(result, dict):
            raise CallFailed(Failure("crash", "the worker sent a malformed reply"), key)
        return result


def frame_location(reply: dict) -> dict | None:
    """{"file", "line"} of the last submission frame of a worker's exception reply."""
    frames = reply.get("frames")
    if not isinstance(frames, list) or not frames or not isinstance(frames[-1], dict):
        return None
    file, line = frames[-1].get("file"), frames[-1].get("line")
    if not isinstance(file, str) or type(line) is not int or line < 1:
        return None
    path = PurePosixPath(file)
    if path.is_absolute() or ".." in path.parts or not path.parts:  # a path inside the submission only
        return None
    return {"file": file[:200], "line": line}


def _exception_message(reply: dict) -> str:
    if reply.get("type") == "NotImplementedError":
        return "%s is not implemented yet (it raises NotImplementedError)" % str(reply.get("stage", "it"))[:100]
    text = describe_exception(reply)
    if reply.get("stage") == "MLP.__init__" and reply.get("type") == "TypeError":
        text += (" -- the constructor must accept linear_1_in_features, linear_1_out_features, f_function,"
                 " linear_2_in_features, linear_2_out_features, g_function as in the handout")
    return text


def _location(part: PartSpec, check: CheckSpec, lines: dict[str, int], shared: dict,
              failure: Failure | None) -> dict:
    """Where to look: the student line that raised, else the line of the student function the
    check exercises (its last requirement)."""
    if failure is not None and failure.location:
        return failure.location
    uses = shared.get("autograd_static") if check.local_id == "no_autograd" else None
    if uses:
        return {"file": part.filename, "line": uses[0].line}
    for name in reversed(check.requires):
        if name in lines:
            return {"file": part.filename, "line": lines[name]}
    return {"file": part.filename, "line": 1}


def matches(selector: str, check: CheckSpec) -> bool:
    """--only SELECTOR: a check id, a question id, or a prefix of ids (e.g. a part, "mlp")."""
    return check.id == selector or check.question == selector or check.id.startswith(selector)


def validate_selectors(selectors: list[str], checks: list[CheckSpec]) -> None:
    """Raise UnknownSelector for a selector that matches none of `checks`."""
    for selector in selectors:
        if not any(matches(selector, c) for c in checks):
            questions = sorted({c.question for c in checks})
            raise UnknownSelector("--only %r matches no question or check; questions are %s (a check id looks"
                                  " like mlp.backward[relu-identity])" % (selector, ", ".join(questions)))


def plan_checks(part: PartSpec, rubric: Rubric, max_examples: int | None = None) -> list[CheckSpec]:
    """All of a part's checks, with the rubric's weights, visibility and example counts."""
    checks = part.build_checks(rubric.settings)
    for check in checks:
        check.weight = rubric.weight(check.question, check.local_id)
        check.visibility = rubric.visibility(check.question, check.local_id)
        question = rubric.questions.get(check.question)
        override = max_examples or (question.max_examples if question else None)
        if override and check.max_examples > 1:
            check.max_examples = int(override)
    return checks


def all_planned_checks(rubric: Rubric) -> list[CheckSpec]:
    """Every check of every part, in report order (imports the parts' checks)."""
    checks = [c for info in PARTS for c in plan_checks(load_part(info), rubric)]
    validate_rubric(rubric, checks)
    return checks


def validate_rubric(rubric: Rubric, checks: list[CheckSpec]) -> None:
    """RubricError for a rubric that does not fit the assignment's checks: an unknown or a
    missing question, a weight or visibility for a check that does not exist, an unknown
    visibility or tolerance part (a typo must not silently move points)."""
    where = rubric.path or "the rubric"
    questions = {c.question for c in checks}
    unknown = sorted(set(rubric.questions) - questions)
    if unknown:
        raise RubricError("%s: unknown question(s) %s (known: %s)" % (where, ", ".join(unknown), ", ".join(
            sorted(questions))))
    missing = sorted(questions - set(rubric.questions))
    if missing:
        raise RubricError("%s: no points given for question(s) %s" % (where, ", ".join(missing)))
    for qid, question in rubric.questions.items():
        local = {c.local_id for c in checks if c.question == qid}
        for table, keys, extra in (("weights", question.weights, set()), ("visibility", question.visibility, {"*"})):
            wrong = sorted(set(keys) - local - extra)
            if wrong:
                raise RubricError("%s: [questions.%s.%s] names no check: %s (checks: %s)" % (
                    where, qid, table, ", ".join(wrong), ", ".join(sorted(local))))
        bad = sorted(v for v in question.visibility.values() if v not in VISIBILITIES)
        if bad:
            raise RubricError("%s: [questions.%s.visibility] has %s; choose from %s" % (
                where, qid, ", ".join(bad), ", ".join(VISIBILITIES)))
    parts = {info.module for info in PARTS}
    if set(rubric.tolerances) - parts:
        raise RubricError("%s: [tolerance] names unknown part(s) %s (parts: %s)" % (
            where, ", ".join(sorted(set(rubric.tolerances) - parts)), ", ".join(sorted(parts))))


def points_of(rubric: Rubric, checks: list[CheckSpec], check: CheckSpec) -> float:
    """The points `check` is worth among its question's `checks`."""
    siblings = [c.local_id for c in checks if c.question == check.question]
    return allocate_points(rubric, check.question, siblings)[check.local_id]


class Grading:
    """One submission being graded."""

    def __init__(self, path: str | Path, options: GradeOptions, rubric: Rubric | None = None) -> None:
        self.started = time.monotonic()
        self.options = options
        self.rubric = rubric or load_rubric(options.rubric_path)
        self.seed = options.seed if options.seed is not None else int(self.rubric.settings["seed"])
        self.mode = resolve_mode(options.sandbox)
        self.label = options.label or str(path)
        self.snapshot = take_snapshot(path, [p.filename for p in PARTS])
        if not any(self.snapshot.files[p.filename].ok for p in PARTS):
            problems = "; ".join(self.snapshot.files[p.filename].problem() for p in PARTS)
            self.snapshot.cleanup()
            raise SubmissionError("nothing to grade in %s: %s" % (path, problems))
        settings = self.rubric.settings
        self.config = SandboxConfig(
            mode=self.mode, load_timeout_s=float(options.import_timeout_s or settings["import_timeout_s"]))
        self.call_timeout_s = float(options.call_timeout_s or settings["call_timeout_s"])
        self.budget_s = float(options.submission_timeout_s or settings["submission_timeout_s"])
        self.sessions: dict[str, WorkerSession] = {}
        for info in PARTS:
            if self.snapshot.files[info.filename].ok:
                session = WorkerSession(self.snapshot.root, info.module, [], self.config, info.with_torch)
                session.prestart()
                self.sessions[info.module] = session

    def run(self) -> GradeReport:
        self.not_run = {"checks": 0, "points": 0.0}
        try:
            parts = [(info, load_part(info)) for info in PARTS]
            planned = {info.module: plan_checks(part, self.rubric, self.options.max_examples) for info, part in parts}
            validate_rubric(self.rubric, [c for checks in planned.values() for c in checks])
            validate_selectors(self.options.only, [c for checks in planned.values() for c in checks])
            questions = []
            for info, part in parts:
                questions += self._grade_part(info, part, planned[info.module])
            files = submission_files(self.snapshot.root)
        finally:
            for session in self.sessions.values():
                session.close()
            self.snapshot.cleanup()
        report = GradeReport(
            grader_version=__version__, assignment=ASSIGNMENT, submission=self.label, seed=self.seed,
            questions=questions, sandbox=self.mode, notices=list(self.snapshot.notices),
            not_run=self.not_run if self.options.public_only else None)
        unenforced = sorted(set().union(*(s.unenforced_limits for s in self.sessions.values())))
        if unenforced:
            report.notices.append("sandbox: the worker could not set these resource limits on itself: %s"
                                  % ", ".join(unenforced))
        if self.mode == "none":
            report.notices.insert(0, "sandbox: none (bubblewrap is not in use; student code ran as a plain"
                                     " subprocess with resource limits only)")
        if self.options.public_only and self.not_run["checks"]:
            report.notices.append("--public: %d hidden checks worth %.4g points were not run; the final grade"
                                  " includes them" % (self.not_run["checks"], self.not_run["points"]))
        policies = self.rubric.policies
        for penalty in (format_penalty(policies.get("format", {}), files, report.max_score),
                        late_penalty(policies.get("late", {}), self.options.submitted_at, self.options.due_at,
                                     report.score)):
            if penalty is not None:
                report.penalties.append(penalty)
        report.duration_s = time.monotonic() - self.started
        return report

    def _selected(self, checks: list[CheckSpec]) -> list[CheckSpec]:
        chosen = [c for c in checks if not self.options.only or any(matches(s, c) for s in self.options.only)]
        if self.options.public_only:
            hidden = [c for c in chosen if c.visibility != "visible"]
            self.not_run["checks"] += len(hidden)
            self.not_run["points"] += sum(points_of(self.rubric, checks, c) for c in hidden)
            chosen = [c for c in chosen if c.visibility == "visible"]
        return chosen

    def _grade_part(self, info: PartInfo, part: PartSpec, all_checks: list[CheckSpec]) -> list[QuestionResult]:
        checks = self._selected(all_checks)
        if not checks:
            session = self.sessions.get(info.module)
            if session:
                session.close()
            return []
        file = self.snapshot.files[info.filename]
        results, shared = self._run_checks(part, checks, file)
        part.finalize(results, shared)
        self._score(all_checks, results)
        by_question = {}
        for result in results:
            by_question.setdefault(result.question, []).append(result)
        return [QuestionResult(q, self.rubric.questions[q].title if q in self.rubric.questions else title,
                               by_question[q]) for q, title in part.questions.items() if q in by_question]

    def _run_checks(self, part: PartSpec, checks: list[CheckSpec], file: SourceFile
                    ) -> tuple[list[CheckResult], dict]:
        """Each selected check's result, and what the part's checks shared (for `finalize`)."""
        if not file.ok:
            message = file.problem() + " (expected %s at the top of the submission folder)" % file.name
            return [self._result(c, "error", Failure("missing", message)) for c in checks], {}
        session = self.sessions[part.module]
        session.inspect = part.inspect
        loaded = session.load()
        if not loaded.ok:
            message = loaded.message
            if loaded.output.strip():
                message += "; output before it failed: " + loaded.output.strip()[-300:]
            where = frame_location({"frames": loaded.frames}) or {"file": part.filename, "line": 1}
            results = [self._result(c, "error", Failure(loaded.code or "import_error", message)) for c in checks]
            for result in results:
                result.location = where
            return results, {}
        context = PartContext(session, self.rubric, part.name, self.call_timeout_s, self.started + self.budget_s)
        context.shared.update(part.static_checks(file.source, self.rubric.settings))
        context.shared["attrs"] = loaded.attrs
        lines = definition_lines(file.source)
        from .checkrun import run_check

        results = []
        for check in checks:
            missing = [name for name in check.requires if loaded.attrs.get(name, "missing") == "missing"]
            if missing:
                what = " and ".join(missing)
                results.append(self._result(check, "error", Failure(
                    "missing", "%s has no %s" % (part.filename, what))))
                continue
            context.start_check()
            outcome = run_check(check, context, self.seed, check.max_examples)
            result = self._result(check, outcome.status, outcome.failure, outcome.examples)
            result.location = _location(part, check, lines, context.shared, outcome.failure)
            result.output = context.check_output()
            if outcome.failure is not None and outcome.scenario is not None:
                result.counterexample = {k: getattr(outcome.scenario, k) for k in check.shown_fields}
                if outcome.failure.about_example:
                    where = outcome.scenario.describe(check.shown_fields)
                    lead = "it already fails for" if outcome.shrunk else "it failed for"
                    result.message = "%s; %s %s" % (outcome.failure.message, lead, where)
                    result.replay = self._replay(check)
            if outcome.scale_law:
                result.details["scale"] = outcome.scale_law
            results.append(result)
        return results, context.shared

    def _result(self, check: CheckSpec, status: str, failure: Failure | None, examples: int = 0) -> CheckResult:
        return CheckResult(
            id=check.id, question=check.question, title=check.title, status=status, score=0.0,
            max_score=0.0, examples=examples, code=failure.code if failure else None,
            message=failure.message if failure else "", visibility=check.visibility)

    def _replay(self, check: CheckSpec) -> str:
        parts = ["grader", "grade", self.label, "--only", check.id, "--seed", str(self.seed)]
        if self.options.max_examples:
            parts += ["--max-examples", str(self.options.max_examples)]
        if self.options.call_timeout_s:
            parts += ["--timeout", "%g" % self.options.call_timeout_s]
        if self.options.rubric_path and not self.rubric.is_default():
            parts += ["--rubric", str(self.options.rubric_path)]
        return " ".join(shlex.quote(p) for p in parts)

    def _score(self, all_checks: list[CheckSpec], results: list[CheckResult]) -> None:
        by_question: dict[str, list[str]] = {}
        for check in all_checks:
            by_question.setdefault(check.question, []).append(check.local_id)
        local_ids = {check.id: check.local_id for check in all_checks}
        for result in results:
            shares = allocate_points(self.rubric, result.question, by_question[result.question])
            result.max_score = shares[local_ids[result.id]]
            result.score = result.max_score if result.status == "pass" else 0.0
