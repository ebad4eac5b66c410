"""The `grader` command line: grade, review, init, export.

Exit codes: 0 graded and every check passed (or --fail-under met); 1 graded but below that;
2 usage error, a submission that cannot be graded, or an internal error.
"""

from __future__ import annotations

import argparse
import hashlib
import contextlib
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import GraderError, UsageError
from ..model.text import clean_line, clean_text
from .formats import FORMATS

if TYPE_CHECKING:
    from ..engine.rubric import Rubric
    from ..model.results import GradeReport
    from .formats import RenderOptions

DESCRIPTION = """\
backprop-grader grades the backpropagation homework (HW1): a submission folder's mlp.py
(the PyTorch practical part) and theory.py (the numerator-layout theory part), or the
theory part as a written answer sheet (theory.md, .tex, .ipynb, .txt). Every
expected value comes from PyTorch in float64; Hypothesis generates the examples, shrinks
any failure to the smallest one, and prints a command that replays it. Student code runs
in a separate, sandboxed process.
"""

GRADE_EPILOG = """\
formats:
%(formats)s

variants (--variant, or variant = "..." in the rubric's [settings]):
%(variants)s

examples:
  grader grade submissions/correct
  grader grade my_hw1 --format json -o result.json
  grader grade my_hw1 --only mlp.backward --seed 3          # one question, another seed
  grader grade my_hw1 --only 'mlp.backward[relu-identity]'  # one check
  grader grade my_hw1 --fail-under 80                       # exit 0 at 80%% or more
  grader grade my_hw1 --variant fa22                        # the Fall 2022 text
  grader grade --each class/ --jobs 2 --format csv -o grades.csv
  grader grade --each class/ --format html -o class_report/          # index.html + a page each
  grader grade --each class/ --roster roster.csv --format canvas -o canvas.csv
  grader grade --each class/ --jobs 2 --results class.jsonl -o grades.csv --format csv  # resumable
  grader grade --each class/ --shard 0/4 --results shard0.jsonl       # one of 4 slices of the class
  grader merge shard*.jsonl --format csv -o grades.csv

exit codes: 0 all checks passed (or --fail-under met), 1 below that, 2 usage error or a
submission that could not be graded.
"""


