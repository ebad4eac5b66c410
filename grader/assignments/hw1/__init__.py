"""HW1 (NYU DS-GA 1008, backpropagation): the assignment manifest.

Parts: `mlp.py` (the PyTorch practical part, checked in a worker that preloads torch),
`theory.py` (the numerator-layout theory part, plain numpy) and `answers`, the theory part
handed in as a written answer sheet (theory.md, .tex, .ipynb, .txt; a PDF goes to a person),
a document read and graded in the grader's process, never run. Everything HW1 knows lives in
this folder: the oracle, the example strategies, the checks of each part, the scale-error
stories, the worker tasks, the variants, the default rubric and the starter templates.
"""

from __future__ import annotations

from ...engine.assignment import Assignment, PartInfo
from .variants import VARIANTS, parse_settings

ASSIGNMENT = Assignment(
    name="hw1",
    title="Homework 1: Backpropagation",
    package=__name__,
    parts=(
        PartInfo("mlp", checks_module=__name__ + ".mlp_checks", preload=("torch",),
                 tasks_module=__name__ + ".worker_tasks"),
        PartInfo("theory", checks_module=__name__ + ".theory_checks"),
        PartInfo("answers", checks_module=__name__ + ".answers.part", kind="document",
                 patterns=("theory.md", "theory.tex", "theory.ipynb", "theory.txt", "theory.pdf"),
                 pattern_setting="answers_pattern"),
    ),
    parse_settings=parse_settings,
    variants={name: variant.description for name, variant in VARIANTS.items()},
    starter_files={
        "mlp.py": "templates/mlp.py.tmpl",
        "theory.py": "templates/theory.py.tmpl",
        "theory.md": "templates/theory.md.tmpl",
        "README.md": "templates/README.md.tmpl",
        ".github/workflows/grade.yml": "templates/grade.yml.tmpl",
    },
)
