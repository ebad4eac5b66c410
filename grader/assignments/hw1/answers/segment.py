"""Assign a document's blocks to the homework's questions and parts: 1.2 (a)-(d), 1.3 (a)-(c).

Sheets are organised in many ways; each of these sets the place (question, part):
- headings and labels that name it: "1.2 Regression Task", "1.2.a", "Q1.3 (b)", "Problem 1"
  (1.2) / "Problem 2" (1.3), "(a)", "Solution b)", a leading bold "**(c)**", a LaTeX comment
  "% -- 1.2.a --", a plain label "1.2.a:" at the start of a line (stripped from the content);
- topical titles: "Training loop" (1.2a), "Forward pass" (b), "Backward pass"/"Gradients" (c),
  "Jacobians" (d), "Classification"/"sigmoid" (1.3a), "BCE"/"cross entropy" (1.3b), "Why ReLU"
  (1.3c); under 1.3, the 1.2-style titles are sub-topics of the current part (kept in `topic`);
- position: an untitled heading (LaTeX \\subsubsection{}) is the next part; the first-level
  items of an ordered list directly under a question are its parts, in order.
Pasted question text (the handout's sentences, bold/quoted prose) and empty handout tables are
marked ignored: they are never answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .document import Block, Document, Part, parts_text

PARTS = {"q1_2": "abcd", "q1_3": "abc"}
# distinctive phrases of the handout's questions (lower case)
HANDOUT_PHRASES = (
    "name and mathematically describe", "programming steps you would take", "write down all inputs and outputs",
    "you can only use", "calculated from the backward pass", "show us the elements", "careful about the dimensionality",
    "what do you need to change", "you think you can do a better job", "explain why this choice",
    "things are getting better", "not all intermediate hidden activations", "for a single data point",
    "in the equations of (b)", "using sgd on a single batch", "beneficial for training a (deeper) network",
    "do you need to change", "fill in the table", "if we want to do classification",
)
_TOPIC_WORDS: tuple[tuple[str, str, str], ...] = (
    # (regex on lower-case text, question, part)
    (r"why\s+relu|relu\b.*\b(better|benefit|advantag)|\(\s*\\?cdot\s*\)\s*\^\s*\+|deeper|vanishing", "q1_3", "c"),
    (r"\bbce\b|binary\s+cross|cross[\s-]*entropy", "q1_3", "b"),
    (r"classif|sigmoid", "q1_3", "a"),
    (r"training\s+(loop|steps?)|\bsgd\b|update\s+rule|programming\s+steps|optimi[sz]|\btraining\b", "q1_2", "a"),
    (r"forward", "q1_2", "b"),
    (r"backward|backprop|gradients?\b", "q1_2", "c"),
    (r"jacobian|elements\s+of|partial\s+derivatives|derivatives", "q1_2", "d"),
)
_QUESTION_PART = re.compile(
    r"(?<![\d.])1\s*\.\s*([123])(?!\d)(?:\s*[.\-_:]?\s*\(([a-dA-D])\)|\s*[.\-_]\s*([a-d])(?![A-Za-z0-9])"
    r"|([a-d])(?![A-Za-z0-9])|\s+([a-d])(?=\s*(?:$|[:.)])))")
_QUESTION = re.compile(r"(?<![\d.])1\s*\.\s*([123])(?![\d])")
_PROBLEM = re.compile(r"\b(?:problem|question|exercise|task)\s*([12])\b(?!\s*\.\s*\d)", re.I)
_PART = re.compile(r"^\s*(?:(?i:solution|answer|part|sol\.?|ans\.?|q)\s*)?\(?([a-dA-D])\)(?=\s|$|[:.*])"
                   r"|^\s*(?i:solution|answer|part)\s+\(?([a-dA-D])\b"
                   r"|^\s*([a-dA-D])[.:](?=\s|$)")
# words of a document title, never a topical section title
_TITLE_WORDS = re.compile(r"homework|assignment|\bhw\s*\d|\btheory\b|solutions?\b|\banswers\b|deep\s+learning|"
                          r"\bnyu\b|ds-?ga|\bcourse\b", re.I)
# a label opening a line of content: "1.2.a:", "1.3(b)", "Q1.2 c)", "(a)", "a)"
_LABEL_PREFIX = re.compile(
    r"^\s*(?:\*\*)?(?:Q(?:uestion)?\s*)?1\s*\.\s*([23])\s*[.\-_]?\s*(?:\(([a-dA-D])\)|([a-dA-D])(?=[:.)\-]))"
    r"[:.)\-]*(?:\*\*)?(?:\s+|$)"
    r"|^\s*(?:\*\*)?\(([a-dA-D])\)(?:\*\*)?[:.]?(?:\s+|$)|^\s*([a-dA-D])\)(?:\s+|$)")


@dataclass(frozen=True)
class Marker:
    """What a heading or label says about the place: `question` ("q1_1", "q1_2", "q1_3"),
    `part` (a letter), `topic` (a sub-topic name: forward, gradients, jacobians, loss, update)."""

    question: str | None = None
    part: str | None = None
    topic: str | None = None
    topical: bool = False  # the place came from a topical title, not a number or letter


@dataclass
class Placed:
    """A block with its place. `question` q1_1/q1_2/q1_3 or None (outside the answers);
    `part` a letter or None; `topic` the current sub-topic title words (for 1.3 carry-overs);
    `ignored` why it is not an answer ("" when it may be one); `parts` its content with a
    leading label stripped."""

    block: Block
    question: str | None
    part: str | None
    topic: str = ""
    ignored: str = ""
    parts: list[Part] = field(default_factory=list)

    @property
    def item_question(self) -> str | None:
        """The items' question id: q1_2, q1_3a, q1_3b, q1_3c (None outside 1.2 and 1.3)."""
        if self.question == "q1_2":
            return "q1_2"
        if self.question == "q1_3" and self.part:
            return "q1_3" + self.part
        return None