def _epilog() -> str:
    from ..engine.assignment import DEFAULT_ASSIGNMENT, find_assignment
    from .formats import help_text

    variants = find_assignment(DEFAULT_ASSIGNMENT).variants
    return GRADE_EPILOG % {"formats": help_text(),
                           "variants": "\n".join("  %-11s %s" % item for item in variants.items())}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="backprop-grader %s" % __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    grade = commands.add_parser(
        "grade", help="grade submission folders", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Grade HW1 submission folders (mlp.py and/or theory.py): a score per question and a "
        "diagnosis of every failed check, with the smallest failing example and a command that replays it.",
        epilog=_epilog())
    grade.add_argument("submissions", metavar="DIR", nargs="*", help="submission folder(s)")
    grade.add_argument("--each", metavar="FOLDER", type=Path, action="append",
                       help="grade every sub-folder of FOLDER (a class's submissions); repeatable")
    grade.add_argument("--format", choices=list(FORMATS), default="table", help="report format (default: table)")
    grade.add_argument("-o", "--output", metavar="FILE",
                       help="write the report to FILE; the table still goes to the terminal (not with --format github, "
                            "where student text on stdout could pose as a workflow command); with --format html, a "
                            "FILE not ending in .html is a folder: index.html and a page per submission")
    grade.add_argument("--repro", metavar="FOLDER",
                       help="write each failed check's standalone reproduction script into FOLDER "
                            "(repro_<check>.py; one sub-folder per submission when there are several): run it in "
                            "the submission folder, it needs only numpy and torch and exits 1 while the failure "
                            "reproduces")
    grade.add_argument("--roster", type=Path, metavar="FILE",
                       help="CSV mapping submission folders to students (columns folder, student_id, name, login, "
                            "canvas_id, section); adds ids and names to csv, html, canvas and brightspace")
    grade.add_argument("--gradebook-item", metavar="NAME",
                       help="the gradebook column of --format canvas/brightspace (default: the rubric's title; for "
                            "Canvas, 'Name (12345)' names an existing assignment by its id)")
    grade.add_argument("--seed", type=int, default=None,
                       help="grading seed: the same seed gives the same examples (default: the rubric's, 0)")
    grade.add_argument("--only", action="append", default=[], metavar="ID",
                       help="grade only this question (mlp.backward), check (mlp.backward[relu-identity]) or "
                            "part (mlp, theory); repeatable")
    grade.add_argument("--max-examples", type=int, default=None, metavar="N",
                       help="Hypothesis examples per check (default: each check's own, at most 15)")
    grade.add_argument("--fail-under", type=float, default=None, metavar="PERCENT",
                       help="exit 0 when the final score is at least PERCENT of the maximum, else 1 "
                            "(default: exit 0 only if every check passed)")
    grade.add_argument("--public", action="store_true",
                       help="run only the checks the rubric marks visible, and say how many points were not run")
    grade.add_argument("--rubric", type=Path, default=None, metavar="FILE",
                       help="rubric TOML (default: the one packaged with the assignment)")
    grade.add_argument("--variant", default=None, metavar="NAME",
                       help="the semester's text the submission answers (default: the rubric's, sp21); see below")
    grade.add_argument("--sandbox", choices=("auto", "bwrap", "user", "none"), default="auto",
                       help="isolation of student code: bubblewrap's namespaces (bwrap); an unprivileged user id of "
                            "its own, for a grader running as root where bubblewrap cannot work, e.g. Docker (user); "
                            "a plain limited subprocess (none); or the strongest that works here (auto, the default)")
    grade.add_argument("--cold-workers", action="store_true",
                       help="start every worker as a fresh Python that imports torch itself, instead of forking it "
                            "from a template that has torch loaded already (slower; to compare or to debug)")
    grade.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                       help="deadline for one call into the submission (default: the rubric's, 5 s)")
    grade.add_argument("--jobs", type=int, default=None, metavar="N",
                       help="grade N submissions at a time, in N long-lived child grader processes that each grade "
                            "one after another (default: the number of CPU cores; one submission is graded in this "
                            "process)")
    several = grade.add_argument_group("a class (several submissions)")
    several.add_argument("--results", type=Path, metavar="FILE.jsonl",
                         help="append each submission's JSON report to FILE.jsonl as soon as it is graded; a rerun "
                              "with the same file reuses every submission whose files, rubric, grader version, "
                              "seed, secret and options are unchanged (listed as cached)")
    several.add_argument("--shard", metavar="I/N",
                         help="grade only slice I of N (0 <= I < N) of the submissions, chosen by a hash of each "
                              "folder's name: every folder is in exactly one slice (combine with `grader merge`)")
    several.add_argument("--details", action="store_true",
                         help="with several submissions, print every student's full table, not only the class "
                              "summary")
    late = grade.add_argument_group("late policy (the rubric's [policies.late])")
    late.add_argument("--metadata", type=Path, metavar="FILE",
                      help="Gradescope's submission_metadata.json: submission time and due date")
    late.add_argument("--submitted-at", metavar="TIME", help="submission time, ISO 8601 with offset")
    late.add_argument("--due", metavar="TIME", help="due date, ISO 8601 with offset")
    grade.add_argument("--secret-file", type=Path, default=None, metavar="FILE",
                       help="the course's grading secret (else the GRADER_SECRET environment variable): each"
                            " check's examples are private to the secret and the submission's contents;"
                            " reports show failures on public examples only")
    grade.add_argument("--decisions", type=Path, default=None, metavar="FILE",
                       help="apply reviewers' decisions (written by `grader review`) to the checks pending review")
    grade.add_argument("--batch-child", action="store_true", help=argparse.SUPPRESS)  # see faces.batch

    review = commands.add_parser(
        "review", help="decide the checks the grader leaves to a person (written answers)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Grade the written answer sheets of submissions and show every check pending review (the "
        "answer as extracted, the expected one, the points at stake); record a decision for each, interactively on "
        "a terminal or with --set, in a decisions file that `grader grade --decisions FILE` applies. Without a "
        "terminal or --set, the pending checks are listed.",
        epilog="examples:\n  grader review class/alice\n  grader review --each class/ --decisions reviews.toml\n"
               "  grader review class/alice --set 'answers.q1_3c[concept_why_relu]=pass' --comment 'clear'\n"
               "  grader review class/alice --set 'answers.q1_3c[concept_why_relu]=2.5'\n"
               "  grader grade --each class/ --decisions reviews.toml")
    review.add_argument("submissions", metavar="DIR", nargs="*", help="submission folder(s)")
    review.add_argument("--each", metavar="FOLDER", type=Path, help="review every sub-folder of FOLDER")
    review.add_argument("--decisions", type=Path, default=None, metavar="FILE",
                        help="the decisions file (default: reviews.toml beside the class folder)")
    review.add_argument("--set", action="append", default=[], metavar="ID=VALUE", dest="set_values",
                        help="decide a pending check: pass, fail or a number of points; repeatable")
    review.add_argument("--comment", default="", metavar="TEXT", help="a comment kept with the --set decisions")
    review.add_argument("--rubric", type=Path, default=None, metavar="FILE", help="rubric TOML")
    review.add_argument("--variant", default=None, metavar="NAME", help="the semester's text the sheets answer")
    review.add_argument("--seed", type=int, default=None, help="grading seed (default: the rubric's)")

    merge = commands.add_parser(
        "merge", help="combine results files (--results, e.g. one per --shard) into one report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read the JSONL results files written by `grader grade --results` (one per shard, or several "
        "runs) and write one report of every submission in them, ordered by folder; where a folder appears more "
        "than once, its last line counts.",
        epilog="examples:\n  grader merge shard0.jsonl shard1.jsonl shard2.jsonl --format csv -o grades.csv\n"
               "  grader merge results/*.jsonl --format html -o class_report/")
    merge.add_argument("files", metavar="FILE.jsonl", nargs="+", type=Path, help="results files")
    merge.add_argument("--format", choices=list(FORMATS), default="csv", help="report format (default: csv)")
    merge.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (default: stdout)")
    merge.add_argument("--roster", type=Path, metavar="FILE", help="as for grader grade")
    merge.add_argument("--gradebook-item", metavar="NAME", help="as for grader grade")
    merge.add_argument("--rubric", type=Path, default=None, metavar="FILE",
                       help="the rubric the results were graded with (its title names the gradebook item)")
    merge.add_argument("--details", action="store_true", help="print every student's table, not only the summary")

    init = commands.add_parser(
        "init", help="write a student starter folder",
        description="Write a starter folder for students: mlp.py shaped like the handout, theory.py with every "
        "function's signature and the shapes of its arguments and results in numerator layout, a README, and "
        "a GitHub Actions workflow that grades every push. Grading the untouched starter gives 0 points, each "
        "check saying 'not implemented yet'.")
    init.add_argument("folder", metavar="DIR", help="folder to write into (created if missing)")
    init.add_argument("--force", action="store_true", help="overwrite files that already exist")

    export = commands.add_parser(
        "export", help="export an autograder bundle (gradescope)",
        description="Write an autograder bundle. `grader export gradescope OUT.zip` writes setup.sh and "
        "run_autograder, which grade /autograder/submission into /autograder/results/results.json.")
    export.add_argument("target", choices=("gradescope",), help="the platform")
    export.add_argument("out", type=Path, metavar="OUT.zip", help="the zip file to write")
    export.add_argument("--rubric", type=Path, default=None, metavar="FILE",
                        help="rubric to put in the bundle (default: the packaged one)")
    return parser


