"""Bad answers are refused at the door, by Copier and by `generator check`.

One table drives both rule sets (copier.yml's Jinja validators and
generator/spec.py): each bad case must be refused by each, before anything is
written, with a message that names the field. Where both speak, they must
say the same thing, so the two rule sets cannot drift apart.
"""

import ast
import copy
import json
import math

import pytest
import yaml

from generator.cli import main
from generator.spec import asked, with_defaults
from rendering import REPO, render

DEFAULT_WEIGHTS = with_defaults({})["weights"]


def kernel(**changes):
    """The default weights with the first one (kernel) changed."""
    weights = copy.deepcopy(DEFAULT_WEIGHTS)
    weights[0].update(changes)
    return weights


def with_weight(**weight):
    return DEFAULT_WEIGHTS + [weight]


def state(**changes):
    """The default weights and a weight updated in training."""
    moving = {"name": "moving", "shape": ["input_dim"], "initializer": "zeros", "trainable": False}
    return with_weight(**{**moving, "updated_in_training": True, **changes})


DEFAULT_RETURN = "return (ops.matmul(x, kernel) + bias) * scale\n"
RETURN_OF_Y = DEFAULT_RETURN.replace("(x,", "(y,")


def units(**changes):
    return [{"name": "units", "type": "int", "default": 32, **changes}]


def query(**changes):
    """A float input of varying length (axis 1), 8 features."""
    return {"name": "query", "shape": [4, None, 8], **changes}


def ids(**changes):
    """An int input; `high=None` drops the key."""
    item = {"name": "ids", "shape": [4, None], "dtype": "int32", "high": 20, **changes}
    return {key: value for key, value in item.items() if value is not None}


# A computation of two inputs, query and value, reading the value's mask.
ATTENTION = (
    "scores = ops.matmul(ops.matmul(query, kernel), ops.transpose(value, (0, 2, 1)))\n"
    "scores = scores if value_mask is None else scores + ops.expand_dims(value_mask, 1)\n"
    "return ops.matmul(ops.softmax(scores), value) * scale + bias\n"
)


