"""``python -m generator new [DEST]``: the spec asked one question at a time.

Every answer is checked when it is given, by the rules ``generator check``
runs (``spec.parse``), never by rules of this module. The answers so far are
parsed, and the problems shown are those in the fields of the question being
asked or of questions already answered (a new answer may break an old one: a
weight ``kernel`` collides with a hyperparameter ``kernel_initializer``).
Questions not asked yet are left out, so they take their defaults, or are
empty lists; their problems wait until they are asked.

The inputs are asked before the weights, whose shapes may read their axes;
enter keeps the common layer, one float input ``x`` whose example shape is
asked after the weights. The example input is asked before the computation:
``check`` looks at a computation only once everything else is right, so it
must know the input. Questions that only some layers need (an int input's
``high``, a frozen weight's ``updated_in_training``) are asked of those.
Once the computation (then the output mask) is given, the layer is built in
Keras as ``check`` builds it (``generator/trace.py``), the first time at the
cost of importing Keras, as the computation's question says.
"""

import copy
import json
import re
import textwrap
from collections import namedtuple
from pathlib import Path

import questionary
import yaml
from prompt_toolkit.completion import WordCompleter

from generator.errors import InputError
from generator.messages import printable, program
from generator.project import package_of
from generator.spec import SpecError, built, parse, visible_names, with_defaults

KERAS_NAMES = Path(__file__).with_name("keras_names.json")
HYPERPARAMETER_TYPES = ("int", "float", "bool", "str")
DTYPES = ("float32", "int32", "int64", "bool")
# Answers that are code: once given, the layer is built in Keras, as `check`
# builds it, so a shape error is shown at its question, not by the tests.
CODE = {"computation", "output_mask"}
# A dimension as typed in a shape: input_shape[i] or NAME.shape[i] whole,
# else up to a comma; quotes, brackets and spaces around dimensions are dropped.
DIMENSION = re.compile(r"[\w.]+\[[^\]]*\]|[^,\s\[\]'\"]+")


def ask_spec(stdin, stdout, dest):
    """The spec the user builds at the prompt, to be rendered into `dest`;
    None when they keep it as a file instead."""
    if not (stdin.isatty() and stdout.isatty()):
        raise InputError(
            f"new: no spec file given and no terminal to ask in: {program()} new SPEC DEST"
        )
    interview = Interview(dest)
    interview.layer()
    interview.hyperparameters()
    interview.inputs()
    interview.weights()
    interview.example_input_shape()
    interview.random()
    interview.computation()
    interview.output_mask()
    return interview.finish()