def plain(text: str) -> str:
    """Prose with math delimiters and markup dropped, for matching titles and phrases."""
    text = re.sub(r"\\(?:textbf|textit|emph|text|mathrm|mathbf|section|subsection)\*?\{", "{", text)
    return re.sub(r"[$*_`#>{}]", " ", text).strip()


def parse_marker(text: str, allow_topics: bool = True) -> Marker | None:
    """The place a heading/label text names, or None."""
    flat = plain(text)
    if not flat:
        return None
    match = _QUESTION_PART.search(flat)
    if match:
        letter = next(g for g in match.groups()[1:] if g)
        return Marker("q1_" + match.group(1), letter.lower())
    match = _QUESTION.search(flat)
    if match:
        question = "q1_" + match.group(1)
        return Marker(question, None, _topic(flat), False)
    match = _PART.match(flat)
    if match:
        letter = next(g for g in match.groups() if g)
        return Marker(None, letter.lower(), _topic(flat))
    match = _PROBLEM.search(flat)
    if match:
        return Marker("q1_2" if match.group(1) == "1" else "q1_3")
    if allow_topics and not _TITLE_WORDS.search(flat):
        lower = flat.lower()
        for pattern, question, part in _TOPIC_WORDS:
            if re.search(pattern, lower):
                return Marker(question, part, _topic(flat), True)
        if "regression" in lower:
            return Marker("q1_2")
    return None


def _topic(flat: str) -> str | None:
    lower = flat.lower()
    for word, topic in (("forward", "forward"), ("gradient", "gradients"), ("backward", "gradients"),
                        ("jacobian", "jacobians"), ("loss", "loss"), ("update", "update")):
        if word in lower:
            return topic
    return None


def is_question_text(block: Block) -> bool:
    """Pasted handout text: a handout phrase, or prose entirely bold/italic/quoted that reads
    like a question (six words or more, or ending with "?")."""
    text = plain(parts_text(block.parts)).lower()
    if any(phrase in text for phrase in HANDOUT_PHRASES):
        return True
    if block.quoted and block.kind in ("paragraph", "math", "table"):
        return True
    if block.emphasized:
        words = text.split()
        return len(words) >= 6 or text.rstrip().endswith("?")
    return False


