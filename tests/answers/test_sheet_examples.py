"""The example answer sheets in submissions/answers_*/: what the reader extracts from each.

Every folder has an expected.toml whose [extract."question.check"] tables say, for EVERY item,
what a careful reader takes as the answer: the chosen right-hand side (compared with spacing
normalised), its form and source line, a carry-over claim and its target, a conflict, or that the sheet does
not mention the item. [sheet] gives the format, human_only, the renamings and the blocks that
must be ignored (pasted question text, empty handout tables). The [items] verdicts are for the
grading layer; here they are only checked to be complete and well-formed.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.assignments.hw1.answers.document import build_document
from grader.assignments.hw1.answers.extract import read_sheet
from grader.assignments.hw1.answers.intake import find_sheet, read_source
from grader.assignments.hw1.answers.model import QUESTION_CHECKS, Sheet
from grader.assignments.hw1.answers.segment import segment

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = sorted(p for p in (ROOT / "submissions").glob("answers_*") if p.is_dir())
ALL_ITEMS = [f"{q}.{c}" for q, checks in QUESTION_CHECKS.items() for c in checks]
STATUSES = {"pass", "fail", "review"}
CODES = {"fail": {"transposed", "shape", "sign", "scaled", "wrong_values", "not_a_gradient", "missing"},
         "review": {"concept", "human_only"}}

@pytest.fixture(scope="module")
def sheet_of() -> Callable[[Path], Sheet]:
    """`sheet_of(folder)`: the folder's sheet, read once for the module."""
    return functools.cache(read_sheet)


def _expected(folder: Path) -> dict:
    return tomllib.loads((folder / "expected.toml").read_text(encoding="utf-8"))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_there_are_enough_example_sheets_in_every_format():
    formats = {_expected(folder)["sheet"]["format"] for folder in FOLDERS}
    assert len(FOLDERS) >= 15
    assert formats == {"md", "tex", "ipynb", "txt", "pdf"}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_expected_verdicts_cover_every_item(folder: Path):
    expected = _expected(folder)
    assert sorted(expected["items"]) == sorted(ALL_ITEMS)
    assert sorted(expected["extract"]) == sorted(ALL_ITEMS)
    for item, verdict in expected["items"].items():
        status = verdict["status"]
        assert status in STATUSES, item
        assert (status == "pass") == ("code" not in verdict), item
        assert status == "pass" or verdict["code"] in CODES[status], item
    concept = expected["items"]["q1_3c.concept_why_relu"]
    assert concept["status"] == "review" or (concept["status"], concept["code"]) == ("fail", "missing")
    if expected["sheet"]["human_only"]:
        assert {v["code"] for v in expected["items"].values()} == {"human_only"}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_sheet_level_reading(sheet_of: Callable[[Path], Sheet], folder: Path):
    sheet, expected = sheet_of(folder), _expected(folder)["sheet"]
    assert sheet.format == expected["format"]
    assert sheet.human_only == expected["human_only"]
    assert sheet.renames == expected.get("renames", {})
    for needle in expected.get("problems", []):
        assert any(needle in problem for problem in sheet.problems), (needle, sheet.problems)
    if not expected["human_only"]:
        assert not sheet.problems, sheet.problems
    for name in expected.get("macros", []):
        assert name in sheet.macros
    for label, text in expected.get("labels", {}).items():
        assert _flat(sheet.labels[label]) == _flat(text)
    for lhs in expected.get("definitions", []):
        assert any(_flat(d.lhs) == _flat(lhs) for d in sheet.definitions), (lhs, sheet.definitions)


@pytest.mark.parametrize("folder", [f for f in FOLDERS if (f / "expected.toml").exists()], ids=lambda p: p.name)
def test_question_text_and_empty_tables_are_ignored(folder: Path):
    expected = _expected(folder)["sheet"]
    source = read_source(find_sheet(folder))  # type: ignore[arg-type]
    if source.human_only:
        return
    ignored = {(p.block.line, p.ignored) for p in segment(build_document(source))
               if p.ignored in ("question text", "empty table")}
    assert ignored == {(entry["line"], entry["reason"]) for entry in expected.get("ignored", [])}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_each_item_gets_the_expected_answer(sheet_of: Callable[[Path], Sheet], folder: Path):
    sheet, expected = sheet_of(folder), _expected(folder)["extract"]
    wrong = []
    for item in ALL_ITEMS:
        question, check = item.split(".")
        got = sheet.items[(question, check)]
        want = expected[item]
        if not want.get("mentioned", True):
            if got.mentioned:
                wrong.append(f"{item}: expected nothing, got {got.chosen}")
            continue
        if got.chosen is None:
            wrong.append(f"{item}: nothing found")
            continue
        if "chosen" in want and _flat(got.chosen.text) != _flat(want["chosen"]):
            wrong.append(f"{item}: chose {got.chosen.text!r}, expected {want['chosen']!r}")
        if got.chosen.form != want["form"]:
            wrong.append(f"{item}: form {got.chosen.form}, expected {want['form']}")
        if got.chosen.line != want["line"]:
            wrong.append(f"{item}: line {got.chosen.line}, expected {want['line']}")
        if got.conflict != want.get("conflict", False):
            wrong.append(f"{item}: conflict {got.conflict}")
        if len(got.candidates) != want.get("candidates", 1):
            wrong.append(f"{item}: {len(got.candidates)} candidates, expected {want.get('candidates', 1)}")
        carry = got.carry_over
        if ("carry_over" in want) != (carry is not None):
            wrong.append(f"{item}: carry-over {carry}")
        elif carry is not None and (carry.kind, carry.target) != (want["carry_over"], want["target"]):
            wrong.append(f"{item}: carry-over {carry.kind} -> {carry.target}")
    assert not wrong, "\n".join(wrong)