class Interview:
    """The answers so far, and the fields whose problems are the user's to fix."""

    def __init__(self, dest):
        self.dest = Path(dest)
        self.answers = {"hyperparameters": [], "inputs": [], "weights": []}
        # A new layer joins the project's package rather than start a second.
        package = package_of(self.dest)
        if package:
            self.answers["package_name"] = package
        self.answered = []

    def problems(self, answers, fields):
        try:
            built(answers, quick=not CODE.intersection(fields))
        except SpecError as error:
            visible = [*fields, *self.answered]
            found = [p for p in error.problems if within(p.split(": ", 1)[0], visible)]
            if found:
                return found
        return layer_taken(answers, self.dest) if "layer_name" in fields else []

    def ask(self, path, question, read=str.strip, default="", also=(), **options):
        """Ask `question` (a questionary prompt) until the answer, read from
        the typed text and put at `path` in the answers, has no problem, in
        its field or in the fields `also` (questions it answers too).

        Problems are printed whole under the answer, which is asked again with
        the typed text to fix: a prompt's error bar is one row, and would cut
        a problem at the terminal's width."""
        fields = [path_field(path), *also]
        while True:
            text = question(default=default, **options).unsafe_ask()
            answers = put(self.answers, path, read(text))
            problems = self.problems(answers, fields)
            if not problems:
                self.answers = answers
                self.answered.extend(fields)
                return read(text)
            for problem in problems:
                print(f"  ! {printable(problem)}")
            default = text

    def layer(self):
        self.ask(("layer_name",), questionary.text, message="Class name of the layer (CamelCase):")
        self.ask(("description",), questionary.text, message="What does it compute? (a sentence):")

    def several(self, key, item, question, noun):
        """Ask for items of the list `key`, each by `item`, while the user
        adds one; `question` asks for the first (None: there is one)."""
        while question is None or questionary.confirm(question, default=False).unsafe_ask():
            self.answers[key].append({})
            item((key, len(self.answers[key]) - 1))
            question = f"Add another {noun}?"

    def hyperparameters(self):
        question = "Add a constructor argument (a hyperparameter)?"
        self.several("hyperparameters", self.hyperparameter, question, "hyperparameter")

    def hyperparameter(self, path):
        name = self.ask((*path, "name"), questionary.text, message="Name of the argument:")
        kind = questionary.select(f"Type of {name}:", choices=HYPERPARAMETER_TYPES).unsafe_ask()
        self.answers = put(self.answers, (*path, "type"), kind)
        choices = []
        if kind == "str":
            choices = self.ask(
                (*path, "choices"),
                questionary.text,
                read=words,
                message=f"Values {name} may take (comma-separated; empty: any text):",
            )
        if kind == "bool":
            default = questionary.confirm(f"Default of {name}:", default=False).unsafe_ask()
        elif choices:
            default = questionary.select(f"Default of {name}:", choices=choices).unsafe_ask()
        else:
            default = self.ask(
                (*path, "default"),
                questionary.text,
                read=literal(kind),
                message=f"Default of {name} ({kind}):",
            )
        self.answers = put(self.answers, (*path, "default"), default)
        self.ask((*path, "doc"), questionary.text, message=f"What is {name}? (optional):")

    def inputs(self):
        question = "Declare the inputs (no: one float input x)?"
        self.several("inputs", self.input, question, "input")

    def input(self, path):
        name = self.ask((*path, "name"), questionary.text, message="Name of an input:")
        self.ask(
            (*path, "shape"),
            questionary.text,
            read=dimensions,
            message=f"Shape of {name}",
            instruction="(an example, batch first, null where it varies):",
            completer=WordCompleter(["null"]),
            # The first input's shape is the example input shape, not asked:
            # its problems (too many values) are this answer's.
            also=("example_input_shape",) if path[1] == 0 else (),
        )
        self.ask(
            (*path, "dtype"),
            questionary.autocomplete,
            message=f"Dtype of {name} ({', '.join(DTYPES)}):",
            choices=DTYPES,
            default="float32",
        )
        # Asked when the rules miss it: an int input's examples need a bound.
        high = (*path, "high")
        if self.problems(self.answers, [path_field(high)]):
            self.ask(
                high,
                questionary.text,
                read=literal("int"),
                message=f"High of {name}",
                instruction="(values in [1, high); an int or int hyperparameter):",
            )

    def weights(self):
        self.several("weights", self.weight, None, "weight")

    def weight(self, path):
        name = self.ask((*path, "name"), questionary.text, message="Name of a weight:")
        ints = [h["name"] for h in self.answers["hyperparameters"] if h["type"] == "int"]
        # Declared inputs are read by name (input_shape[i] reads the first).
        axes = [f"{i['name']}.shape[i]" for i in self.answers["inputs"]]
        axes = axes or ["input_shape[i]"]
        offered = ["input_dim", *ints]
        offered += [a.replace("[i]", f"[{k}]") for a in axes for k in (1, -1)]
        self.ask(
            (*path, "shape"),
            questionary.text,
            read=dimensions,
            message=f"Shape of {name}",
            instruction=f"({', '.join(['ints', 'input_dim', *axes, *ints])}; empty: scalar):",
            completer=WordCompleter(offered, WORD=True),
        )
        names = json.loads(KERAS_NAMES.read_text())
        for argument, default in (
            ("initializer", "glorot_uniform"),
            ("regularizer", ""),
            ("constraint", ""),
        ):
            self.ask(
                (*path, argument),
                questionary.autocomplete,
                message=f"{argument.capitalize()} of {name}{'' if default else ' (empty: none)'}:",
                choices=names[argument]["names"],
                default=default,
            )
        if not questionary.confirm(f"Is {name} trainable?", default=True).unsafe_ask():
            self.answers = put(self.answers, (*path, "trainable"), False)
            self.ask(
                (*path, "updated_in_training"),
                questionary.confirm,
                read=bool,
                default=False,
                message=f"Is {name} updated in training (the computation assigns it)?",
            )
        self.ask((*path, "doc"), questionary.text, message=f"What is {name}? (optional):")

    def example_input_shape(self):
        if self.answers["inputs"]:
            return  # the first input's shape, left out (see input)
        default = self.fitting_default("example_input_shape")
        self.ask(
            ("example_input_shape",),
            questionary.text,
            read=dimensions,
            message="Shape of an example input",
            instruction="(batch first, null where it varies):",
            default=", ".join("null" if d is None else str(d) for d in default or []),
            completer=WordCompleter(["null"]),
        )

    def random(self):
        self.ask(
            ("random",),
            questionary.confirm,
            read=bool,
            default=False,
            message="Does the layer draw random numbers (it takes seed=None)?",
        )

    def computation(self):
        self.sees("computation")
        print("It is then built in Keras, as check builds it (seconds, the first time).")
        inputs = [i["name"] for i in self.answers["inputs"]] or ["x"]
        self.ask(
            ("computation",),
            questionary.text,
            read=lambda text: text.strip() + "\n",
            message=f"Computation, the body of call({', '.join(inputs)})",
            instruction="(Ctrl-X Ctrl-E: in $EDITOR):",
            default=(self.fitting_default("computation") or "").strip(),
            enable_open_in_editor=True,
        )

    def output_mask(self):
        self.sees("output_mask")
        # Read as Copier reads this YAML question: `null` is None.
        self.ask(
            ("output_mask",),
            questionary.text,
            message="Output mask",
            instruction="(null: none; input: the first input's; or return ...):",
            default="null",
            completer=WordCompleter(["null", "input"]),
        )

    def sees(self, field):
        """Print the names the code of `field` sees: its question cannot
        hold them, and the masks' names are nowhere else to be seen."""
        names = ", ".join(visible_names(with_defaults(self.answers), field))
        what = field.replace("_", " ").capitalize()
        print(textwrap.fill(f"{what} sees: {names}", 80, subsequent_indent="  "))

    def fitting_default(self, question):
        """The question's default from ``copier.yml`` if it fits the answers
        so far, else None: a default must not be a trap."""
        default = with_defaults(self.answers)[question]
        if self.problems(put(self.answers, (question,), default), [question]):
            return None
        return default

    def finish(self):
        spec = parse(self.answers)
        print(f"\n{to_yaml(spec.answers)}")
        if questionary.confirm(f"Render {spec.layer_name} into {self.dest}?").unsafe_ask():
            return spec
        path = questionary.text(
            "Save the spec instead, to (empty: nowhere):",
            default=f"{spec.module_name}.yml",
            validate=lambda path: not path or not Path(path).exists() or f"{path} exists",
        ).unsafe_ask()
        if path:
            Path(path).write_text(to_yaml(spec.answers))
            print(f"wrote {path}; render it with: {program()} new {path} {self.dest}")
        return None


