"""Checks of the computation that only Python can make (Copier cannot parse it).

The computation is the body of ``def forward(<inputs>, <weights>,
<hyperparameters>, <masks>)`` in the generated module (which also receives
``training`` and, for a random layer, ``seed_generator``, when its body reads
them; an output mask's body is that of a function of the first input, its
mask and the hyperparameters). It is checked as that function, written as
the template writes it, and compiled as Python compiles it: it must compile,
return one output on every path, read every weight (a weight the output
cannot depend on gets no gradient), import nothing and reach nothing that
stands in for an import (the layer may use ``keras.ops`` only, never one
backend), and use only names it can see. However hostile the text, the
answer is a list of one-line problems, never an exception.
"""

import ast
import builtins
import io
import re
import symtable
import tokenize
import unicodedata
from dataclasses import dataclass

# Builtins that load code or modules, reach any attribute or namespace by
# name, touch files, wait for a user or end the process: ways around
# "no imports", or a hang.
FORBIDDEN_BUILTINS = frozenset(
    {
        "__import__",
        "breakpoint",
        "compile",
        "delattr",
        "eval",
        "exec",
        "exit",
        "getattr",
        "globals",
        "help",
        "input",
        "locals",
        "open",
        "quit",
        "setattr",
        "vars",
    }
)
# Where `str.splitlines`, and so Jinja's `indent` filter that writes the body
# into the module, breaks a line and Python's tokenizer does not: the
# generated function would not be the function checked here.
JINJA_ONLY_LINE_BREAKS = {
    "\x0b": "vertical tab",
    "\x0c": "form feed",
    "\x1c": "file separator",
    "\x1d": "group separator",
    "\x1e": "record separator",
    "\x85": "next line",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}
# Return values that are never the one tensor a layer's call returns.
NOT_A_TENSOR = {
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a list",
    ast.SetComp: "a set",
    ast.DictComp: "a dict",
    ast.GeneratorExp: "a generator",
    ast.JoinedStr: "text",
    ast.Lambda: "a function",
    ast.Constant: "a constant",
}
INDENT = "    "
# What the generated module imports for the computation: bound in it again,
# the import goes unused (ruff's F811) or the module stops reaching the code.
MODULES = ("ops", "keras")


@dataclass(frozen=True)
class Analysis:
    """What checking a computation found: its problems and, when it compiled,
    the module-level names it reads (`ops`, `keras`, builtins)."""

    problems: list
    global_names: frozenset = frozenset()

    @property
    def uses_ops(self):
        """Whether the generated module must import `ops`: read as Python
        reads it (`ｏｐｓ` is `ops`), not where a comment or text says it."""
        return "ops" in self.global_names


def computation_problems(source, visible, weights=(), field="computation"):
    """One-line problems of the computation, `computation: ...` each; or of
    an output mask's body (`field` "output_mask"), checked the same way as
    the body of a function of the names `visible`."""
    problems = analyse(source, visible, weights).problems
    if field == "computation":
        return problems
    return [
        field + problem.removeprefix("computation").replace("the layer's output", "the output mask")
        for problem in problems
    ]


def analyse(source, visible, weights=()):
    """Check the computation as the body of a function whose parameters are
    `visible` (less `ops` and `keras`, module names); `weights`, in order,
    are the parameters the output must depend on."""
    problems = _characters(source)
    if problems:
        return Analysis(problems)
    offset = len(source) - len(source.lstrip("\n"))
    code = _as_generated(source, sorted(set(visible) - {"ops", "keras"}))
    try:
        return _analyse(code, offset, visible, weights)
    except SyntaxError as error:
        line = error.lineno and error.lineno > 1 and error.lineno - 1 + offset
        where = f"line {line}: " if line else ""
        return Analysis([f"computation: {where}{error.msg}{_folded(source)}"])
    except (RecursionError, MemoryError):
        return Analysis(["computation: too deeply nested for Python to compile"])
    except (ValueError, UnicodeError) as error:
        return Analysis([f"computation: cannot be compiled: {error}"])


