"""Similar code across a class (grader/faces/similarity.py): a copy with renamed variables, moved
and reworded comments and new layout is flagged with its matching regions; independent
solutions (the instructor's key, the bundled correct submission and the examples' own base,
three different authors' styles) are not; the handout's template is no evidence.

tests/similarity/original_mlp.py was written for these tests, and renamed_copy_mlp.py made
from it as a copying student would.
"""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest

from grader.engine.assignment import find_assignment
from grader.faces import formats
from grader.faces.formats import RenderOptions
from grader.faces.similarity import (
    FLAG_COVERAGE,
    assignment_templates,
    class_similarity,
    compare_class,
    normalise,
)
from grader.model.results import GradeReport

from .conftest import REFERENCE, SUBMISSIONS
from .report_examples import FALL_2022

HERE = Path(__file__).parent / "similarity"
ORIGINAL = (HERE / "original_mlp.py").read_text()
COPY = (HERE / "renamed_copy_mlp.py").read_text()
TEMPLATES = assignment_templates(find_assignment("hw1"))
INDEPENDENT_MLP = {"key": (REFERENCE / "mlp.py").read_text(),
                   "correct": (SUBMISSIONS / "correct" / "mlp.py").read_text(),
                   "examples_base": (SUBMISSIONS / "mlp_dW1_no_transpose" / "mlp.py").read_text(),
                   "original": ORIGINAL}
INDEPENDENT_THEORY = {"key": (REFERENCE / "theory.py").read_text(),
                      "correct": (SUBMISSIONS / "correct" / "theory.py").read_text(),
                      "fa22": (FALL_2022 / "theory.py").read_text()}
HONEST_MARGIN = 0.8
"""Independent solutions must stay below this share of the flagging threshold."""


def test_names_comments_docstrings_and_layout_do_not_change_the_tokens():
    first = '''
def loss(y, y_hat):
    """The mean squared error."""
    diff = y_hat - y  # residual
    return ((diff ** 2).mean(), 2 * diff / diff.numel())
'''
    second = '''def loss(target, prediction):
    # a different comment, somewhere else
    r = prediction \\
        - target
    return ((r ** 2).mean(),
            2 * r / r.numel())
'''
    assert normalise(first).kinds == normalise(second).kinds
    assert normalise(first).kinds != normalise(first.replace("y_hat - y", "y_hat + y")).kinds, "operators count"
    assert "mean" in normalise(first).kinds and "numel" in normalise(first).kinds, "attributes are kept"


def test_a_renamed_reformatted_copy_is_flagged_with_its_regions():
    result = compare_class({"original": {"mlp.py": ORIGINAL}, "copy": {"mlp.py": COPY}}, TEMPLATES)
    (pair,) = result.flagged
    (shared,) = pair.files
    assert shared.coverage >= 0.9
    largest = max(shared.regions, key=lambda r: r.tokens)
    copy_lines, original_lines = largest.a_lines, largest.b_lines  # pairs are ordered by label: copy < original
    assert pair.a == "copy" and pair.b == "original"
    assert "def forward(self, inp):" in "\n".join(COPY.splitlines()[copy_lines[0] - 1:copy_lines[1]])
    assert "def forward(self, x):" in "\n".join(ORIGINAL.splitlines()[original_lines[0] - 1:original_lines[1]])


@pytest.mark.parametrize("texts", [INDEPENDENT_MLP, INDEPENDENT_THEORY], ids=["mlp", "theory"])
def test_independent_solutions_are_not_flagged(texts):
    name = "mlp.py" if "original" in texts else "theory.py"
    result = compare_class({who: {name: text} for who, text in texts.items()}, TEMPLATES, closest=100)
    assert result.flagged == []
    assert result.compared == len(texts) * (len(texts) - 1) // 2
    for pair in result.closest:
        assert pair.coverage < HONEST_MARGIN * FLAG_COVERAGE, (pair.a, pair.b, pair.coverage)


