"""A static walk of what refusals can reach each GraphQL mutation uncaught.

Reads the source (no imports run through it) and follows calls that name a function of
the `wallet` package: `f(...)` for a function of the same module or imported by name,
`module.f(...)` for an imported module. Method calls on objects (`conn.fetch`) are not
followed: the domain's functions are module-level. A `try` removes what its handlers
catch, unless the handler re-raises. What remains at a resolver would be masked as a
server error, since only refusals the resolver catches become typed errors.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from wallet.errors import Refusal

PACKAGE_ROOT = Path(importlib.import_module("wallet").__file__ or "").parent


@dataclass
class Module:
    name: str
    tree: ast.Module
    functions: dict[str, ast.AST] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> dotted target


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def load() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in PACKAGE_ROOT.rglob("*.py"):
        name = _module_name(path)
        module = Module(name, ast.parse(path.read_text()))
        for node in module.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                module.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        module.functions[f"{node.name}.{item.name}"] = item
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    module.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    module.aliases[alias.asname or alias.name] = alias.name
        modules[name] = module
    return modules


class Flow:
    def __init__(self, modules: dict[str, Module]) -> None:
        self.modules = modules
        self._memo: dict[tuple[str, str], frozenset[type[Refusal]]] = {}

    def refusal_class(self, module: Module, node: ast.expr) -> type[Refusal] | None:
        target = self._dotted(module, node)
        if target is None:
            return None
        owner, _, name = target.rpartition(".")
        try:
            found = getattr(importlib.import_module(owner), name)
        except (ImportError, AttributeError, ValueError):
            return None
        return found if isinstance(found, type) and issubclass(found, Refusal) else None

    def _dotted(self, module: Module, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in module.aliases:
                return module.aliases[node.id]
            return f"{module.name}.{node.id}"
        if isinstance(node, ast.Attribute):
            base = self._dotted(module, node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def _callee(self, module: Module, node: ast.expr) -> tuple[str, str] | None:
        target = self._dotted(module, node)
        if target is None:
            return None
        owner, _, name = target.rpartition(".")
        if owner in self.modules and name in self.modules[owner].functions:
            return owner, name
        return None

    def raises_of(self, module_name: str, function: str) -> frozenset[type[Refusal]]:
        key = (module_name, function)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = frozenset()  # recursion: what is known so far
        module = self.modules[module_name]
        node = module.functions[function]
        body = node.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else []
        found = self._block(module, body)
        self._memo[key] = found
        return found

    def _block(self, module: Module, statements: list[ast.stmt]) -> frozenset[type[Refusal]]:
        found: set[type[Refusal]] = set()
        for statement in statements:
            found |= self._statement(module, statement)
        return frozenset(found)

    def _statement(self, module: Module, node: ast.stmt) -> frozenset[type[Refusal]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return frozenset()  # a nested definition runs only if called
        if isinstance(node, ast.Try | ast.TryStar):
            inner = set(self._block(module, node.body))
            for handler in node.handlers:
                caught = self._caught(module, handler.type)
                rethrows = any(
                    isinstance(n, ast.Raise) and n.exc is None for n in ast.walk(handler)
                )
                if not rethrows:
                    inner = {c for c in inner if not any(issubclass(c, k) for k in caught)}
                inner |= self._block(module, handler.body)
            inner |= self._block(module, node.orelse) | self._block(module, node.finalbody)
            return frozenset(inner)
        found: set[type[Refusal]] = set()
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            cls = self.refusal_class(module, raised)
            if cls is not None:
                found.add(cls)
        for _, value in ast.iter_fields(node):
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, ast.stmt):
                    found |= self._statement(module, item)
                elif isinstance(item, ast.expr):
                    found |= self._expression(module, item)
                elif isinstance(item, ast.withitem):
                    found |= self._expression(module, item.context_expr)
                elif isinstance(item, ast.match_case):
                    found |= self._block(module, item.body)
        return frozenset(found)

    def _expression(self, module: Module, node: ast.expr) -> frozenset[type[Refusal]]:
        """Calls in `node`. A lambda handed to a function runs inside that function: what
        it raises counts less what the function's handlers catch."""
        found: set[type[Refusal]] = set()
        todo: list[ast.AST] = [node]
        while todo:
            child = todo.pop()
            if isinstance(child, ast.Lambda):
                continue  # counted with the call it is handed to, or never run
            if isinstance(child, ast.Call):
                callee = self._callee(module, child.func)
                if callee is not None:
                    found |= self.raises_of(*callee)
                    for argument in [*child.args, *(k.value for k in child.keywords)]:
                        if isinstance(argument, ast.Lambda):
                            found |= self._handed(module, argument, callee)
            todo.extend(ast.iter_child_nodes(child))
        return frozenset(found)

    def _handed(
        self, module: Module, function: ast.Lambda, callee: tuple[str, str]
    ) -> frozenset[type[Refusal]]:
        raised = self._expression(module, function.body)
        owner = self.modules[callee[0]]
        caught: list[type[BaseException]] = []
        for node in ast.walk(owner.functions[callee[1]]):
            if isinstance(node, ast.ExceptHandler) and not any(
                isinstance(n, ast.Raise) and n.exc is None for n in ast.walk(node)
            ):
                caught.extend(self._caught(owner, node.type))
        return frozenset(c for c in raised if not any(issubclass(c, k) for k in caught))

    def _caught(self, module: Module, node: ast.expr | None) -> list[type[BaseException]]:
        if node is None:
            return [BaseException]
        items = node.elts if isinstance(node, ast.Tuple) else [node]
        caught: list[type[BaseException]] = []
        for item in items:
            target = self._dotted(module, item)
            if target is None:
                continue
            owner, _, name = target.rpartition(".")
            try:
                found = getattr(importlib.import_module(owner), name)
            except (ImportError, AttributeError, ValueError):
                found = __builtins__.get(name) if isinstance(__builtins__, dict) else None
                found = found or getattr(__import__("builtins"), name, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                caught.append(found)
            elif isinstance(found, tuple):
                caught.extend(c for c in found if isinstance(c, type))
        return caught


def mutations(modules: dict[str, Module]) -> list[tuple[str, str, str]]:
    """(module, Class.method, GraphQL-ish name) of every `@strawberry.mutation`."""
    found = []
    for module in modules.values():
        if not module.name.startswith("wallet.api.graphql"):
            continue
        for key, node in module.functions.items():
            decorators = getattr(node, "decorator_list", [])
            for decorator in decorators:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Attribute) and call.attr == "mutation":
                    found.append((module.name, key, key.split(".")[-1]))
    return sorted(found)