def _folded(source):
    """A hint for a body that YAML folded: lines written without `|` reach
    the template as one line, `h = x * w return h`."""
    if "\n" in source.strip() or not re.search(r"\S\s+return\b", source):
        return ""
    return " (YAML joined its lines into one: begin the block with `|`)"


def _characters(source):
    """Characters the generated module cannot hold, or that split lines where
    Python does not, each with its line."""
    problems = []
    for number, line in enumerate(source.split("\n"), 1):
        for char in dict.fromkeys(line):
            if char == "\0":
                problem = "holds a NUL character, which Python source cannot"
            elif "\ud800" <= char <= "\udfff":
                problem = f"holds a lone surrogate {char!r}, which is not text"
            elif char in JINJA_ONLY_LINE_BREAKS:
                problem = (
                    f"holds U+{ord(char):04X} ({JINJA_ONLY_LINE_BREAKS[char]}), which the "
                    "generated module takes for a line break and Python does not; "
                    f"remove it (in text, write the escape {char!r})"
                )
            else:
                continue
            problems.append(f"computation: line {number}: {problem}")
    return problems


def _as_generated(source, parameters):
    """The forward function as the template writes it: the body trimmed of
    blank lines at either end, every non-empty line indented (Jinja's
    `trim("\\n") | indent(4, first=true)`)."""
    lines = (source.strip("\n") + "\n").splitlines()
    body = "\n".join(INDENT + line if line or not i else line for i, line in enumerate(lines))
    return f"def forward({', '.join(parameters)}):\n{body}\n"


