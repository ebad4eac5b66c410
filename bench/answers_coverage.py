"""Written answer sheets: how much the grader decides by itself, and how often it agrees.

    python bench/answers_coverage.py [--json FILE] [FOLDER ...]

Grades every example sheet (default: submissions/answers_*/, each with an expected.toml)
through the engine exactly as `grader grade DIR --only answers` does, under the rubric
settings the sheet's expected.toml names, and reports per sheet and in total:

  decided    items the grader settles itself (pass, fail or error), not sent to a person;
  review     items sent to a person (status "review");
  agreement  items whose status and diagnosis code are the ones expected.toml gives.

Coverage is given twice: over every item, and over the items a grader can decide at all,
leaving out the 1.3(c) explanation (always read by a person) and sheets with no math source
(a PDF). It also gives the wall time of the grading. Only measures and reports; exit 0, or 2
when a sheet could not be graded at all.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import tomllib
from pathlib import Path

from grader.engine.grading import GradeOptions, Grading
from grader.engine.rubric import load_rubric

REPO_ROOT = Path(__file__).resolve().parent.parent
ENGINE_CODE = {"undefined_symbol": "unreadable", "incomplete": "unreadable", "mismatch": "unreadable",
               "invalid_text": "limit"}
BY_DESIGN = ("concept_why_relu",)


def grade_sheet_folder(folder: Path) -> dict:
    """One sheet's counts (see the module docstring)."""
    expected = tomllib.loads((folder / "expected.toml").read_text(encoding="utf-8"))
    settings = expected.get("settings", {})
    rubric = load_rubric(None, settings.get("variant"))
    table = dict(rubric.raw_settings, layout=settings.get("layout", "numerator"),
                 unmentioned_13=settings.get("unmentioned_13", "unchanged"))
    rubric = dataclasses.replace(rubric, raw_settings=table,
                                 assignment_settings=rubric.assignment.parse_settings(
                                     {k: v for k, v in table.items() if k in ("loss_convention", "layout",
                                                                               "answers_pattern", "unmentioned_13")},
                                     rubric.settings.variant))
    started = time.monotonic()
    report = Grading(folder, GradeOptions(only=["answers"], sandbox="none"), rubric).run()
    seconds = time.monotonic() - started
    human_only = bool(expected["sheet"].get("human_only"))
    rows = []
    for check in report.checks:
        item = "%s.%s" % (check.question.split(".", 1)[1], check.id.split("[", 1)[1].rstrip("]"))
        want = expected["items"][item]
        code = want.get("code")
        rows.append({"item": item, "status": check.status, "code": check.code,
                     "agrees": (check.status, check.code) == (want["status"], ENGINE_CODE.get(code, code)),
                     "decidable": not human_only and not item.endswith(BY_DESIGN)})
    return {"sheet": folder.name, "format": expected["sheet"]["format"], "items": len(rows),
            "decided": sum(r["status"] != "review" for r in rows),
            "review": sum(r["status"] == "review" for r in rows),
            "agree": sum(r["agrees"] for r in rows),
            "decidable": sum(r["decidable"] for r in rows),
            "decidable_decided": sum(r["decidable"] and r["status"] != "review" for r in rows),
            "seconds": seconds, "disagreements": [r for r in rows if not r["agrees"]]}


def percent(part: int, whole: int) -> str:
    return "%.1f%%" % (100.0 * part / whole) if whole else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="sheet folders (default: submissions/answers_*)")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON to FILE")
    args = parser.parse_args(argv)
    folders = args.folders or sorted(p for p in (REPO_ROOT / "submissions").glob("answers_*") if p.is_dir())
    results = []
    for folder in folders:
        try:
            results.append(grade_sheet_folder(folder))
        except Exception as exc:  # noqa: BLE001 - report which sheet broke the run, then stop
            print("%s: not graded (%s: %s)" % (folder.name, type(exc).__name__, exc), file=sys.stderr)
            return 2
    print("| sheet | format | items | decided | review | agree |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        print("| %s | %s | %d | %d | %d | %d |" % (r["sheet"], r["format"], r["items"], r["decided"], r["review"],
                                                 r["agree"]))
    total = {key: sum(r[key] for r in results) for key in ("items", "decided", "review", "agree", "decidable",
                                                            "decidable_decided")}
    seconds = sum(r["seconds"] for r in results)
    print()
    print("sheets: %d, items: %d, grading time: %.1f s (%.2f s per sheet)" % (
        len(results), total["items"], seconds, seconds / max(1, len(results))))
    print("coverage, all items: %d of %d decided by the grader (%s); %d sent to a person" % (
        total["decided"], total["items"], percent(total["decided"], total["items"]), total["review"]))
    print("coverage, decidable items (no 1.3(c), no PDF): %d of %d (%s)" % (
        total["decidable_decided"], total["decidable"], percent(total["decidable_decided"], total["decidable"])))
    print("agreement with expected.toml: %d of %d (%s)" % (total["agree"], total["items"],
                                                          percent(total["agree"], total["items"])))
    for r in results:
        for row in r["disagreements"]:
            print("  disagrees: %s %s: %s/%s" % (r["sheet"], row["item"], row["status"], row["code"]))
    if args.json:
        args.json.write_text(json.dumps({"sheets": results, "total": total, "seconds": seconds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
