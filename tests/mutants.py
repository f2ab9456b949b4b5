"""Mutants of a generated layer module, for proving that its tracking test fails.

A mutant takes the source of a freshly generated layer module and its spec
(answers with defaults filled in), breaks the module in one way, and returns
the broken source with the keywords a failure message must contain for the
tracking test to have pointed at the fault, not merely to have failed. The
spec lets a mutant pick the weight or hyperparameter it breaks by name.

Edits locate their target with the `ast` module and splice the generated
text, so that what is left reads like the generated module with one fault.
An edit that finds nothing to change raises `MutationError`: a mutant that
changes nothing is an error of this suite, never a kill.
"""

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pytest

from generator.spec import parse

# Numbered as in the defect list of issue 5 ("prove the tracking test can fail").
DEFECTS = {
    1: "a weight is a plain tensor, not a variable from add_weight()",
    2: "a weight is created in the forward function or in call()",
    3: "the Lambda gets a copy or a stopped gradient of a weight",
    4: "the Lambda lacks the layer's dtype policy",
    5: "the inner Lambda saves the layer's variables again",
    6: "the class or its forward function is not registered",
    7: "get_config() lacks a constructor argument",
    8: "__init__ ignores a constructor argument",
    9: "a regularizer or constraint is not passed to add_weight()",
    10: "a weight's trainable flag is wrong",
    11: "a weight has the wrong shape",
    12: "compute_output_shape disagrees with call()",
    13: "the Lambda is created again on every call",
    14: "the constructor does not check a hyperparameter",
    15: "the traced output shape is not saved: loading traces again",
    # Issue 13: several inputs, integer inputs, varying axes, masks.
    16: "a mask the computation reads is not passed on to it",
    17: "the declared output mask is dropped",
    18: "build() sizes a weight from the first input's shape, not the one named",
    19: "an integer input is cast to float before the computation",
    20: "compute_output_shape fixes the axes whose size varies",
    21: "the call's mask argument is misnamed: Keras never fills it",
    22: "the output carries another mask than the declared one",
    # Issue 14: layers with behaviour in training.
    23: "training does not reach the computation",
    24: "a fixed seed instead of the layer's seed generator",
    25: "the computation draws from another generator: the layer's never advances",
    26: "the seed argument is ignored",
    27: "the seed generator's state is not saved",
    28: "a state weight is assigned in inference",
    29: "a state weight is never assigned",
    30: "a state weight is autocast to float16 under mixed precision",
    # Found since: a wiring the config round trip cannot see.
    31: "the computation gets a hyperparameter's default, not the value passed",
}
# Defects that only a layer with hyperparameters can have.
NEED_HYPERPARAMETERS = {14}
# Defects that only a layer whose computation reads a hyperparameter that the
# tests build with another value than its default can have.
NEED_READ_HYPERPARAMETER = {31}
# Defects that only a layer whose computation reads `training`, a random
# layer, or a layer with a weight updated in training can have.
NEED_TRAINING = {23}
NEED_RANDOM = {24, 25, 26, 27}
NEED_STATE = {28, 29, 30}
ARGUMENTS = ("initializer", "regularizer", "constraint")
# The verdicts of a session's mutants, for the terminal summary (tests/conftest.py).
VERDICTS = pytest.StashKey[list]()


class MutationError(AssertionError):
    """A mutant's edit found nothing to change in the generated module."""


@dataclass(frozen=True)
class Mutant:
    defect: int
    name: str
    edit: Callable[[str, dict], tuple[str, tuple[str, ...]]]
    applies: Callable[[dict], bool]

    @property
    def tag(self):
        return f"m{self.defect:02d}_{self.name}"

    def names(self, spec):
        """Class and module name of this mutant of `spec`'s layer: distinct from
        every other layer's, so that the registrations of many mutants in one
        project do not collide."""
        camel = "".join(part.capitalize() for part in self.tag.split("_"))
        return spec["layer_name"] + camel, f"{spec['module_name']}_{self.tag}"

    def apply(self, source, spec):
        """The mutated source and the keywords its failure message must contain."""
        mutated, keywords = self.edit(source, spec)
        if mutated == source:
            raise MutationError(f"{self.tag} left the module unchanged")
        try:
            ast.parse(mutated)
        except SyntaxError as error:
            raise MutationError(f"{self.tag} wrote invalid Python: {error}") from error
        return mutated, keywords