def is_empty_table(block: Block) -> bool:
    """A table whose answer cells (all but the first column) are empty or placeholders."""
    body = block.rows[1:]
    if not body:
        return True
    for row in body:
        for cell in row[1:]:
            content = plain(parts_text(cell)).strip(" .?-_\\")
            if content:
                return False
    return True


def _strip_label(parts: list[Part]) -> tuple[Marker | None, list[Part]]:
    """A label at the very start of the content ("1.2.a:", "(b)", "c)"), and the content without it."""
    if not parts or parts[0].kind not in ("text", "code"):
        return None, parts
    first = parts[0]
    match = _LABEL_PREFIX.match(first.text)
    if not match:
        return None, parts
    letter = next(g for g in match.groups()[1:] if g).lower()
    marker = Marker("q1_" + match.group(1), letter) if match.group(1) else Marker(None, letter)
    rest = first.text[match.end():]
    stripped = ([Part(first.kind, rest, first.syntax, first.line)] if rest.strip() else []) + parts[1:]
    return marker, stripped


@dataclass
class _State:
    question: str | None = None
    part: str | None = None
    question_level: int = 99   # heading level that set the question
    part_level: int = 99       # heading level that set the part
    part_source: str = ""      # heading / label / list
    topic: str = ""
    explicit_question: bool = False
    seen_last_part: bool = False


