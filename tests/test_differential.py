"""Copier and `generator check` agree on every answer (issue 15).

The same seeded random mutations of good specs go through Copier's own
question handling (its `Worker` asking every question with the answers as
data, as `copier copy --defaults --data-file` does, without rendering) and
through `generator check`: both must accept, or both refuse with the same
first message. The one difference allowed is what only Python can see, the
computation read as Python code, which Copier cannot check.
"""

import copy
import datetime
import math
import random
import warnings

import yaml
from copier._main import Worker
from copier._types import Phase

from generator.cli import main
from rendering import CATALOG, REPO, load_spec

SAMPLES = 300
SEED = 15

# Values a careless or hostile spec puts anywhere: every type YAML gives, and
# texts that mean something to the rules, the template or a terminal.
AWKWARD = [
    None,
    True,
    0,
    -1,
    2,
    10**12,
    1.5,
    1.7e308,
    math.inf,
    math.nan,
    "",
    "x",
    "units",
    "input_dim",
    "input_shape[-1]",
    "input_shape[01]",
    "input_shape[\u0661]",
    "input_shape[0]",
    "input_shape[99]",
    "Scaled\n",
    "keras",
    "test_layer",
    "super",
    "activity",
    "BoundLambda",
    "1e-3",
    "glorot",
    "zeros",
    "l1l2",
    "non_neg",
    "\x1b[2J",
    "a\u2028b",
    [],
    [1],
    ["a", 2],
    {},
    {"a": 1},
    {"class_name": "RandomNormal", "config": {"stdev": 0.1}},
    {"class_name": "RandomNormal", "config": {"stddev": "1e-3"}},
    {"class_name": "MaxNorm", "config": {"max_value": 2}},
    datetime.date(2024, 1, 1),
]
# Questions Copier casts to text before its validator sees them: a list there
# is refused by `check` before any cast, and cannot be by Copier.
TEXT_QUESTIONS = ("package_name", "layer_name", "module_name", "description", "computation")


def bases():
    """Good specs to mutate: the README's and the catalog's."""
    readme = {
        "hyperparameters": [{"name": "units", "type": "int", "default": 32}],
        "weights": [
            {"name": "kernel", "shape": ["input_dim", "units"], "initializer": "glorot_uniform"},
            {"name": "bias", "shape": ["units"], "initializer": "zeros"},
            {"name": "scale", "shape": [], "initializer": "ones"},
        ],
        "computation": "return (ops.matmul(x, kernel) + bias) * scale\n",
        "example_input_shape": [8, 16],
    }
    return [readme] + [load_spec(path) for path in CATALOG]


def places(value, path=()):
    """(path, value) of every value inside the answers, the answers excluded."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*path, key), item
        yield from places(item, (*path, key))


def at(answers, path):
    for key in path:
        answers = answers[key]
    return answers


def mutate(answers, rng):
    """One to three random edits: a value replaced, a key dropped or added,
    an item repeated, a text slightly changed."""
    answers = copy.deepcopy(answers)
    for _ in range(rng.randint(1, 3)):
        path, value = rng.choice(list(places(answers)))
        parent = at(answers, path[:-1])
        edit = rng.randrange(5)
        if edit == 0:
            replacement = rng.choice(AWKWARD)
            if (
                len(path) == 1
                and path[0] in TEXT_QUESTIONS
                and isinstance(replacement, list | dict)
            ):
                continue
            parent[path[-1]] = copy.deepcopy(replacement)
        elif edit == 1 and isinstance(parent, dict) and len(path) > 1:
            del parent[path[-1]]
        elif edit == 2 and isinstance(value, dict):
            value[rng.choice(["nmae", "default", "config", "stdev", "class_name"])] = 1
        elif edit == 3 and isinstance(value, list) and value:
            value.append(copy.deepcopy(rng.choice(value)))
        elif isinstance(value, str):
            parent[path[-1]] = rng.choice(
                [value + "\n", "_" + value, value.upper(), value + "2", value[1:]]
            )
    return answers


class CopierQuestions:
    """Copier's own question handling, run without rendering: one template
    and Jinja environment shared by every run (cloning the template for each
    would cost more than the questions)."""

    def __init__(self, tmp_path):
        self.dest = tmp_path / "project"
        self.shared = {}
        self.first_problem({})
        self.shared = {"template": self.worker.template, "jinja_env": self.worker.jinja_env}

    def first_problem(self, answers):
        self.worker = Worker(
            src_path=str(REPO),
            dst_path=self.dest,
            data=answers,
            defaults=True,
            vcs_ref="HEAD",
            unsafe=False,
            quiet=True,
        )
        self.worker.__dict__.update(self.shared)
        try:
            with Phase.use(Phase.PROMPT), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.worker._ask()
        except ValueError as error:
            if str(error).startswith("Validation error for question"):
                return str(error).split(": ", 1)[1]
            return f"Copier crashed: {type(error).__name__}: {error}"
        except Exception as error:  # any other exception is a crash to report
            return f"Copier crashed: {type(error).__name__}: {error}"
        return None


# A problem Python's parse of the computation locates (check only): it takes
# the place of what the rules read in code that does not parse.
PARSED = "computation: line "
# How Copier refuses text it cannot parse as YAML for a YAML question: its
# parser's error, raised, not a validator's message.
YAML_REFUSAL = "Copier crashed: ValueError: "


def check_problems(tmp_path, capsys, answers):
    """`check --quick`: the rules Copier runs too, and Python's parse of the
    code; building the layer in Keras is check's alone (tests/test_trace.py)."""
    spec = tmp_path / "spec.yml"
    spec.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    status = main(["check", "--quick", str(spec)])
    return status, capsys.readouterr().err.splitlines()


def test_copier_and_check_agree_on_random_mutations(tmp_path, capsys):
    rng = random.Random(SEED)
    copier_questions = CopierQuestions(tmp_path)
    specs = bases()
    disagreements = []
    for sample in range(SAMPLES):
        answers = mutate(rng.choice(specs), rng)
        by_copier = copier_questions.first_problem(answers)
        status, by_check = check_problems(tmp_path, capsys, answers)
        if status not in (0, 2):
            disagreements.append(f"sample {sample}: {answers!r}\n  check crashed: {by_check}")
            continue
        if by_copier is None and status == 0:
            continue
        if by_copier is None and all(line.startswith("computation:") for line in by_check):
            continue  # the computation read as Python: Copier cannot see it
        if (by_copier or "").startswith("computation:") and by_check[0].startswith(PARSED):
            continue  # code that does not parse: check says why, Copier reads it as text
        if by_copier is not None and by_check and by_check[0] == by_copier:
            continue
        if by_copier and "not valid YAML" in by_check[0] and by_copier.startswith(YAML_REFUSAL):
            continue  # text for a YAML question that YAML refuses: Copier raises its parser's error
        disagreements.append(
            f"sample {sample}: {answers!r}\n  copier: {by_copier}\n  check: {by_check[:1]}"
        )
    assert not disagreements, f"{len(disagreements)} of {SAMPLES}:\n" + "\n".join(disagreements[:8])