MUTANTS = []


def mutant(defect, name=None, applies=lambda spec: True):
    """Register a mutant edit under the defect it plants."""

    def register(edit):
        MUTANTS.append(Mutant(defect, name or edit.__name__, edit, applies))
        return edit

    return register


# The spec: which weight or hyperparameter a mutant breaks.


def first_trainable(spec):
    return next(w["name"] for w in spec["weights"] if w.get("trainable", True))


def first_frozen(spec):
    return next(w["name"] for w in spec["weights"] if not w.get("trainable", True))


def has_frozen(spec):
    return any(not w.get("trainable", True) for w in spec["weights"])


def has_hyperparameters(spec):
    return bool(spec["hyperparameters"])


def names_read(spec):
    """The names the computation reads."""
    body = "".join(f"    {line}\n" for line in spec["computation"].splitlines())
    tree = ast.parse(f"def forward():\n{body}")
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def reads_training(spec):
    return "training" in names_read(spec)


def read_hyperparameter(spec):
    """The first hyperparameter the computation reads and the tests build
    with a value other than its default (a free str is tested with its
    default), or None."""
    read = names_read(spec)
    return next(
        (
            hp["name"]
            for hp in spec["hyperparameters"]
            if hp["name"] in read and (hp["type"] != "str" or hp.get("choices"))
        ),
        None,
    )


def is_random(spec):
    return spec.get("random") is True


def has_state(spec):
    return any(w.get("updated_in_training") for w in spec["weights"])


def first_state(spec):
    return next(w["name"] for w in spec["weights"] if w.get("updated_in_training"))


def weight_with(spec, kind):
    """The first weight the spec gives a `kind` (initializer, ...), else the
    first weight: every weight takes every kind of argument."""
    given = [w["name"] for w in spec["weights"] if w.get(kind) is not None]
    return (given or [spec["weights"][0]["name"]])[0]


def input_axis(dim):
    """The input axis a spec dimension is read from, or None."""
    if dim == "input_dim":
        return -1
    if isinstance(dim, str) and dim.startswith("input_shape["):
        return int(dim[len("input_shape[") : -1])
    return None


def size(dim, spec):
    """A spec dimension's size for the example input and default hyperparameters,
    as the generated tests build the layer."""
    if isinstance(dim, int):
        return dim
    axis = input_axis(dim)
    if axis is not None:
        return spec["example_input_shape"][axis]
    return next(hp["default"] for hp in spec["hyperparameters"] if hp["name"] == dim)


def shape_fault(spec):
    """How to give a weight another shape on the example input: `(weight, None)`
    to reverse its dimensions, `(weight, (position, axis))` to read dimension
    `position` from input `axis` instead; None when no weight allows either.
    A fault that keeps the sizes would be an equivalent mutant: none is chosen."""
    for w in spec["weights"]:
        sizes = [size(d, spec) for d in w["shape"]]
        if sizes != sizes[::-1]:
            return w["name"], None
    example = spec["example_input_shape"]
    for w in spec["weights"]:
        for position, dim in enumerate(w["shape"]):
            axis = input_axis(dim)
            if axis is None:
                continue
            # Another feature axis reads as a plausible slip; the batch axis is the last resort.
            others = [a for a in (*range(1, len(example)), 0) if example[a] != example[axis]]
            if others:
                return w["name"], (position, others[0])
    return None


def quoted(name):
    return f"'{name}'"


# The generated module: where an edit applies.


def scope(tree, within):
    """The generated function `within`: a method of the layer class, or the
    module-level forward function (`"forward"`)."""
    for node in tree.body:
        if within == "forward" and isinstance(node, ast.FunctionDef):
            return node
        if within != "forward" and isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == within:
                    return item
    raise MutationError(f"the module has no {within}()")


def find(source, within, what, match):
    """The one node of `within` that `match`es; `what` describes it."""
    nodes = [node for node in ast.walk(scope(ast.parse(source), within)) if match(node)]
    if len(nodes) != 1:
        raise MutationError(f"{len(nodes)} matches of {what} in {within}(), expected one")
    return nodes[0]


