"""The restricted script engine for BPMN scripts, gateway conditions, timer expressions and
multi-instance cardinalities — built on RestrictedPython, with a budget for every run.

SpiffWorkflow's default engine runs any Python, so anyone able to deploy a BPMN file could run
code on the server. The earlier AST blacklist was escaped (generator → gi_frame → f_back →
f_builtins → __import__, and a whitelisted builtin rebound to it). This engine is a whitelist at
every level instead, so that nothing not listed here is reachable:

1. **Syntax** (checked at deploy and before every first compile): a short list of node types —
   no imports, function/class definitions, lambda, generators (no generator expressions, no
   yield), while, try/except/raise, with, global, walrus, starred unpacking, `**kwargs`. No name or
   attribute starting with `_`. No assignment to a provided name (`len = …`, a registered script
   function). Calls only to the safe builtins, the registered functions and the listed methods.
   Source length and nesting depth are bounded (the parser itself dies on deep input).
2. **RestrictedPython** (`compile_restricted`) rewrites every attribute read into `_getattr_`,
   every item read into `_getitem_`, every iteration into `_getiter_`, every item/attribute
   write into `_write_`; our policy also rewrites every binary operator into `_binop_`, every
   f-string value into `_fmt_` and every list/tuple/set/dict display into `_new_`.
3. **Guards at run time**: `_getattr_` allows only the methods in `ALLOWED_METHODS`, looked up
   by the object's *exact* type (a subclass or any non-data object has no attributes at all), so
   frames, code objects, functions and classes are never reachable; `str.format`/`format_map`
   are not listed ("{0.__class__}" walks attributes inside C). The builtins are a fresh dict of
   wrappers per run: scripts never hold a real type or `__import__`.
4. **Budgets** (`ScriptBudgetExceeded`, a 422 for the person whose request ran the step; a timer
   marks the instance failed): every loop and comprehension iteration is a step
   (`MAX_STEPS`); thread CPU time is checked at every step and guarded operation
   (`MAX_CPU_SECONDS`, time spent inside registered functions excluded); operations that can
   create big objects are checked *before* they run (`*` on sequences, `**`, `<<`, `+`, `%`
   formatting, `range`, `str.join`, `str.replace`, `list.extend`, `dict.update`) against
   `MAX_LENGTH` / `MAX_INT_BITS`, and every new object is charged to `MAX_ALLOCATED_BYTES`.
5. **Data**: after each run the task data must be plain JSON-like data (`ScriptDataError`),
   because the workflow is stored as JSON after the step and would otherwise fail with a 500.

Functions other areas need inside BPMN (calendar, catalog look-ups) are registered at import time
with `register_script_function(name, fn)`; while an engine step runs, `current_script_context()`
gives them the session, clock, instance row and actor of that step. The engine is not
serialized by SpiffWorkflow: callers attach it after every load (`engine.runtime.serializer`).

The module is long (about 900 lines) on purpose: the whitelists, the compiler policy and the
run-time guards are one security boundary, and keeping them in one file lets a reviewer check
that every rewritten operation has its guard without following imports.
"""

from __future__ import annotations

import ast
import builtins
import operator
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID
from weakref import WeakKeyDictionary

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

from engine.errors import InvalidInput

# ---------------------------------------------------------------- limits

# Source size of one script / one expression. The longest script of the six shipped processes is
# under 400 characters and the longest condition under 100; 50x headroom, while the parser and
# the restricted compiler stay well under a millisecond per check.
MAX_SCRIPT_CHARS = 20_000
MAX_EXPRESSION_CHARS = 4_000
# Nesting depth of the syntax tree. Real conditions are under 10 deep; a 100-term `a + b + …`
# chain is 100 deep. CPython's own compiler recurses per level, so deep input ("-" * 20000 + "1")
# raises MemoryError/RecursionError in the parser — we refuse well before that.
MAX_AST_DEPTH = 100
# Loop and comprehension iterations of one run. Shipped scripts do not loop; 100 000 iterations
# of plain Python take about 50 ms, so a budget overrun is answered at once.
MAX_STEPS = 100_000
# CPU time of one run (this thread only, registered functions excluded): a run that computes for
# two seconds is a mistake or an attack, and holds the database transaction meanwhile.
MAX_CPU_SECONDS = 2.0
# Items of one container / characters of one string a script may create (1 M characters is
# far beyond any form text; a 1 M-item list is 8 MB of references).
MAX_LENGTH = 1_000_000
# Bits of one integer (about 3000 decimal digits; CPython refuses to print more than 4300).
MAX_INT_BITS = 10_000
# Digits `round(x, n)` may keep or drop: a float has 17 significant digits, and round(5, -n)
# computes 10 ** n first.
MAX_ROUND_DIGITS = 400
# Bytes a run may allocate in total (new strings, containers, big ints), counted as they are
# created: 64 MB keeps several concurrent runs far from the server's memory.
MAX_ALLOCATED_BYTES = 64 * 1024 * 1024
# Nesting depth of the task data a run leaves behind; the JSON encoder recurses per level.
MAX_DATA_DEPTH = 50
# Instances a multi-instance cardinality may create at run time: each is a task row, a form and
# possibly a timer; 200 covers a campaign over every unit of a region. The same bound holds for
# the items of a collection a multi-instance task loops over (`multi_instance_problems`).
MAX_CARDINALITY = 200

