"""Intake as students submit: a notebook (mlp.ipynb) graded as mlp.py, a nested folder followed,
and, when nothing is found, a message that lists what was found (grader/engine/intake.py).

Every submission here is built from the bundled examples in the test's own temporary folder;
grading runs only what the case needs (`--only mlp.forward`, few examples).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from grader.engine import policies as policy_module
from grader.engine.grading import GradeOptions, Grading
from grader.engine.intake import NotebookError, convert_notebook, locate, read_sources
from grader.engine.policies import parse_policies
from grader.engine.rubric import load_rubric
from grader.errors import SubmissionError

from .conftest import DEFAULT_RUBRIC, SUBMISSIONS

CORRECT_MLP = (SUBMISSIONS / "correct" / "mlp.py").read_text()
CORRECT_THEORY = (SUBMISSIONS / "correct" / "theory.py").read_text()
FAST = {"only": ["mlp.forward"], "max_examples": 2, "sandbox": "none"}


def notebook(cells: list[tuple[str, str]], nbformat: int = 4) -> str:
    """A notebook's JSON with `cells` = [(cell_type, source)], source as Jupyter stores it (a list of lines)."""
    made = [{"cell_type": kind, "metadata": {}, "source": text.splitlines(True),
             **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, text in cells]
    if nbformat == 3:
        for cell in made:
            cell["input"] = cell.pop("source")
        return json.dumps({"nbformat": 3, "worksheets": [{"cells": made}], "metadata": {}})
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": made})


def student_notebook() -> str:
    """The correct mlp.py as a student's Colab notebook: a markdown title, an install cell, the code
    split over several cells, a %%time cell, a shell line inside an if, and a %%bash cell."""
    chunks = CORRECT_MLP.split("\n\n\n")
    cells = [("markdown", "# Homework 1\nMy MLP."), ("code", "!pip install torch==2.13.0\n%matplotlib inline\n")]
    cells += [("code", chunk) for chunk in chunks]
    cells += [("code", "%%time\ncheck = 1\nif check:\n    !nvidia-smi\n"),
              ("code", "%%bash\nls -la\necho done\n"),
              ("code", "files = !ls\nhelp_text = '''\n%not a magic, inside a string\n'''\n")]
    return notebook(cells)


def _grade(folder: Path, rubric: Path | None = None, **options):
    chosen = dict(FAST, **options)
    return Grading(folder, GradeOptions(rubric_path=rubric, **chosen), load_rubric(rubric)).run()


def _rubric_with(tmp_path: Path, notebooks: str) -> Path:
    text = DEFAULT_RUBRIC.read_text().replace('notebooks = "accept"', 'notebooks = "%s"' % notebooks)
    assert 'notebooks = "%s"' % notebooks in text
    path = tmp_path / ("rubric_%s.toml" % notebooks)
    path.write_text(text)
    return path


# -- notebooks ------------------------------------------------------------------------------------

def test_the_conversion_keeps_code_and_line_numbers_and_drops_ipython_lines():
    converted = convert_notebook(student_notebook().encode(), "mlp.ipynb")
    text = converted.text
    compile(text, "mlp.py", "exec")  # plain Python now
    assert "class MLP" in text and "def bce_loss" in text
    assert "!pip" not in text and "%matplotlib" not in text and "!nvidia-smi" not in text
    assert "    pass  # removed by the grader" in text, "a shell line inside an if keeps its indentation"
    assert "%not a magic, inside a string" in text, "text inside a string is left alone"
    assert "# ls -la" in text and "# echo done" in text, "a %%bash cell is commented out, not run"
    assert text.count("# [cell ") == converted.cells
    assert converted.shell == ["!pip install torch==2.13.0", "!nvidia-smi", "files = !ls"]
    assert converted.magics == ["%matplotlib inline", "%%time"]
    source_lines = sum(len(chunk.splitlines()) for chunk in CORRECT_MLP.split("\n\n\n"))
    code_lines = [line for line in text.splitlines() if not line.startswith("# [cell ")]
    assert len(code_lines) == source_lines + 2 + 4 + 3 + 4, "every notebook line keeps its own line"


def test_nbformat_3_and_byte_order_marks_are_read():
    text = convert_notebook(b"\xef\xbb\xbf" + notebook([("code", "x = 1\n")], nbformat=3).encode()).text
    assert text == "# [cell 1]\nx = 1\n"


@pytest.mark.parametrize("data, says", [
    (b"{not json", "not a readable notebook"),
    (b"[1, 2]", "not a notebook"),
    (notebook([("markdown", "only words")]).encode(), "has no code cells"),
    (notebook([("code", "   \n")]).encode(), "has no code cells"),
    (b"[" * 100000 + b"]" * 100000, "not a readable notebook"),
    (b"\xff\xfe", "not a readable notebook"),
])
def test_what_is_not_a_notebook_is_named(data, says):
    with pytest.raises(NotebookError, match=says):
        convert_notebook(data, "mlp.ipynb")


@pytest.mark.slow
def test_a_notebook_is_graded_as_mlp_py_without_the_format_penalty(tmp_path):
    folder = tmp_path / "colab_student"
    folder.mkdir()
    (folder / "mlp.ipynb").write_text(student_notebook())
    (folder / "theory.py").write_text(CORRECT_THEORY)
    report = _grade(folder)
    assert report.error is None
    assert report.checks and all(c.status == "pass" for c in report.checks), [c.message for c in report.checks]
    assert report.penalties == []
    (notice,) = [n for n in report.notices if "mlp.ipynb graded as mlp.py" in n]
    assert "removed 2 IPython magics" in notice and "3 shell lines (!pip install torch==2.13.0" in notice
    assert "cell 13 (%%bash)" in notice or "(%%bash)" in notice


@pytest.mark.slow
def test_a_broken_notebook_points_at_the_line_of_the_converted_text(tmp_path):
    folder = tmp_path / "raises"
    folder.mkdir()
    head = "    def forward(self, x):\n"
    source = CORRECT_MLP.replace(head, head + "        raise ValueError('oops')\n")
    (folder / "mlp.ipynb").write_text(notebook([("code", "!ls\n"), ("code", source)]))
    report = _grade(folder)
    failed = [c for c in report.checks if c.status != "pass"]
    assert failed and {c.code for c in failed} == {"exception"}
    converted = convert_notebook((folder / "mlp.ipynb").read_bytes()).text.splitlines()
    line = failed[0].location["line"]
    assert converted[line - 1].strip() == "raise ValueError('oops')"


@pytest.mark.slow
def test_notebooks_penalize_grades_and_charges_it_once(tmp_path):
    folder = tmp_path / "penalized"
    folder.mkdir()
    (folder / "mlp.ipynb").write_text(notebook([("code", CORRECT_MLP)]))
    (folder / "theory.py").write_text(CORRECT_THEORY)
    report = _grade(folder, rubric=_rubric_with(tmp_path, "penalize"))
    assert report.checks and all(c.status == "pass" for c in report.checks)
    (penalty,) = report.penalties
    assert penalty.policy == "format" and "mlp.ipynb is a notebook, not mlp.py" in penalty.reason
    assert penalty.points == pytest.approx(0.05 * report.max_score)


@pytest.mark.slow
def test_notebooks_reject_is_not_graded_and_says_why(tmp_path):
    folder = tmp_path / "rejected"
    folder.mkdir()
    (folder / "mlp.ipynb").write_text(notebook([("code", CORRECT_MLP)]))
    rubric = _rubric_with(tmp_path, "reject")
    with pytest.raises(SubmissionError) as raised:
        Grading(folder, GradeOptions(rubric_path=rubric, **FAST), load_rubric(rubric))
    message = str(raised.value)
    assert "the submission has no mlp.py; the submission has no theory.py" in message
    assert "it holds: mlp.ipynb" in message and 'notebooks = "reject"' in message


@pytest.mark.slow
def test_an_unreadable_notebook_is_the_parts_error_not_a_crash(tmp_path):
    folder = tmp_path / "bad_notebook"
    folder.mkdir()
    (folder / "mlp.ipynb").write_text("{ this is not json")
    (folder / "theory.py").write_text(CORRECT_THEORY)
    report = _grade(folder, only=["mlp.forward", "theory.loss"])
    mlp = [c for c in report.checks if c.id.startswith("mlp.")]
    assert mlp and {c.code for c in mlp} == {"missing"}
    assert "mlp.ipynb is not a readable notebook" in mlp[0].message
    assert any(c.status == "pass" for c in report.checks if c.id.startswith("theory."))


@pytest.mark.slow
def test_a_real_mlp_py_wins_over_a_notebook(tmp_path):
    folder = tmp_path / "both"
    folder.mkdir()
    (folder / "mlp.py").write_text(CORRECT_MLP)
    (folder / "mlp.ipynb").write_text(notebook([("code", "raise SystemExit('the notebook must not be graded')")]))
    (folder / "theory.py").write_text(CORRECT_THEORY)
    report = _grade(folder)
    assert all(c.status == "pass" for c in report.checks)
    assert not any("ipynb" in n for n in report.notices)
    assert report.penalties == [], "a notebook named like a required file is accepted under the default rubric"


@pytest.mark.parametrize("mode, files, problems", [
    ("accept", ["mlp.ipynb", "theory.py"], []),
    ("accept", ["mlp.ipynb", "mlp.py", "theory.py", "scratch.ipynb"], ["scratch.ipynb should not be submitted"]),
    ("penalize", ["mlp.ipynb", "theory.py"], ["mlp.ipynb is a notebook, not mlp.py"]),
    ("reject", ["mlp.ipynb", "theory.py"], ["mlp.py is missing", "mlp.ipynb should not be submitted"]),
])
def test_the_format_policy_for_notebooks(mode, files, problems):
    table = {"penalty": 0.05, "required": ["mlp.py", "theory.py"], "forbidden": ["*.ipynb"], "notebooks": mode}
    penalty = policy_module.format_penalty(parse_policies({"format": table}).format, files, 100.0)
    if not problems:
        assert penalty is None
        return
    assert penalty is not None and penalty.points == pytest.approx(5.0)
    for problem in problems:
        assert problem in penalty.reason


def test_an_unknown_notebook_setting_is_a_policy_error():
    with pytest.raises(policy_module.PolicyError, match="notebooks must be one of accept, penalize, reject"):
        parse_policies({"format": {"notebooks": "sometimes"}})


# -- nested folders --------------------------------------------------------------------------------

def _correct_in(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "mlp.py").write_text(CORRECT_MLP)
    (folder / "theory.py").write_text(CORRECT_THEORY)
    return folder


@pytest.mark.slow
def test_a_single_nested_folder_is_followed_with_a_notice(tmp_path):
    root = tmp_path / "zipped"
    _correct_in(root / "submission" / "hw1")
    (root / "README.txt").write_text("see hw1\n")
    (root / "__MACOSX" / "submission" / "hw1").mkdir(parents=True)
    (root / "__MACOSX" / "submission" / "hw1" / "mlp.py").write_text("resource fork")
    report = _grade(root)
    assert all(c.status == "pass" for c in report.checks) and report.penalties == []
    (notice,) = [n for n in report.notices if "graded the folder" in n]
    assert "submission/hw1/" in notice and "1 other entry at the top not graded" in notice
    assert report.submission == str(root), "the report keeps the folder the grader was given"


def test_the_shallowest_nested_folder_wins_and_a_tie_is_an_error(tmp_path):
    root = tmp_path / "nested"
    _correct_in(root / "hw1")
    _correct_in(root / "hw1" / "old_attempt")
    assert locate(root, ["mlp.py", "theory.py"]).folder == root / "hw1"
    _correct_in(root / "hw1_copy")
    with pytest.raises(SubmissionError, match="several folders inside it hold mlp.py or theory.py: hw1/, hw1_copy/"):
        locate(root, ["mlp.py", "theory.py"])


def test_a_symlinked_or_too_deep_folder_is_not_followed(tmp_path):
    elsewhere = _correct_in(tmp_path / "someone_else")
    root = tmp_path / "linked"
    root.mkdir()
    os.symlink(elsewhere, root / "hw1")
    _correct_in(root / "a" / "b" / "c" / "d")
    with pytest.raises(SubmissionError) as raised:
        locate(root, ["mlp.py", "theory.py"])
    assert "it holds: a/, hw1" in str(raised.value)


def test_a_part_left_in_a_sub_folder_is_named(tmp_path):
    root = tmp_path / "split"
    root.mkdir()
    (root / "theory.py").write_text(CORRECT_THEORY)
    (root / "code").mkdir()
    (root / "code" / "mlp.py").write_text(CORRECT_MLP)
    intake = locate(root, ["mlp.py", "theory.py"])
    assert intake.folder == root
    assert intake.notices == ["mlp.py is not at the top of the submission but in code/; it was not graded"
                              " (put mlp.py at the top)"]


# -- nothing to grade -----------------------------------------------------------------------------

def test_nothing_to_grade_lists_what_was_found_and_suggests_a_rename(tmp_path):
    root = tmp_path / "renamed"
    root.mkdir()
    (root / "mlp_final_v2.py").write_text(CORRECT_MLP)
    (root / "Theory.py").write_text(CORRECT_THEORY)
    (root / "data").mkdir()
    for number in range(14):
        (root / ("plot%02d.png" % number)).write_bytes(b"\x89PNG")
    with pytest.raises(SubmissionError) as raised:
        locate(root, ["mlp.py", "theory.py"])
    message = str(raised.value)
    assert message.startswith("nothing to grade in %s: the submission has no mlp.py; the submission has no theory.py"
                              % root)
    assert "it holds: Theory.py, data/, mlp_final_v2.py, plot00.png" in message and "and 5 more" in message
    assert "did you mean mlp_final_v2.py? rename it mlp.py" in message
    assert "did you mean Theory.py? rename it theory.py" in message


def test_file_names_in_the_message_cannot_forge_lines(tmp_path):
    root = tmp_path / "hostile"
    root.mkdir()
    (root / "x\n::error::forged\u202e.txt").write_text("")
    with pytest.raises(SubmissionError) as raised:
        locate(root, ["mlp.py", "theory.py"])
    message = str(raised.value)
    assert "\n" not in message and "\u202e" not in message and ": :error: :forged" in message


def test_read_sources_finds_code_as_grading_finds_it(tmp_path):
    root = tmp_path / "for_similarity"
    (root / "hw1").mkdir(parents=True)
    (root / "hw1" / "mlp.ipynb").write_text(notebook([("code", "!pip install torch\nimport torch\n")]))
    (root / "hw1" / "theory.py").write_text("import numpy as np\n")
    texts = read_sources(root, ["mlp.py", "theory.py"])
    assert texts == {"mlp.py": "# [cell 1]\npass  # removed by the grader: an IPython line\nimport torch\n",
                     "theory.py": "import numpy as np\n"}
    shutil.rmtree(root / "hw1")
    assert read_sources(root, ["mlp.py", "theory.py"]) == {}


def test_the_pytest_plugin_finds_what_grading_finds(tmp_path):
    from grader.engine.rubric import load_rubric
    from grader.faces.pytest_plugin import _problem

    rubric = load_rubric()
    nested = tmp_path / "repo"
    _correct_in(nested / "hw1")
    colab = tmp_path / "colab"
    colab.mkdir()
    (colab / "mlp.ipynb").write_text(notebook([("code", CORRECT_MLP)]))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _problem(nested, rubric) is None and _problem(colab, rubric) is None
    assert _problem(empty, rubric) == ("nothing to grade in %s: the submission has no mlp.py; the submission has no"
                                       " theory.py (nor mlp.ipynb or theory.ipynb, at its top or in a sub-folder);"
                                       " no written sheet (theory.md, theory.tex, theory.ipynb, theory.txt,"
                                       " theory.pdf); it is empty" % empty)