def is_self(node, attribute):
    """Whether `node` is `self.<attribute>`."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == attribute
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def add_weight(source, weight):
    """The statement `self.<weight> = self.add_weight(...)` of build()."""
    return find(
        source,
        "build",
        f"self.{weight} = self.add_weight(...)",
        lambda n: (
            isinstance(n, ast.Assign)
            and is_self(n.targets[0], weight)
            and isinstance(n.value, ast.Call)
            and is_self(n.value.func, "add_weight")
        ),
    )


def assignment(source, within, attribute):
    """The statement `self.<attribute> = ...` of `within`."""
    return find(
        source,
        within,
        f"self.{attribute} = ...",
        lambda n: isinstance(n, ast.Assign) and is_self(n.targets[0], attribute),
    )


def inner_lambda(source):
    """The `_lambda.BoundLambda(...)` call of build()."""
    return find(
        source,
        "build",
        "BoundLambda(...)",
        lambda n: (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "BoundLambda"
        ),
    )


def keyword(call, name):
    """The `name=` keyword argument of `call`."""
    matches = [k for k in call.keywords if k.arg == name]
    if len(matches) != 1:
        raise MutationError(f"{len(matches)} {name}= arguments in a call, expected one")
    return matches[0]


def entry(source, within, key):
    """Key and value nodes of the entry `"<key>": ...` of the one dict in
    `within` that has it (Lambda arguments in build(), config in get_config())."""

    def keys(node):
        return [k.value if isinstance(k, ast.Constant) else None for k in node.keys]

    table = find(
        source,
        within,
        f'a dict with key "{key}"',
        lambda n: isinstance(n, ast.Dict) and key in keys(n),
    )
    index = keys(table).index(key)
    return table.keys[index], table.values[index]


def default(source, parameter):
    """Source of the default value of `parameter` in the signature of __init__."""
    arguments = scope(ast.parse(source), "__init__").args
    with_default = arguments.args[len(arguments.args) - len(arguments.defaults) :]
    for argument, value in zip(with_default, arguments.defaults, strict=True):
        if argument.arg == parameter:
            return ast.get_source_segment(source, value)
    raise MutationError(f"__init__ has no parameter {parameter} with a default")


# Splicing text at the positions the AST gives.


def offset(lines, lineno, column):
    """The character offset of an AST position (whose column counts UTF-8 bytes)."""
    line = lines[lineno - 1].encode()[:column].decode()
    return sum(len(text) for text in lines[: lineno - 1]) + len(line)


def span(source, node, end=None):
    """Character offsets of `node` through `end` (default: `node`)."""
    end = end or node
    lines = source.splitlines(keepends=True)
    return offset(lines, node.lineno, node.col_offset), offset(
        lines, end.end_lineno, end.end_col_offset
    )


def segment(source, node, end=None):
    start, stop = span(source, node, end)
    return source[start:stop]


def splice(source, node, text, end=None):
    """`source` with `node` (through `end`) replaced by `text`."""
    start, stop = span(source, node, end)
    return source[:start] + text + source[stop:]


def lines_of(source, node, end=None):
    """The whole lines that hold `node` through `end`."""
    lines = source.splitlines(keepends=True)
    return "".join(lines[node.lineno - 1 : (end or node).end_lineno])


def replace_lines(source, node, text, end=None):
    """`source` with the whole lines of `node` (through `end`) replaced by `text`."""
    lines = source.splitlines(keepends=True)
    return "".join(lines[: node.lineno - 1]) + text + "".join(lines[(end or node).end_lineno :])


def delete(source, node, end=None):
    """`source` without the lines of `node` through `end`, which must hold
    nothing else but an item's comma or a decorator's `@`."""
    start, stop = span(source, node, end)
    around = lines_of(source, node, end).replace(source[start:stop], "", 1)
    if around.strip(" ,@\n"):
        raise MutationError(f"{source[start:stop]!r} shares its lines with {around.strip()!r}")
    return replace_lines(source, node, "", end)


# The mutants, in the order of DEFECTS.


@mutant(1)
def plain_tensor(source, spec):
    weight = first_trainable(spec)
    statement = add_weight(source, weight)
    shape = segment(source, keyword(statement.value, "shape").value)
    indent = " " * statement.col_offset
    tensor = f"keras.ops.convert_to_tensor(self.{weight}_initializer({shape}))"
    mutated = replace_lines(source, statement, f"{indent}self.{weight} = {tensor}\n")
    return mutated, (quoted(weight), "not a tracked variable")


@mutant(2)
def weight_in_forward(source, spec):
    """The blog's "incorrect" pattern: the function makes its own variable."""
    weight = first_trainable(spec)
    statement = add_weight(source, weight)
    # The forward function sees the input and the hyperparameters, not the layer.
    shape = segment(source, keyword(statement.value, "shape").value)
    shape = shape.replace("input_shape", "x.shape").replace("self.", "")
    initializer = default(source, f"{weight}_initializer")
    source = delete(source, statement)
    source = delete(source, *entry(source, "build", weight))
    forward = scope(ast.parse(source), "forward")
    docstring = forward.body[0]
    parameters = ", ".join(a.arg for a in forward.args.args if a.arg != weight)
    created = f"keras.Variable(initializer={initializer}, shape={shape}, name={weight!r})"
    text = (
        f"def {forward.name}({parameters}):\n"
        + lines_of(source, docstring)
        + f"    {weight} = {created}\n"
    )
    return replace_lines(source, forward, text, end=docstring), (
        quoted(weight),
        "add_weight() in build()",
    )


