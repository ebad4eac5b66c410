"""The class page: one dashboard for a class graded with `--each DIR --format html`.

It holds: the class in numbers (submissions, graded, mean and median, full marks); a histogram
of final scores (bins of 10%, 100% apart); per question the mean points and how many students
lost points; per check how many failed it and with which code most often; the most common
diagnoses (a question and a code) with the students who have them and one of their messages;
the submissions that could not be graded, and why; pairs of submissions whose code is
suspiciously similar (`faces.similarity`: evidence for a human, never a grade), with the
matching regions side by side, and the next most similar pairs for comparison; and every
student with a link to their report. Student names come from `--roster` when given.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from ...model.results import CheckResult, GradeReport
from ..roster import folder_name
from . import RenderOptions
from .html_page import bar, esc, page, points

TOP_DIAGNOSES = 12
SHOWN_CHECKS = 15
MAX_REGION_LINES = 40


def _who(report: GradeReport, options: RenderOptions) -> str:
    """The student's name (roster) or the folder's, as HTML text."""
    student = options.roster.find(report.submission) if options.roster else None
    folder = esc(folder_name(report.submission))
    if student is not None and student.name:
        return '%s <span class="muted">%s</span>' % (esc(student.name), folder)
    return folder


def _link(report: GradeReport, options: RenderOptions, links: dict[str, str]) -> str:
    href = links.get(report.submission)
    return '<a href="%s">%s</a>' % (esc(href), _who(report, options)) if href else _who(report, options)


def _cards(reports: list[GradeReport]) -> str:
    graded = [r for r in reports if r.error is None]
    percents = [r.percent() for r in graded]
    cards = [("submissions", str(len(reports))), ("graded", str(len(graded))),
             ("not graded", str(len(reports) - len(graded))),
             ("mean", "%.1f%%" % statistics.fmean(percents) if percents else "—"),
             ("median", "%.1f%%" % statistics.median(percents) if percents else "—"),
             ("full marks", str(sum(r.all_passed and not r.penalties for r in graded)))]
    return '<div class="cards">%s</div>' % "".join(
        '<div class="card"><b>%s</b><span class="muted">%s</span></div>' % (esc(value), esc(label))
        for label, value in cards)


def histogram(percents: list[float]) -> str:
    """An SVG bar chart of final scores in bins 0-9, 10-19, ..., 90-99 and 100 (percent)."""
    bins = [0] * 11
    for value in percents:
        bins[10 if value >= 100.0 - 1e-9 else max(0, min(9, int(value // 10)))] += 1
    labels = ["%d–%d" % (10 * i, 10 * i + 9) for i in range(10)] + ["100"]
    width, height, top, bottom = 660, 190, 20, 34
    slot = width / len(bins)
    tallest = max(bins) or 1
    out = ['<svg class="histogram" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">'
           % (width, height, width, height, esc("final scores: " + ", ".join(
               "%s%%: %d" % (label, count) for label, count in zip(labels, bins)))),
           '<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#9aa3b2"/>' % (height - bottom, width, height - bottom)]
    for i, count in enumerate(bins):
        bar_height = (height - top - bottom) * count / tallest
        x = i * slot + 6
        y = height - bottom - bar_height
        out.append('<g><title>%s%%: %d</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3" fill="%s"/>'
                   % (labels[i], count, x, y, slot - 12, bar_height, "#2f9e55" if i == 10 else "#1f4f99"))
        if count:
            out.append('<text x="%.1f" y="%.1f" font-size="13" text-anchor="middle" fill="#1d2330">%d</text>'
                       % (x + (slot - 12) / 2, y - 5, count))
        out.append('<text x="%.1f" y="%d" font-size="12" text-anchor="middle" fill="#5b6475">%s</text></g>'
                   % (x + (slot - 12) / 2, height - bottom + 18, labels[i]))
    out.append("</svg>")
    return "".join(out)


def _questions(graded: list[GradeReport]) -> str:
    order: dict[str, dict[str, Any]] = {}
    for report in graded:
        for q in report.questions:
            entry = order.setdefault(q.id, {"title": q.title, "max": q.max_score, "scores": [], "lost": 0})
            entry["scores"].append(q.score)
            entry["lost"] += q.score < q.max_score - 1e-9
    rows = []
    for qid, entry in order.items():
        count = len(entry["scores"])
        rows.append('<tr><td>%s<br><code class="muted">%s</code></td><td class="num">%s / %s</td>'
                    '<td class="num">%d of %d</td><td>%s</td></tr>'
                    % (esc(entry["title"] or qid), esc(qid), points(statistics.fmean(entry["scores"])),
                       points(entry["max"]), entry["lost"], count, bar(entry["lost"] / count, kind="fail")))
    return ('<section id="questions"><h2>Questions</h2><p class="meta">mean points, and how many graded students lost'
            ' points on each question</p><div class="table-wrap"><table><thead><tr><th>question</th>'
            '<th class="num">mean</th><th class="num">lost points</th><th>share</th></tr></thead><tbody>%s</tbody>'
            "</table></div></section>" % "".join(rows))


def _checks(graded: list[GradeReport]) -> str:
    seen: dict[str, list[CheckResult]] = {}
    for report in graded:
        for check in report.checks:
            seen.setdefault(check.id, []).append(check)
    failing = sorted(((cid, checks) for cid, checks in seen.items() if any(c.status != "pass" for c in checks)),
                     key=lambda item: (-sum(c.status != "pass" for c in item[1]), item[0]))
    rows = []
    for cid, checks in failing:
        failed = [c for c in checks if c.status != "pass"]
        code, _ = Counter(str(c.code) for c in failed).most_common(1)[0]
        rows.append('<tr><td><code>%s</code>%s</td><td class="num">%d of %d</td><td>%s</td>'
                    '<td><span class="badge code">%s</span></td></tr>'
                    % (esc(cid), ' <span class="muted">(0 points)</span>' if all(c.max_score == 0 for c in checks)
                       else "", len(failed), len(checks), bar(len(failed) / len(checks), kind="fail"), esc(code)))
    always = len(seen) - len(failing)
    head = ('<div class="table-wrap"><table><thead><tr><th>check</th><th class="num">failed</th><th>share</th>'
            "<th>most common code</th></tr></thead><tbody>%s</tbody></table></div>")
    table = head % "".join(rows[:SHOWN_CHECKS]) if rows else ""
    if len(rows) > SHOWN_CHECKS:
        table += "<details><summary>%d more checks that failed for someone</summary>%s</details>" % (
            len(rows) - SHOWN_CHECKS, head % "".join(rows[SHOWN_CHECKS:]))
    return ('<section id="checks"><h2>Checks</h2><p class="meta">%d check%s failed for someone; %d passed for every'
            " graded student</p>%s</section>" % (len(failing), "" if len(failing) == 1 else "s", always, table))


def diagnoses(graded: list[GradeReport]) -> list[tuple[str, list[str], list[tuple[GradeReport, CheckResult]]]]:
    """The most common diagnoses: (code, questions, [(report, its first such check)]), most
    students first. A diagnosis is a code in a question; questions whose diagnosis has the same
    code, students and example message are one row (a missing file fails every question alike)."""
    groups: dict[tuple[str, str], list[tuple[GradeReport, CheckResult]]] = {}
    for report in graded:
        firsts: dict[tuple[str, str], CheckResult] = {}
        for check in report.checks:
            if check.status != "pass":
                firsts.setdefault((check.question, str(check.code)), check)
        for key, check in firsts.items():
            groups.setdefault(key, []).append((report, check))
    rows: dict[tuple[str, tuple[str, ...], str], tuple[list[str], list[tuple[GradeReport, CheckResult]]]] = {}
    for (question, code), members in groups.items():
        row = (code, tuple(r.submission for r, _ in members), members[0][1].full_message)
        rows.setdefault(row, ([], members))[0].append(question)
    ordered = sorted(((code, questions, members) for (code, _, _), (questions, members) in rows.items()),
                     key=lambda row: (-len(row[2]), row[0], row[1]))
    return ordered[:TOP_DIAGNOSES]


def _diagnoses(graded: list[GradeReport], options: RenderOptions, links: dict[str, str]) -> str:
    items = []
    for code, questions, members in diagnoses(graded):
        example = members[0][1].full_message
        example = example if len(example) <= 300 else example[:297] + "..."
        items.append('<tr><td class="num">%d</td><td><span class="badge code">%s</span> in %s'
                     '<p class="message muted">e.g. %s</p></td><td>%s</td></tr>'
                     % (len(members), esc(code), ", ".join("<code>%s</code>" % esc(q) for q in questions),
                        esc(example), ", ".join(_link(report, options, links) for report, _ in members)))
    if not items:
        return '<section id="diagnoses"><h2>Most common diagnoses</h2><p>No check failed.</p></section>'
    return ('<section id="diagnoses"><h2>Most common diagnoses</h2><p class="meta">a diagnosis code in a question,'
            ' with the students who have it</p><div class="table-wrap"><table><thead><tr><th class="num">students'
            "</th><th>diagnosis</th><th>who</th></tr></thead><tbody>%s</tbody></table></div></section>"
            % "".join(items))


def _not_graded(reports: list[GradeReport], options: RenderOptions, links: dict[str, str]) -> str:
    failed = [r for r in reports if r.error is not None]
    if not failed:
        return ""
    return ('<section id="not-graded"><h2>Not graded</h2><ul>%s</ul></section>' % "".join(
        '<li>%s: <span class="message">%s</span></li>' % (_link(r, options, links), esc(r.error)) for r in failed))


def _lines(text: str, span: tuple[int, int]) -> str:
    lines = text.splitlines()
    first, last = span
    last = min(last, first + MAX_REGION_LINES - 1)
    shown = ["%4d  %s" % (number, lines[number - 1]) for number in range(first, last + 1) if number <= len(lines)]
    more = span[1] - last
    return esc("\n".join(shown) + ("\n      ... %d more lines" % more if more > 0 else ""))


def _pair(pair: Any, similarity: Any, by_label: dict[str, GradeReport], options: RenderOptions,
          links: dict[str, str], flagged: bool) -> str:
    names = []
    for label in (pair.a, pair.b):
        report = by_label.get(label)
        names.append(_link(report, options, links) if report is not None else esc(folder_name(label)))
    files = []
    for shared in pair.files:
        regions = "".join(
            '<p class="meta">lines %d–%d of the first, %d–%d of the second (%d tokens)</p><div class="regions">'
            "<pre>%s</pre><pre>%s</pre></div>" % (
                region.a_lines[0], region.a_lines[1], region.b_lines[0], region.b_lines[1], region.tokens,
                _lines(similarity.sources[pair.a].get(shared.file, ""), region.a_lines),
                _lines(similarity.sources[pair.b].get(shared.file, ""), region.b_lines))
            for region in shared.regions)
        files.append('<details%s><summary><code>%s</code>: %.0f%% of the first\'s code and %.0f%% of the second\'s'
                     " match (%d tokens)</summary>%s</details>" % (
                         " open" if flagged and shared.coverage >= 0.5 else "", esc(shared.file),
                         100 * shared.coverage_a, 100 * shared.coverage_b, shared.tokens, regions))
    return "<li><p>%s ↔ %s</p>%s</li>" % (names[0], names[1], "".join(files))


def _similarity(reports: list[GradeReport], options: RenderOptions, links: dict[str, str]) -> str:
    similarity = options.similarity
    if similarity is None:
        return ""
    from ..similarity import FLAG_COVERAGE, FLAG_TOKENS

    by_label = {r.submission: r for r in reports}
    intro = ('<p class="meta">Evidence for a human to look at, never a grade. %d pairs compared on %s, after'
             " normalising names, comments and layout and removing the handout's template code. A pair is flagged"
             " when at least %d%% of each one's own code and %d tokens match.</p>"
             % (similarity.compared, esc(", ".join(similarity.files) or "no files"), round(100 * FLAG_COVERAGE),
                FLAG_TOKENS))
    flagged = ('<h3>Flagged pairs</h3><ul>%s</ul>' % "".join(
        _pair(p, similarity, by_label, options, links, True) for p in similarity.flagged)
        if similarity.flagged else "<p>No pair is flagged.</p>")
    closest = ('<details><summary>the next most similar pairs, for comparison (%d)</summary><ul>%s</ul></details>' % (
        len(similarity.closest), "".join(_pair(p, similarity, by_label, options, links, False)
                                         for p in similarity.closest)) if similarity.closest else "")
    return '<section id="similarity"><h2>Similar code</h2>%s%s%s</section>' % (intro, flagged, closest)


def _students(reports: list[GradeReport], options: RenderOptions, links: dict[str, str]) -> str:
    rows = []
    for report in reports:
        student = options.roster.find(report.submission) if options.roster else None
        failed = sum(c.status != "pass" for c in report.checks)
        rows.append('<tr><td>%s</td><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td>'
                    "<td class=\"num\">%s</td></tr>"
                    % (_link(report, options, links), esc(student.student_id) if student else "",
                       "—" if report.error else "%s / %s" % (points(report.final_score), points(report.max_score)),
                       "not graded" if report.error else "%.1f%%" % report.percent(),
                       "−" + points(sum(p.points for p in report.penalties)) if report.penalties else "",
                       "" if report.error else str(failed)))
    return ('<section id="students"><h2>Students</h2><div class="table-wrap"><table><thead><tr><th>student</th>'
            '<th>id</th><th class="num">final</th><th class="num">percent</th><th class="num">penalties</th>'
            '<th class="num">failed checks</th></tr></thead><tbody>%s</tbody></table></div></section>' % "".join(rows))


def class_body(reports: list[GradeReport], options: RenderOptions, links: dict[str, str]) -> str:
    """The class page's content; `links` maps a submission to its report's address."""
    graded = [r for r in reports if r.error is None]
    assignment = next((r.assignment for r in reports if r.assignment), "")
    head = ('<header class="top"><h1>Class report%s</h1>'
            '<p class="meta">backprop-grader %s · grading seed %s</p>%s</header>'
            % (" — " + esc(options.item or assignment) if options.item or assignment else "",
               esc(reports[0].grader_version) if reports else "", esc(reports[0].seed) if reports else "",
               _cards(reports)))
    scores = ('<section id="scores"><h2>Final scores</h2><p class="meta">percent of the maximum, after penalties;'
              " %d graded submission%s</p>%s</section>" % (len(graded), "" if len(graded) == 1 else "s",
                                                           histogram([r.percent() for r in graded])))
    return "".join([head, scores, _questions(graded) if graded else "", _checks(graded) if graded else "",
                    _diagnoses(graded, options, links) if graded else "", _not_graded(reports, options, links),
                    _similarity(reports, options, links), _students(reports, options, links)])


def class_page(reports: list[GradeReport], options: RenderOptions, links: dict[str, str]) -> str:
    return page("Class report — backprop-grader", class_body(reports, options, links))