# ---------------------------------------------------------------- what scripts can reach

SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "len", "list", "max",
    "min", "range", "round", "set", "sorted", "str", "sum", "tuple", "zip", "reversed",
)
# Kept for callers that ask which names are provided (the names; the values are per-run wrappers).
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
SAFE_BUILTINS.update({"True": True, "False": False, "None": None})

_STR_METHODS = frozenset({
    "lower", "upper", "casefold", "title", "capitalize", "strip", "lstrip", "rstrip", "split",
    "rsplit", "splitlines", "partition", "rpartition", "join", "startswith", "endswith",
    "replace", "removeprefix", "removesuffix", "count", "index", "find", "rfind", "isdigit",
    "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "islower", "isupper",
})
# Methods of plain data a process may call, by the object's exact type. Deliberately missing:
# str.format/format_map (walk attributes in C), center/ljust/rjust/zfill/expandtabs (size from
# an argument), dict.fromkeys, encode/translate; and every attribute that is not a method.
ALLOWED_METHODS: dict[type, frozenset[str]] = {
    dict: frozenset({"get", "keys", "values", "items", "pop", "popitem", "setdefault", "update",
                     "copy", "clear"}),
    list: frozenset({"append", "extend", "insert", "pop", "remove", "index", "count", "copy",
                     "sort", "reverse", "clear"}),
    tuple: frozenset({"count", "index"}),
    str: _STR_METHODS,
    set: frozenset({"add", "discard", "remove", "pop", "clear", "copy", "update", "union",
                    "intersection", "difference", "symmetric_difference", "issubset",
                    "issuperset", "isdisjoint"}),
    frozenset: frozenset({"copy", "union", "intersection", "difference", "symmetric_difference",
                          "issubset", "issuperset", "isdisjoint"}),
}
SAFE_METHODS = frozenset().union(*ALLOWED_METHODS.values())

_ITEM_TYPES = (dict, list, tuple, str, range)
_WRITABLE_TYPES = (dict, list)
_ITERABLE_TYPES: tuple[type, ...] = (
    list, tuple, str, dict, set, frozenset, range, enumerate, zip, reversed,
    type({}.keys()), type({}.values()), type({}.items()), type(reversed([])), type(reversed(range(0))),
)

# Node types a script or expression may contain; everything else is refused with its name.
_ALLOWED_NODES: tuple[type, ...] = (
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass,
    ast.Break, ast.Continue, ast.Delete, ast.Name, ast.Load, ast.Store, ast.Del, ast.Constant,
    ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Subscript, ast.Slice, ast.Attribute, ast.Call,
    ast.keyword, ast.Compare, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.ListComp,
    ast.DictComp, ast.SetComp, ast.comprehension, ast.JoinedStr, ast.FormattedValue,
    ast.And, ast.Or, ast.Not, ast.Invert, ast.UAdd, ast.USub, ast.Add, ast.Sub, ast.Mult,
    ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift, ast.BitOr, ast.BitXor,
    ast.BitAnd, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is,
    ast.IsNot,
)
_NODE_NAMES = {
    "GeneratorExp": "生成器表达式", "Yield": "yield", "YieldFrom": "yield from", "Lambda": "lambda",
    "FunctionDef": "函数定义", "AsyncFunctionDef": "函数定义", "ClassDef": "类定义",
    "While": "while 循环", "Try": "try/except", "TryStar": "try/except", "Raise": "raise",
    "With": "with", "Global": "global", "Nonlocal": "nonlocal", "NamedExpr": ":=",
    "Starred": "* 解包", "Import": "import", "ImportFrom": "import", "Await": "await",
    "Assert": "assert", "Match": "match",
}

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


def provided_names() -> frozenset[str]:
    """Names scripts are given (safe builtins and registered functions). Task data are a run's
    globals and win over its builtins, so start or form data must not use these names as keys."""
    return frozenset(SAFE_BUILTINS) | frozenset(script_functions())


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


