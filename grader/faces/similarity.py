"""Similar code across a class: pairs of submissions for a human to look at, never a grade.

How (dependency-free, after Schleimer, Wilkerson and Aiken's winnowing, the idea behind MOSS):

1. **Normalise.** Each file is read with Python's `tokenize` (never run). Comments, docstrings
   and layout (indentation, blank lines, line breaks inside brackets) are dropped; every name
   that is not a keyword, a builtin or an attribute after a dot becomes `V`, every string `S`
   and every number `N`; a statement end is `;`. Renaming variables, rewording or moving
   comments and reformatting change nothing.
2. **Fingerprint.** Every run of `K` normalised tokens is hashed (BLAKE2b, stable across runs);
   runs that also occur in the handout's template of that file (the assignment's starter
   files), or in at least COMMON_MIN submissions and a quarter of the class, are no evidence
   and are dropped.
   Winnowing keeps the smallest hash of every `W` consecutive runs: any shared stretch of
   `K + W - 1` tokens or more is sure to share a kept fingerprint, which indexes candidates.
3. **Measure.** For each candidate pair and file, the tokens covered by a run the other file
   also has are counted: `coverage` is that share of each file's own tokens (template runs
   excluded). A pair is flagged when the smaller coverage reaches `FLAG_COVERAGE` and at least
   `FLAG_TOKENS` tokens match; the matching regions (line ranges on both sides, found as runs
   along one diagonal) are kept to be shown side by side.

Independent correct solutions of a short assignment do share idioms; the thresholds are set
so that the independent solutions in the test suite stay far below them while a copy with
renamed variables, moved comments and new layout is flagged. The class page lists flagged
pairs, and the next most similar pairs for comparison.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

K = 15
"""Tokens per fingerprinted run."""
W = 10
"""Winnowing window: a shared stretch of K + W - 1 = 24 tokens is always found."""
FLAG_COVERAGE = 0.6
"""A pair is flagged when this share of each file's own (non-template) tokens matches..."""
FLAG_TOKENS = 80
"""...and at least this many tokens do."""
COMMON_SHARE = 0.25
COMMON_MIN = 5
"""Runs found in at least COMMON_MIN submissions and COMMON_SHARE of the class are common
idioms (or a handout's code the grader does not know), not evidence."""
MAX_SOURCE_CHARS = 1 << 20
MAX_REGIONS = 8

_KEEP_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
_STRINGS = {tokenize.STRING} | {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE",
                                                                      "FSTRING_END") if hasattr(tokenize, name)}


@dataclass
class Tokens:
    """A file's normalised tokens and the source line (1-based) of each."""

    kinds: list[str]
    lines: list[int]


def normalise(source: str) -> Tokens:
    """`source`'s tokens normalised as the module docstring says. Text Python cannot tokenize
    to the end is used up to where it stops."""
    kinds: list[str] = []
    lines: list[int] = []
    previous = ";"
    pending_string: int | None = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source[:MAX_SOURCE_CHARS]).readline):
            if token.type in _SKIP:
                continue
            if token.type in _STRINGS:
                if token.type != tokenize.STRING and kinds and kinds[-1] == "S":
                    continue  # the rest of one f-string (Python 3.12 splits it)
                kind = "S"
                if previous == ";" and token.type == tokenize.STRING:
                    pending_string = len(kinds)
            elif token.type == tokenize.NEWLINE or (token.type == tokenize.OP and token.string == ";"):
                bare = pending_string is not None and pending_string == len(kinds) - 1
                pending_string = None
                if bare:
                    del kinds[-1], lines[-1]  # a docstring or a bare string: a comment in effect
                    previous = kinds[-1] if kinds else ";"
                    continue
                kind = ";"
            elif token.type == tokenize.NAME:
                kind = token.string if token.string in _KEEP_NAMES or previous == "." else "V"
            elif token.type == tokenize.NUMBER:
                kind = "N"
            else:
                kind = token.string
            if kind == ";" and previous == ";":
                continue
            kinds.append(kind)
            lines.append(token.start[0])
            previous = kind
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return Tokens(kinds, lines)


def _hash(run: Iterable[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(run).encode(), digest_size=8).digest(), "big")


def run_hashes(tokens: Tokens) -> list[int]:
    """The hash of every run of K tokens, by start position."""
    return [_hash(tokens.kinds[i:i + K]) for i in range(len(tokens.kinds) - K + 1)]


