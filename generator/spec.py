"""The layer spec: the answers of ``copier.yml`` as Python, checked.

The rules themselves are Jinja macros that Copier runs too
(``generator/rules.py`` runs them here); what only Python can check, the
computation parsed, is in ``generator/computation.py``. A problem is one line
``field: what is wrong``, the field a path into the answers
(``weights[1].shape[0]``).
"""

import builtins
import json
from dataclasses import dataclass

from generator import rules
from generator.computation import analyse, computation_problems

_NORMALIZED = (
    "{% from 'generator/includes/spec.jinja' import normalized with context %}{{ normalized() }}"
)


_UNKNOWN = (
    "{% from 'generator/includes/rules.jinja' import unknown_questions %}"
    "{% set errors = [] %}{{ unknown_questions(errors, keys) }}{{ errors | join('\\n') }}"
)
_VISIBLE = (
    "{% from 'generator/includes/rules.jinja' import visible_names, output_mask_names with context %}"
    "{{ visible_names() if field == 'computation' else output_mask_names() }}"
)


class SpecError(Exception):
    """Raised with every problem of a spec; ``str()`` is one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Spec:
    """A valid spec: its answers (defaults filled in) and their normalized
    form (``generator/includes/spec.jinja``), which the templates print."""

    answers: dict
    normalized: dict

    @property
    def layer_name(self):
        return self.answers["layer_name"]

    @property
    def module_name(self):
        return self.answers["module_name"]

    @property
    def package_name(self):
        return self.answers["package_name"]

    def summary(self):
        weights = self.normalized["weights"]
        trainable = sum(w["trainable"] for w in weights)
        return (
            f"{self.package_name}.{self.module_name}.{self.layer_name}: "
            f"{_count(len(weights), 'weight')} ({trainable} trainable), "
            f"{_count(len(self.normalized['hyperparameters']), 'hyperparameter')}, "
            f"input {self.normalized['input_shape']}"
        )


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def asked():
    """The questions a spec answers, in order (computed ones are not asked)."""
    return [name for name, q in rules.questions().items() if q.get("when") is not False]


def with_defaults(answers):
    """The answers with each missing one worked out from those given and
    those before it, as Copier works out its defaults, and each cast to its
    question's type."""
    given = {
        question: rules.cast(question, answers[question])
        for question in asked()
        if question in answers
    }
    full = {}
    for question in asked():
        if question in given:
            full[question] = given[question]
        else:
            full[question] = rules.default(question, {**given, **full})
    return full


def problems_of(answers):
    """Every problem of complete answers, in question order.

    Python then reads the computation, once the other answers pass: code
    that does not parse (a problem located at a line) makes the rules'
    textual reading of it moot, so Python's problems replace theirs; code
    that the rules pass gets Python's exact checks too.
    """
    found = {question: rules.problems(question, answers) for question in asked()}
    for field, source in _code(answers).items():
        others = [lines for question, lines in found.items() if question != field]
        if not any(others) and not rules.problems(field, answers, reading=False):
            python = computation_problems(
                source,
                visible=set(visible_names(answers, field)),
                weights=[w["name"] for w in answers["weights"]] if field == "computation" else (),
                field=field,
            )
            located = [line for line in python if line.startswith(f"{field}: line ")]
            found[field] = located or found[field] or python
    return [line for lines in found.values() for line in lines]


def warnings_of(spec):
    """What a valid spec likely got wrong, which `check` says and accepts: a
    hyperparameter nothing reads (Copier asks for the hyperparameters first,
    its default among them, and could not take one back)."""
    return rules.problems("hyperparameter_use", spec.answers)


def _code(answers):
    """The answers that hold Python code: the computation, and an output mask
    given as a body."""
    code = {"computation": answers["computation"]}
    if answers.get("output_mask") not in (None, "input"):
        code["output_mask"] = answers["output_mask"]
    return code


def visible_names(answers, field):
    """The names the code of `field` sees, as the rules work them out, in
    their order (the inputs and their masks first)."""
    return json.loads(rules.render(_VISIBLE, {**answers, "field": field}))


def parse(answers):
    """Validate raw answers; return a ``Spec`` or raise ``SpecError``."""
    if not isinstance(answers, dict):
        raise SpecError([f"spec: must be a mapping of answers, not {_kind(answers)}"])
    # The rules word it; most specs answer nothing else, and need no render.
    asked_keys = set(asked())
    others = [key for key in answers if key not in asked_keys]
    unknown = rules.render(_UNKNOWN, {"keys": others}).splitlines() if others else []
    try:
        full = with_defaults(answers)
    except rules.CastError as error:
        raise SpecError([*unknown, str(error)]) from None
    found = unknown + problems_of(full)
    if found:
        raise SpecError(found)
    normalized = json.loads(rules.render(_NORMALIZED, full))
    misread = _misread(full, normalized)
    if misread:
        raise SpecError(misread)
    return Spec(full, normalized)


def _misread(answers, normalized):
    """The template gives each generated function the names the rules'
    textual reading finds its code reads (and imports `ops` if it does).
    Python reads the code exactly: a name it reads that the function would
    not have (text the rules took for a string or a comment) is refused
    here, before a module that cannot run is written."""
    imported = {"keras"} | ({"ops"} if normalized["uses_ops"] else set())
    given = {
        "computation": normalized["parameters"],
        "output_mask": normalized["output_mask_parameters"],
    }
    found = []
    for field, source in _code(answers).items():
        names = analyse(source, set(given[field])).global_names
        missing = sorted(n for n in names - imported if not hasattr(builtins, n))
        if missing:
            found.append(
                f"{field}: reads {', '.join(missing)} only where the rules, reading its "
                "text, see a string or a comment (an f-string's braces?): read it outside "
                "too, so that the generated function gets it"
            )
    return found


def built(answers, quick=False, backends=None):
    """`parse`, then (unless `quick`) the spec's own code linted as the
    project's CI lints it (``generator/lint.py``, where ruff is installed),
    and the layer built in Keras on symbolic inputs, as its generated test
    builds it, and its generated tests run (``generator/trace.py``), on
    `backends` if given: what `check`, `new` and `update` accept, their
    tests and their project's CI pass."""
    spec = parse(answers)
    if not quick:
        from generator.lint import installed, lint_problems
        from generator.trace import trace_problems

        found = (lint_problems(spec) if installed() else []) or trace_problems(spec, backends)
        if found:
            raise SpecError(found)
    return spec


def _kind(value):
    if value is None:
        return "null"
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "mapping"}
    return names.get(type(value), type(value).__name__)