@mutant(2)
def weight_in_call(source, spec):
    weight = first_trainable(spec)
    statement = add_weight(source, weight)
    created = lines_of(source, statement)
    source = delete(source, statement)
    source = delete(source, *entry(source, "build", weight))
    returned = find(source, "call", "return", lambda n: isinstance(n, ast.Return))
    indent = " " * returned.col_offset
    text = (
        f"{indent}input_shape = inputs.shape\n"
        + created
        + f"{indent}self._forward.arguments[{weight!r}] = self.{weight}\n"
        + lines_of(source, returned)
    )
    return replace_lines(source, returned, text), (quoted(weight), "add_weight() in build()")


def lambda_gets(template):
    """A mutant that gives the Lambda `template` (of `self.<weight>`) for a weight."""

    def edit(source, spec):
        weight = first_trainable(spec)
        _, value = entry(source, "build", weight)
        mutated = splice(source, value, template.format(f"self.{weight}"))
        return mutated, (quoted(weight), "Lambda receives")

    return edit


mutant(3, "stopped_gradient")(lambda_gets("keras.ops.stop_gradient({})"))
mutant(3, "converted_tensor")(lambda_gets("keras.ops.convert_to_tensor({})"))
mutant(3, "variable_value")(lambda_gets("{}.value"))


@mutant(4)
def no_dtype_policy(source, spec):
    return delete(source, keyword(inner_lambda(source), "dtype")), ("dtype policy",)


@mutant(5)
def plain_lambda(source, spec):
    """The Lambda keeps everything but saves variables as a plain Lambda does."""
    saving = ", ".join(
        f'"{method}": keras.layers.Lambda.{method}'
        for method in ("save_own_variables", "load_own_variables")
    )
    plain = f'type("PlainLambda", (_lambda.BoundLambda,), {{{saving}}})'
    return splice(source, inner_lambda(source).func, plain), ("stored once",)


def unregistered(source, node):
    """`source` without the one decorator of `node`, and its name."""
    if len(node.decorator_list) != 1:
        raise MutationError(f"{node.name} has {len(node.decorator_list)} decorators, expected one")
    return delete(source, node.decorator_list[0]), (node.name, "not registered")


@mutant(6)
def class_unregistered(source, spec):
    tree = ast.parse(source)
    layer = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    return unregistered(source, layer)


@mutant(6)
def forward_unregistered(source, spec):
    return unregistered(source, scope(ast.parse(source), "forward"))


def not_in_config(argument):
    """A mutant whose get_config() leaves out `argument`."""

    def edit(source, spec):
        return delete(source, *entry(source, "get_config", argument(spec))), (
            "get_config",
            quoted(argument(spec)),
        )

    return edit


def ignored(argument):
    """A mutant whose __init__ keeps the default of `argument`, whatever is passed."""

    def edit(source, spec):
        name = argument(spec)
        value = assignment(source, "__init__", name).value
        # `self.x = x`, or `self.x_initializer = initializers.get(x_initializer)`.
        passed = value if isinstance(value, ast.Name) else getattr(value, "args", [None])[0]
        if not (isinstance(passed, ast.Name) and passed.id == name):
            raise MutationError(f"__init__ does not store the argument {name} as passed")
        return splice(source, passed, default(source, name)), (quoted(name), "ignored")

    return edit


def hyperparameter(spec):
    return spec["hyperparameters"][0]["name"]