def winnow(hashes: list[int], excluded: set[int] | frozenset[int] = frozenset()) -> set[int]:
    """The fingerprints winnowing keeps: the smallest hash of every W consecutive ones, the
    `excluded` ones never chosen."""
    masked = [(value in excluded, value) for value in hashes]
    chosen = {min(masked[i:i + W]) for i in range(max(1, len(masked) - W + 1)) if masked[i:i + W]}
    return {value for is_excluded, value in chosen if not is_excluded}


@dataclass
class FileFingerprints:
    """One file of one submission, ready to compare."""

    tokens: Tokens
    hashes: list[int]
    excluded: set[int] = field(default_factory=set)

    @property
    def own(self) -> set[int]:
        """The run hashes that are evidence (not the template's, not common to the class)."""
        return set(self.hashes) - self.excluded

    def own_tokens(self) -> int:
        """How many tokens some evidence run covers (the file's own code)."""
        covered: set[int] = set()
        for start, value in enumerate(self.hashes):
            if value not in self.excluded:
                covered.update(range(start, start + K))
        return len(covered)


@dataclass
class Region:
    """Matching code: lines `a_lines` (first, last) of one file and `b_lines` of the other."""

    a_lines: tuple[int, int]
    b_lines: tuple[int, int]
    tokens: int


@dataclass
class PairFile:
    """How much of one file two submissions share."""

    file: str
    coverage_a: float
    coverage_b: float
    tokens: int
    regions: list[Region]

    @property
    def coverage(self) -> float:
        return min(self.coverage_a, self.coverage_b)


@dataclass
class Pair:
    """Two submissions (by label) and their shared code, file by file."""

    a: str
    b: str
    files: list[PairFile]

    @property
    def coverage(self) -> float:
        return max((f.coverage for f in self.files), default=0.0)

    @property
    def flagged(self) -> bool:
        return any(f.coverage >= FLAG_COVERAGE and f.tokens >= FLAG_TOKENS for f in self.files)


@dataclass
class ClassSimilarity:
    """The class's pairs worth showing: `flagged` ones and the `closest` unflagged ones (for
    comparison), with each submission's sources (label -> file -> text) to show regions."""

    flagged: list[Pair]
    closest: list[Pair]
    sources: dict[str, dict[str, str]]
    compared: int
    files: list[str]


def _fingerprints(text: str) -> FileFingerprints:
    tokens = normalise(text)
    return FileFingerprints(tokens, run_hashes(tokens))


def _regions(a: FileFingerprints, b: FileFingerprints, shared: set[int]) -> tuple[set[int], set[int], list[Region]]:
    """Tokens of a and of b covered by shared runs, and the matching regions (runs along one
    diagonal: a's run i matches b's run j and a's i+1 matches b's j+1...)."""
    where_b: dict[int, list[int]] = {}
    for start, value in enumerate(b.hashes):
        if value in shared:
            where_b.setdefault(value, []).append(start)
    covered_a: set[int] = set()
    covered_b: set[int] = set()
    matches = []
    for i, value in enumerate(a.hashes):
        for j in where_b.get(value, ()):
            matches.append((i - j, i, j))
            covered_a.update(range(i, i + K))
            covered_b.update(range(j, j + K))
    matches.sort()
    runs: list[list[int]] = []
    for offset, i, j in matches:
        if runs and runs[-1][0] == offset and runs[-1][2] >= i - 1:
            runs[-1][2] = i
            runs[-1][4] = j
        else:
            runs.append([offset, i, i, j, j])
    spans = _merged([((i0, i1 + K - 1), (j0, j1 + K - 1)) for _, i0, i1, j0, j1 in runs])
    spans = sorted(spans, key=lambda span: span[0][0] - span[0][1])[:MAX_REGIONS]
    regions = [Region((a.tokens.lines[sa[0]], a.tokens.lines[min(sa[1], len(a.tokens.lines) - 1)]),
                      (b.tokens.lines[sb[0]], b.tokens.lines[min(sb[1], len(b.tokens.lines) - 1)]), sa[1] - sa[0] + 1)
               for sa, sb in spans]
    regions.sort(key=lambda r: r.a_lines)
    return covered_a, covered_b, regions


Span = tuple[tuple[int, int], tuple[int, int]]


def _touch(x: tuple[int, int], y: tuple[int, int]) -> bool:
    return x[0] <= y[1] + 1 and y[0] <= x[1] + 1