# (case id, answers, field the message must name). Answers not given take
# their defaults.
BAD = [
    ("layer-lower-camel", {"layer_name": "scaledDense"}, "layer_name"),
    ("layer-keyword", {"layer_name": "None"}, "layer_name"),
    ("layer-dash", {"layer_name": "Scaled-Dense"}, "layer_name"),
    ("layer-injection", {"layer_name": "A(keras.layers.Layer):\n    pass\nclass B"}, "layer_name"),
    ("package-upper", {"package_name": "Custom"}, "package_name"),
    ("package-keyword", {"package_name": "class"}, "package_name"),
    ("module-digit-first", {"module_name": "2dense"}, "module_name"),
    ("module-keyword", {"module_name": "import"}, "module_name"),
    ("module-path", {"module_name": "../evil"}, "module_name"),
    ("weight-not-identifier", {"weights": kernel(name="1kernel")}, "weights[0].name"),
    ("weight-keyword", {"weights": kernel(name="lambda")}, "weights[0].name"),
    ("weight-underscore", {"weights": kernel(name="_kernel")}, "weights[0].name"),
    ("weight-is-x", {"weights": kernel(name="x")}, "weights[0].name"),
    ("weight-is-ops", {"weights": kernel(name="ops")}, "weights[0].name"),
    ("weight-shadows-trainable", {"weights": kernel(name="trainable")}, "weights[0].name"),
    ("weight-shadows-weights", {"weights": kernel(name="weights")}, "weights[0].name"),
    ("weight-shadows-dtype", {"weights": kernel(name="dtype")}, "weights[0].name"),
    ("weight-shadows-losses", {"weights": kernel(name="losses")}, "weights[0].name"),
    ("weight-is-training", {"weights": kernel(name="training")}, "weights[0].name"),
    ("weight-is-self", {"weights": kernel(name="self")}, "weights[0].name"),
    ("weight-injection", {"weights": kernel(name="k=1; import os")}, "weights[0].name"),
    ("weight-name-list", {"weights": kernel(name=["kernel"])}, "weights[0].name"),
    ("hyper-type-list", {"hyperparameters": units(type=["int"])}, "hyperparameters[0].type"),
    ("layer-name-number", {"layer_name": 7}, "layer_name"),
    ("dim-mapping", {"weights": kernel(shape=[{"a": 1}, "units"])}, "weights[0].shape[0]"),
    ("hyper-shadows-name", {"hyperparameters": units(name="name")}, "hyperparameters[0].name"),
    ("hyper-shadows-built", {"hyperparameters": units(name="built")}, "hyperparameters[0].name"),
    ("weight-twice", {"weights": with_weight(name="bias", shape=[2])}, "weights[3].name"),
    ("weight-named-like-hyper", {"weights": kernel(name="units")}, "weights[0].name"),
    (
        "hyper-collides-generated-argument",
        {
            "hyperparameters": units()
            + [{"name": "kernel_initializer", "type": "str", "default": "x"}],
            "weights": kernel(),
        },
        "hyperparameters[1].name",
    ),
    ("shape-not-list", {"weights": kernel(shape=5)}, "weights[0].shape"),
    (
        "shape-nested-flow-style",
        {"weights": kernel(shape=[["input_shape", -1]])},
        "weights[0].shape[0]",
    ),
    ("dim-zero", {"weights": kernel(shape=[0, "units"])}, "weights[0].shape[0]"),
    ("dim-negative", {"weights": kernel(shape=[-3, "units"])}, "weights[0].shape[0]"),
    ("dim-float", {"weights": kernel(shape=[2.5, "units"])}, "weights[0].shape[0]"),
    ("dim-bool", {"weights": kernel(shape=[True, "units"])}, "weights[0].shape[0]"),
    ("dim-unknown-name", {"weights": kernel(shape=["input_dim", "unit"])}, "weights[0].shape[1]"),
    (
        "dim-float-hyperparameter",
        {"hyperparameters": units(type="float", default=2.0), "weights": kernel()},
        "weights[0].shape[1]",
    ),
    (
        "dim-batch-axis",
        {"weights": kernel(shape=["input_shape[0]", "units"])},
        "weights[0].shape[0]",
    ),
    (
        "dim-injection",
        {"weights": kernel(shape=["units); import os; (", 1])},
        "weights[0].shape[0]",
    ),
    ("initializer-unknown", {"weights": kernel(initializer="glorot")}, "weights[0].initializer"),
    ("initializer-null", {"weights": kernel(initializer=None)}, "weights[0].initializer"),
    (
        "initializer-needs-config",
        {"weights": kernel(initializer="constant")},
        "weights[0].initializer",
    ),
    (
        "initializer-no-class-name",
        {"weights": kernel(initializer={"config": {}})},
        "weights[0].initializer",
    ),
    (
        "initializer-unknown-class",
        {"weights": kernel(initializer={"class_name": "Gaussian"})},
        "weights[0].initializer.class_name",
    ),
    (
        "initializer-class-injection",
        {"weights": kernel(initializer={"class_name": 'Zeros"); import os; ("'})},
        "weights[0].initializer.class_name",
    ),
    (
        "initializer-config-key",
        {"weights": kernel(initializer={"class_name": "RandomNormal", "config": {"std dev": 1}})},
        "weights[0].initializer.config",
    ),
    (
        "initializer-config-value",
        {
            "weights": kernel(
                initializer={"class_name": "RandomNormal", "config": {"stddev": {"a": 1}}}
            )
        },
        "weights[0].initializer.config.stddev",
    ),
    ("initializer-number", {"weights": kernel(initializer=3)}, "weights[0].initializer"),
    (
        "initializer-serialized-custom",
        {
            "weights": kernel(
                initializer={"module": None, "class_name": "Zeros", "registered_name": "My>Zeros"}
            )
        },
        "weights[0].initializer.module",
    ),
    (
        "dimension-float-hyperparameter",
        {
            "hyperparameters": units() + [{"name": "rate", "type": "float", "default": 0.5}],
            "weights": kernel(shape=["input_dim", "rate"]),
        },
        "weights[0].shape[1]",
    ),
    ("regularizer-unknown", {"weights": kernel(regularizer="l3")}, "weights[0].regularizer"),
    (
        "regularizer-not-keras-spelling",
        {"weights": kernel(regularizer="l1_l2")},
        "weights[0].regularizer",
    ),
    (
        "regularizer-mapping-unknown",
        {"weights": kernel(regularizer={"class_name": "L3"})},
        "weights[0].regularizer.class_name",
    ),
    ("constraint-unknown", {"weights": kernel(constraint="positive")}, "weights[0].constraint"),
    (
        "constraint-mapping-no-class",
        {"weights": kernel(constraint={"max_value": 2})},
        "weights[0].constraint.max_value",
    ),
    ("trainable-string", {"weights": kernel(trainable="yes")}, "weights[0].trainable"),
    ("trainable-int", {"weights": kernel(trainable=1)}, "weights[0].trainable"),
    ("weight-unknown-key", {"weights": kernel(initialiser="zeros")}, "weights[0].initialiser"),
    ("weight-not-mapping", {"weights": ["kernel"]}, "weights[0]"),
    ("weights-empty", {"weights": []}, "weights"),
    (
        "weights-too-large-together",
        {
            "hyperparameters": [],
            "weights": [{"name": f"w{i}", "shape": [2000, 2000]} for i in range(3)],
            "computation": "return x * ops.sum(w0) * ops.sum(w1) * ops.sum(w2)\n",
        },
        "weights",
    ),
    ("weights-mapping", {"weights": {"kernel": [1]}}, "weights"),
    ("hyper-type-unknown", {"hyperparameters": units(type="double")}, "hyperparameters[0].type"),
    (
        "hyper-default-str-for-int",
        {"hyperparameters": units(default="32")},
        "hyperparameters[0].default",
    ),
    (
        "hyper-default-bool-for-int",
        {"hyperparameters": units(default=True)},
        "hyperparameters[0].default",
    ),
    (
        "hyper-default-missing",
        {"hyperparameters": [{"name": "units", "type": "int"}]},
        "hyperparameters[0].default",
    ),
    (
        "hyper-default-nan",
        {"hyperparameters": units() + [{"name": "rate", "type": "float", "default": math.nan}]},
        "hyperparameters[1].default",
    ),
    (
        "hyper-test-value-type",
        {"hyperparameters": units(test_value="big")},
        "hyperparameters[0].test_value",
    ),
    (
        "hyper-test-value-same",
        {"hyperparameters": units(test_value=32)},
        "hyperparameters[0].test_value",
    ),
    ("hypers-not-list", {"hyperparameters": "units"}, "hyperparameters"),
    ("computation-empty", {"computation": "  \n"}, "computation"),
    ("computation-no-return", {"computation": "y = x * scale\n"}, "computation"),
    (
        "computation-formatter-directive",
        {"computation": "y = x * 2.0\n# fmt: on\n" + DEFAULT_RETURN},
        "computation: line 2",
    ),
    ("input-shape-rank-1", {"example_input_shape": [8]}, "example_input_shape"),
    ("input-shape-zero", {"example_input_shape": [8, 0]}, "example_input_shape"),
    ("input-shape-strings", {"example_input_shape": ["8", 16]}, "example_input_shape"),
    ("input-shape-not-list", {"example_input_shape": 16}, "example_input_shape"),
    # Issue 14: behaviour in training.
    (
        "state-trainable",
        {"weights": kernel(updated_in_training=True)},
        "weights[0].updated_in_training",
    ),
    (
        "state-flag-text",
        {"weights": state(updated_in_training="yes")},
        "weights[3].updated_in_training",
    ),
    ("random-int", {"random": 1}, "random"),
    (
        "random-seed-taken",
        {
            "random": True,
            "hyperparameters": units() + [{"name": "seed", "type": "int", "default": 1}],
        },
        "random",
    ),
    (
        "random-seed-generator-taken-by-an-input",
        {"random": True, "inputs": [query(name="seed_generator")]},
        "random",
    ),
    (
        "hyper-named-like-a-choices-constant",
        {
            "hyperparameters": units()
            + [
                {"name": "mode", "type": "str", "default": "a", "choices": ["a", "b"]},
                {"name": "MODE_CHOICES", "type": "str", "default": "ab"},
            ]
        },
        "hyperparameters[2].name",
    ),
    ("hyper-named-like-one", {"hyperparameters": units(name="l")}, "hyperparameters[0].name"),
    (
        "hyper-named-like-a-default-constant",
        {
            "hyperparameters": units()
            + [{"name": "KERNEL_INITIALIZER", "type": "int", "default": 1}]
        },
        "hyperparameters[1].name",
    ),
    (
        "frozen-weight-regularized",
        {"weights": kernel(trainable=False, regularizer="l2")},
        "weights[0].regularizer",
    ),
    (
        "frozen-weight-constrained",
        {"weights": kernel(trainable=False, constraint="non_neg")},
        "weights[0].constraint",
    ),
    (
        "seed-generator-without-random",
        {"computation": "y = keras.random.normal((), seed=seed_generator)\n" + DEFAULT_RETURN},
        "computation",
    ),
    (
        "training-misspelled",
        {"computation": "if trainig:\n    x = -x\n" + DEFAULT_RETURN},
        "computation",
    ),
    (
        "computation-makes-a-layer",
        {"computation": "return keras.layers.Dense(3)((ops.matmul(x, kernel) + bias) * scale)\n"},
        "computation",
    ),
    ("random-never-draws", {"random": True, "computation": DEFAULT_RETURN}, "computation"),
    (
        "random-noise-in-inference",
        {
            "random": True,
            "computation": "x = x + keras.random.normal(ops.shape(x), seed=seed_generator)\n"
            + DEFAULT_RETURN,
        },
        "computation",
    ),
    (
        "state-never-assigned",
        {
            "weights": state(),
            "computation": "if training:\n    x = x + ops.mean(moving)\nreturn x * (1.0 + ops.mean(kernel) + ops.mean(bias) + ops.mean(scale))\n",
        },
        "computation",
    ),
    (
        "state-assigned-always",
        {
            "weights": state(),
            "computation": "moving.assign(moving * 0.5)\nreturn x * (1.0 + ops.mean(kernel) + ops.mean(bias) + ops.mean(scale) + ops.mean(moving))\n",
        },
        "computation",
    ),
    (
        "input-shape-rank-too-small",
        {"weights": kernel(shape=["input_shape[2]", "units"]), "example_input_shape": [8, 16]},
        "example_input_shape",
    ),
    # Issue 13: inputs, integer inputs, varying axes, masks.
    ("inputs-not-list", {"inputs": {"query": [4, 8]}}, "inputs"),
    ("input-unknown-key", {"inputs": [query(dtpye="int32")]}, "inputs[0].dtpye"),
    ("input-name-keyword", {"inputs": [query(name="lambda")]}, "inputs[0].name"),
    ("input-name-ops", {"inputs": [query(name="ops")]}, "inputs[0].name"),
    ("input-name-mask", {"inputs": [query(name="mask")]}, "inputs[0].name"),
    ("input-twice", {"inputs": [query(), query()]}, "inputs[1].name"),
    ("input-named-like-hyper", {"inputs": [query(name="units")]}, "inputs[0].name"),
    (
        "input-mask-is-hyper",
        {"hyperparameters": units() + units(name="query_mask"), "inputs": [query()]},
        "inputs[0].name",
    ),
    ("input-shape-rank-1", {"inputs": [query(shape=[4])]}, "inputs[0].shape"),
    ("input-shape-null-batch", {"inputs": [query(shape=[None, 5, 8])]}, "inputs[0].shape"),
    ("input-shape-zero", {"inputs": [query(shape=[4, 0, 8])]}, "inputs[0].shape"),
    ("input-dtype-unknown", {"inputs": [query(dtype="float16")]}, "inputs[0].dtype"),
    ("input-high-on-float", {"inputs": [query(high=10)]}, "inputs[0].high"),
    ("input-high-missing", {"inputs": [ids(high=None)]}, "inputs[0].high"),
    ("input-high-one", {"inputs": [ids(high=1)]}, "inputs[0].high"),
    ("input-high-unknown-name", {"inputs": [ids(high="vocab")]}, "inputs[0].high"),
    # Example values are drawn into the input's dtype.
    ("input-high-past-int32", {"inputs": [ids(high=2**31 + 1)]}, "inputs[0].high"),
    # A float built from an int past the floats (the test value halves it).
    (
        "hyper-float-past-floats",
        {"hyperparameters": units(type="float", default=10**400)},
        "hyperparameters[0].default",
    ),
    (
        "config-number-past-floats",
        {"weights": kernel(regularizer={"class_name": "L2", "config": {"l2": 10**400}})},
        "weights[0].regularizer.config.l2",
    ),
    (
        "input-high-hyper-below-2",
        {"hyperparameters": units(name="vocab", default=1), "inputs": [ids(high="vocab")]},
        "inputs[0].high",
    ),
    (
        "dim-batch-axis-from-the-end",
        {"weights": kernel(shape=["input_shape[-3]", "units"]), "example_input_shape": [4, 5, 6]},
        "example_input_shape",
    ),
    (
        "str-default-yaml-bool",
        {"hyperparameters": units(type="str", default=True)},
        "hyperparameters[0].default",
    ),
    # Copier would take the default without a word.
    ("misspelt-question", {"weigths": DEFAULT_WEIGHTS}, "weigths"),
    ("computed-answer-given", {"spec": {"forward": "forward"}}, "spec"),
    # tests/ is on the project's import path, with the shared checks in it.
    ("package-shadows-a-shared-check", {"package_name": "behaviour_checks"}, "package_name"),
    # protobuf's, which TensorFlow imports (installed as tensorflow-cpu here).
    ("package-shadows-a-tensorflow-requirement", {"package_name": "google"}, "package_name"),
    # Keras tries to import it whenever it is imported, installed or not.
    ("package-shadows-an-optional-keras-import", {"package_name": "matplotlib"}, "package_name"),
    (
        "dim-unknown-input",
        {"inputs": [query()], "weights": kernel(shape=["key.shape[-1]", "units"])},
        "weights[0].shape[0]",
    ),
    (
        "dim-input-axis-past-rank",
        {"inputs": [query()], "weights": kernel(shape=["query.shape[3]", "units"])},
        "weights[0].shape[0]",
    ),
    (
        "dim-input-varying-axis",
        {"inputs": [query()], "weights": kernel(shape=["query.shape[1]", "units"])},
        "weights[0].shape[0]",
    ),
    (
        "dim-input-batch-axis",
        {"inputs": [query()], "weights": kernel(shape=["query.shape[0]", "units"])},
        "weights[0].shape[0]",
    ),
    (
        "dim-input-dim-varies",
        {"inputs": [query(shape=[4, 5, None])], "weights": kernel()},
        "weights[0].shape[0]",
    ),
    (
        "weight-named-like-input",
        {"inputs": [query()], "weights": kernel(name="query")},
        "weights[0].name",
    ),
    (
        "weight-named-like-mask",
        {"inputs": [query()], "weights": kernel(name="query_mask")},
        "weights[0].name",
    ),
    ("weight-named-mask", {"weights": kernel(name="mask")}, "weights[0].name"),
    (
        "example-varying-axis-sizes-weight",
        {"weights": kernel(shape=["input_shape[1]", "units"]), "example_input_shape": [4, None, 8]},
        "example_input_shape",
    ),
    (
        "example-varying-input-dim",
        {"example_input_shape": [4, 5, None]},
        "example_input_shape",
    ),
    ("example-null-batch", {"example_input_shape": [None, 16]}, "example_input_shape"),
    (
        "example-not-first-input",
        {"inputs": [query()], "example_input_shape": [4, 5, 8]},
        "example_input_shape",
    ),
    (
        "computation-mask-of-no-input",
        {
            "inputs": [query(), query(name="value")],
            "computation": ATTENTION.replace("value_mask", "key_mask"),
        },
        "computation",
    ),
    (
        "computation-mask-with-several-inputs",
        {
            "inputs": [query(), query(name="value")],
            "computation": ATTENTION.replace("value_mask", "mask"),
        },
        "computation",
    ),
    (
        "computation-reads-x-with-inputs",
        {"inputs": [query()], "computation": "return x * scale\n"},
        "computation",
    ),
    ("output-mask-number", {"output_mask": 3}, "output_mask"),
    ("output-mask-typo", {"output_mask": "inptu"}, "output_mask"),
    ("output-mask-folded", {"output_mask": "m = mask return m"}, "output_mask"),
    # Copier reads the answer as YAML again: ' #' ends it, ': ' makes a mapping.
    (
        "output-mask-cut-by-a-comment",
        {"example_input_shape": [4, None, 16], "output_mask": "return mask if 'a #b' else mask"},
        "output_mask: 'return mask if \\'a' leaves a string open",
    ),
    (
        "output-mask-read-as-a-mapping",
        {"example_input_shape": [4, None, 16], "output_mask": "return mask if 'a: b' else mask"},
        "output_mask: YAML read the body as a mapping (': ' in it)",
    ),
    ("output-mask-reads-weight", {"output_mask": "return kernel > 0\n"}, "output_mask"),
    (
        "output-mask-reads-second-input",
        {
            "inputs": [query(), query(name="value")],
            "computation": ATTENTION,
            "output_mask": "return value_mask\n",
        },
        "output_mask",
    ),
    ("output-mask-undefined", {"output_mask": "return np.ones(3)\n"}, "output_mask"),
]

