"""The HTML report as a person sees it: loaded in headless Chromium, on a desktop and a phone, and
printed. The page must load without a console message (a script error or a blocked resource
would print one), run its script, and show the heatmap: a screenshot of the report of a
transposed gradient holds the heatmap's colours, which the same report without evidence lacks.

Skipped when Chromium is not installed (`apt-get install -y chromium`; .ci/run installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.faces import formats
from grader.faces.formats.html_page import CSP

from .browser import load, needs_chromium, read_png, strong_blue, strong_red
from .report_examples import example_report

pytestmark = [needs_chromium, pytest.mark.slow]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_console_check_can_fail(tmp_path):
    """A script error and a resource the page's policy blocks both reach the console we read."""
    broken = _write(tmp_path, "broken.html", "<!DOCTYPE html><p>x</p><script>console.error('deliberate')</script>")
    assert any("deliberate" in line for line in load(broken).console)
    blocked = _write(tmp_path, "blocked.html", '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="%s">'
                     "<p>x</p><script>document.title='ran'</script>" % CSP)
    assert any("Content Security Policy" in line for line in load(blocked).console)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    with_evidence = example_report("class/ada", hostile=True)
    without = example_report("class/ada", hostile=True)
    for check in without.checks:
        check.details.pop("evidence", None)
    return {"evidence": _write(folder, "ada.html", formats.render("html", [with_evidence])),
            "plain": _write(folder, "ada_plain.html", formats.render("html", [without])),
            "class": _write(folder, "class.html", formats.render("html", [with_evidence, example_report("class/bob")]))}


def test_the_report_of_a_transposed_gradient_loads_cleanly_and_holds_its_heatmaps(pages):
    loaded = load(pages["evidence"])
    assert loaded.console == []
    dom = loaded.output
    assert dom.count('<svg class="heatmap"') >= 10
    for label in ('aria-label="expected dJdW1"', 'aria-label="got dJdW1"', 'aria-label="difference dJdW1"',
                  'aria-label="ratio dJdy_hat"'):
        assert label in dom
    assert "got is expected mirrored along its diagonal" in dom
    assert "<script>alert" not in dom.split("<script>(function")[0], "student text stayed text after scripts ran"


@pytest.mark.parametrize("width, height", [(1100, 2600), (412, 4800)], ids=["desktop", "phone"])
def test_the_heatmap_is_what_the_screen_shows(pages, tmp_path, width, height):
    shots = {}
    for name in ("evidence", "plain"):
        png = tmp_path / ("%s.png" % name)
        assert load(pages[name], "--screenshot=%s" % png, width=width, height=height).console == []
        shots[name] = read_png(png)
    assert shots["evidence"].shape[1] == width
    cell = 52 * 52
    assert strong_red(shots["evidence"]) - strong_red(shots["plain"]) > 3 * cell, "red cells of the heatmaps"
    assert strong_blue(shots["evidence"]) - strong_blue(shots["plain"]) > 3 * cell, "blue cells of the heatmaps"


def test_the_page_prints(pages, tmp_path):
    pdf = tmp_path / "ada.pdf"
    assert load(pages["evidence"], "--print-to-pdf=%s" % pdf).console == []
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 2


def test_the_one_file_class_page_loads_cleanly(pages):
    loaded = load(pages["class"])
    assert loaded.console == []
    assert '<svg class="histogram"' in loaded.output and 'id="s-1"' in loaded.output and 'id="s-2"' in loaded.output