def _write_atomic(path: str, text: str) -> None:
    """Write `text` to `path` whole and atomically, readable by the course's group (see
    faces.output)."""
    from .output import write_atomic

    write_atomic(path, text)


def _late_dates(args: argparse.Namespace) -> tuple[Any, Any]:
    from ..engine.policies import parse_time, read_gradescope_metadata

    submitted = due = None
    if args.metadata:
        submitted, due = read_gradescope_metadata(args.metadata)
    if args.submitted_at:
        submitted = parse_time(args.submitted_at)
    if args.due:
        due = parse_time(args.due)
    if (args.submitted_at or args.due) and (submitted is None or due is None):
        raise UsageError("the late policy needs both times: give --submitted-at and --due (or --metadata)")
    return submitted, due


def _child_args(args: argparse.Namespace) -> list[str]:
    """The options a child grader needs to grade one submission as this command would."""
    out = ["--sandbox", args.sandbox]
    for flag, value in (("--seed", args.seed), ("--max-examples", args.max_examples), ("--rubric", args.rubric),
                        ("--variant", args.variant),
                        ("--timeout", args.timeout), ("--metadata", args.metadata),
                        ("--submitted-at", args.submitted_at), ("--due", args.due),
                        ("--decisions", args.decisions), ("--secret-file", args.secret_file)):
        if value is not None:
            out += [flag, str(value)]
    for selector in args.only:
        out += ["--only", selector]
    if args.public:
        out.append("--public")
    if args.cold_workers:
        out.append("--cold-workers")
    return out


