"""Report formats behind one registry: each renders a list of `GradeReport`s to text.

A format is a module of this package with `render(reports) -> str`; `FORMATS` maps each
name to its module and a one-line description (`--format NAME`). Modules are imported only
when their format is used. None runs student code; each escapes student text for its target.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ...model.results import GradeReport


@dataclass(frozen=True)
class Format:
    module: str
    description: str
    single: bool = False
    """True when the format describes one submission only."""


FORMATS: dict[str, Format] = {
    "table": Format("table", "a terminal table (default; colour only on a terminal, never with NO_COLOR)"),
    "json": Format("json_report", "result schema 2: one object, or a list for several submissions"),
    "junit": Format("junit", "JUnit XML, one testcase per check (GitLab/Jenkins test reports)"),
    "gradescope": Format("gradescope", "Gradescope's results.json (one submission)", single=True),
    "markdown": Format("markdown", "a summary for a pull-request comment or a job summary"),
    "github": Format("github", "GitHub Actions annotations at the failing lines, plus the Markdown summary\n"
                               "appended to $GITHUB_STEP_SUMMARY when it is set"),
    "csv": Format("csv_report", "one row per submission"),
}


def render(name: str, reports: list[GradeReport]) -> str:
    """`reports` in the format called `name` (a key of FORMATS)."""
    module = importlib.import_module("%s.%s" % (__name__, FORMATS[name].module))
    text: str = module.render(reports)
    return text


def help_text() -> str:
    """The formats for --help, one per line."""
    lines = []
    for name, fmt in FORMATS.items():
        first, *rest = fmt.description.split("\n")
        lines.append("  %-11s %s" % (name, first))
        lines += ["  %-11s %s" % ("", more) for more in rest]
    return "\n".join(lines)
