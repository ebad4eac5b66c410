"""Hostile sheets: never a crash, never a hang; a plain-words problem note instead.

Each case is read in a fresh process with a wall-clock bound, so that a hang fails the test
instead of blocking the suite; the process prints what the reader made of the sheet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 60  # generous: the machine is shared; each case takes well under 5 s alone

_PROBE = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from grader.assignments.hw1.answers.extract import read_sheet
    start = time.monotonic()
    sheet = read_sheet(Path(sys.argv[1]))
    print(json.dumps({"seconds": time.monotonic() - start, "human_only": sheet.human_only,
                      "problems": sheet.problems, "mentioned": sorted("%s.%s" % k for k, v in sheet.items.items()
                                                                      if v.mentioned)}))
""")


def _read(folder: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", _PROBE, str(folder)], capture_output=True, text=True,
                            timeout=SECONDS, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


CASES: dict[str, tuple[str, str | bytes, str | None]] = {
    # name: (file name, content, a words of the expected problem note, or None for no note)
    "deep_braces_md": ("theory.md", "## 1.2\n### (c)\n$$\\frac{\\partial l}{\\partial W_1} = " + "{" * 10_000 + "x"
                       + "}" * 10_000 + "$$\n", "nests braces 10000 deep"),
    "deep_braces_tex": ("theory.tex", "\\section{1.2}\n\\[ a = " + "{" * 10_000 + "}" * 10_000 + " \\]\n",
                        "nests braces"),
    "five_megabytes": ("theory.md", "## 1.2\n" + "$z_1 = W_1 x + b_1$ and text. " * 180_000, "over the"),
    "deep_json": ("theory.ipynb", '{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "deeper than"),
    "invalid_utf8": ("theory.txt", b"1.2.b:\nz1 = W1 x + b1 \xff\xfe\n\xc3\x28\n", "not valid UTF-8"),
    "huge_table": ("theory.md", "## 1.2\n### (b)\n| Layer | Input | Output |\n|---|---|---|\n"
                   + "| a | b | c |\n" * 50_000 + "| " + " | ".join(["x"] * 5_000) + " |\n", "over 200 rows"),
    "macro_bomb": ("theory.tex", "\\def\\a{\\a\\a}\\newcommand{\\b}{\\b\\b\\b}\n\\section{1.2}\\subsection{(c)}\n"
                   "\\[ \\frac{\\partial l}{\\partial W^{(1)}} = \\a\\b \\] \\[ \\a = \\b \\]\n", None),
    "nested_environments": ("theory.tex", "\\section{1.2}\n" + "\\begin{enumerate}\\item x " * 3_000,
                            "nested too deeply"),
    "nested_quotes": ("theory.md", ">" * 20_000 + " q\n" + "- " * 5_000 + "l\n" + "*" * 50_000 + "\n" + "[" * 50_000,
                      None),
    "unpaired_dollars": ("theory.md", "## 1.2\n" + "$$\n" * 3_001 + "text $ a $ b $$ c\n" * 1_000, None),
    "long_math_line": ("theory.md", "## 1.2\n### (b)\n$$z_1 " + "= a " * 100_000 + "$$\n", "was not read"),
    "deep_parentheses": ("theory.md", "## 1.2\n### (c)\n$$\\frac{\\partial l}{\\partial W_1} = " + "(" * 5_000 + "x"
                         + ")" * 5_000 + "$$\n", "nested 5000 deep"),
    "nul_bytes": ("theory.md", "## 1.2\n### (b)\n\x00\x00 $z_1 = W_1\x00 x$ \x00\n", None),
    "binary_garbage": ("theory.tex", bytes(range(256)) * 200, "not valid UTF-8"),
    "empty": ("theory.txt", "", "is empty"),
    "many_statements": ("theory.md", "## 1.2\n### (c)\n" + "$\\frac{\\partial l}{\\partial W_1} = x \\delta^T$, "
                        * 15_000 + "\n", None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_sheet_is_read_without_crash_or_hang(tmp_path: Path, name: str):
    file_name, content, note = CASES[name]
    path = tmp_path / file_name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = _read(tmp_path)
    if note is None:
        assert result["problems"] == []
    else:
        assert any(note in problem for problem in result["problems"]), result["problems"]


def test_a_notebook_with_malformed_cells_keeps_the_good_ones(tmp_path: Path):
    cells = [{"cell_type": "markdown", "source": 5}, 7, None,
             {"cell_type": "markdown", "source": ["## 1.2\n", "### (b)\n", "$z_1 = W_1 x + b_1$"]}]
    (tmp_path / "theory.ipynb").write_text(json.dumps({"cells": cells}), encoding="utf-8")
    result = _read(tmp_path)
    assert result["mentioned"] == ["q1_2.forward_z1"] and not result["human_only"]


def test_the_macro_bomb_still_reads_the_rest(tmp_path: Path):
    file_name, content, _ = CASES["macro_bomb"]
    (tmp_path / file_name).write_text(str(content), encoding="utf-8")
    assert "q1_2.grad_W1" in _read(tmp_path)["mentioned"]