def _submission_paths(args: argparse.Namespace) -> list[str]:
    """The folders to grade: DIRs, then every sub-folder of --each; with --shard, its slice."""
    paths = _all_submission_paths(args)
    shard = getattr(args, "shard", None)
    if shard is not None:
        from .results import in_shard, parse_shard

        paths = in_shard(paths, *parse_shard(shard))
    return paths


def _all_submission_paths(args: argparse.Namespace) -> list[str]:
    paths = list(args.submissions)
    folders = args.each if isinstance(args.each, list) else [] if args.each is None else [args.each]
    for folder in folders:
        if not folder.is_dir():
            raise UsageError("--each %s is not a folder" % folder)
        paths += sorted(str(p) for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if folders and not paths:
        raise UsageError("--each %s holds no submission folders" % " ".join(str(f) for f in folders))
    if not paths:
        raise UsageError("give a submission folder (grader grade DIR) or --each FOLDER")
    return paths


def progress_line(stream: Any = None) -> Callable[[int, int, str], None]:
    """A one-line progress display for a terminal: "grading 12/33: mlp.backward[relu-relu]",
    rewritten in place (never wider than the terminal) and erased when a part is done."""
    out = stream or sys.stderr
    width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)

    def show(done: int, total: int, check_id: str) -> None:
        text = "grading %d/%d: %s" % (done, total, check_id)
        out.write("\r" + text[:width].ljust(width))
        if done >= total:
            out.write("\r" + " " * width + "\r")
        out.flush()

    return show


def _single_progress(paths: list[str]) -> Callable[[int, int, str], None] | None:
    """Progress for a single submission graded with stderr on a terminal, else None."""
    return progress_line() if len(paths) == 1 and sys.stderr.isatty() else None