class Segmenter:
    """Walk the blocks in order, keeping the current place."""

    def __init__(self, document: Document):
        self.document = document
        self.state = _State()
        self.placed: list[Placed] = []
        self.problem_words = self._problems_mean_questions()
        self.title = self._document_title()

    def _problems_mean_questions(self) -> bool:
        """"Problem 1/2" name 1.2/1.3 only on sheets that never number 1.2/1.3 themselves."""
        for block in self.document.blocks:
            if (block.kind in ("heading", "comment") or block.lead_label) and _QUESTION.search(plain(block.text)):
                return False
        return True

    def _document_title(self) -> Block | None:
        """The first heading when it is the only one at the top level (the document's title):
        its words never make a topical place."""
        headings = [b for b in self.document.blocks if b.kind == "heading"]
        if len(headings) < 2:
            return None
        first = headings[0]
        if all(h.level > first.level for h in headings[1:]):
            return first
        return None

    def run(self) -> list[Placed]:
        for block in self.document.blocks:
            self.visit(block)
        self._untitled_13()
        return self.placed

    def set_question(self, question: str, level: int, explicit: bool = True) -> None:
        state = self.state
        if question != state.question:
            state.part = None
            state.part_source = ""
            state.part_level = 99
            state.seen_last_part = False
        state.question = question
        state.question_level = level
        state.explicit_question = explicit
        state.topic = ""

    def set_part(self, part: str, source: str, level: int = 99) -> None:
        state = self.state
        if state.question not in PARTS:
            if state.question is None or not state.explicit_question:
                # parts without a question: 1.2 first; a sequence starting again is 1.3
                self.set_question("q1_3" if state.seen_last_part else "q1_2", level, False)
            else:
                return
        elif state.part is not None and part < state.part and not state.explicit_question \
                and state.question == "q1_2":
            self.set_question("q1_3", state.question_level, False)
        if part not in PARTS.get(state.question or "", ""):
            return
        state.part = part
        state.part_source = source
        state.part_level = level
        state.topic = ""
        if part == PARTS[state.question or "q1_2"][-1]:
            state.seen_last_part = True

    def leave_question(self) -> None:
        self.set_question("", 99, False)
        self.state.question = None

    def apply(self, marker: Marker, level: int, source: str) -> None:
        """Move to the place `marker` names; `level` is the heading level (90+ for labels)."""
        state = self.state
        question = marker.question
        if marker.topical:
            self.apply_topic(marker, level, source)
            return
        if question is None and source == "label" and state.part_source == "heading" and level >= 99:
            return  # "(b)" inside a part given by headings: an enumeration of the answer itself
        if question is not None:
            same_deeper = question == state.question and state.part is not None and level > state.question_level
            if marker.part is None and same_deeper:
                return
            if question != state.question or marker.part is None:
                self.set_question(question, level, True)
        if marker.part:
            self.set_part(marker.part, source, level)
        if marker.topic:
            state.topic = marker.topic

    def apply_topic(self, marker: Marker, level: int, source: str) -> None:
        """A topical title: a part of its question, or a sub-topic of the current part."""
        state = self.state
        question = marker.question
        if question == "q1_2" and state.question == "q1_3":
            state.topic = marker.topic or ""
            return
        deeper = level > state.part_level
        if state.question in PARTS and state.part and deeper and question == state.question:
            state.topic = marker.topic or ""
            return
        if question != state.question:
            self.set_question(question or "q1_2", level, False)
        if marker.part:
            self.set_part(marker.part, source, level)
        state.topic = marker.topic or ""

    def visit(self, block: Block) -> None:
        state = self.state
        parts = block.parts
        if block.kind == "heading":
            self.heading(block)
            self.place(block, "heading")
            return
        if block.kind == "comment":
            marker = parse_marker(block.text, allow_topics=False)
            if marker:
                self.apply(marker, 99, "label")
            self.place(block, "comment")
            return
        if block.kind == "list_item":
            self.list_item(block)
            self.place(block, "list item")
            return
        if block.lead_label:
            marker = parse_marker(block.lead_label, allow_topics=len(block.lead_label) < 60)
            if marker and (marker.question or marker.part or marker.topical):
                self.apply(marker, 95 if marker.topical else 99, "label")
        if block.kind in ("paragraph", "code", "math"):
            marker, parts = _strip_label(parts)
            if marker:
                self.apply(marker, 99, "label")
        ignored = ""
        if block.kind == "table" and is_empty_table(block):
            ignored = "empty table"
        elif block.kind in ("paragraph", "math", "table") and is_question_text(block):
            ignored = "question text"
        if state.question not in ("q1_2", "q1_3"):
            ignored = ignored or "outside 1.2 and 1.3"
        self.place(block, ignored, parts)

    def heading(self, block: Block) -> None:
        state = self.state
        marker = parse_marker(block.text)
        if marker is not None and marker.topical and block is self.title:
            marker = None
        if marker is not None and marker.question in ("q1_2", "q1_3") and marker.part is None \
                and not marker.topical and _PROBLEM.search(plain(block.text)) and not self.problem_words:
            marker = None
        if marker is None:
            title = plain(block.text)
            if not title and state.question in PARTS:
                # an untitled section: the next part (a comment label may correct it)
                letters = PARTS[state.question]
                following = "a" if state.part is None else chr(ord(state.part) + 1)
                if following in letters:
                    self.set_part(following, "heading", block.level)
                return
            if block.level <= state.question_level and state.question is not None:
                self.leave_question()
            elif block.level > state.part_level:
                state.topic = _topic(title) or ""
            return
        self.apply(marker, block.level, "heading")

    def list_item(self, block: Block) -> None:
        state = self.state
        marker_text = block.marker
        if not marker_text.isdigit():
            marker = parse_marker(marker_text, allow_topics=False)
            if marker and marker.part:
                self.apply(marker, 99, "list")
            return
        if state.question in PARTS and block.level == 1 and state.part_source in ("", "list"):
            number = int(marker_text)
            letters = PARTS[state.question]
            if 1 <= number <= len(letters):
                self.set_part(letters[number - 1], "list", 99)

    def place(self, block: Block, ignored: str, parts: list[Part] | None = None) -> None:
        state = self.state
        question = state.question if state.question in ("q1_1", "q1_2", "q1_3") else None
        self.placed.append(Placed(block, question, state.part, state.topic, ignored,
                                  list(block.parts if parts is None else parts)))

    def _untitled_13(self) -> None:
        """A 1.3 with no parts marked at all: its content answers 1.3(a)."""
        in_13 = [p for p in self.placed if p.question == "q1_3"]
        if in_13 and all(p.part is None for p in in_13):
            for placed in in_13:
                placed.part = "a"


def segment(document: Document) -> list[Placed]:
    """Every block of `document` with its place (see Placed), in order."""
    return Segmenter(document).run()
