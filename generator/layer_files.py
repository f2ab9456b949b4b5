"""A layer's own files (its module and its test) rendered from the template
as Copier renders them, without Copier.

Copier renders a whole project and records its answers, which costs a second
or two; `check` needs only the module, to build the layer in Keras, and this
repo's mutation suite needs only the module and the test of each of its many
mutants. Both are rendered here by the Jinja environment the rules run in
(``generator/rules.py``, built as Copier's), from the answers and their
normalized form, as Copier's context holds them; tests/test_layer_files.py
holds the output to Copier's, byte for byte.
"""

import ast

from generator import rules

MODULE = "template/src/{{package_name}}/{{module_name}}.py.jinja"
TEST = "template/tests/test_{{module_name}}.py.jinja"
PYPROJECT = "template/pyproject.toml.jinja"


def module_source(spec, package=None):
    """The layer's module, in `package` (default: the spec's)."""
    return _render(MODULE, spec, package)


def test_source(spec, package=None):
    """The layer's generated test module."""
    return _render(TEST, spec, package)


def pyproject_source(spec):
    """The project's pyproject.toml, as a first copy of this layer writes it."""
    return _render(PYPROJECT, spec, None)


def paths(spec, package=None):
    """Where Copier writes the module and the test, in a project."""
    package = package or spec.package_name
    return f"src/{package}/{spec.module_name}.py", f"tests/test_{spec.module_name}.py"


def _render(template, spec, package):
    context = {**spec.answers, "spec": spec.normalized}
    if package:
        context["package_name"] = package
    return rules.environment().get_template(template).render(context)


def first_line(text, function, source):
    """The line of module `text` that holds line 1 of `source`, the body of
    its `function`: the line after the `# fmt: off` that follows the
    docstring (turning ruff's formatter off for the spec's own text), less
    the leading blank lines the template drops and the spec's numbering
    counts."""
    (definition,) = [
        n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == function
    ]
    lines = text.split("\n")  # as Python numbers them: a docstring may hold U+2028
    docstring_end = definition.body[0].end_lineno
    off = next(i for i in range(docstring_end, len(lines)) if lines[i].strip() == "# fmt: off")
    return off + 2 - (len(source) - len(source.lstrip("\n")))
