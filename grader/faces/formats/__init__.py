"""Report formats behind one registry: each renders a list of `GradeReport`s to text.

A format is a module of this package with `render(reports) -> str` (or, for a format marked
`options`, `render(reports, options)` with the `RenderOptions` below); `FORMATS` maps each name
to its module and a one-line description (`--format NAME`). Modules are imported only when
their format is used. None runs student code; each escapes student text for its target.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...model.results import GradeReport
from ...model.text import clean_name, clean_report

if TYPE_CHECKING:
    from ..roster import Roster


@dataclass(frozen=True)
class Format:
    module: str
    description: str
    single: bool = False
    """True when the format describes one submission only."""
    options: bool = False
    """True when its `render` takes `RenderOptions` as well."""
    needs_roster: bool = False
    """True when it cannot be written without `--roster` (an LMS matches students by id)."""


@dataclass(frozen=True)
class RenderOptions:
    """What some formats use besides the reports: the class roster (`--roster`), the gradebook
    item the grades go to (`--gradebook-item`, default the rubric's title), the similarity
    of the class's code (`faces.similarity.ClassSimilarity`, for the class page), and where
    each student's page is (`student_pages`: submission -> relative link, for a folder of pages)."""

    roster: Roster | None = None
    item: str = ""
    similarity: Any = None
    student_pages: dict[str, str] | None = None


FORMATS: dict[str, Format] = {
    "table": Format("table", "a terminal table (default; colour only on a terminal, never with NO_COLOR)"),
    "json": Format("json_report", "result schema 2: one object, or a list for several submissions"),
    "junit": Format("junit", "JUnit XML, one testcase per check (GitLab/Jenkins test reports)"),
    "gradescope": Format("gradescope", "Gradescope's results.json (one submission)", single=True),
    "markdown": Format("markdown", "a summary for a pull-request comment or a job summary"),
    "github": Format("github", "GitHub Actions annotations at the failing lines, plus the Markdown summary\n"
                               "appended to $GITHUB_STEP_SUMMARY when it is set"),
    "csv": Format("csv_report", "one row per submission, with the roster's student id and name (--roster)",
                  options=True),
    "html": Format("html", "a self-contained web page per submission (heatmaps of expected, got and their\n"
                           "difference); several: a class page (-o FOLDER: index.html + one page each)", options=True),
    "canvas": Format("canvas", "a Canvas gradebook import file (needs --roster)", options=True, needs_roster=True),
    "brightspace": Format("brightspace", "a Brightspace (D2L) grades import file (needs --roster)", options=True,
                          needs_roster=True),
}


def _render(name: str, reports: list[GradeReport], options: RenderOptions | None) -> str:
    fmt = FORMATS[name]
    module = importlib.import_module("%s.%s" % (__name__, fmt.module))
    text: str = module.render(reports, options or RenderOptions()) if fmt.options else module.render(reports)
    text.encode("utf-8")  # what cannot be written (a lone surrogate) fails here, not in the writer
    return text


def unrenderable(report: GradeReport, exc: Exception) -> GradeReport:
    """What stands in for a report that a format could not render: its submission, not graded."""
    return clean_report(GradeReport(
        grader_version=report.grader_version, assignment=report.assignment, submission=clean_name(report.submission),
        seed=report.seed, questions=[], sandbox=report.sandbox,
        error="the grader could not write this submission's report (%s)" % type(exc).__name__))


def render(name: str, reports: list[GradeReport], options: RenderOptions | None = None) -> str:
    """`reports` in the format called `name` (a key of FORMATS). A report the format cannot
    render becomes that submission's error (an error row in a class's CSV), never the batch's
    failure; only an error report that cannot be rendered either raises."""
    try:
        return _render(name, reports, options)
    except Exception:  # noqa: BLE001 - find the reports at fault, keep the others
        safe = []
        for report in reports:
            try:
                _render(name, [report], options)
                safe.append(report)
            except Exception as exc:  # noqa: BLE001
                safe.append(unrenderable(report, exc))
        return _render(name, safe, options)


def help_text() -> str:
    """The formats for --help, one per line."""
    lines = []
    for name, fmt in FORMATS.items():
        first, *rest = fmt.description.split("\n")
        lines.append("  %-11s %s" % (name, first))
        lines += ["  %-11s %s" % ("", more) for more in rest]
    return "\n".join(lines)
