"""The layer spec: the answers of ``copier.yml`` as Python, checked.

The rules themselves are Jinja macros that Copier runs too
(``generator/rules.py`` runs them here); what only Python can check, the
computation parsed, is in ``generator/computation.py``. A problem is one line
``field: what is wrong``, the field a path into the answers
(``weights[1].shape[0]``).
"""

import json
from dataclasses import dataclass

from generator import rules
from generator.computation import computation_problems

_NORMALIZED = (
    "{% from 'generator/includes/spec.jinja' import normalized with context %}{{ normalized() }}"
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
    """The answers with each missing one worked out from those before it, as
    Copier works out its defaults, and each cast to its question's type."""
    full = {}
    for question in asked():
        if question in answers:
            full[question] = rules.cast(question, answers[question])
        else:
            full[question] = rules.default(question, full)
    return full


def problems_of(answers):
    """Every problem of complete answers, in question order.

    Python then reads the computation, once the other answers pass: code
    that does not parse (a problem located at a line) makes the rules'
    textual reading of it moot, so Python's problems replace theirs; code
    that the rules pass gets Python's exact checks too.
    """
    found = {question: rules.problems(question, answers) for question in asked()}
    others = [lines for question, lines in found.items() if question != "computation"]
    if not any(others) and not rules.problems("computation", answers, reading=False):
        python = computation_problems(
            answers["computation"],
            visible=_visible(answers),
            weights=[weight["name"] for weight in answers["weights"]],
        )
        located = [line for line in python if line.startswith("computation: line ")]
        found["computation"] = located or found["computation"] or python
    return [line for lines in found.values() for line in lines]


def _visible(answers):
    # A random layer's computation also sees its seed generator (issue 14).
    random = {"seed_generator"} if answers.get("random") is True else set()
    return (
        {"x", "ops", "keras", "training"}
        | random
        | {item["name"] for key in ("hyperparameters", "weights") for item in answers[key]}
    )


def parse(answers):
    """Validate raw answers; return a ``Spec`` or raise ``SpecError``."""
    if not isinstance(answers, dict):
        raise SpecError([f"spec: must be a mapping of answers, not {_kind(answers)}"])
    known = asked()
    unknown = [
        f"{key}: unknown question (known: {', '.join(sorted(known))})"
        for key in answers
        if key not in known
    ]
    try:
        full = with_defaults(answers)
    except rules.CastError as error:
        raise SpecError([*unknown, str(error)]) from None
    found = unknown + problems_of(full)
    if found:
        raise SpecError(found)
    return Spec(full, json.loads(rules.render(_NORMALIZED, full)))


def _kind(value):
    if value is None:
        return "null"
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "mapping"}
    return names.get(type(value), type(value).__name__)