def _grade(args: argparse.Namespace) -> int:
    from ..engine.grading import GradeOptions, Grading
    from ..engine.plan import plan
    from ..engine.rubric import load_rubric
    from ..engine.secret import read_secret
    from ..sandbox.jail import resolve_mode
    from . import formats
    from .batch import CHILD_MARGIN_S, grade_class
    from .preload import preload_grader_modules

    _check_numbers(args)
    paths = ["(the folders read from stdin)"] if args.batch_child else _submission_paths(args)
    if not paths:  # a --shard that holds none of the folders
        if args.results is not None:
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.touch()
        print("grader: shard %s holds none of the submissions" % args.shard, file=sys.stderr)
        return 0
    if formats.FORMATS[args.format].single and len(paths) > 1:
        raise UsageError("--format %s describes one submission; grade them one at a time" % args.format)
    if formats.FORMATS[args.format].needs_roster and args.roster is None:
        raise UsageError("--format %s needs --roster FILE: the LMS finds students by their ids" % args.format)
    resolve_mode(args.sandbox)
    rubric = load_rubric(args.rubric, args.variant)
    options = _render_options(args, rubric)
    submitted, due = _late_dates(args)
    planned = plan(rubric, args.max_examples)
    planned.validate_selectors(args.only)
    decisions = _decisions(args.decisions)
    secret = read_secret(args.secret_file)

    def grade_one(path: str) -> GradeReport:
        options = GradeOptions(
            seed=args.seed, only=args.only, max_examples=args.max_examples, sandbox=args.sandbox,
            warm_workers=not args.cold_workers, call_timeout_s=args.timeout, rubric_path=args.rubric,
            variant=args.variant, public_only=args.public,
            submitted_at=submitted, due_at=due, secret=secret,
            progress=_single_progress(paths))
        grading = Grading(path, options, rubric, planned)  # starts the workers; no student code runs yet
        preload_grader_modules()
        report = grading.run()
        if decisions:
            from ..engine.reviews import apply_decisions

            apply_decisions(report, decisions)
        return report

    seed = args.seed if args.seed is not None else rubric.settings.seed
    if args.batch_child:
        from .batch import serve_batch_child

        return serve_batch_child(grade_one, seed, rubric.assignment.name)
    timeout = rubric.settings.submission_timeout_s + CHILD_MARGIN_S
    progress = len(paths) > 1 and sys.stderr.isatty()
    jobs = min(args.jobs or default_jobs(), len(paths))
    if jobs > 1:
        preload_grader_modules()
    store, keys = _results_store(args, paths, rubric, seed, secret)
    try:
        outcome = grade_class(paths, grade_one, _child_args(args), jobs, seed, timeout, progress,
                              rubric.assignment.name, store, keys)
    finally:
        if store is not None:
            store.close()
    reports = outcome.reports
    summary = None
    if len(paths) > 1 or outcome.interrupted:
        from .summary import class_summary

        summary = class_summary(reports, outcome.total, outcome.cached, outcome.interrupted, outcome.seconds)
    if reports:
        _emit(args, reports, options, rubric, summary)
    _write_repros(args.repro, reports)
    if outcome.interrupted:
        print("grader: interrupted: %d of %d submissions finished%s" % (
            len(reports), len(paths), " (kept in %s)" % args.results if args.results else ""), file=sys.stderr)
        return 2
    if any(r.error for r in reports):
        return 2
    if args.fail_under is not None:
        return 0 if all(r.percent() >= args.fail_under for r in reports) else 1
    return 0 if all(r.all_passed for r in reports) else 1


def default_jobs() -> int:
    """--jobs by default: the CPU cores this process may run on (each worker is bounded to one
    where cgroups are writable)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _results_store(args: argparse.Namespace, paths: list[str], rubric: Rubric, seed: int, secret: bytes | None
                   ) -> tuple[Any, dict[str, str]]:
    """The --results store and each submission's key in it (none without --results)."""
    if args.results is None:
        return None, {}
    from ..engine.rubric import default_rubric_path
    from .results import ResultsStore, file_digest, run_key, submission_key

    options = {
        "rubric": file_digest(rubric.path or default_rubric_path()), "variant": rubric.settings.variant,
        "seed": seed, "only": sorted(args.only), "max_examples": args.max_examples, "public": args.public,
        "timeout": args.timeout, "sandbox": args.sandbox, "metadata": file_digest(args.metadata),
        "submitted_at": args.submitted_at, "due": args.due, "decisions": file_digest(args.decisions),
        "secret": hashlib.sha256(b"results-key/" + secret).hexdigest() if secret else None,
    }
    run = run_key(options)
    return ResultsStore(args.results), {path: submission_key(run, path) for path in paths}


def _decisions(path: Path | None) -> list[Any]:
    """The reviewers' decisions in `path` (none without it); UsageError when it is missing or malformed."""
    if path is None:
        return []
    from ..engine.reviews import load_decisions

    if not path.is_file():
        raise UsageError("--decisions %s: no such file (grader review writes it)" % path)
    return load_decisions(path)


