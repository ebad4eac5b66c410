"""A grading seed means the same examples wherever the grader runs: Hypothesis's "local
constants" (numbers it collects from the source of every loaded module it takes for the
user's own) play no part in a check's draws."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from grader.engine.runner import no_local_constants

providers = pytest.importorskip("hypothesis.internal.conjecture.providers")


def _import_local_module(folder: Path) -> None:
    """Import a module from `folder` (a path Hypothesis counts as local) full of constants."""
    source = folder / "lots_of_constants.py"
    source.write_text("TABLE = [%s]\n" % ", ".join(str(7919 * k) for k in range(1, 40)))
    spec = importlib.util.spec_from_file_location("lots_of_constants", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lots_of_constants"] = module
    spec.loader.exec_module(module)


@pytest.mark.skipif(not hasattr(providers, "_get_local_constants"), reason="this Hypothesis has no local constants")
def test_no_local_constants_reach_a_checks_draws(tmp_path: Path) -> None:
    original = providers._get_local_constants
    try:
        _import_local_module(tmp_path)
        assert 7919 in providers._get_local_constants().integers, "Hypothesis collects the local module's numbers"
        with no_local_constants():
            assert not providers._get_local_constants().integers
        assert providers._get_local_constants is original, "the hook is restored after grading"
    finally:
        sys.modules.pop("lots_of_constants", None)
