"""The `grader` command line.

Exit codes (DESIGN 8): 0 graded and every check passed (or --fail-under met); 1 graded but
below that; 2 usage error, a submission path that cannot be graded, or an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path

from . import __version__

DESCRIPTION = """\
backprop-grader grades the backpropagation homework (HW1): a submission folder's mlp.py
(the PyTorch practical part) and theory.py (the numerator-layout theory part). Every
expected value comes from PyTorch in float64; Hypothesis generates the examples, shrinks
any failure to the smallest one, and prints a command that replays it.
"""

GRADE_EPILOG = """\
examples:
  grader grade submissions/correct
  grader grade my_hw1 --format json -o result.json
  grader grade my_hw1 --only mlp.backward --seed 3       # one question, another seed
  grader grade my_hw1 --only 'mlp.backward[relu-identity]'  # one check
  grader grade my_hw1 --fail-under 80                      # exit 0 at 80%% or more

exit codes: 0 all checks passed (or --fail-under met), 1 below that, 2 usage or grader error.
"""


class UsageError(Exception):
    """A command line that cannot be carried out; exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="backprop-grader %s" % __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    grade = commands.add_parser(
        "grade", help="grade a submission folder", description="Grade a HW1 submission folder "
        "(mlp.py and/or theory.py) and report a score per question with a diagnosis of every failed check.",
        epilog=GRADE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    grade.add_argument("submissions", metavar="DIR", nargs="+",
                       help="submission folder(s); several are graded one after another")
    grade.add_argument("--format", choices=("table", "json"), default="table",
                       help="report format (default: table, a terminal table)")
    grade.add_argument("-o", "--output", metavar="FILE",
                       help="write the report to FILE (the table still goes to the terminal)")
    grade.add_argument("--seed", type=int, default=None,
                       help="grading seed: the same seed gives the same examples (default: the rubric's, 0)")
    grade.add_argument("--only", action="append", default=[], metavar="ID",
                       help="grade only this question (mlp.backward) or check (mlp.backward[relu-identity]);"
                            " repeatable")
    grade.add_argument("--max-examples", type=int, default=None, metavar="N",
                       help="Hypothesis examples per check (default: each check's own, 5 to 15)")
    grade.add_argument("--fail-under", type=float, default=None, metavar="PERCENT",
                       help="exit 0 when the score is at least PERCENT of the maximum, 1 otherwise "
                            "(default: exit 0 only if every check passed)")
    grade.add_argument("--rubric", type=Path, default=None, metavar="FILE",
                       help="rubric TOML (default: the packaged reference/hw1/rubric.toml)")
    grade.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                       help="run student code inside bubblewrap (bwrap), as a plain limited subprocess "
                            "(none), or bwrap when installed (auto, the default)")
    grade.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                       help="deadline for one call into the submission (default: the rubric's, 5 s)")
    init = commands.add_parser(
        "init", help="write a student starter folder (mlp.py, theory.py, README.md)",
        description="Write a starter folder for students: mlp.py shaped like the handout, theory.py with every "
        "function's signature and the shapes of its arguments and results in numerator layout, and a README. "
        "Grading the untouched starter gives 0 points, each check saying 'not implemented yet'.")
    init.add_argument("folder", metavar="DIR", help="folder to write into (created if missing)")
    init.add_argument("--force", action="store_true", help="overwrite files that already exist")
    return parser


def _init(args: argparse.Namespace) -> int:
    from .starter import write_starter

    for path in write_starter(args.folder, force=args.force):
        print("wrote %s" % path)
    print("next: fill in the TODOs, then run `grader grade %s`" % args.folder)
    return 0


def _write_atomic(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".%s." % target.name)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, target)


def _grade(args: argparse.Namespace) -> int:
    from .engine import GradeOptions, Grading
    from .scoring import load_rubric
    from .submission import SubmissionError

    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError("--max-examples must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    rubric = load_rubric(args.rubric)
    reports = []
    failed_paths = 0
    for path in args.submissions:
        options = GradeOptions(
            seed=args.seed, only=args.only, max_examples=args.max_examples, sandbox=args.sandbox,
            call_timeout_s=args.timeout, rubric_path=args.rubric)
        try:
            reports.append(Grading(path, options, rubric).run())
        except SubmissionError as exc:
            if len(args.submissions) == 1:
                raise
            print("grader: error: %s" % exc, file=sys.stderr)
            failed_paths += 1
            continue
        if args.format == "table" or args.output:
            from .report import make_console, render_terminal

            render_terminal(reports[-1], make_console())
    from .report import render_json

    if args.format == "json":
        text = render_json(reports[0]) if len(args.submissions) == 1 else render_json_list(reports)
        if args.output:
            _write_atomic(args.output, text)
        else:
            sys.stdout.write(text)
    elif args.output:
        _write_atomic(args.output, "".join(_table_text(r) for r in reports))
    if failed_paths:
        return 2
    if args.fail_under is not None:
        return 0 if all(r.percent() >= args.fail_under for r in reports) else 1
    return 0 if all(r.all_passed for r in reports) else 1


def render_json_list(reports: list) -> str:
    import json

    return json.dumps([r.to_json() for r in reports], indent=2) + "\n"


def _table_text(report) -> str:
    import io

    from .report import render_terminal
    from rich.console import Console

    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, no_color=True, width=120, highlight=False))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .engine import UnknownSelector
    from .sandbox import SandboxUnavailable
    from .scoring import RubricError
    from .starter import StarterExists
    from .submission import SubmissionError

    try:
        return _init(args) if args.command == "init" else _grade(args)
    except (UsageError, SubmissionError, RubricError, SandboxUnavailable, UnknownSelector, StarterExists) as exc:
        print("grader: error: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - the grader itself failed: say so, exit 2
        print("grader: internal error (please report it):\n" + traceback.format_exc(), file=sys.stderr)
        return 2


def run() -> None:
    """Console entry point: run `main`, flush, and exit without the slow interpreter teardown
    (torch's module graph takes most of a second to dismantle; nothing is left to clean up)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