def weight_argument(kind):
    """The `<weight>_<kind>` argument of the first weight the spec gives one."""
    return lambda spec: f"{weight_with(spec, kind)}_{kind}"


mutant(7, "hyperparameter_not_in_config", has_hyperparameters)(not_in_config(hyperparameter))
for kind in ARGUMENTS:
    mutant(7, f"{kind}_not_in_config")(not_in_config(weight_argument(kind)))
mutant(8, "hyperparameter_ignored", has_hyperparameters)(ignored(hyperparameter))
for kind in ARGUMENTS:
    mutant(8, f"{kind}_ignored")(ignored(weight_argument(kind)))


def not_passed(kind):
    """A mutant whose add_weight() call leaves out the weight's `kind`."""

    def edit(source, spec):
        weight = weight_with(spec, kind)
        mutated = delete(source, keyword(add_weight(source, weight).value, kind))
        return mutated, (quoted(weight), f"has {kind}")

    return edit


for kind in ("regularizer", "constraint"):
    mutant(9, f"{kind}_not_passed")(not_passed(kind))


def trainable_flag(weight, flag):
    """A mutant that creates `weight(spec)` with `trainable=<flag>`."""

    def edit(source, spec):
        name = weight(spec)
        call = add_weight(source, name).value
        if flag:
            mutated = splice(source, keyword(call, "trainable").value, "True")
        else:
            # A trainable weight is created without the flag: it is the default.
            last = call.keywords[-1]
            indent = " " * last.col_offset
            mutated = replace_lines(
                source, last, lines_of(source, last) + f"{indent}trainable=False,\n"
            )
        return mutated, (quoted(name), "trainable")

    return edit


mutant(10, "trainable_made_frozen")(trainable_flag(first_trainable, False))
mutant(10, "frozen_made_trainable", has_frozen)(trainable_flag(first_frozen, True))


@mutant(11, applies=lambda spec: shape_fault(spec) is not None)
def wrong_shape(source, spec):
    weight, change = shape_fault(spec)
    shape = keyword(add_weight(source, weight).value, "shape").value
    dims = [segment(source, element) for element in shape.elts]
    if change is None:
        dims.reverse()
    else:
        position, axis = change
        dims[position] = f"input_shape[{axis}]"
    text = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
    return splice(source, shape, text), (quoted(weight), "has shape")


@mutant(12)
def output_shape_off_by_one(source, spec):
    returned = find(source, "compute_output_shape", "return", lambda n: isinstance(n, ast.Return))
    indent = " " * returned.col_offset
    text = (
        f"{indent}shape = {segment(source, returned.value)}\n"
        f"{indent}return (*shape[:-1], shape[-1] + 1)\n"
    )
    return replace_lines(source, returned, text), ("compute_output_shape",)


@mutant(13)
def lambda_created_in_call(source, spec):
    """The blog's pattern: a new Lambda, with the same arguments, on every call."""
    created = segment(source, inner_lambda(source)).replace(
        "_lambda.BoundLambda", "keras.layers.Lambda", 1
    )
    called = find(source, "call", "self._forward", lambda n: is_self(n, "_forward"))
    return splice(source, called, created), ("created", "Lambda")


@mutant(14, applies=has_hyperparameters)
def hyperparameter_unchecked(source, spec):
    name = hyperparameter(spec)
    stored = assignment(source, "__init__", name)
    init = scope(ast.parse(source), "__init__")
    position = next(i for i, node in enumerate(init.body) if node.lineno == stored.lineno)
    check = init.body[position - 1]
    if not isinstance(check, ast.If):
        raise MutationError(f"__init__ does not check {name} before storing it")
    return delete(source, check), (quoted(name), "accepted")


@mutant(31, applies=lambda spec: read_hyperparameter(spec) is not None)
def hyperparameter_default_passed(source, spec):
    """build() hands the Lambda the default, whatever the layer was built with."""
    name = read_hyperparameter(spec)
    passed = entry(source, "build", name)[1]
    return splice(source, passed, default(source, name)), (quoted(name), "built with")


@mutant(15)
def traced_shapes_not_saved(source, spec):
    return delete(source, scope(ast.parse(source), "get_build_config")), ("traced",)


# Issue 13: what a spec declares about its inputs and masks, as the
# normalized spec (generator/includes/spec.jinja) works it out.


def normalized(spec):
    return _normalized(json.dumps(spec, sort_keys=True))


