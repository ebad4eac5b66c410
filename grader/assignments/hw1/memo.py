"""Oracle values remembered by their inputs' content, for the examples that recur.

The same example is evaluated again and again while grading: the simplest example opens
many checks, a check with components is run again on the same examples once a component is
charged, a sign or scale law is probed, a failure is shrunk, and every student of a class
gets the same public examples. `remembered` keeps the results of a pure function of numpy
arrays, strings and numbers, keyed by their exact bytes (dtype and shape included), and
hands out copies, so that no caller can change what another one gets. Nothing else is
kept: a result is exactly what the function computes for those inputs.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

CAPACITY = 512
"""Results kept per function, the least recently used dropped first: more than one grading
makes of most functions (a backward example's recurrences come soon after it), and at a few
KB an entry, a few MB per function at most, however many submissions a process grades."""

F = TypeVar("F", bound=Callable[..., Any])


class _Unkeyable(Exception):
    """An input the cache cannot key exactly (the call is simply made)."""


def _key(value: Any) -> Hashable:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _key(v)) for k, v in value.items())))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_key(v) for v in value))
    if isinstance(value, float):
        return ("float", value.hex())  # -0.0 is not 0.0 here
    if value is None or isinstance(value, (str, int, bool)):
        return (type(value).__name__, value)
    if type(value).__module__ == "torch" and type(value).__name__ == "dtype":
        return ("dtype", str(value))
    raise _Unkeyable(type(value).__name__)


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _copy(getattr(value, f.name)) for f in dataclasses.fields(value)})
    return value


@dataclass
class Stats:
    """Calls of a remembered function: answered from memory (`hits`) or computed (`misses`)."""

    hits: int = 0
    misses: int = 0


STATS: dict[str, Stats] = {}
"""Per function (module.name): how its calls were answered, for the benchmark's breakdown."""


def remembered(function: F) -> F:
    """`function` (pure: same inputs, same result) answering from memory for inputs it has
    seen; each caller gets its own copy of the result."""
    cache: OrderedDict[Hashable, Any] = OrderedDict()
    lock = threading.Lock()
    stats = STATS.setdefault("%s.%s" % (function.__module__.rsplit(".", 1)[-1], function.__name__), Stats())

    @functools.wraps(function)
    def cached(*args: Any, **kwargs: Any) -> Any:
        try:
            key = (_key(args), _key(kwargs))
        except _Unkeyable:
            return function(*args, **kwargs)
        with lock:
            found = cache.get(key, cache)
            if found is not cache:
                cache.move_to_end(key)
                stats.hits += 1
                return _copy(found)
        result = function(*args, **kwargs)
        with lock:
            stats.misses += 1
            cache[key] = _copy(result)
            if len(cache) > CAPACITY:
                cache.popitem(last=False)
        return result

    return cached  # type: ignore[return-value]
