"""The layer spec: the answers of ``copier.yml`` as Python, and their rules.

This is the Python twin of ``validate.jinja`` (the rules Copier runs). Both
read the Keras facts from ``keras_names.json`` and the defaults from
``copier.yml``; ``tests/test_validation.py`` runs every bad case through both.
A problem is reported as ``field: what is wrong``, the field written as a path
into the answers (``weights[1].shape[0]``).
"""

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from generator.computation import computation_problems

REPO = Path(__file__).resolve().parent.parent
COPIER_YML = REPO / "copier.yml"
KERAS_NAMES = Path(__file__).with_name("keras_names.json")

HYPERPARAMETER_TYPES = {"int": (int,), "float": (float, int), "bool": (bool,), "str": (str,)}
WEIGHT_ARGUMENTS = ("initializer", "regularizer", "constraint")
# Names the forward function receives besides weights and hyperparameters.
COMPUTATION_NAMES = ("x", "ops", "keras")
# Names the generated module itself uses as arguments and attributes.
GENERATED_NAMES = ("self", "inputs", "input_shape", "kwargs", "config", "lambda_layer")
WEIGHT_KEYS = ("name", "shape", "initializer", "regularizer", "constraint", "trainable", "doc")
HYPERPARAMETER_KEYS = ("name", "type", "default", "test_value", "doc")
INPUT_SHAPE_DIM = re.compile(r"^input_shape\[(-?\d+)\]$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOWER_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
CAMEL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
DIM_HINT = "int, input_dim, input_shape[i] or an int hyperparameter"


@cache
def keras_names():
    return json.loads(KERAS_NAMES.read_text())


@cache
def copier_questions():
    return yaml.safe_load(COPIER_YML.read_text())


def snake_case(camel):
    """``ScaledDense`` -> ``scaled_dense``, ``MLP2Block`` -> ``mlp2_block``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", camel).lower()


class SpecError(Exception):
    """Raised with every problem of a spec; ``str()`` is one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Weight:
    name: str
    shape: tuple
    trainable: bool


@dataclass(frozen=True)
class Spec:
    """A validated spec: the full answers (defaults filled in) and a summary."""

    answers: dict

    @property
    def layer_name(self):
        return self.answers["layer_name"]

    @property
    def module_name(self):
        return self.answers["module_name"]

    @property
    def package_name(self):
        return self.answers["package_name"]

    @property
    def weights(self):
        return [
            Weight(w["name"], tuple(w["shape"]), w.get("trainable", True))
            for w in self.answers["weights"]
        ]

    def summary(self):
        trainable = sum(w.trainable for w in self.weights)
        return (
            f"{self.package_name}.{self.module_name}.{self.layer_name}: "
            f"{_count(len(self.weights), 'weight')} ({trainable} trainable), "
            f"{_count(len(self.answers['hyperparameters']), 'hyperparameter')}, "
            f"input {self.answers['example_input_shape']}"
        )


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def with_defaults(answers):
    """The answers with every missing question filled from ``copier.yml``,
    and ``type: str`` answers made text, as Copier casts them."""
    full = {}
    for question, settings in copier_questions().items():
        if question.startswith("_") or settings.get("when") is False:
            continue
        if question in answers:
            value = answers[question]
            if settings.get("type") == "str" and value is not None:
                value = str(value)
            full[question] = value
        elif question == "module_name":
            full[question] = snake_case(str(full.get("layer_name", "")))
        else:
            full[question] = settings.get("default")
    return full


def parse(answers):
    """Validate raw answers; return a ``Spec`` or raise ``SpecError``."""
    if not isinstance(answers, dict):
        raise SpecError([f"spec: must be a mapping of answers, not {_kind(answers)}"])
    known = {q for q in copier_questions() if not q.startswith("_")}
    unknown = [
        f"{key}: unknown question (known: {', '.join(sorted(known))})"
        for key in answers
        if key not in known
    ]
    full = with_defaults(answers)
    problems = unknown + problems_of(full)
    if problems:
        raise SpecError(problems)
    return Spec(full)


def problems_of(answers):
    """Every problem of complete answers, in question order."""
    checks = Checker(answers)
    checks.run()
    if not checks.problems:
        checks.problems.extend(
            computation_problems(
                answers["computation"],
                visible=set(COMPUTATION_NAMES) | set(checks.declared_names()),
            )
        )
    return checks.problems


def show(value):
    """A value as messages quote it: text in single quotes with backslash,
    newline and quote escaped (so a message stays one line), the rest as
    ``str``. validate.jinja's ``r`` macro writes the same."""
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace("'", "\\'")
        return f"'{escaped}'"
    return str(value)


def _kind(value):
    if value is None:
        return "null"
    return {
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


class Checker:
    """Collects problems; one method per question, in ``copier.yml`` order."""

    def __init__(self, answers):
        self.answers = answers
        self.problems = []
        self.seen = {}

    def fail(self, field, message):
        self.problems.append(f"{field}: {message}")

    def run(self):
        a = self.answers
        self.identifier(
            "package_name", a["package_name"], LOWER_IDENTIFIER, "a lower-case identifier"
        )
        self.identifier("layer_name", a["layer_name"], CAMEL_CASE, "a CamelCase identifier")
        self.identifier(
            "module_name", a["module_name"], LOWER_IDENTIFIER, "a lower-case identifier"
        )
        if not isinstance(a["description"], str):
            self.fail("description", f"must be text, not {_kind(a['description'])}")
        self.hyperparameters(a["hyperparameters"])
        self.weights(a["weights"])
        self.computation(a["computation"])
        self.example_input_shape(a["example_input_shape"])

    def identifier(self, field, value, pattern, what):
        if not isinstance(value, str) or not pattern.match(value):
            self.fail(field, f"{show(value)} is not {what}")
        elif value in keras_names()["python_keywords"]:
            self.fail(field, f"{show(value)} is a Python keyword")

    def items(self, field, value, keys):
        """The list's mappings, each with its field path; problems for the rest."""
        if not isinstance(value, list):
            self.fail(field, f"must be a list, not {_kind(value)}")
            return []
        good = []
        for i, item in enumerate(value):
            where = f"{field}[{i}]"
            if not isinstance(item, dict):
                self.fail(where, f"must be a mapping, not {_kind(item)}")
                continue
            for key in item:
                if key not in keys:
                    self.fail(f"{where}.{key}", f"unknown key (known: {', '.join(keys)})")
            good.append((where, item))
        return good

    def declared_names(self):
        names = []
        for key in ("hyperparameters", "weights"):
            if isinstance(self.answers[key], list):
                names += [i.get("name") for i in self.answers[key] if isinstance(i, dict)]
        return [n for n in names if isinstance(n, str)]

    def name(self, where, name):
        """A weight or hyperparameter name; `self.seen` records where each was
        first declared, across both lists."""
        reserved = keras_names()["layer_attributes"]
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            problem = f"{show(name)} is not an identifier"
        elif name.startswith("_"):
            problem = f"{show(name)} must not start with '_'"
        elif name in keras_names()["python_keywords"]:
            problem = f"{show(name)} is a Python keyword"
        elif name in COMPUTATION_NAMES:
            problem = f"{show(name)} is a name the computation already sees ({', '.join(COMPUTATION_NAMES)})"
        elif name in GENERATED_NAMES or name in reserved:
            problem = f"{show(name)} would shadow an attribute or argument of keras.layers.Layer"
        elif name in self.seen:
            problem = f"{show(name)} is used twice (first at {self.seen[name]})"
        else:
            problem = None
        if problem:
            self.fail(f"{where}.name", problem)
        if isinstance(name, str):
            self.seen.setdefault(name, where)

    def hyperparameters(self, value):
        for where, hp in self.items("hyperparameters", value, HYPERPARAMETER_KEYS):
            self.name(where, hp.get("name"))
            kind = hp.get("type")
            if not isinstance(kind, str) or kind not in HYPERPARAMETER_TYPES:
                self.fail(
                    f"{where}.type", f"{show(kind)} is not one of {', '.join(HYPERPARAMETER_TYPES)}"
                )
                continue
            if "default" not in hp:
                self.fail(
                    f"{where}.default", f"missing: every hyperparameter needs a {kind} default"
                )
            for key in ("default", "test_value"):
                if key in hp:
                    self.literal(f"{where}.{key}", hp[key], kind)
            if "test_value" in hp and hp["test_value"] == hp.get("default"):
                self.fail(
                    f"{where}.test_value",
                    "must differ from the default (tests build the layer with it)",
                )

    def literal(self, field, value, kind):
        if (
            isinstance(value, bool)
            and kind != "bool"
            or not isinstance(value, HYPERPARAMETER_TYPES[kind])
        ):
            self.fail(field, f"{show(value)} is not a {kind}")
        elif isinstance(value, float) and not math.isfinite(value):
            self.fail(field, f"{show(value)} is not a finite float")

    def int_hyperparameters(self):
        declared = self.answers["hyperparameters"]
        if not isinstance(declared, list):
            return []
        return [hp["name"] for hp in declared if isinstance(hp, dict) and hp.get("type") == "int"]

    def weights(self, value):
        items = self.items("weights", value, WEIGHT_KEYS)
        if isinstance(value, list) and not value:
            self.fail("weights", "at least one weight is needed")
        weight_names = [w.get("name") for _, w in items]
        for where, w in items:
            self.name(where, w.get("name"))
            self.shape(f"{where}.shape", w.get("shape"))
            for argument in WEIGHT_ARGUMENTS:
                self.keras_object(
                    f"{where}.{argument}",
                    w.get(argument, "glorot_uniform" if argument == "initializer" else None),
                    argument,
                )
            if not isinstance(w.get("trainable", True), bool):
                self.fail(
                    f"{where}.trainable", f"{show(w['trainable'])} is not a bool (true or false)"
                )
            if "doc" in w and not isinstance(w["doc"], str):
                self.fail(f"{where}.doc", f"must be text, not {_kind(w['doc'])}")
        for name, where in self.seen.items():
            for weight in weight_names:
                if isinstance(weight, str) and name in {
                    f"{weight}_{arg}" for arg in WEIGHT_ARGUMENTS
                }:
                    self.fail(
                        f"{where}.name",
                        f"{show(name)} collides with the generated argument of weight {show(weight)}",
                    )

    def shape(self, field, shape):
        if not isinstance(shape, list):
            self.fail(
                field,
                f"must be a list of dimensions, not {_kind(shape)} "
                '(quote input_shape[i] in flow style: ["input_shape[-1]"])',
            )
            return
        ints = self.int_hyperparameters()
        for i, dim in enumerate(shape):
            where = f"{field}[{i}]"
            if isinstance(dim, int) and not isinstance(dim, bool):
                if dim <= 0:
                    self.fail(where, f"{dim} is not a positive int")
            elif isinstance(dim, str) and (dim == "input_dim" or dim in ints):
                continue
            elif isinstance(dim, str) and (match := INPUT_SHAPE_DIM.match(dim)):
                if int(match[1]) == 0:
                    self.fail(where, "input_shape[0] is the batch axis, which has no static size")
            else:
                self.fail(
                    where,
                    f"{show(dim)} is not an {DIM_HINT} ({', '.join(ints) or 'none declared'})",
                )

    def keras_object(self, field, value, kind):
        known = keras_names()[kind]
        if value is None:
            if kind == "initializer":
                self.fail(field, "must be a Keras initializer name or {class_name, config}")
        elif isinstance(value, str):
            if value not in known["names"]:
                hint = (
                    " (it needs a config: use {class_name, config})"
                    if value in known["class_names"]
                    else ""
                )
                self.fail(field, f"{show(value)} is not a Keras {kind} name{hint}")
        elif isinstance(value, dict):
            for key in value:
                if key not in ("class_name", "config"):
                    self.fail(f"{field}.{key}", "unknown key (known: class_name, config)")
            if "class_name" not in value:
                self.fail(field, "a mapping needs class_name")
            elif value["class_name"] not in known["class_names"]:
                self.fail(
                    f"{field}.class_name",
                    f"{show(value['class_name'])} is not a Keras {kind} class",
                )
            self.config(f"{field}.config", value.get("config", {}))
        else:
            self.fail(field, f"must be a name or {{class_name, config}}, not {_kind(value)}")

    def config(self, field, config):
        if not isinstance(config, dict):
            self.fail(field, f"must be a mapping, not {_kind(config)}")
            return
        for key, value in config.items():
            if not isinstance(key, str) or not IDENTIFIER.match(key):
                self.fail(field, f"{show(key)} is not an argument name")
            elif not _is_plain(value):
                self.fail(
                    f"{field}.{key}",
                    f"{show(value)} is not a number, text, bool, null or list of them",
                )

    def computation(self, value):
        if not isinstance(value, str) or not value.strip():
            self.fail("computation", "must be the non-empty body of the forward function")
        elif not re.search(r"(^|\n)\s*return\b", value):
            self.fail("computation", "must return the layer's output (no return statement)")

    def example_input_shape(self, value):
        if (
            not isinstance(value, list)
            or len(value) < 2
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value)
        ):
            self.fail(
                "example_input_shape",
                f"{show(value)} is not a list of at least two positive ints (batch first)",
            )
            return
        rank = len(value)
        weights = self.answers["weights"] if isinstance(self.answers["weights"], list) else []
        for n, w in enumerate(weights):
            where = f"weights[{n}]"
            shape = w.get("shape") if isinstance(w, dict) else None
            for i, dim in enumerate(shape if isinstance(shape, list) else []):
                match = INPUT_SHAPE_DIM.match(dim) if isinstance(dim, str) else None
                if match and not (1 <= int(match[1]) < rank or -rank < int(match[1]) <= -1):
                    self.fail(
                        "example_input_shape",
                        f"rank {rank} has no axis for {where}.shape[{i}] {show(dim)}",
                    )


def _is_plain(value):
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (bool, int, str))
