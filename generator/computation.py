"""Checks of the computation that only Python can make (Copier cannot parse it).

The computation is the body of ``def forward(x, <weights>, <hyperparameters>)``
in the generated module: it must parse, return a value, import nothing (the
layer may use ``keras.ops`` only, never one backend) and use only names it
can see.
"""

import ast
import builtins
import symtable
import textwrap

_WRAPPER = "def forward({params}):\n{body}"


def computation_problems(source, visible):
    params = ", ".join(sorted(visible - {"ops", "keras"}))
    code = _WRAPPER.format(params=params, body=textwrap.indent(source, "    "))
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return [f"computation: line {(error.lineno or 2) - 1}: {error.msg}"]
    function = tree.body[0]
    problems = []
    for node in ast.walk(function):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append(
                f"computation: line {node.lineno - 1}: imports are not allowed; "
                "use ops (keras.ops) so the layer runs on every backend"
            )
    if not any(isinstance(node, ast.Return) and node.value for node in _own_nodes(function)):
        problems.append("computation: must return the layer's output")
    table = symtable.symtable(code, "<computation>", "exec").get_children()[0]
    unknown = sorted(
        name for name in _free_names(table) if name not in visible and not hasattr(builtins, name)
    )
    if unknown:
        problems.append(
            f"computation: uses undefined names {', '.join(unknown)} "
            f"(it sees x, ops, keras, its weights and hyperparameters)"
        )
    return problems


def _own_nodes(function):
    """Nodes of the function body, not of functions or lambdas nested in it."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _free_names(table):
    """Global names read anywhere in the function, nested scopes included."""
    names = set(table.get_globals())
    for child in table.get_children():
        names |= {
            symbol.get_name()
            for symbol in child.get_symbols()
            if symbol.is_global() and symbol.is_referenced()
        }
        names |= _free_names(child)
    return names
