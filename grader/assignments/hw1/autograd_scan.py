"""Where a submission's mlp.py may use autograd, found by parsing it (never by running it).

What the scan finds is a suspicion, never a verdict on its own: the worker's count of calls
into torch.autograd decides (see `mlp_checks.finalize`). The scan is exact about what it
reports:

- modules are matched by whole dotted components: `torch.functional` is not `torch.func`;
- an imported name counts only where the code uses it, resolved by Python's scoping rules:
  `from torch.func import grad` followed by `for grad in self.grads:` in a method uses nothing;
- code that turns autograd off (`torch.no_grad()`, `torch.inference_mode()`,
  `torch.set_grad_enabled(False)` or `(mode=False)`, the same under `torch.autograd`,
  `requires_grad_(False)`, `x.requires_grad = False`) and reading a flag use nothing;
- code under `if __name__ == "__main__":` never runs when the grader imports the file.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ...engine.source import parse, printable

AUTOGRAD_ATTRIBUTES = {
    "requires_grad": "sets requires_grad",
    "requires_grad_": "calls requires_grad_()",
    "retain_grad": "calls retain_grad()",
    "grad_fn": "reads grad_fn",
    "grad": "reads a tensor's .grad",
    "Parameter": "creates nn.Parameter (which requires grad)",
}
"""Attributes that use autograd on whatever object they are read from."""

AUTOGRAD_MODULES = (("torch", "autograd"), ("torch", "func"), ("functorch",))
"""Modules whose every member is autograd, as dotted components (matched exactly)."""

GRAD_ON = {("torch", "enable_grad"): "calls torch.enable_grad()"}

GRAD_OFF = frozenset({"no_grad", "inference_mode", "grad_mode", "is_grad_enabled", "is_inference_mode_enabled"})
"""Names under torch / torch.autograd that turn autograd off or only ask about it."""

SWITCH = "set_grad_enabled"
"""torch.set_grad_enabled(mode): a use only when the mode is not the constant False."""


@dataclass(frozen=True)
class AutogradUse:
    """One place in the source that may use autograd."""

    line: int
    function: str
    what: str
    code: str

    def describe(self, filename: str) -> str:
        return "%s line %d in %s: %s (%s)" % (filename, self.line, self.function, self.what, self.code)


def _is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _turns_off(call: ast.Call) -> bool:
    """set_grad_enabled(False), set_grad_enabled(mode=False), requires_grad_(False)."""
    if call.args:
        return _is_false(call.args[0])
    return any(k.arg in ("mode", "requires_grad") and _is_false(k.value) for k in call.keywords)


def _is_main_guard(node: ast.AST) -> bool:
    """`if __name__ == "__main__":`, whose body never runs when the grader imports the file."""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


def _module_of(path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The autograd module `path` lies in (component by component), or None."""
    for module in AUTOGRAD_MODULES:
        if path[:len(module)] == module:
            return module
    return None


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = _FUNCTIONS + _COMPREHENSIONS + (ast.ClassDef, ast.Module)


@dataclass
class _Scope:
    """The names one scope binds: name -> [(line, imported dotted path or None)]."""

    node: ast.AST
    parent: _Scope | None
    bindings: dict[str, list[tuple[int, tuple[str, ...] | None]]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)

    def bind(self, name: str, line: int, path: tuple[str, ...] | None = None) -> None:
        self.bindings.setdefault(name, []).append((line, path))


class _Bindings:
    """Python's scoping, enough to tell what a name refers to: every scope's bindings, and the
    scope each node is evaluated in. Walks with its own stack (no recursion)."""

    def __init__(self, tree: ast.Module) -> None:
        self.module = _Scope(tree, None)
        self.scope_of: dict[int, _Scope] = {}
        self.star_imports: list[ast.ImportFrom] = []
        stack: list[tuple[ast.AST, _Scope]] = [(tree, self.module)]
        while stack:
            node, scope = stack.pop()
            self.scope_of[id(node)] = scope
            inner = scope
            if isinstance(node, _SCOPES) and node is not tree:
                inner = _Scope(node, scope)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    scope.bind(node.name, node.lineno)
                if isinstance(node, _FUNCTIONS):
                    for arg in ast.walk(node.args):
                        if isinstance(arg, ast.arg):
                            inner.bind(arg.arg, node.lineno)
            self._bind(node, scope)
            stack.extend((child, inner) for child in ast.iter_child_nodes(node))

    def _bind(self, node: ast.AST, scope: _Scope) -> None:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            scope.bind(node.id, line)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            scope.declared_global.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.bind(node.name, line)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.bind(alias.asname, line, tuple(alias.name.split(".")))
                else:  # `import torch.func` binds torch, which is not autograd
                    scope.bind(alias.name.split(".")[0], line, (alias.name.split(".")[0],))
        elif isinstance(node, ast.ImportFrom):
            module = tuple((node.module or "").split(".")) if node.level == 0 else ("",)
            for alias in node.names:
                if alias.name == "*":
                    self.star_imports.append(node)
                else:
                    scope.bind(alias.asname or alias.name, line, module + (alias.name,))

    def resolve(self, name: ast.Name) -> tuple[str, ...] | None:
        """The imported dotted path `name` refers to where it is read, or None (not an import)."""
        scope: _Scope | None = self.scope_of.get(id(name))
        own = scope
        while scope is not None:
            if name.id in scope.declared_global and scope is not self.module:
                scope = self.module
                continue
            found = sorted(scope.bindings.get(name.id, []), key=lambda binding: binding[0])
            if found and (scope is own or not isinstance(scope.node, ast.ClassDef)):
                if scope is own:  # code of this scope runs in order: the last binding before it
                    earlier = [b for b in found if b[0] <= name.lineno]
                    return (earlier or found)[-1][1]
                return found[-1][1]  # an enclosing scope: what the name holds when called
            scope = scope.parent
            while scope is not None and isinstance(scope.node, ast.ClassDef):
                scope = scope.parent  # class bodies do not enclose their methods
        return None