def test_the_handouts_template_is_no_evidence():
    starters = {who: {"mlp.py": TEMPLATES["mlp.py"], "theory.py": TEMPLATES["theory.py"]} for who in ("a", "b", "c")}
    assert compare_class(starters, TEMPLATES).flagged == []
    without_template = compare_class(starters, {})
    assert len(without_template.flagged) == 3, "the same files are flagged when the template is not known"
    filled = {who: {"mlp.py": TEMPLATES["mlp.py"] + "\n\ndef helper(v):\n    return v * 2\n"} for who in ("a", "b")}
    assert compare_class(filled, TEMPLATES).flagged == [], "a few shared lines beyond the template are not enough"


def test_code_shared_by_most_of_a_large_class_is_not_evidence():
    class_of_eight = {"s%d" % i: {"mlp.py": ORIGINAL} for i in range(8)}
    assert compare_class(class_of_eight, TEMPLATES).flagged == [], "a handout's code the grader does not know"
    pair_in_class = dict(INDEPENDENT_MLP, copy=COPY)
    result = compare_class({who: {"mlp.py": text} for who, text in pair_in_class.items()}, TEMPLATES)
    assert [(p.a, p.b) for p in result.flagged] == [("copy", "original")]


def test_files_that_do_not_parse_are_compared_as_far_as_they_go():
    broken = ORIGINAL.replace("def bce_loss(y, y_hat):", "def bce_loss(y, y_hat:")
    result = compare_class({"a": {"mlp.py": ORIGINAL}, "b": {"mlp.py": broken}, "c": {"mlp.py": "\x00\xff" * 100},
                            "d": {"mlp.py": '"""unterminated'}}, TEMPLATES)
    assert [(p.a, p.b) for p in result.flagged] == [("a", "b")]


def test_the_class_page_shows_flagged_pairs_with_escaped_regions(tmp_path):
    klass = tmp_path / "class"
    for who, text in (("ada", ORIGINAL), ("bob", COPY.replace("# back through the hidden layer",
                                                              "# <script>alert(1)</script>")),
                      ("cy", INDEPENDENT_MLP["correct"])):
        (klass / who).mkdir(parents=True)
        (klass / who / "mlp.py").write_text(text)
    shutil.copytree(SUBMISSIONS / "correct", klass / "dee")
    (klass / "eve" / "hw1").mkdir(parents=True)
    (klass / "eve" / "hw1" / "mlp.py").write_text(COPY)
    paths = sorted(str(p) for p in klass.iterdir())
    similarity = class_similarity(paths, ["mlp.py", "theory.py"], TEMPLATES)
    flagged = {(Path(p.a).name, Path(p.b).name) for p in similarity.flagged}
    assert flagged == {("ada", "bob"), ("ada", "eve"), ("bob", "eve"), ("cy", "dee")}, "eve's nested folder is read"
    reports = [GradeReport("0.1.0", "hw1", path, 0, []) for path in paths]
    html_text = formats.render("html", reports, RenderOptions(similarity=similarity))
    section = html_text[html_text.index('id="similarity"'):]
    assert "never a grade" in section and "Flagged pairs" in section
    assert "<script>alert(1)</script>" not in section and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    for a, b in flagged:
        assert re.search(r">%s</a> ↔ <a [^>]*>%s</a>" % (a, b), section), (a, b)


def test_pairs_are_found_once_and_in_a_stable_order():
    texts = {"b": {"mlp.py": COPY}, "a": {"mlp.py": ORIGINAL}, "c": {"mlp.py": COPY}}
    first, second = compare_class(texts, TEMPLATES), compare_class(dict(reversed(texts.items())), TEMPLATES)
    pairs = [(p.a, p.b) for p in first.flagged]
    assert pairs == [(p.a, p.b) for p in second.flagged]
    assert sorted(pairs) == [pair for pair in itertools.combinations("abc", 2)]