@cache
def _normalized(answers):
    return parse(json.loads(answers)).normalized


def masks_read(spec):
    return normalized(spec)["masks_read"]


def several(spec):
    return normalized(spec)["several"]


def int_input(spec):
    return next((i for i in normalized(spec)["inputs"] if i["dtype"] != "float32"), None)


def varies(spec):
    return any(d is None for i in normalized(spec)["inputs"] for d in i["shape"])


def other_input_dimension(spec):
    """A weight dimension read from an input other than the first, with the
    build() text that reads it and the first input's, when their sizes differ."""
    inputs = normalized(spec)["inputs"]
    for w in normalized(spec)["weights"]:
        for built, size in zip(w["build_shape"], w["sizes"], strict=True):
            for i in inputs[1:]:
                prefix = f"{i['build_argument']}["
                if built.startswith(prefix):
                    axis = int(built[len(prefix) : -1])
                    first = inputs[0]
                    if first["shape"][axis] not in (None, size):
                        return w["name"], built, f"{first['build_argument']}[{axis}]"
    return None


def call_method(source):
    return scope(ast.parse(source), "call")


@mutant(16, applies=lambda spec: bool(masks_read(spec)))
def mask_not_passed(source, spec):
    called = find(
        source,
        "call",
        "self._forward(...)",
        lambda n: isinstance(n, ast.Call) and is_self(n.func, "_forward"),
    )
    masks = keyword(called, "mask").value
    read = masks_read(spec)[0]
    if isinstance(masks, ast.List):
        element = next(e for e in masks.elts if isinstance(e, ast.Name) and e.id == read)
        mutated = splice(source, element, "None")
    else:
        mutated = splice(source, masks, "None")
    name = next(i["name"] for i in normalized(spec)["inputs"] if i["mask"] == read)
    return mutated, (f"input {quoted(name)}", "does not reach")


def compute_mask_return(source):
    return find(source, "compute_mask", "return", lambda n: isinstance(n, ast.Return))


@mutant(17, applies=lambda spec: spec.get("output_mask") is not None)
def output_mask_dropped(source, spec):
    returned = compute_mask_return(source)
    return splice(source, returned, "return None"), ("carries no mask",)


@mutant(18, applies=lambda spec: other_input_dimension(spec) is not None)
def second_input_shape_ignored(source, spec):
    weight, built, first = other_input_dimension(spec)
    shape = keyword(add_weight(source, weight).value, "shape").value
    element = next(e for e in shape.elts if segment(source, e) == built)
    return splice(source, element, first), (quoted(weight), "has shape")


@mutant(19, applies=lambda spec: int_input(spec) is not None)
def int_input_cast_to_float(source, spec):
    name = int_input(spec)["argument"]
    method = call_method(source)
    first = method.body[0]
    indent = " " * first.col_offset
    cast = f"{indent}{name} = keras.ops.cast({name}, self.compute_dtype)\n"
    return replace_lines(source, first, cast + lines_of(source, first)), (
        f"input {quoted(int_input(spec)['name'])}",
        "reaches the computation as",
    )


@mutant(20, applies=varies)
def varying_axes_fixed(source, spec):
    method = scope(ast.parse(source), "compute_output_shape")
    first = method.body[0]
    indent = " " * first.col_offset
    fixed = [
        f"{indent}{a.arg} = tuple(5 if d is None else d for d in {a.arg})\n"
        for a in method.args.args[1:]
    ]
    return replace_lines(source, first, "".join(fixed) + lines_of(source, first)), (
        "with None where sizes vary",
    )


@mutant(21, applies=lambda spec: bool(masks_read(spec)))
def mask_argument_misnamed(source, spec):
    read = masks_read(spec)[0]
    method = call_method(source)
    parameter = next(a for a in method.args.args if a.arg == read)
    renamed = f"{read}_given"
    body = lines_of(source, method.body[0], method.body[-1])
    body_renamed = body.replace(f"[{read}", f"[{renamed}").replace(f" {read}]", f" {renamed}]")
    body_renamed = body_renamed.replace(f"mask={read})", f"mask={renamed})")
    if body_renamed == body:
        raise MutationError(f"call() does not pass {read} on")
    mutated = replace_lines(source, method.body[0], body_renamed, end=method.body[-1])
    mutated = splice(mutated, parameter, renamed)
    return mutated, ("attached upstream", "does not reach")