def _review(args: argparse.Namespace) -> int:
    from ..engine.grading import GradeOptions
    from ..engine.rubric import load_rubric
    from .batch import grade_in_process
    from .review import default_decisions, graded_for_review, parse_settings, run_review

    paths = _submission_paths(args)
    chosen = parse_settings(args.set_values)
    if chosen and len(paths) > 1:
        raise UsageError("--set decides checks of one submission; name one folder")
    rubric = load_rubric(args.rubric, args.variant)
    options = GradeOptions(seed=args.seed, rubric_path=args.rubric, variant=args.variant, sandbox="none")
    seed = args.seed if args.seed is not None else rubric.settings.seed
    reports = [grade_in_process(path, lambda p: graded_for_review(p, rubric, options), seed, rubric.assignment.name)
               for path in paths]
    target = args.decisions or default_decisions([Path(p) for p in paths], args.each)
    interactive = not chosen and sys.stdin.isatty() and sys.stdout.isatty()
    return run_review(reports, target, chosen, args.comment, interactive)


def _check_numbers(args: argparse.Namespace) -> None:
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError("--max-examples must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")


def _render_options(args: argparse.Namespace, rubric: Rubric) -> RenderOptions:
    """The roster (--roster) and gradebook item for the formats that use them."""
    from .formats import RenderOptions
    from .roster import load_roster

    roster = load_roster(args.roster) if args.roster is not None else None
    return RenderOptions(roster=roster, item=args.gradebook_item or rubric.title)


def _emit_html(args: argparse.Namespace, reports: list[GradeReport], options: RenderOptions, rubric: Rubric) -> None:
    """One HTML file (to stdout or -o FILE.html), or a folder of pages (-o FOLDER); for several
    submissions the class page, with the similarity of their code."""
    from dataclasses import replace

    from ..engine.intake import notebook_mode
    from .formats import html
    from .similarity import assignment_templates, class_similarity

    if len(reports) > 1:
        expected = [part.filename for part in rubric.assignment.parts]
        options = replace(options, similarity=class_similarity(
            [r.submission for r in reports], expected, assignment_templates(rubric.assignment),
            notebook_mode(rubric.policies)))
    if args.output and not args.output.lower().endswith((".html", ".htm")):
        written = html.write_pages(args.output, reports, options)
        print("grader: wrote %s (%d page%s)" % (Path(args.output) / "index.html", len(written),
                                                "" if len(written) == 1 else "s"), file=sys.stderr)
    elif args.output:
        _write_atomic(args.output, html.render(reports, options))
    else:
        sys.stdout.write(html.render(reports, options))


def _emit(args: argparse.Namespace, reports: list[GradeReport], options: RenderOptions | None = None,
          rubric: Rubric | None = None, summary: Any = None) -> None:
    """The requested format (to stdout or -o FILE), the terminal table (for a class, its
    `summary`, every table only with --details) and, for GitHub, the step summary. With
    --format github nothing but workflow commands goes to stdout."""
    from . import formats
    from .formats.table import make_console, render_terminal

    for report in reports:
        if report.error:
            print("grader: error: %s" % report.error, file=sys.stderr)
    if options is not None and options.roster is not None and args.format in ("csv", "html", "canvas", "brightspace"):
        from .formats.gradebook import warnings

        for warning in warnings(reports, options.roster, lms=formats.FORMATS[args.format].needs_roster):
            print("grader: %s" % warning, file=sys.stderr)
    if args.format == "html" and rubric is not None and options is not None:
        _emit_html(args, reports, options, rubric)
    elif args.format != "table":
        text = formats.render(args.format, reports, options)
        if args.output:
            _write_atomic(args.output, text)
        else:
            sys.stdout.write(text)
    elif args.output:
        _write_atomic(args.output, formats.render("table", reports))
    # The terminal comes after the file: a batch stopped by its caller (stdout gone) still writes -o.
    if args.format == "table" or (args.output and args.format != "github"):
        console = make_console()
        if summary is None or getattr(args, "details", False):
            for report in reports:
                try:
                    render_terminal(report, console)
                except Exception as exc:  # noqa: BLE001 - one submission's report never stops the others
                    render_terminal(formats.unrenderable(report, exc), console)
        if summary is not None:
            from .summary import render_summary

            render_summary(summary, console)
    if args.format == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(formats.render("markdown", reports))