# What only Python can check: the computation parsed, and unknown questions.
BAD_FOR_CLI_ONLY = [
    (
        "name-read-in-an-f-string-only",
        {"computation": 'name = f"{ops.shape(x)}"\nreturn (x @ kernel + bias) * scale\n'},
        "computation: reads ops only where the rules",
    ),
    ("computation-syntax", {"computation": "return x +\n"}, "computation: line 1"),
    # The tests try the default and one other choice; check tries them all.
    (
        "third-choice-fails",
        {
            "hyperparameters": units()
            + [{"name": "mode", "type": "str", "default": "a", "choices": ["a", "b", "c"]}],
            "computation": 'y = x\nif mode == "c":\n    y = ops.swishh(y)\n' + RETURN_OF_Y,
        },
        "computation: line 3: fails on inputs (8, 16) with mode='c': module 'keras.ops' has no",
    ),
    (
        "computation-binds-ops",
        {"computation": "ops = keras.ops\n" + DEFAULT_RETURN},
        "computation: line 1: binds 'ops'",
    ),
    (
        "computation-unseeded-draw",
        {"computation": "y = keras.random.dropout(x, 0.1)\n" + DEFAULT_RETURN.replace("x,", "y,")},
        "computation: line 1: keras.random.dropout draws without seed=",
    ),
    ("computation-undefined-name", {"computation": "return np.tanh(x)\n"}, "computation"),
    (
        "computation-imports",
        {"computation": "import tensorflow as tf\nreturn tf.nn.relu(x)\n"},
        "computation: line 1",
    ),
    ("computation-bare-return", {"computation": "y = x\nreturn\n"}, "computation"),
    (
        "computation-return-in-nested-def",
        {"computation": "def f():\n    return 1\ny = f()\n"},
        "computation",
    ),
    ("unknown-question", {"layer_nmae": "Foo"}, "layer_nmae"),
    ("output-mask-syntax", {"output_mask": "return mask +\n"}, "output_mask: line 1"),
    (
        "output-mask-imports",
        {"output_mask": "import numpy\nreturn mask\n"},
        "output_mask",
    ),
]


