"""Assignments are plug-ins: a manifest says what a submission holds and which modules grade it.

An `Assignment` names its parts (one submission file each), where each part's checks and
worker tasks live, its default rubric and starter templates (files of its own package), its
typed settings and its variants (semester presets, pure data). The engine, the sandbox and
the faces know no assignment: they look one up by the rubric's `assignment = "..."` name.

Lookup (`find_assignment`): an installed plug-in registered in the entry-point group
`backprop_grader.assignments` (name = the assignment's name, value = "module:ATTRIBUTE"), an
assignment shipped with the grader (`grader.assignments.NAME`), or an explicit
"package.module:ATTRIBUTE". Manifests are light: building one imports nothing heavy, and a
part's checks (torch, Hypothesis) are imported by `PartInfo.load` only when needed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ..errors import AssignmentNotFound, RubricError

ENTRY_POINT_GROUP = "backprop_grader.assignments"
DEFAULT_ASSIGNMENT = "hw1"
"""The assignment graded when no rubric names another (the one this grader was built for)."""


@dataclass(frozen=True)
class PartInfo:
    """One part of a submission: the module whose `build_part(settings)` returns its
    `PartSpec` (checks).

    kind "code": the file `module`.py, run in a worker that preloads `preload`, with its worker
    task module (a dotted name; the file is copied into the sandbox and loaded there on its own).
    kind "document": a file found by `patterns` (globs matched case-insensitively at the top of
    the submission, in order; the rubric's [settings] key `pattern_setting`, when set, is tried
    first), read and graded in the grader's process by the part's `grade_document`; nothing in
    it is ever run."""

    module: str
    checks_module: str
    preload: tuple[str, ...] = ()
    tasks_module: str | None = None
    kind: str = "code"
    patterns: tuple[str, ...] = ()
    pattern_setting: str | None = None

    @property
    def filename(self) -> str:
        """The file a code part grades; for a document part, its first pattern (what a student
        is told to hand in)."""
        if self.kind == "document":
            return self.patterns[0] if self.patterns else self.module
        return self.module + ".py"

    def load(self, settings: Any) -> Any:
        """The part's `PartSpec` under `settings` (imports its checks, oracle and Hypothesis)."""
        return importlib.import_module(self.checks_module).build_part(settings)

    def tasks_file(self) -> Path | None:
        """The task module's file, found without importing it."""
        if self.tasks_module is None:
            return None
        spec = importlib.util.find_spec(self.tasks_module)
        if spec is None or spec.origin is None:
            raise AssignmentNotFound("the worker task module %s cannot be found" % self.tasks_module)
        return Path(spec.origin)


@dataclass(frozen=True)
class Assignment:
    """A gradable assignment: its `parts`, default rubric and starter files (resources of
    `package`), settings and variants.

    `parse_settings(table, variant)` turns the rubric's assignment-specific settings (a dict,
    the engine's own keys removed) into the assignment's typed settings object, raising
    RubricError on an unknown key or value; `variants` maps each variant's name to a
    one-line description, the first being the default."""

    name: str
    title: str
    package: str
    parts: tuple[PartInfo, ...]
    parse_settings: Callable[[Mapping[str, Any], str], Any]
    variants: Mapping[str, str] = field(default_factory=dict)
    rubric_resource: str = "rubric.toml"
    starter_files: Mapping[str, str] = field(default_factory=dict)
    """Starter folder path -> template resource (relative to `package`), for `grader init`."""

    @property
    def default_variant(self) -> str:
        return next(iter(self.variants), "")

    def resource(self, name: str) -> Traversable:
        return resources.files(self.package).joinpath(name)

    def default_rubric(self) -> Path:
        """The rubric shipped with the assignment."""
        return Path(str(self.resource(self.rubric_resource)))

    def part(self, module: str) -> PartInfo:
        return next(p for p in self.parts if p.module == module)


def _load(reference: str) -> Assignment:
    module_name, _, attribute = reference.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute or "ASSIGNMENT")
    except (ImportError, AttributeError) as exc:
        raise AssignmentNotFound("cannot load the assignment %r (%s)" % (reference, exc)) from None
    if not isinstance(found, Assignment):
        raise AssignmentNotFound("%r is not an Assignment manifest" % reference)
    return found


_CACHE: dict[str, Assignment] = {}


def find_assignment(name: str) -> Assignment:
    """The assignment called `name` (see the module docstring for where it is looked up)."""
    if name in _CACHE:
        return _CACHE[name]
    if ":" in name:
        found = _load(name)
    else:
        points = [p for p in metadata.entry_points(group=ENTRY_POINT_GROUP) if p.name == name]
        if points:
            found = _load(points[0].value)
        elif name.isidentifier() and importlib.util.find_spec("grader.assignments.%s" % name) is not None:
            found = _load("grader.assignments.%s:ASSIGNMENT" % name)
        else:
            raise AssignmentNotFound("no assignment named %r is installed (known: %s)" % (
                name, ", ".join(known_assignments()) or "none"))
    _CACHE[name] = found
    return found


def known_assignments() -> list[str]:
    """Names of the assignments installed as plug-ins or shipped with the grader."""
    names = {p.name for p in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    package = resources.files("grader.assignments")
    names |= {entry.name for entry in package.iterdir() if entry.is_dir() and entry.name.isidentifier()}
    return sorted(names)


def check_choice(key: str, value: Any, choices: tuple[Any, ...], where: str) -> Any:
    """`value` when it is one of `choices`, else RubricError naming the setting."""
    if value not in choices:
        raise RubricError("%s: setting %s = %r; choose one of %s" % (where, key, value, ", ".join(map(str, choices))))
    return value