class _Scanner:
    """Collects suspected autograd uses in source order; skips `__main__` blocks."""

    def __init__(self, lines: list[str], bindings: _Bindings) -> None:
        self.lines = lines
        self.bindings = bindings
        self.scope: tuple[str, ...] = ()
        self.uses: list[AutogradUse] = []
        self.parents: dict[int, ast.AST] = {}

    def scan(self, tree: ast.AST) -> None:
        for star in self.bindings.star_imports:
            module = _module_of(tuple((star.module or "").split(".")))
            if module is not None:
                self._add(star, "imports * from %s" % ".".join(module))
        stack: list[tuple[ast.AST, tuple[str, ...]]] = [(tree, ())]
        while stack:
            node, self.scope = stack.pop()
            children = self._inspect(node)
            for child in children:
                self.parents[id(child)] = node
            scope = self.scope
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                scope += (node.name,)
            stack.extend((child, scope) for child in reversed(children))

    def _add(self, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", 0)
        code = printable(self.lines[line - 1].strip()) if 0 < line <= len(self.lines) else ""
        self.uses.append(AutogradUse(line, ".".join(self.scope) or "<module>", what, code[:120]))

    def _inspect(self, node: ast.AST) -> list[ast.AST]:
        """Record what `node` itself uses; return the children to look into."""
        if isinstance(node, ast.If) and _is_main_guard(node):
            return list(node.orelse)
        if isinstance(node, ast.Attribute):
            return self._chain(node)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            path = self.bindings.resolve(node)
            if path is not None:
                self._path(node, path)
        elif isinstance(node, ast.Assign) and _is_false(node.value):
            # x.requires_grad = False turns it off: look only at the targets' bases
            children: list[ast.AST] = [node.value]
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "requires_grad":
                    children.append(target.value)
                else:
                    children.append(target)
            return children
        elif isinstance(node, ast.keyword) and node.arg == "requires_grad" and not _is_false(node.value):
            self._add(node.value, "passes requires_grad=...")
        return list(ast.iter_child_nodes(node))

    def _call_of(self, node: ast.AST) -> ast.Call | None:
        """The call whose function `node` is, if any."""
        parent = self.parents.get(id(node))
        return parent if isinstance(parent, ast.Call) and parent.func is node else None

    def _path(self, node: ast.AST, path: tuple[str, ...]) -> bool:
        """Record a use when the dotted `path` read at `node` is autograd; True when recorded
        or when the path turns autograd off (nothing further to look at)."""
        if GRAD_OFF & set(path[1:]):
            return True
        if path[-1] == SWITCH and (path[:-1] == ("torch",) or _module_of(path[:-1])):
            call = self._call_of(node)
            if call is None or not _turns_off(call):
                self._add(node, "calls %s()" % ".".join(path))
            return True
        if path in GRAD_ON:
            self._add(node, GRAD_ON[path])
            return True
        module = _module_of(path)
        if module is not None:
            self._add(node, "uses %s" % ".".join(path[:len(module) + 1]))
            return True
        return False

    def _chain(self, node: ast.Attribute) -> list[ast.AST]:
        """An attribute chain a.b.c as a whole: its dotted path (names resolved to what they
        import) when it starts at a name, else the autograd attributes read along it. Returns
        the base to look into."""
        attrs: list[ast.Attribute] = []
        base: ast.AST = node
        while isinstance(base, ast.Attribute):
            attrs.append(base)
            base = base.value
        attrs.reverse()
        if isinstance(base, ast.Name):
            root = self.bindings.resolve(base) or (base.id,)
            # longest path first: torch.autograd.set_grad_enabled(False) is decided as a whole
            for index in range(len(attrs), 0, -1):
                if self._path(attrs[index - 1], root + tuple(a.attr for a in attrs[:index])):
                    return []
        for attr in attrs:
            if attr.attr not in AUTOGRAD_ATTRIBUTES:
                continue
            if attr.attr == "requires_grad" and not isinstance(attr.ctx, ast.Store):
                continue  # reading the flag (e.g. assert not x.requires_grad) uses nothing
            call = self._call_of(attr)
            if attr.attr == "requires_grad_" and call is not None and _turns_off(call):
                continue
            self._add(attr, AUTOGRAD_ATTRIBUTES[attr.attr])
            break
        return [] if isinstance(base, ast.Name) else [base]


def autograd_uses(source: bytes | str) -> list[AutogradUse]:
    """Every place the source may use autograd (empty when it does not parse)."""
    tree = parse(source)
    if tree is None:
        return []
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    scanner = _Scanner(text.splitlines(), _Bindings(tree))
    scanner.scan(tree)
    return scanner.uses