# ---------------------------------------------------------------- errors


class UnsafeScript(ValueError):
    """A script or expression outside the whitelist; the message lists every problem."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class ScriptBudgetExceeded(InvalidInput):
    """A run went over its step, CPU or memory budget. A DutyflowError on purpose: the person whose
    request ran the step gets a 422 and the step is rolled back; a timer fails the instance."""

    def __init__(self, what: str):
        super().__init__(f"脚本超出运行预算：{what}", [what])


class ScriptDataError(InvalidInput):
    """A run left task data that cannot be stored (not plain JSON-like data)."""

    def __init__(self, what: str):
        super().__init__(f"脚本留下了无法保存的流程数据：{what}", [what])


# ---------------------------------------------------------------- checking (deploy and first run)


def check_code(text: str, mode: str = "eval") -> list[str]:
    """Problems of a script (`mode="exec"`) or expression (`mode="eval"`); empty when it is allowed."""
    return _compile(text, mode)[1]


def _compile(text: str, mode: str) -> tuple[Any, list[str]]:
    limit = MAX_SCRIPT_CHARS if mode == "exec" else MAX_EXPRESSION_CHARS
    if len(text) > limit:
        return None, [f"代码过长（{len(text)} 个字符，上限 {limit}）"]
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as exc:
        return None, [f"语法错误（第 {exc.lineno} 行）：{exc.msg}"]
    except (RecursionError, MemoryError):
        return None, [f"嵌套过深（上限 {MAX_AST_DEPTH} 层）"]
    depth = _depth(tree)
    if depth > MAX_AST_DEPTH:
        return None, [f"嵌套过深（{depth} 层，上限 {MAX_AST_DEPTH} 层）"]
    problems = _whitelist_problems(tree)
    if problems:
        return None, problems
    try:
        compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
        # ast.parse is typed as returning ast.mod; with mode "exec"/"eval" it is a Module/Expression.
        result = compiler(cast("ast.Module | ast.Expression", tree), filename="<string>", policy=_Policy)
    except (RecursionError, MemoryError):
        return None, [f"嵌套过深（上限 {MAX_AST_DEPTH} 层）"]
    except SyntaxError as exc:
        return None, [f"语法错误（第 {exc.lineno} 行）：{exc.msg}"]
    if result.errors or result.code is None:
        return None, [f"受限编译器拒绝：{e}" for e in result.errors] or ["受限编译器拒绝"]
    return result.code, []


def _depth(tree: ast.AST) -> int:
    """Depth of the tree, without recursion (the tree may be as deep as the parser allowed)."""
    deepest = 0
    pending = [(tree, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        if level > MAX_AST_DEPTH:
            return level
        pending += [(child, level + 1) for child in ast.iter_child_nodes(node)]
    return deepest


def _whitelist_problems(tree: ast.AST) -> list[str]:
    provided = provided_names()
    problems: list[str] = []
    for node in ast.walk(tree):
        problem = _node_problem(node, provided)
        if problem and problem not in problems:
            problems.append(problem)
    return problems


def _node_problem(node: ast.AST, provided: frozenset[str] | set[str]) -> str | None:
    if not isinstance(node, _ALLOWED_NODES):
        kind = type(node).__name__
        return f"不允许的语法：{_NODE_NAMES.get(kind, kind)}"
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            return f"不允许以下划线开头的名称：{node.id}"
        if not isinstance(node.ctx, ast.Load) and node.id in provided:
            return f"不允许给内置函数或流程函数重新赋值：{node.id}"
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return f"不允许以下划线开头的属性：{node.attr}"
        if not isinstance(node.ctx, ast.Load):
            return f"不允许给属性赋值：{node.attr}"
        if node.attr not in SAFE_METHODS:
            return f"不允许访问属性：{node.attr}"
    if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Slice):
        return "不允许给切片赋值"
    if isinstance(node, ast.keyword) and node.arg is None:
        return "不允许 **参数"
    if isinstance(node, ast.Dict) and any(key is None for key in node.keys):
        return "不允许 ** 解包"
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        return _format_spec_problem(node.format_spec)
    if isinstance(node, ast.Call):
        return _call_problem(node, provided)
    return None


def _format_spec_problem(spec: ast.AST) -> str | None:
    parts = getattr(spec, "values", [spec])
    if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
        return "f 字符串的格式说明只能是常量"
    text = "".join(p.value for p in parts)
    if re.search(r"\d{4,}", text):
        return f"f 字符串的格式说明宽度过大：{text}"
    return None


def _call_problem(node: ast.Call, provided: frozenset[str] | set[str]) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return None if func.id in provided else f"不允许调用函数：{func.id}"
    if isinstance(func, ast.Attribute):
        return None if func.attr in SAFE_METHODS else f"不允许调用方法：{func.attr}"
    return "只允许按名称调用函数"


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


_BINOP_NAMES = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
    ast.BitAnd: "&",
}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus: no generators at all (a second line behind the whitelist),
    binary operators, f-string values and container displays routed through budget guards."""

    def visit_Module(self, node: ast.Module) -> ast.AST:
        # The guard calls built here carry no line numbers; copy them from their parents.
        return ast.fix_missing_locations(cast(ast.AST, super().visit_Module(node)))

    def visit_Expression(self, node: ast.Expression) -> ast.AST:
        return ast.fix_missing_locations(cast(ast.AST, super().visit_Expression(node)))

    def visit_GeneratorExp(self, node):
        self.not_allowed(node)

    def visit_Yield(self, node):
        self.not_allowed(node)

    def visit_YieldFrom(self, node):
        self.not_allowed(node)

    def visit_Lambda(self, node):
        self.not_allowed(node)

    def visit_FunctionDef(self, node):
        self.not_allowed(node)

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        name = _BINOP_NAMES.get(type(node.op))
        if name is None:
            self.not_allowed(node)
            return node
        return ast.copy_location(_call("_binop_", ast.Constant(name), node.left, node.right), node)

    def visit_FormattedValue(self, node):
        node = self.node_contents_visit(node)
        node.value = ast.copy_location(_call("_fmt_", node.value), node.value)
        return node

    def _display(self, node):
        node = self.node_contents_visit(node)
        if isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
            return node
        return ast.copy_location(_call("_new_", node), node)

    visit_List = visit_Tuple = visit_Set = visit_Dict = _display