def _analyse(code, offset, visible, weights):
    # Parsing accepts what compiling refuses (`await`, `break` outside a loop,
    # `*a = x`, a bad `nonlocal`), so the tree is compiled too.
    tree = compile(code, "<computation>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    compile(tree, "<computation>", "exec", dont_inherit=True)
    table = symtable.symtable(code, "<computation>", "exec").get_children()[0]
    global_names = frozenset(_global_names(table))
    function = tree.body[0]

    found = sorted(
        [*_node_problems(function, global_names), *_spellings(code)], key=lambda item: item[0]
    )
    problems = [f"computation: line {line - 1 + offset}: {problem}" for line, problem in found]

    if not any(isinstance(node, ast.Return) and node.value for node in _own_nodes(function)):
        problems.append("computation: must return the layer's output")
    elif not _always_ends(function.body):
        problems.append(
            f"computation: line {function.body[-1].lineno - 1 + offset}: can end here without "
            "returning the layer's output (end every path with a return)"
        )
    unknown = sorted(
        name
        for name in global_names
        if name not in visible and not hasattr(builtins, name) and not name.startswith("__")
    )
    if unknown:
        problems.append(
            f"computation: uses undefined names {', '.join(unknown)} "
            f"(it sees {', '.join(sorted(visible))})"
        )
    read = {
        node.id
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    problems += [
        f"computation: never reads weight {weight!r}, so the output cannot depend "
        "on it (its gradient would be None); use it or remove the weight"
        for weight in weights
        if weight not in read
    ]
    return Analysis(problems, global_names)


def _node_problems(function, global_names):
    """(line, problem) for each construct the body must not hold."""
    own = set(map(id, _own_nodes(function)))
    for node in ast.walk(function):
        problem = _problem(node, id(node) in own, global_names)
        if problem:
            yield node.lineno, problem


def _problem(node, own, global_names):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "imports are not allowed; use ops (keras.ops) so the layer runs on every backend"
    if isinstance(node, ast.Global):
        return "global is not allowed: the forward function must not change its module"
    if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
        return f"{node.attr!r} is not allowed: dunder attributes reach around the no-imports rule"
    bound = (
        node.id
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
        else node.arg
        if isinstance(node, ast.arg)
        else node.name
        if isinstance(node, ast.ExceptHandler)
        else None
    )
    if bound in MODULES:
        return f"binds {bound!r}, the module the generated code imports; use it as it is"
    if isinstance(node, ast.Name) and node.id in global_names:
        if node.id in FORBIDDEN_BUILTINS:
            return f"{node.id!r} is not allowed: use ops (keras.ops) and plain Python"
        if node.id.startswith("__"):
            return f"{node.id!r} is not allowed: dunder names reach around the no-imports rule"
    if _unseeded_draw(node):
        return (
            f"keras.random.{node.func.attr} draws without seed=: pass seed=seed_generator "
            "(random: true), as Keras's own layers draw; an unseeded draw cannot be "
            "reproduced, and under tf.distribute it makes a variable in every step"
        )
    if not own:
        return None
    if isinstance(node, (ast.Yield, ast.YieldFrom)):
        return "yield makes the forward function a generator; return the output"
    if isinstance(node, ast.Return) and node.value is None:
        return "return needs the layer's output"
    if isinstance(node, ast.Return) and type(node.value) in NOT_A_TENSOR:
        return f"returns {NOT_A_TENSOR[type(node.value)]}; the layer's output is one tensor"
    return None


def _unseeded_draw(node):
    """A call `keras.random.F(...)` (F a draw, not the SeedGenerator) without seed=."""
    function = getattr(node, "func", None)
    return (
        isinstance(node, ast.Call)
        and isinstance(function, ast.Attribute)
        and function.attr != "SeedGenerator"
        and isinstance(function.value, ast.Attribute)
        and function.value.attr == "random"
        and isinstance(function.value.value, ast.Name)
        and function.value.value.id == "keras"
        and not any(keyword.arg in ("seed", None) for keyword in node.keywords)
    )


def _spellings(code):
    """(line, problem) for each identifier written in characters Python reads
    as other ones (`ｏｐｓ` is `ops`): the generated module is read as text too,
    by the template and by people, and there it would not say `ops`."""
    if code.isascii():
        return
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    try:
        for token in tokens:
            normal = unicodedata.normalize("NFKC", token.string)
            if token.type == tokenize.NAME and normal != token.string:
                yield (
                    token.start[0],
                    f"{token.string!r} is read by Python as {normal!r}; write {normal!r}",
                )
    except (tokenize.TokenError, SyntaxError):
        return  # compile() accepted it; the pure-Python tokenizer lags behind


def _own_nodes(function):
    """Nodes of the function body, not of functions or lambdas nested in it."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _global_names(table):
    """Module-level names read anywhere in the function, nested scopes
    (functions, lambdas, comprehensions, classes) included."""
    names = set()
    stack = [table]
    while stack:
        scope = stack.pop()
        names |= {
            symbol.get_name()
            for symbol in scope.get_symbols()
            if symbol.is_global() and symbol.is_referenced()
        }
        stack.extend(scope.get_children())
    return names


def _always_ends(body):
    """Whether running `body` never reaches its end: some statement returns or
    raises on every path. Conservative: a loop other than `while True`
    without `break` is taken to fall through."""
    return any(_ends(statement) for statement in body)


def _ends(node):
    if isinstance(node, (ast.Return, ast.Raise)):
        return True
    if isinstance(node, ast.If):
        return _always_ends(node.body) and _always_ends(node.orelse)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return _always_ends(node.body)
    if isinstance(node, (ast.Try, ast.TryStar)):
        return _always_ends(node.finalbody) or (
            (_always_ends(node.body) or _always_ends(node.orelse))
            and all(_always_ends(handler.body) for handler in node.handlers)
        )
    if isinstance(node, ast.While):
        forever = isinstance(node.test, ast.Constant) and bool(node.test.value)
        return forever and not any(isinstance(n, ast.Break) for n in _loop_own_nodes(node))
    if isinstance(node, ast.Match):
        return any(_catches_all(case) for case in node.cases) and all(
            _always_ends(case.body) for case in node.cases
        )
    return False


def _catches_all(case):
    pattern = case.pattern
    return case.guard is None and isinstance(pattern, ast.MatchAs) and pattern.pattern is None


def _loop_own_nodes(loop):
    """Nodes of a loop's body a `break` there would leave it from."""
    stack = list(loop.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(
            node,
            (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef),
        ):
            stack.extend(ast.iter_child_nodes(node))