# Keys an answer may leave out, in a hyperparameter or a weight.
OPTIONAL = ("choices", "doc", "regularizer", "constraint")


def put(answers, path, value):
    """A copy of the answers with `value` at `path`; an empty optional value
    (text or list) leaves the key out."""
    answers = copy.deepcopy(answers)
    *parents, key = path
    target = answers
    for step in parents:
        target = target[step]
    if value in ("", []) and key in OPTIONAL:
        target.pop(key, None)
    else:
        target[key] = value
    return answers


def path_field(path):
    """("weights", 0, "shape") -> "weights[0].shape", as problems name fields."""
    field = ""
    for step in path:
        field += f"[{step}]" if isinstance(step, int) else f".{step}" if field else step
    return field


def within(field, fields):
    """Whether a problem's field is one of `fields` or inside one of them."""
    return any(field == f or field.startswith((f"{f}.", f"{f}[")) for f in fields)


def words(text):
    return [word.strip() for word in text.split(",") if word.strip()]


def dimensions(text):
    """`input_dim, 4` or `[input_shape[2], units]` as a shape list; ints as
    ints, `null` (a size that varies) as None."""
    return [dimension(d) for d in DIMENSION.findall(text)]


def dimension(text):
    if text == "null":
        return None
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def literal(kind):
    """Typed text as a value of `kind` where it reads as one, else as typed,
    for the spec's rules to refuse with their own message."""

    def read(text):
        text = text.strip()
        try:
            return {"int": int, "float": float}[kind](text)
        except (KeyError, ValueError):
            return text

    return read


# What render.layer_files needs to know of a spec.
LayerNames = namedtuple("LayerNames", "package_name module_name")


def layer_taken(answers, dest):
    """A problem if the project already has this layer: render.new would
    refuse it, after every question."""
    from generator import render

    full = with_defaults(answers)
    names = LayerNames(full["package_name"], full["module_name"])
    existing = [path for path in render.layer_files(names) if (dest / path).exists()]
    if existing:
        return [f"layer_name: {dest} already has layer {names.module_name} ({existing[0]})"]
    return []


class _Dumper(yaml.SafeDumper):
    """Multi-line text (the computation) as a YAML block, as people write it."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def to_yaml(answers):
    return yaml.dump(answers, Dumper=_Dumper, sort_keys=False, default_flow_style=None)