# Cache, per process: (mode, text) → the checked code and the global names it uses, up to
# _COMPILED_LIMIT texts (then emptied), for the life of the process.
_compiled: dict[tuple[str, str], tuple[Any, frozenset[str]]] = {}
_compiled_lock = threading.Lock()
_COMPILED_LIMIT = 4096


def compile_checked(text: str, mode: str) -> Any:
    """Check and compile once; later calls reuse the code object (checking costs more than eval).

    The cache is keyed by the text only: a later-registered function name would make a cached
    rebinding check stale, but functions are registered at import, before any script runs."""
    return _checked(text, mode)[0]


def _checked(text: str, mode: str) -> tuple[Any, frozenset[str]]:
    """The checked code of `text` and the names it may look up as globals (`_global_names`)."""
    key = (mode, text)
    with _compiled_lock:
        found = _compiled.get(key)
    if found is not None:
        return found
    code, problems = _compile(text, mode)
    if problems:
        raise UnsafeScript(problems)
    found = (code, _global_names(code))
    with _compiled_lock:
        if len(_compiled) >= _COMPILED_LIMIT:
            _compiled.clear()
        _compiled[key] = found
    return found


def _global_names(code: types.CodeType) -> frozenset[str]:
    """Every name the code and the code nested in it (functions, lambdas, comprehensions) may look
    up as a global: a run only needs the registered functions among them. Restricted code reaches
    a global by name only (globals(), vars() and dunder attributes are refused at the check), and
    the names it can look up are its code objects' `co_names`."""
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        pending.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    return frozenset(names)


# ---------------------------------------------------------------- one run and its budget

# The names the restricted compiler's code calls its guards by → the _Run method that is the guard.
_GUARDS = {
    "_getattr_": "getattr_", "_getitem_": "getitem", "_write_": "write", "_getiter_": "getiter",
    "_iter_unpack_sequence_": "iter_unpack", "_unpack_sequence_": "unpack", "_binop_": "binop",
    "_inplacevar_": "inplacevar", "_fmt_": "fmt", "_new_": "charge", "_apply_": "apply",
}


def _type_name(value: Any) -> str:
    return type(value).__name__


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (str, list, tuple, bytes))


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "|": operator.or_, "^": operator.xor, "&": operator.and_,
}
_IN_PLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
}
# A %-format with a width or precision of 4+ digits, or taken from the arguments (`*`).
_BIG_PERCENT = re.compile(r"%[^a-zA-Z%]*(\d{4,}|\*)")


class _Ticking:
    """The iterator every loop and comprehension gets: one step per item. A plain object (not a
    generator), and scripts never see it, so it carries no frame."""

    __slots__ = ("_inner", "_run")

    def __init__(self, inner: Iterator[Any], run: _Run):
        self._inner = inner
        self._run = run

    def __iter__(self):
        return self

    def __next__(self):
        self._run.tick()
        return next(self._inner)