def _union(x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
    return min(x[0], y[0]), max(x[1], y[1])


def _merged(spans: list[Span]) -> list[Span]:
    """Token spans (a's, b's) that overlap or touch on both sides merged, until none do."""
    merged: list[Span] = []
    for sa, sb in sorted(spans):
        for index, (ka, kb) in enumerate(merged):
            if _touch(ka, sa) and _touch(kb, sb):
                merged[index] = (_union(ka, sa), _union(kb, sb))
                break
        else:
            merged.append((sa, sb))
    return merged if len(merged) == len(spans) else _merged(merged)


def compare_files(file: str, a: FileFingerprints, b: FileFingerprints) -> PairFile:
    """What files a and b share beyond their exclusions."""
    shared = a.own & b.own
    covered_a, covered_b, regions = _regions(a, b, shared)
    own_a, own_b = a.own_tokens(), b.own_tokens()
    return PairFile(file, len(covered_a) / own_a if own_a else 0.0, len(covered_b) / own_b if own_b else 0.0,
                    min(len(covered_a), len(covered_b)), regions)


def compare_class(sources: Mapping[str, Mapping[str, str]], templates: Mapping[str, str] | None = None,
                  closest: int = 5) -> ClassSimilarity:
    """Compare every pair of submissions: `sources` maps a submission's label to its files'
    texts (file name -> text), `templates` a file name to the handout's template text."""
    templates = templates or {}
    labels = sorted(sources)
    files = sorted({name for texts in sources.values() for name in texts})
    prints: dict[str, dict[str, FileFingerprints]] = {label: {} for label in labels}
    for name in files:
        template = set(run_hashes(normalise(templates[name]))) if name in templates else set()
        holders = [label for label in labels if name in sources[label]]
        for label in holders:
            prints[label][name] = _fingerprints(sources[label][name])
        common: set[int] = set()
        if len(holders) >= COMMON_MIN:
            counts: dict[int, int] = {}
            for label in holders:
                for value in set(prints[label][name].hashes):
                    counts[value] = counts.get(value, 0) + 1
            least = max(COMMON_MIN, COMMON_SHARE * len(holders))
            common = {value for value, count in counts.items() if count >= least}
        for label in holders:
            prints[label][name].excluded = template | common
    candidates = _candidates(prints, labels, files)
    pairs = []
    for a, b in sorted(candidates):
        shared_files = [compare_files(name, prints[a][name], prints[b][name]) for name in files
                        if name in prints[a] and name in prints[b]]
        pairs.append(Pair(a, b, [f for f in shared_files if f.tokens > 0]))
    pairs.sort(key=lambda p: (-p.coverage, p.a, p.b))
    return ClassSimilarity(
        flagged=[p for p in pairs if p.flagged],
        closest=[p for p in pairs if not p.flagged and p.files][:closest],
        sources={label: dict(sources[label]) for label in labels},
        compared=len(labels) * (len(labels) - 1) // 2, files=files)


def _candidates(prints: dict[str, dict[str, FileFingerprints]], labels: list[str], files: list[str]
                ) -> set[tuple[str, str]]:
    """Pairs that share at least one winnowed fingerprint in some file."""
    found: set[tuple[str, str]] = set()
    for name in files:
        index: dict[int, list[str]] = {}
        for label in labels:
            if name in prints[label]:
                file = prints[label][name]
                for value in winnow(file.hashes, file.excluded):
                    index.setdefault(value, []).append(label)
        for holders in index.values():
            for i, a in enumerate(holders):
                for b in holders[i + 1:]:
                    found.add((a, b) if a < b else (b, a))
    return found


def class_similarity(submissions: list[str], expected: list[str], templates: Mapping[str, str],
                     notebooks: str = "accept") -> ClassSimilarity:
    """Compare the code of the submission folders `submissions` (paths, as graded: nested
    folders followed, notebooks converted) for the `expected` files, without `templates`."""
    from ..engine.intake import read_sources

    sources = {path: read_sources(path, expected, notebooks) for path in submissions}
    return compare_class(sources, templates)


def assignment_templates(assignment: Any) -> dict[str, str]:
    """The handout's template text of each part file of `assignment` (its starter files)."""
    parts = {part.filename for part in assignment.parts}
    return {name: assignment.resource(resource).read_text(encoding="utf-8")
            for name, resource in assignment.starter_files.items() if name in parts}
