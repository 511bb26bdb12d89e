"""The restricted script engine for BPMN scripts, gateway conditions and timer expressions.

SpiffWorkflow's default engine runs any Python (`import os`, `__import__`, `__subclasses__`
reflection), so anyone able to deploy a BPMN file could run code on the server. Every script and
expression therefore passes an AST whitelist before it is compiled:

- no imports, no function/class definitions, no `lambda`, `while`, `try`, `with`, `global`;
- no names or attributes starting with `_` (closes every reflection path to `__class__` & co.);
- calls only to the safe builtins below, to functions registered with
  `register_script_function`, and to a short list of plain data methods (`.get`, `.items`, …);
- no `**` (neither power nor `**kwargs`): `10 ** 10 ** 10` would stall the process.

The checked code runs with `__builtins__` replaced by the same safe set, so even a gap in the
whitelist finds no `open` or `__import__`. The engine is not serialized by SpiffWorkflow: callers
must attach it after every load (`engine.runtime.serializer` does).

Functions other areas need inside BPMN (calendar, catalog look-ups) are registered at import time
with `register_script_function(name, fn)`; while an engine step runs, `current_script_context()`
gives them the session, clock, instance row and actor of that step.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

SAFE_BUILTINS: dict[str, Any] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "len", "list", "max",
        "min", "range", "round", "set", "sorted", "str", "sum", "tuple", "zip", "reversed",
    )
}
SAFE_BUILTINS.update({"True": True, "False": False, "None": None})

# Methods of plain data (dict, list, str) a process may call. `format` is missing on purpose:
# "{0.__class__}".format(x) walks attributes without any `_` name in the AST.
SAFE_METHODS = frozenset({
    "get", "keys", "values", "items", "append", "extend", "insert", "pop", "remove", "update",
    "copy", "setdefault", "count", "index", "lower", "upper", "strip", "lstrip", "rstrip",
    "split", "join", "startswith", "endswith", "replace", "isdigit",
})

_ALLOWED_NODES: tuple[type, ...] = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass,
    ast.Break, ast.Continue, ast.Delete, ast.Name, ast.Load, ast.Store, ast.Del, ast.Constant,
    ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Subscript, ast.Slice, ast.Attribute, ast.Call,
    ast.keyword, ast.Compare, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.ListComp,
    ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.comprehension, ast.JoinedStr,
    ast.FormattedValue, ast.And, ast.Or, ast.Not, ast.Invert, ast.UAdd, ast.USub, ast.Add,
    ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
    ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)

_functions: dict[str, Callable[..., Any]] = {}
_functions_lock = threading.Lock()


def register_script_function(name: str, fn: Callable[..., Any]) -> None:
    """Make `fn` callable from BPMN scripts and expressions as `name(...)` (trusted code only)."""
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"script function name {name!r} must be an identifier not starting with '_'")
    if name in SAFE_BUILTINS:
        raise ValueError(f"script function name {name!r} would hide a builtin")
    with _functions_lock:
        _functions[name] = fn


def script_functions() -> dict[str, Callable[..., Any]]:
    """The registered functions (a copy)."""
    with _functions_lock:
        return dict(_functions)


@dataclass(frozen=True)
class ScriptContext:
    """What registered functions may use while an engine step runs."""

    session: Any
    clock: Any
    instance: Any = None
    actor: Any = None


_context: ContextVar[ScriptContext | None] = ContextVar("dutyflow_script_context", default=None)


def current_script_context() -> ScriptContext | None:
    """The session, clock, instance row and actor of the engine step running now (None outside)."""
    return _context.get()


@contextmanager
def script_context(session: Any, clock: Any, instance: Any = None, actor: Any = None) -> Iterator[ScriptContext]:
    """Set the script context around engine steps (the timers' clock shim reads `clock` from it)."""
    ctx = ScriptContext(session=session, clock=clock, instance=instance, actor=actor)
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


class UnsafeScript(ValueError):
    """A script or expression outside the whitelist; the message lists every problem."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def check_code(text: str, mode: str = "eval") -> list[str]:
    """Problems of a script (`mode="exec"`) or expression (`mode="eval"`); empty when it is allowed."""
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as exc:
        return [f"语法错误（第 {exc.lineno} 行）：{exc.msg}"]
    problems: list[str] = []
    callable_names = set(SAFE_BUILTINS) | set(script_functions())
    for node in ast.walk(tree):
        problem = _node_problem(node, callable_names)
        if problem and problem not in problems:
            problems.append(problem)
    return problems


def _node_problem(node: ast.AST, callable_names: set[str]) -> str | None:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "不允许 import"
    if isinstance(node, ast.Pow):
        return "不允许使用 ** 运算"
    if not isinstance(node, _ALLOWED_NODES):
        return f"不允许的语法：{type(node).__name__}"
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"不允许以下划线开头的名称：{node.id}"
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        return f"不允许以下划线开头的属性：{node.attr}"
    if isinstance(node, ast.keyword) and node.arg is None:
        return "不允许 **参数"
    if isinstance(node, ast.Call):
        return _call_problem(node, callable_names)
    return None


def _call_problem(node: ast.Call, callable_names: set[str]) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return None if func.id in callable_names else f"不允许调用函数：{func.id}"
    if isinstance(func, ast.Attribute):
        return None if func.attr in SAFE_METHODS else f"不允许调用方法：{func.attr}"
    return "只允许按名称调用函数"


_compiled: dict[tuple[str, str], Any] = {}
_compiled_lock = threading.Lock()
_COMPILED_LIMIT = 4096


def compile_checked(text: str, mode: str) -> Any:
    """Check and compile once; later calls reuse the code object (checking costs more than eval)."""
    key = (mode, text)
    with _compiled_lock:
        code = _compiled.get(key)
    if code is not None:
        return code
    problems = check_code(text, mode)
    if problems:
        raise UnsafeScript(problems)
    code = compile(text, "<string>", mode)
    with _compiled_lock:
        if len(_compiled) >= _COMPILED_LIMIT:
            _compiled.clear()
        _compiled[key] = code
    return code


class RestrictedEnvironment(TaskDataEnvironment):
    """Task-data environment that only runs whitelisted code against safe builtins."""

    @property
    def globals(self) -> dict[str, Any]:  # type: ignore[override]
        # Looked up at each call, so functions registered after the engine was built are seen.
        return script_functions()

    @globals.setter
    def globals(self, _value: Any) -> None:
        # The base class assigns globals in __init__; the registry is the only source.
        pass

    def evaluate(self, expression, context, external_context=None):
        code = compile_checked(expression, "eval")
        scope = self._scope(context, external_context)
        return eval(code, scope)  # noqa: S307 - code passed the whitelist above

    def execute(self, script, context, external_context=None):
        code = compile_checked(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        functions = self.globals
        context.update(functions)
        context.update(external_context or {})
        context["__builtins__"] = SAFE_BUILTINS
        try:
            exec(code, context)  # noqa: S102 - code passed the whitelist above
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def call_service(self, context, **kwargs):
        raise UnsafeScript(["不支持服务任务（serviceTask）"])

    def _scope(self, context: dict, external_context: dict | None) -> dict[str, Any]:
        scope: dict[str, Any] = dict(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        scope["__builtins__"] = SAFE_BUILTINS
        return scope


def make_script_engine() -> PythonScriptEngine:
    """A fresh restricted engine; attach it to every workflow created or restored."""
    return PythonScriptEngine(environment=RestrictedEnvironment())