class _Unpacking:
    """`for a, b in x`: each item unpacked through the guarded iterator (not a generator)."""

    __slots__ = ("_inner", "_spec", "_getiter")

    def __init__(self, inner: Iterator[Any], spec: dict, getiter: Callable[[Any], Any]):
        self._inner = inner
        self._spec = spec
        self._getiter = getiter

    def __iter__(self):
        return self

    def __next__(self):
        return guarded_unpack_sequence(next(self._inner), self._spec, self._getiter)


class _Run:
    """The guards and budget of one script or expression run."""

    def __init__(self) -> None:
        self.steps = 0
        self.allocated = 0
        self.cpu_start = time.thread_time()
        self.cpu_excluded = 0.0

    # -- budget

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ScriptBudgetExceeded(f"循环次数超过 {MAX_STEPS} 步")
        # Reading the thread's CPU clock is a system call: every 16th step keeps loops cheap while
        # an overrun is still noticed within 16 (unguarded, bounded-size) operations.
        if self.steps % 16 == 0:
            self.check_time()

    def check_time(self) -> None:
        used = time.thread_time() - self.cpu_start - self.cpu_excluded
        if used > MAX_CPU_SECONDS:
            raise ScriptBudgetExceeded(f"CPU 时间超过 {MAX_CPU_SECONDS:g} 秒")

    def charge(self, value: Any) -> Any:
        self.allocated += sys.getsizeof(value, 64)
        if self.allocated > MAX_ALLOCATED_BYTES:
            raise ScriptBudgetExceeded(f"分配的内存超过 {MAX_ALLOCATED_BYTES // (1024 * 1024)} MB")
        if isinstance(value, (str, list, tuple, dict, set, frozenset, bytes)) and len(value) > MAX_LENGTH:
            raise ScriptBudgetExceeded(f"对象长度超过 {MAX_LENGTH}")
        self.check_time()
        return value

    def need_length(self, length: int) -> None:
        if length > MAX_LENGTH:
            raise ScriptBudgetExceeded(f"结果长度 {length} 超过上限 {MAX_LENGTH}")

    def need_bits(self, bits: int) -> None:
        if bits > MAX_INT_BITS:
            raise ScriptBudgetExceeded(f"整数位数 {bits} 超过上限 {MAX_INT_BITS}")

    # -- guards RestrictedPython's rewritten code calls

    def getattr_(self, obj: Any, name: str, default: Any = None) -> Any:
        allowed = ALLOWED_METHODS.get(type(obj), frozenset())
        if name.startswith("_") or name not in allowed:
            raise UnsafeScript([f"不允许访问 {_type_name(obj)} 的属性：{name}"])
        method = getattr(obj, name)
        pre = _PRECHECKS.get((type(obj), name))

        def call(*args: Any, **kwargs: Any) -> Any:
            self.check_time()
            if pre is not None:
                args = pre(self, obj, args)
            return self.charge(method(*args, **kwargs))

        return call

    def getitem(self, obj: Any, key: Any) -> Any:
        if type(obj) not in _ITEM_TYPES:
            raise UnsafeScript([f"不允许按下标访问 {_type_name(obj)}"])
        value = obj[key]
        return self.charge(value) if isinstance(key, slice) else value

    def write(self, obj: Any) -> Any:
        if type(obj) not in _WRITABLE_TYPES:
            raise UnsafeScript([f"不允许修改 {_type_name(obj)}"])
        return obj

    def getiter(self, obj: Any) -> _Ticking:
        if type(obj) not in _ITERABLE_TYPES:
            raise UnsafeScript([f"不允许遍历 {_type_name(obj)}"])
        return _Ticking(iter(obj), self)

    def iter_unpack(self, obj: Any, spec: dict, _getiter: Any) -> _Unpacking:
        return _Unpacking(self.getiter(obj), spec, self.getiter)

    def unpack(self, obj: Any, spec: dict, _getiter: Any) -> Any:
        return guarded_unpack_sequence(obj, spec, self.getiter)

    def binop(self, op: str, left: Any, right: Any) -> Any:
        self.check_size(op, left, right)
        return self.charge(_OPERATORS[op](left, right))

    def inplacevar(self, op: str, left: Any, right: Any) -> Any:
        fn = _IN_PLACE.get(op)
        if fn is None:
            raise UnsafeScript([f"不允许的运算：{op}"])
        self.check_size(op[:-1], left, right)
        return self.charge(fn(left, right))

    def check_size(self, op: str, left: Any, right: Any) -> None:
        """Refuse before computing when the result would be too big."""
        self.check_time()
        if op == "*":
            if _is_sequence(left) and isinstance(right, int):
                self.need_length(len(left) * max(right, 0))
            elif _is_sequence(right) and isinstance(left, int):
                self.need_length(len(right) * max(left, 0))
            elif isinstance(left, int) and isinstance(right, int):
                self.need_bits(_int_bits(left) + _int_bits(right))
        elif op == "+":
            if _is_sequence(left) and _is_sequence(right):
                self.need_length(len(left) + len(right))
            elif isinstance(left, int) and isinstance(right, int):
                self.need_bits(max(_int_bits(left), _int_bits(right)) + 1)
        elif op == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                self.need_bits(_int_bits(left) * right)
        elif op == "<<":
            if isinstance(left, int) and isinstance(right, int) and left:
                self.need_bits(_int_bits(left) + max(right, 0))
        elif op == "%" and isinstance(left, str) and _BIG_PERCENT.search(left):
            raise ScriptBudgetExceeded("% 格式化的宽度过大")

    def fmt(self, value: Any) -> Any:
        # f"{s}{s}…": charge every piece before the string is joined, so a long f-string of big
        # values stops at the budget instead of after building the whole result.
        self.allocated += len(value) if isinstance(value, str) else len(str(value))
        if self.allocated > MAX_ALLOCATED_BYTES:
            raise ScriptBudgetExceeded(f"分配的内存超过 {MAX_ALLOCATED_BYTES // (1024 * 1024)} MB")
        return value

    def apply(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    # -- builtins and registered functions

    def builtins(self, used: frozenset[str] | None = None) -> dict[str, Any]:
        """The run's builtins: the safe builtins, wrapped, and the guards the restricted compiler's
        code calls. With `used` (the names the run's code looks up), only those among them — a
        name the code does not hold is never looked up, so leaving it out changes nothing."""
        found: dict[str, Any] = {"True": True, "False": False, "None": None}
        for name in SAFE_BUILTIN_NAMES if used is None else used.intersection(SAFE_BUILTIN_NAMES):
            found[name] = self._builtin(name)
        for name in _GUARDS if used is None else used.intersection(_GUARDS):
            found[name] = getattr(self, _GUARDS[name])
        return found

    def _builtin(self, name: str) -> Callable[..., Any]:
        real = getattr(builtins, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.check_time()
            if name == "range":
                self.need_length(len(range(*args)))
            elif name == "sum" and len(args) > 1 and not isinstance(args[1], (int, float)):
                raise UnsafeScript(["sum 的初始值只能是数字"])
            elif name == "round" and len(args) > 1 and isinstance(args[1], int) and abs(args[1]) > MAX_ROUND_DIGITS:
                # round(5, -10**8) computes 10 ** (10**8) before it answers 0.
                raise ScriptBudgetExceeded(f"round 的位数 {args[1]} 超过上限 {MAX_ROUND_DIGITS}")
            return self.charge(real(*args, **kwargs))

        call.__name__ = name
        return call

    def functions(self, namespace: dict[str, Any], used: frozenset[str] | None = None) -> dict[str, Callable[..., Any]]:
        """The registered functions for a run whose global namespace is `namespace` (only those
        named in `used`, the names the run's code looks up, when given: a wrapper costs ~1 µs to
        build, and a run calls one or two of the ~40 functions).

        Each call counts as a step and its own CPU time is not the script's. The wrapper is built
        with `namespace` as its globals: library functions such as option() read the task data
        from their caller's frame globals, and the wrapper's frame is now that caller."""
        found: dict[str, Callable[..., Any]] = {}
        registered = script_functions()
        for name in registered if used is None else used.intersection(registered):
            cells = {"fn": registered[name], "run": self, "clock": time.thread_time}
            closure = tuple(types.CellType(cells[var]) for var in _CALL_TEMPLATE.__code__.co_freevars)
            found[name] = types.FunctionType(_CALL_TEMPLATE.__code__, namespace, name, None, closure)
        return found


def _call_template() -> Callable[..., Any]:
    # Only closure variables: the globals of the functions built from this code are task data.
    fn: Any = None
    run: Any = None
    clock: Any = None

    def call(*args: Any, **kwargs: Any) -> Any:
        run.tick()
        started = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            run.cpu_excluded += clock() - started

    return call


_CALL_TEMPLATE = _call_template()


def _pre_join(run: _Run, obj: str, args: tuple) -> tuple:
    parts = list(run.getiter(args[0])) if args else []
    total = sum(len(p) for p in parts if isinstance(p, str)) + len(obj) * max(len(parts) - 1, 0)
    run.need_length(total)
    return (parts, *args[1:])


def _pre_replace(run: _Run, obj: str, args: tuple) -> tuple:
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = len(obj) + 1 if args[0] == "" else obj.count(args[0])
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            count = min(count, args[2])
        run.need_length(len(obj) + count * max(len(args[1]) - len(args[0]), 0))
    return args


def _pre_grow(run: _Run, obj: Any, args: tuple) -> tuple:
    if args and hasattr(args[0], "__len__"):
        run.need_length(len(obj) + len(args[0]))
    return args


_PRECHECKS: dict[tuple[type, str], Callable[[_Run, Any, tuple], tuple]] = {
    (str, "join"): _pre_join, (str, "replace"): _pre_replace, (list, "extend"): _pre_grow,
    (dict, "update"): _pre_grow, (set, "update"): _pre_grow,
}

# What SpiffWorkflow's serializer stores: JSON's own types plus the ones its registry converts.
_PLAIN_LEAVES = (str, int, float, bool, type(None), datetime, timedelta, UUID)


def data_problem(data: dict[str, Any]) -> str | None:
    """Why `data` cannot be stored as the workflow's JSON (None when it can); without recursion."""
    pending: list[tuple[Any, str, int]] = [(value, key, 1) for key, value in data.items()]
    while pending:
        value, place, depth = pending.pop()
        if depth > MAX_DATA_DEPTH:
            return f"{place}: 嵌套超过 {MAX_DATA_DEPTH} 层"
        if isinstance(value, _PLAIN_LEAVES):
            continue
        # The place names the first levels only: a deep structure would make it quadratic.
        if type(value) in (list, tuple):
            pending += [(item, _place(place, i, depth), depth + 1) for i, item in enumerate(value)]
        elif type(value) is dict:
            for key, item in value.items():
                if not isinstance(key, (str, int, float, bool, type(None))):
                    return f"{place}: 键的类型 {_type_name(key)} 不能保存"
                pending.append((item, _place(place, key, depth), depth + 1))
        else:
            return f"{place}: {_type_name(value)} 类型不能保存（只能是文字、数字、列表、字典等）"
    return None


def _place(place: str, key: Any, depth: int) -> str:
    return f"{place}[{key!r:.20}]" if depth < 5 else place


# ---------------------------------------------------------------- collections of multi-instance tasks


@dataclass(frozen=True)
class MultiInstanceInputs:
    """Task-data names multi-instance tasks of one process loop over (loopDataInputRef).

    SpiffWorkflow makes one branch per item of such a collection (per character of a string, per
    key of a dict) without asking the script engine, so the bound on cardinality does not cover
    it. `nested`: collections whose items become, as an MI task's input item, the collection of
    another MI task (an MI subprocess over units, each looping over its posts)."""

    names: frozenset[str]
    nested: frozenset[str]


# Per parsed process spec (specs are shared by every instance of a definition version and live
# in SPEC_CACHE); weak keys, so the entry goes with the spec and nothing is added to Spiff objects.
_MI_INPUTS: WeakKeyDictionary[Any, MultiInstanceInputs] = WeakKeyDictionary()
_MI_INPUTS_LOCK = threading.Lock()


def multi_instance_inputs(spec: Any, subprocess_specs: dict[str, Any] | None = None) -> MultiInstanceInputs:
    """The MI collections of a process spec and its subprocess specs (cached per spec object)."""
    with _MI_INPUTS_LOCK:
        found = _MI_INPUTS.get(spec)
    if found is not None:
        return found
    loops = [ts for owner in [spec, *(subprocess_specs or {}).values()] for ts in owner.task_specs.values()
             if isinstance(ts, MultiInstanceTask) and ts.data_input is not None]
    names = frozenset(ts.data_input.bpmn_id for ts in loops)
    nested = frozenset(ts.data_input.bpmn_id for ts in loops
                       if ts.input_item is not None and ts.input_item.bpmn_id in names)
    found = MultiInstanceInputs(names, nested)
    with _MI_INPUTS_LOCK:
        _MI_INPUTS[spec] = found
    return found


def workflow_inputs(workflow: Any) -> MultiInstanceInputs:
    """The MI collections of the (top) workflow a task belongs to; none for a bare task."""
    top = getattr(workflow, "top_workflow", None)
    if top is None:
        return MultiInstanceInputs(frozenset(), frozenset())
    return multi_instance_inputs(top.spec, top.subprocess_specs)


def _branches(value: Any) -> int | None:
    # What SpiffWorkflow iterates: a list/tuple by index, a dict by key, a string by character.
    return len(value) if isinstance(value, (list, tuple, dict, str, set, frozenset)) else None


def multi_instance_problems(data: dict[str, Any], inputs: MultiInstanceInputs, where: str = "data") -> list[str]:
    """Why `data` would make an MI task of the process create more than MAX_CARDINALITY branches.

    One check for both ways data arrives: start and form data (service, 422 before anything is
    stored) and every script or expression run (the engine, before the MI task is reached)."""
    problems = []
    for name in sorted(inputs.names):
        count = _branches(data.get(name))
        if count is not None and count > MAX_CARDINALITY:
            problems.append(f"{where}.{name}: 多实例任务将按其中每一项各建一个分支，"
                            f"共 {count} 项，超过上限 {MAX_CARDINALITY} 项")
        elif count and name in inputs.nested:
            items = data[name].values() if isinstance(data[name], dict) else data[name]
            biggest = max((_branches(item) or 0 for item in items), default=0)
            if biggest > MAX_CARDINALITY:
                problems.append(f"{where}.{name}: 其中一项将作为内层多实例任务的集合，"
                                f"有 {biggest} 项，超过上限 {MAX_CARDINALITY} 项")
    return problems


# ---------------------------------------------------------------- the SpiffWorkflow environment


class RestrictedEnvironment(TaskDataEnvironment):
    """Task-data environment that runs only restricted code, each run with its own guards and budget."""

    @property
    def globals(self) -> dict[str, Any]:
        # Looked up at each call, so functions registered after the engine was built are seen.
        return script_functions()

    @globals.setter
    def globals(self, _value: Any) -> None:
        # The base class assigns globals in __init__; the registry is the only source.
        pass

    def evaluate(self, expression, context, external_context=None):
        code, used = _checked(expression, "eval")
        _check_names(context)
        run = _Run()
        scope: dict[str, Any] = {}
        scope.update(run.functions(scope, used))
        scope.update(external_context or {})
        scope.update(context)
        scope["__builtins__"] = run.builtins(used)
        result = eval(code, scope)  # noqa: S307 - restricted code, guards in __builtins__
        _check_data(context)
        return result

    def execute(self, script, context, external_context=None):
        code, used = _checked(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        _check_names(context)
        run = _Run()
        context.update(run.functions(context, used))
        context.update(external_context or {})
        context["__builtins__"] = run.builtins(used)
        try:
            exec(code, context)  # noqa: S102 - restricted code, guards in __builtins__
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        _check_data(context)
        return True

    def call_service(self, context, **kwargs):
        raise UnsafeScript(["不支持服务任务（serviceTask）"])


def _check_names(context: dict[str, Any]) -> None:
    # Task data are the run's globals, looked up before its builtins: a data key named like a
    # guard (`_getattr_`, from start or form data) would shadow it. Scripts cannot write such
    # names, so only outside data can carry them.
    hidden = sorted(str(key) for key in context if not isinstance(key, str) or key.startswith("_"))
    if hidden:
        raise ScriptDataError(f"流程数据的名称不能以下划线开头：{'、'.join(hidden[:5])}")


def _check_data(context: dict[str, Any]) -> None:
    problem = data_problem(context)
    if problem is not None:
        raise ScriptDataError(problem)


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's engine over the restricted environment; also bounds multi-instance cardinality
    and, after every run, the collections multi-instance tasks of the workflow loop over."""

    def evaluate(self, task, expression, external_context=None):
        result = super().evaluate(task, expression, external_context)
        spec = getattr(task, "task_spec", None)
        if isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
            if not isinstance(result, int) or isinstance(result, bool) or result < 0:
                raise ScriptDataError(f"多实例数量必须是非负整数，得到 {result!r}")
            if result > MAX_CARDINALITY:
                raise ScriptBudgetExceeded(f"多实例数量 {result} 超过上限 {MAX_CARDINALITY}")
        # An expression may grow a list in place (`items.extend(…) or True`).
        _check_collections(task)
        return result

    def execute(self, task, script, external_context=None):
        result = super().execute(task, script, external_context)
        _check_collections(task)
        return result


def _check_collections(task: Any) -> None:
    """A run left an MI collection over the bound: fail this step now, before SpiffWorkflow makes
    the branches (wrapped as SpiffWorkflow wraps script errors, so the failure names the step)."""
    problems = multi_instance_problems(task.data, workflow_inputs(getattr(task, "workflow", None)), "流程数据")
    if problems:
        error = ScriptBudgetExceeded(problems[0])
        raise WorkflowTaskException(error.message, task=task, exception=error) from error


def make_script_engine() -> PythonScriptEngine:
    """A fresh restricted engine; attach it to every workflow created or restored."""
    return RestrictedScriptEngine(environment=RestrictedEnvironment())
