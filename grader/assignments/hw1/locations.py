"""Where in a submission a wrong value was produced, found statically (the source is parsed,
never run).

`value_line(source, function, name)`: the line of the statement that produced value `name` in
`function` ("MLP.backward", "mse_loss", "backward"...): the last assignment to `...["name"]`
(e.g. `self.grads["dJdW1"] = ...`) or the last dict literal entry with that key; else the
function's last return statement; None when the function is not found or does not parse.
"""

from __future__ import annotations

import ast
from functools import lru_cache


@lru_cache(maxsize=32)
def _tree(source: bytes) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _function(tree: ast.Module, dotted: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The (last) definition of `dotted` ("f" at module level, "C.m" a method of class C)."""
    scope: list[ast.stmt] = tree.body
    *classes, name = dotted.split(".")
    for class_name in classes:
        found = [n for n in scope if isinstance(n, ast.ClassDef) and n.name == class_name]
        if not found:
            return None
        scope = found[-1].body
    functions = [n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    return functions[-1] if functions else None


def _key(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def value_line(source: bytes, function: str, name: str | None) -> int | None:
    """The line that produced `name` in `function` (see the module's docstring)."""
    tree = _tree(source)
    if tree is None:
        return None
    node = _function(tree, function)
    if node is None:
        return None
    assigned: list[int] = []
    returns: list[int] = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Return):
            returns.append(inner.lineno)
        if name is None:
            continue
        if isinstance(inner, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target]
            if any(isinstance(t, ast.Subscript) and _key(t.slice) == name for t in targets):
                assigned.append(inner.lineno)
        if isinstance(inner, ast.Dict):
            assigned += [value.lineno for key, value in zip(inner.keys, inner.values) if _key(key) == name]
    if assigned:
        return max(assigned)
    return max(returns) if returns else None
