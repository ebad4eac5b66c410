"""Where a submission's mlp.py uses autograd, found by parsing it (never by running it)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ...engine.source import parse, printable

AUTOGRAD_ATTRIBUTES = {
    "requires_grad": "sets requires_grad",
    "requires_grad_": "calls requires_grad_()",
    "retain_grad": "calls retain_grad()",
    "grad_fn": "reads grad_fn",
    "grad": "reads a tensor's .grad",
    "autograd": "uses torch.autograd",
    "enable_grad": "calls torch.enable_grad()",
    "set_grad_enabled": "calls torch.set_grad_enabled()",
    "Parameter": "creates nn.Parameter (which requires grad)",
}
AUTOGRAD_MODULES = ("torch.autograd", "torch.func", "functorch")


@dataclass(frozen=True)
class AutogradUse:
    """One place in the source that uses autograd."""

    line: int
    function: str
    what: str
    code: str

    def describe(self, filename: str) -> str:
        return "%s line %d in %s: %s (%s)" % (filename, self.line, self.function, self.what, self.code)


# Names under torch.autograd that turn autograd off rather than use it.
GRAD_OFF = {"no_grad", "inference_mode", "grad_mode"}


def _is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_main_guard(node: ast.AST) -> bool:
    """`if __name__ == "__main__":`, whose body never runs when the grader imports the file."""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _Scanner:
    """Collects autograd uses; skips code that turns autograd off and `__main__` blocks.

    It walks the tree depth-first in source order with its own stack, not by recursion: a
    submission cannot crash the grader with a deeply nested expression."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.scope: tuple[str, ...] = ()
        self.uses: list[AutogradUse] = []
        self.harmless: set[int] = set()

    def scan(self, tree: ast.AST) -> None:
        stack: list[tuple[ast.AST, tuple[str, ...]]] = [(tree, ())]
        while stack:
            node, self.scope = stack.pop()
            children = self._inspect(node)
            scope = self.scope + (node.name,) if isinstance(node, _SCOPES) else self.scope
            stack.extend((child, scope) for child in reversed(children))

    def _add(self, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", 0)
        code = printable(self.lines[line - 1].strip()) if 0 < line <= len(self.lines) else ""
        self.uses.append(AutogradUse(line, ".".join(self.scope) or "<module>", what, code[:120]))

    def _inspect(self, node: ast.AST) -> list[ast.AST]:
        """Record what `node` itself uses; return the children to look into."""
        if isinstance(node, ast.If) and _is_main_guard(node):
            return list(node.orelse)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self._import(node)
        elif isinstance(node, ast.Call):
            # torch.set_grad_enabled(False) and requires_grad_(False) turn autograd off
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("set_grad_enabled", "requires_grad_") and (
                    node.args and _is_false(node.args[0])):
                self.harmless.add(id(node.func))
        elif isinstance(node, ast.Attribute):
            if node.attr in GRAD_OFF and isinstance(node.value, ast.Attribute) and node.value.attr == "autograd":
                return []  # torch.autograd.no_grad(): autograd off
            if id(node) not in self.harmless:
                self._attribute(node)
        elif isinstance(node, ast.Assign):
            # x.requires_grad = False turns it off
            if _is_false(node.value):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "requires_grad":
                        self.harmless.add(id(target))
        elif isinstance(node, ast.keyword) and node.arg == "requires_grad" and not _is_false(node.value):
            self._add(node.value, "passes requires_grad=...")
        return list(ast.iter_child_nodes(node))

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(("torch.func", "functorch")):
                    self._add(node, "imports %s" % alias.name)
            return
        module = node.module or ""
        names = {a.name for a in node.names}
        if (module.startswith(AUTOGRAD_MODULES) and names - GRAD_OFF - {"set_grad_enabled"}) or (
                module == "torch" and {"autograd", "func", "enable_grad"} & names):
            self._add(node, "imports from %s" % module)

    def _attribute(self, node: ast.Attribute) -> None:
        what = AUTOGRAD_ATTRIBUTES.get(node.attr, "")
        if node.attr == "requires_grad" and not isinstance(node.ctx, ast.Store):
            what = ""  # reading the flag (e.g. assert not x.requires_grad) uses nothing
        if node.attr == "func" and isinstance(node.value, ast.Name) and node.value.id == "torch":
            what = "uses torch.func"
        if what:
            self._add(node, what)


def autograd_uses(source: bytes | str) -> list[AutogradUse]:
    """Every place the source uses autograd (empty when it does not parse)."""
    tree = parse(source)
    if tree is None:
        return []
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    scanner = _Scanner(text.splitlines())
    scanner.scan(tree)
    return scanner.uses