def check(tmp_path, capsys, answers, *options):
    spec = tmp_path / "spec.yml"
    spec.write_text(yaml.safe_dump(answers))
    capsys.readouterr()
    status = main(["check", *options, str(spec)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(("answers", "field"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_copier_and_check_refuse_with_the_same_message(tmp_path, capsys, answers, field):
    dest = tmp_path / "project"
    with pytest.raises(ValueError, match="Validation error") as refused:
        render(dest, answers)
    message = str(refused.value).split(": ", 1)[1]
    assert message.startswith(f"{field}:"), message
    assert "\n" not in message
    assert not dest.exists() or not any(dest.iterdir()), "Copier wrote files for a bad answer"

    status, out, err = check(tmp_path, capsys, answers)
    assert status == 2 and out == ""
    assert "Traceback" not in err
    assert err.splitlines()[0] == message, "Copier and generator check disagree"


@pytest.mark.parametrize(
    ("answers", "field"), [c[1:] for c in BAD_FOR_CLI_ONLY], ids=[c[0] for c in BAD_FOR_CLI_ONLY]
)
def test_check_refuses_what_only_python_can_see(tmp_path, capsys, answers, field):
    status, out, err = check(tmp_path, capsys, answers)
    assert status == 2 and out == ""
    assert "Traceback" not in err
    assert err.startswith(field), err


def test_the_table_is_large():
    assert len(BAD) >= 30


def test_the_rules_know_the_questions_copier_asks():
    vocabulary = json.loads((REPO / "generator/includes/vocabulary.json").read_text())
    assert vocabulary["QUESTIONS"] == sorted(asked())


def test_no_package_name_can_shadow_a_shared_check():
    """The project's tests/ is on its import path: a package named like a
    module there would shadow it, or be shadowed."""
    vocabulary = json.loads((REPO / "generator/includes/vocabulary.json").read_text())
    shared = {path.stem for path in (REPO / "template/tests").glob("*.py")}
    assert shared <= set(vocabulary["PROJECT_MODULES"])


# What `keras.initializers.serialize` writes, pasted from a saved config.
SERIALIZED_ORTHOGONAL = {
    "module": "keras.initializers",
    "class_name": "Orthogonal",
    "config": {"gain": 2.0, "seed": None},
    "registered_name": None,
}


GOOD = [
    (
        "negative-axis",
        {"weights": kernel(shape=["input_shape[-2]", "units"]), "example_input_shape": [4, 3, 5]},
    ),
    (
        "no-hyperparameters",
        {
            "hyperparameters": [],
            "weights": [{"name": "w_2", "shape": ["input_dim"], "initializer": "ones"}],
            "computation": "return x * w_2\n",
        },
    ),
    (
        "digits-and-underscores",
        {
            "layer_name": "Mlp2Block",
            "weights": kernel(name="kernel_2x"),
            "computation": "return (ops.matmul(x, kernel_2x) + bias) * scale\n",
        },
    ),
    ("mapping-with-no-config", {"weights": kernel(initializer={"class_name": "Orthogonal"})}),
    ("keras-serialized-form", {"weights": kernel(initializer=SERIALIZED_ORTHOGONAL)}),
    # Python and the template both break lines at a carriage return.
    ("carriage-return-line-breaks", {"computation": "y = x * 2.0\r" + RETURN_OF_Y}),
    # The default hyperparameter, units, only where something given reads it.
    (
        "hyperparameters-left-out",
        {"weights": [{"name": "gain", "shape": ["input_dim"]}], "computation": "return x * gain\n"},
    ),
    # Blanks the project's linter refuses, which the module leaves out.
    (
        "trailing-blanks",
        {"computation": "y = x * 2.0  \n  \n" + RETURN_OF_Y.replace("\n", " \t\n")},
    ),
    # The default computation of a random layer with a state weight.
    ("random-and-state-defaults", {"random": True, "weights": state()}),
]


@pytest.mark.parametrize("answers", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_good_edge_cases_are_accepted(tmp_path, capsys, answers):
    status, out, err = check(tmp_path, capsys, answers)
    assert status == 0 and out.startswith("ok: "), err
    project = render(tmp_path / "project", answers)
    for module in project.rglob("*.py"):
        compile(module.read_text(), str(module), "exec")


TRICKY_TEXT = 'He said """hi"""; import os; os.system("echo pwned") \\ end"'


def test_text_answers_cannot_inject_code(tmp_path):
    """Text reaches source only as docstrings and literals: whatever the text,
    the module's statements are the generated ones and the values round-trip."""
    tricky_default = '"; import os; os.system("echo pwned"); x = "\n\\\'\u00e9'
    answers = {
        "description": TRICKY_TEXT,
        "hyperparameters": units(doc=TRICKY_TEXT)
        + [
            {
                "name": "mode",
                "type": "str",
                "default": tricky_default,
                "test_value": TRICKY_TEXT,
                "doc": "'''",
            }
        ],
        "weights": kernel(
            doc=TRICKY_TEXT,
            initializer={
                "class_name": "VarianceScaling",
                "config": {"mode": '"); import os; ("', "distribution": "truncated_normal"},
            },
        ),
    }
    project = render(tmp_path / "project", answers)
    module = project / "src" / "custom_layers" / "scaled_dense.py"
    tree = ast.parse(module.read_text())
    assert ast.get_docstring(tree).startswith(TRICKY_TEXT)
    top_level = [type(node).__name__ for node in tree.body]
    assert top_level == [
        "Expr",
        "Import",
        "ImportFrom",
        "ImportFrom",
        "Assign",
        "Assign",
        "FunctionDef",
        "ClassDef",
    ]
    constants = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
    }
    layer = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    assert ast.get_docstring(layer).startswith(TRICKY_TEXT)
    init = next(n for n in layer.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    defaults = dict(zip([a.arg for a in init.args.args[1:]], init.args.defaults, strict=True))
    assert ast.literal_eval(defaults["mode"]) == tricky_default
    assert ast.unparse(defaults["kernel_initializer"]) == "KERNEL_INITIALIZER"
    assert constants["KERNEL_INITIALIZER"]["config"]["mode"] == '"); import os; ("'
    test_module = ast.parse((project / "tests" / "test_scaled_dense.py").read_text())
    case = next(
        n for n in test_module.body if isinstance(n, ast.Assign) and n.targets[0].id == "CASE"
    )
    test_values = next(k.value for k in case.value.keywords if k.arg == "test_values")
    assert ast.literal_eval(test_values)["mode"] == TRICKY_TEXT


@pytest.mark.parametrize(
    ("layer_name", "module_name"),
    [
        ("ScaledDense", "scaled_dense"),
        ("Conv2DTranspose", "conv2d_transpose"),
        ("LSTMCell", "lstm_cell"),
        ("Layer2Norm", "layer2_norm"),
    ],
)
def test_the_default_module_is_named_as_keras_names_its_modules(layer_name, module_name):
    """copier.yml's default, rendered as Copier renders it."""
    assert with_defaults({"layer_name": layer_name})["module_name"] == module_name


def test_keras_serialized_form_is_written_as_class_name_and_config(tmp_path):
    project = render(tmp_path / "project", {"weights": kernel(initializer=SERIALIZED_ORTHOGONAL)})
    layer = (project / "src/custom_layers/scaled_dense.py").read_text()
    assert '"class_name": "Orthogonal", "config": {"gain": 2.0, "seed": None}' in layer
    assert "registered_name" not in layer and '"module"' not in layer


@pytest.mark.parametrize(
    ("answers", "messages"),
    [
        (
            {"weights": kernel(shape=["input_shape[0]", "units"])},
            ["weights[0].shape[0]: input_shape[0] is the batch axis, which has no static size"],
        ),
        (
            {
                "hyperparameters": units() + [{"name": "rate", "type": "float", "default": 0.5}],
                "weights": kernel(shape=["input_dim", "rate"]),
            },
            ["weights[0].shape[1]: 'rate' is a float hyperparameter: a dimension takes an int one"],
        ),
        (
            {"weights": kernel(initializer={"module": "my.pkg", "class_name": "Zeros"})},
            [
                "weights[0].initializer.module: 'my.pkg' is not keras.initializers: "
                "only Keras's own initializers are known here"
            ],
        ),
        # Lines written without `|` in a spec file: YAML folds them into one.
        (
            {"output_mask": "m = mask return m"},
            [
                "output_mask: 'm = mask return m' is not null, input, or a one-line body "
                "`return <mask>` (YAML joined its lines into one: write the body on one line)"
            ],
        ),
        (
            {"computation": "y = " + DEFAULT_RETURN.strip().removeprefix("return ") + " return y"},
            [
                "computation: line 1: invalid syntax "
                "(YAML joined its lines into one: begin the block with `|`)"
            ],
        ),
        # Ruff, as the project's CI runs it, on the spec's own code.
        (
            {
                "computation": "twice = lambda v: v * 2.0\nfor i in range(2):\n"
                "    x = twice(x)\n" + DEFAULT_RETURN
            },
            [
                "computation: line 1: E731 Do not assign a `lambda` expression, use a `def` "
                "(ruff, as the project's CI runs it)",
                "computation: line 2: B007 Loop control variable `i` not used within loop body "
                "(ruff, as the project's CI runs it)",
            ],
        ),
        (
            {
                "example_input_shape": [4, None, 16],
                "output_mask": "return mask if not mask is None else mask",
            },
            [
                "output_mask: line 1: E714 Test for object identity should be `is not` "
                "(ruff, as the project's CI runs it)"
            ],
        ),
    ],
)
def test_each_fault_is_reported_once_and_named(tmp_path, capsys, answers, messages):
    status, out, err = check(tmp_path, capsys, answers)
    assert status == 2 and err.splitlines() == messages


def test_names_differing_only_in_case_are_other_names(tmp_path, capsys):
    """Jinja's `unique` ignores case unless told: `Training` hid `training`
    from the names the computation reads, and `A` was a second `a`."""
    answers = {
        "hyperparameters": units()
        + [{"name": "mode", "type": "str", "default": "a", "choices": ["a", "A"]}],
        "weights": kernel(shape=["input_dim", "units"]),
        "computation": "Training = 1.0\nKernel = 2.0\n"
        "y = ops.matmul(x, kernel) * Kernel * (2.0 if training else Training)\n"
        'return y if mode == "a" else -y\n',
    }
    answers["weights"] = answers["weights"][:1]
    status, out, err = check(tmp_path, capsys, answers)
    assert status == 0, err
    layer = (
        render(tmp_path / "project", answers) / "src/custom_layers/scaled_dense.py"
    ).read_text()
    assert "def scaled_dense_forward(x, kernel, mode, training):" in layer


@pytest.mark.parametrize(
    "computation",
    [
        "h = ops.matmul(x, kernel); y = h + bias\nreturn y * scale\n",
        "y = x * 2.0; " + RETURN_OF_Y,
    ],
)
def test_statements_after_a_semicolon_are_read_and_left_to_the_linter(
    tmp_path, capsys, computation
):
    """The rules read the names after a semicolon (a `return` too); the
    project's linter refuses the semicolon itself, and so does full check."""
    status, out, err = check(tmp_path, capsys, {"computation": computation}, "--quick")
    assert status == 0, err
    status, out, err = check(tmp_path, capsys, {"computation": computation})
    assert status == 2
    assert err.startswith("computation: line 1: E702 Multiple statements on one line"), err


def test_a_hyperparameter_used_nowhere_is_accepted_with_a_warning(tmp_path, capsys):
    """Copier asks for the hyperparameters first, units by default, and cannot
    take one back when the weights and computation turn out not to read it."""
    answers = {
        "hyperparameters": units() + [{"name": "rate", "type": "float", "default": 0.5}],
        "computation": "y = ops.matmul(x, kernel) + bias\nreturn y * scale\n",
    }
    status, out, err = check(tmp_path, capsys, answers, "--quick")
    assert status == 0 and out.startswith("ok: ")
    assert err.splitlines() == [
        "warning: hyperparameters[1]: 'rate' is used nowhere: not by the computation, "
        "the output mask, a weight's shape or an input's high (leave it out)"
    ]
