"""The HTML pages' shared frame: one self-contained document, its style, its one small script,
and the escaping every piece of text goes through.

A page loads nothing: no network, no file; its Content-Security-Policy (a meta tag) allows
only this module's own style and script, by their SHA-256 hashes, and images from `data:`,
so that even a piece of student text that escaped escaping could neither run nor fetch
anything. Colours are SVG presentation attributes and classes, never inline `style=`. The
layout is one column on a phone and prints on paper (every collapsed section opens for
printing, and colours print).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

from ...model.results import format_points

_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dee7; --pass: #1a7f37; --fail: #b42318; --error: #9a3412;
  --review: #6941c6; --paper: #ffffff; --tint: #f5f7fa; --accent: #1f4f99; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--tint); }
main { max-width: 1080px; margin: 0 auto; padding: 12px; }
header.top, section, article.student { background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 16px; margin: 0 0 14px; }
h1 { font-size: 1.45rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 0 0 8px; overflow-wrap: anywhere; }
h3 { font-size: 1.05rem; margin: 14px 0 6px; }
p { margin: 6px 0; }
.muted, .meta { color: var(--muted); font-size: 0.9rem; }
.score { font-size: 2rem; font-weight: 700; margin: 6px 0 0; }
.score small { font-size: 1rem; font-weight: 400; color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.88rem; }
pre { background: var(--tint); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow-x: auto;
  white-space: pre-wrap; overflow-wrap: anywhere; margin: 6px 0; }
.message { white-space: pre-wrap; overflow-wrap: anywhere; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 0.8rem; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.pass { color: var(--pass); } .fail { color: var(--fail); } .error { color: var(--error); }
.review { color: var(--review); } .code { color: var(--accent); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 0.82rem; text-transform: uppercase; letter-spacing: .02em; }
td.num, th.num { text-align: right; white-space: nowrap; }
details { margin: 8px 0; }
details > summary { cursor: pointer; font-weight: 600; }
details.check { border: 1px solid var(--line); border-left: 5px solid var(--fail); border-radius: 8px;
  padding: 8px 12px; background: var(--paper); }
details.check.status-error { border-left-color: var(--error); }
details.check.status-review { border-left-color: var(--review); }
details.check > summary { list-style-position: outside; }
.check-head { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: baseline; }
.check-head .id { font-family: ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.chips { display: flex; flex-wrap: wrap; gap: 4px 6px; margin: 6px 0; padding: 0; list-style: none; }
.chips li { background: var(--tint); border: 1px solid var(--line); border-radius: 6px; padding: 0 6px;
  font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.85rem; }
.evidence { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: flex-start; margin: 8px 0; }
figure { margin: 0; }
figcaption { font-size: 0.85rem; color: var(--muted); margin-bottom: 2px; }
svg.heatmap { display: block; max-width: 100%; height: auto; }
svg.bar, svg.histogram { display: block; max-width: 100%; height: auto; }
.caption { font-size: 0.9rem; margin: 4px 0 0; }
.written { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 8px 14px; }
.written h4 { margin: 0; font-size: 0.85rem; color: var(--muted); font-weight: 600; }
.passed-list { columns: 2 260px; margin: 4px 0; padding-left: 18px; }
.notice { border-left: 4px solid var(--accent); background: var(--tint); padding: 6px 10px; margin: 6px 0;
  overflow-wrap: anywhere; }
.penalty { border-left-color: var(--fail); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 10px 0 0; }
.card { background: var(--tint); border-radius: 8px; padding: 8px 10px; }
.card b { display: block; font-size: 1.35rem; }
.regions { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.regions pre { margin: 0; font-size: 0.78rem; white-space: pre; overflow-wrap: normal; }
nav.back { margin: 0 0 10px; }
a { color: var(--accent); }
@media (max-width: 640px) {
  main { padding: 6px; }
  header.top, section, article.student { padding: 10px; border-radius: 8px; }
  .regions { grid-template-columns: 1fr; }
  th, td { padding: 5px 4px; }
}
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  header.top, section, article.student, details.check { break-inside: avoid-page; border-color: #999; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav.back { display: none; }
}
""".strip()

SCRIPT = """
(function () {
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
""".strip()


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


CSP = ("default-src 'none'; style-src 'sha256-%s'; script-src 'sha256-%s'; img-src data:; base-uri 'none';"
       " form-action 'none'" % (_sha256(CSS), _sha256(SCRIPT)))


def esc(text: object) -> str:
    """Any text for HTML content or a quoted attribute: control and bidirectional-override
    characters replaced by U+FFFD, then `html.escape` (quotes included)."""
    return html.escape(_UNSAFE_CHARS.sub("\ufffd", str(text)), quote=True)


def points(value: float) -> str:
    return format_points(value)


def page(title: str, body: str) -> str:
    """A whole self-contained HTML document."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            "<meta name=\"generator\" content=\"backprop-grader\">\n"
            "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n%s\n</main>\n<script>%s</script>\n"
            "</body>\n</html>\n" % (CSP, esc(title), CSS, body, SCRIPT))


def bar(fraction: float, width: int = 120, height: int = 12, kind: str = "pass") -> str:
    """A small horizontal bar (SVG) filled to `fraction` (0..1)."""
    fraction = min(1.0, max(0.0, fraction))
    colour = {"pass": "#2f9e55", "fail": "#d1452f"}.get(kind, "#5b6475")
    return ('<svg class="bar" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%d%%">'
            '<rect width="%d" height="%d" rx="3" fill="#e6e9ef"/>'
            '<rect width="%.1f" height="%d" rx="3" fill="%s"/></svg>'
            % (width, height, width, height, round(100 * fraction), width, height, fraction * width, height, colour))