def _write_repros(folder: str | None, reports: list[GradeReport]) -> None:
    """--repro FOLDER: each failed check's reproduction script, one sub-folder per submission
    when there are several (nothing without --repro)."""
    if not folder or not reports:
        return
    from .output import safe_file_stem, write_folder
    from .roster import folder_name

    files: dict[str, str] = {}
    submissions: set[str] = set()
    for report in reports:
        prefix = safe_file_stem(folder_name(report.submission), submissions) + "/" if len(reports) > 1 else ""
        taken: set[str] = set()
        for check in report.checks:
            if check.repro:
                files["%srepro_%s.py" % (prefix, safe_file_stem(check.id, taken))] = check.repro
    written = write_folder(folder, files)
    print("grader: wrote %d reproduction script%s to %s" % (len(written), "" if len(written) == 1 else "s", folder),
          file=sys.stderr)


def _merge(args: argparse.Namespace) -> int:
    """One report of every submission in the results files (e.g. one per --shard)."""
    from ..engine.rubric import load_rubric
    from . import formats
    from .results import merge_results
    from .summary import class_summary

    if formats.FORMATS[args.format].needs_roster and args.roster is None:
        raise UsageError("--format %s needs --roster FILE: the LMS finds students by their ids" % args.format)
    reports, overlapping = merge_results(args.files)
    if not reports:
        raise UsageError("no results in %s" % ", ".join(str(f) for f in args.files))
    if formats.FORMATS[args.format].single and len(reports) > 1:
        raise UsageError("--format %s describes one submission" % args.format)
    for folder in overlapping[:5]:
        print("grader: %s is in more than one results file; its last line counts" % folder, file=sys.stderr)
    rubric = load_rubric(args.rubric)
    _emit(args, reports, _render_options(args, rubric), rubric, class_summary(reports) if len(reports) > 1 else None)
    return 2 if any(r.error for r in reports) else 0


def _init(args: argparse.Namespace) -> int:
    from ..engine.assignment import DEFAULT_ASSIGNMENT, find_assignment
    from .starter import write_starter

    for path in write_starter(find_assignment(DEFAULT_ASSIGNMENT), args.folder, force=args.force):
        print("wrote %s" % path)
    print("next: fill in the TODOs, then run `grader grade %s`" % args.folder)
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..engine.rubric import default_rubric_path, load_rubric
    from .gradescope_export import export_gradescope

    rubric_path = args.rubric or default_rubric_path()
    load_rubric(rubric_path)
    names = export_gradescope(args.out, rubric_path)
    print("wrote %s (%d files: setup.sh, run_autograder, rubric.toml, a grading secret made for this bundle, the"
          " grader's source; keep the bundle from students)" % (args.out, len(names)))
    return 0


def _exit_on_sigterm() -> None:
    """SIGTERM ends the grader like Ctrl-C, so that workers and the snapshot are cleaned up; both
    also set `faces.stop.requested`, which a batch checks between submissions."""
    import signal

    from . import stop as stopping

    def stop(signum: int, frame: Any) -> None:
        stopping.requested.set()
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (e.g. called from a test runner's thread)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handlers = {"grade": _grade, "review": _review, "merge": _merge, "init": _init, "export": _export}
    try:
        return handlers[args.command](args)
    except GraderError as exc:
        print("grader: error: %s" % clean_line(str(exc)), file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - the grader itself failed: say so, exit 2
        print("grader: internal error (please report it):\n" + clean_text(traceback.format_exc()), file=sys.stderr)
        return 2


def run() -> None:
    """Console entry point: run `main`, flush, stop the warm-worker templates, and exit without
    the slow interpreter teardown (torch's module graph takes most of a second to dismantle)."""
    _exit_on_sigterm()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    templates = sys.modules.get("grader.sandbox.template")
    if templates is not None:  # the warm-worker templates, and their folders of slots
        templates.close_templates()
    os._exit(code)
