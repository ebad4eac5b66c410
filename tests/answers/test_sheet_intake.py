"""Finding a sheet in a folder and reading its text: names, formats, encodings, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.assignments.hw1.answers.extract import read_sheet
from grader.assignments.hw1.answers.intake import find_sheet, json_depth_exceeds, read_source
from grader.assignments.hw1.answers.model import Limits


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_the_preferred_sheet_is_found_whatever_the_letter_case(tmp_path: Path):
    _write(tmp_path, "README.md", "# not the sheet")
    _write(tmp_path, "Theory.TXT", "1.2.b: z1 = W1 x + b1")
    _write(tmp_path, "theory.tex", r"\section{1.2}")
    assert find_sheet(tmp_path) == tmp_path / "theory.tex"
    (tmp_path / "theory.tex").unlink()
    assert find_sheet(tmp_path) == tmp_path / "Theory.TXT"


def test_a_glob_pattern_chooses_the_sheet(tmp_path: Path):
    _write(tmp_path, "theory.md", "# 1.2")
    _write(tmp_path, "hw1_answers_b.md", "b")
    _write(tmp_path, "hw1_answers_a.md", "a")
    assert find_sheet(tmp_path, "hw1_answers_*.md") == tmp_path / "hw1_answers_a.md"
    assert find_sheet(tmp_path, "nothing_*.tex") is None


def test_a_folder_with_only_a_pdf_goes_to_a_human(tmp_path: Path):
    _write(tmp_path, "scan.pdf", b"%PDF-1.4\n%%EOF\n")
    sheet = read_sheet(tmp_path)
    assert sheet.format == "pdf" and sheet.human_only
    assert "PDF" in sheet.problems[0] and "human" in sheet.problems[0]
    assert not any(item.mentioned for item in sheet.items.values())


def test_no_sheet_at_all_is_an_error_of_the_caller(tmp_path: Path):
    _write(tmp_path, "mlp.py", "x = 1")
    assert find_sheet(tmp_path) is None
    with pytest.raises(FileNotFoundError):
        read_sheet(tmp_path)


def test_invalid_utf8_is_decoded_with_replacement_and_reported(tmp_path: Path):
    _write(tmp_path, "theory.txt", b"1.2.b:\nz1 = W1 x + b1 \xff\nz2 = max(z1, 0)\n")
    sheet = read_sheet(tmp_path)
    assert any("not valid UTF-8" in p for p in sheet.problems)
    assert not sheet.human_only
    assert sheet.items[("q1_2", "forward_z2")].chosen.text == "max(z1, 0)"  # type: ignore[union-attr]


def test_byte_order_marks_are_honoured(tmp_path: Path):
    _write(tmp_path, "theory.txt", "1.2.b: z1 = W1 x + b1".encode("utf-16"))
    assert read_source(tmp_path / "theory.txt").text.startswith("1.2.b")
    _write(tmp_path, "theory.txt", b"\xef\xbb\xbf1.2.b: z1 = W1 x + b1")
    source = read_source(tmp_path / "theory.txt")
    assert source.text.startswith("1.2.b") and not source.problems


def test_a_sheet_over_the_size_limit_is_not_read(tmp_path: Path):
    _write(tmp_path, "theory.md", "## 1.2\n" + "x = 1\n" * 1000)
    sheet = read_sheet(tmp_path, Limits(max_file_bytes=2_000))
    assert sheet.human_only and "over the" in sheet.problems[0]


def test_embedded_images_do_not_count_towards_the_text_limit(tmp_path: Path):
    image = "![plot](data:image/png;base64," + "iVBORw0KGgo" * 50_000 + ")"
    _write(tmp_path, "theory.md", "## 1.2\n### (b)\n$z_1 = W_1 x + b_1$\n\n" + image + "\n")
    sheet = read_sheet(tmp_path, Limits(max_file_bytes=2_000_000, max_text_chars=10_000))
    assert not sheet.human_only
    assert sheet.items[("q1_2", "forward_z1")].chosen is not None


def test_a_symbolic_link_is_not_followed(tmp_path: Path):
    secret = _write(tmp_path, "secret.txt", "1.2.b: z1 = W1 x + b1")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "theory.txt").symlink_to(secret)
    sheet = read_sheet(folder)
    assert sheet.human_only and "symbolic link" in sheet.problems[0]


def test_notebook_markdown_cells_only(tmp_path: Path):
    cells = [{"cell_type": "markdown", "source": ["## 1.2\n", "### (b)\n", "$z_1 = W_1 x + b_1$"]},
             {"cell_type": "code", "source": "z2 = relu(z1)\n", "outputs": []},
             {"cell_type": "raw", "source": "$z_3 = 0$"},
             {"cell_type": "markdown", "source": "$z_2 = \\max(z_1, 0)$"}]
    _write(tmp_path, "theory.ipynb", json.dumps({"cells": cells, "nbformat": 4}))
    source = read_source(tmp_path / "theory.ipynb")
    assert "relu" not in source.text and "z_3" not in source.text
    assert source.cell_starts == [1, 5]
    sheet = read_sheet(tmp_path)
    assert sheet.items[("q1_2", "forward_z2")].chosen.text == r"\max(z_1, 0)"  # type: ignore[union-attr]
    assert not sheet.items[("q1_2", "forward_z3")].mentioned


@pytest.mark.parametrize("content, reason", [
    ("[" * 5000 + "]" * 5000, "deeper than"),
    ("{not json", "not a valid notebook"),
    ("[1, 2]", "no list of cells"),
])
def test_unreadable_notebooks_go_to_a_human(tmp_path: Path, content: str, reason: str):
    _write(tmp_path, "theory.ipynb", content)
    sheet = read_sheet(tmp_path)
    assert sheet.human_only and reason in sheet.problems[0]


def test_json_depth_ignores_brackets_inside_strings():
    assert not json_depth_exceeds('{"a": "[[[[[[[[[[[[[[[["}', 3)
    assert json_depth_exceeds('[[[[1]]]]', 3)