@mutant(22, applies=lambda spec: spec.get("output_mask") is not None)
def another_output_mask(source, spec):
    returned = compute_mask_return(source)
    indent = " " * returned.col_offset
    text = (
        f"{indent}if mask is None:\n"
        f"{indent}    return None\n"
        f"{indent}return keras.ops.logical_not(keras.ops.cast(mask, 'bool'))\n"
    )
    return replace_lines(source, returned, text), ("another mask",)


# Issue 14: behaviour in training.


def forward_call(source):
    """The `self._forward(inputs, training=...)` call of call()."""
    return find(
        source,
        "call",
        "self._forward(..., training=...)",
        lambda n: isinstance(n, ast.Call) and is_self(n.func, "_forward"),
    )


@mutant(23, applies=reads_training)
def training_not_passed(source, spec):
    """call() hands the computation a constant instead of Keras's flag."""
    flag = keyword(forward_call(source), "training").value
    return splice(source, flag, "False"), ("training", "fit()")


def lambda_seed(source):
    """The value the Lambda's arguments give as `seed_generator`."""
    return entry(source, "build", "seed_generator")[1]


@mutant(24, applies=is_random)
def fixed_seed(source, spec):
    return splice(source, lambda_seed(source), "1337"), ("same output", "seed_generator")


@mutant(25, applies=is_random)
def other_generator(source, spec):
    """The computation draws from a generator of its own, which advances,
    while the layer's own (tracked and saved) never does."""
    mutated = splice(source, lambda_seed(source), "keras.random.SeedGenerator(self.seed)")
    return mutated, ("seed_generator did not advance",)


@mutant(26, applies=is_random)
def seed_ignored(source, spec):
    created = assignment(source, "__init__", "seed_generator").value
    return splice(source, created, "keras.random.SeedGenerator()"), ("seed is ignored",)


@mutant(27, applies=is_random)
def seed_state_not_saved(source, spec):
    source = delete(source, scope(ast.parse(source), "save_own_variables"))
    source = delete(source, scope(ast.parse(source), "load_own_variables"))
    return source, ("stores", "seed generator state")


@mutant(28, applies=has_state)
def state_assigned_in_inference(source, spec):
    """A frozen-layer guard that passes the trainable flag for `training`."""
    flag = keyword(forward_call(source), "training").value
    return splice(source, flag, "self.trainable"), (quoted(first_state(spec)), "predict()")


@mutant(29, applies=has_state)
def state_never_assigned(source, spec):
    weight = first_state(spec)
    assigned = find(
        source,
        "forward",
        f"{weight}.assign(...)",
        lambda n: (
            isinstance(n, ast.Expr)
            and isinstance(n.value, ast.Call)
            and isinstance(n.value.func, ast.Attribute)
            and n.value.func.attr == "assign"
            and isinstance(n.value.func.value, ast.Name)
            and n.value.func.value.id == weight
        ),
    )
    indent = " " * assigned.col_offset
    return replace_lines(source, assigned, f"{indent}pass\n"), (
        quoted(weight),
        "fit() did not change state weight",
    )


@mutant(30, applies=has_state)
def state_autocast(source, spec):
    weight = first_state(spec)
    mutated = delete(source, keyword(add_weight(source, weight).value, "autocast"))
    return mutated, (quoted(weight), "autocast=False")


@dataclass
class Verdict:
    """What a mutant's generated tests made of it."""

    spec: str
    mutant: Mutant
    keywords: tuple
    outcomes: list

    @property
    def failures(self):
        return [o for o in self.outcomes if o.failure]

    @property
    def caught_by(self):
        """The first failed test whose message holds every keyword, or None."""
        return next(
            (o for o in self.failures if all(k in (o.message or "") for k in self.keywords)),
            None,
        )

    def line(self):
        if self.caught_by:
            result = f"killed by {self.caught_by.name}"
        elif self.failures:
            result = f"failed, but no message names {' and '.join(self.keywords)}"
        else:
            result = f"SURVIVED ({len(self.outcomes)} tests ran)"
        return f"{self.spec:<18} {self.mutant.tag:<36} {result}  [{', '.join(self.keywords)}]"


def kill_table(verdicts):
    """One line per mutant, then the kill rate."""
    killed = sum(v.caught_by is not None for v in verdicts)
    return [v.line() for v in verdicts] + [f"killed {killed}/{len(verdicts)} mutants"]
