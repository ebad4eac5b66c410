"""JSON (result schema 2): one report as an object, several as an array, every number exact."""

from __future__ import annotations

import json

from ...model.results import GradeReport


def render(reports: list[GradeReport]) -> str:
    if len(reports) == 1:
        return reports[0].dumps() + "\n"
    return json.dumps([r.to_json() for r in reports], indent=2) + "\n"
