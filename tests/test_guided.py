"""`python -m generator new [DEST]` with no spec file, driven through a
pseudo-terminal as a user answers it: one question at a time, every answer
checked by `generator check`'s rules, the layer rendered by real Copier."""

import os
import subprocess
import sys
import time

import pytest
import yaml

from rendering import ProjectRun, load_spec
from terminal import (
    BACKSPACE,
    CTRL_C,
    DOWN,
    EDITOR,
    ENTER,
    TIMEOUT,
    Terminal,
    clear,
    environment,
    python,
    rule_message,
)


def guided(cwd, *args, **options):
    return Terminal(*python("-m", "generator", "new", *args), cwd=cwd, **options)


def check(spec, cwd):
    return subprocess.run(
        [sys.executable, "-m", "generator", "check", str(spec)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment(),
    )


def an_editor(tmp_path, text):
    """The environment of a user whose $EDITOR writes `text` into the file
    it is given."""
    (tmp_path / "typed").write_text(text)
    editor = tmp_path / "editor"
    editor.write_text(f"#!/bin/sh\ncat '{tmp_path / 'typed'}' > \"$1\"\n")
    editor.chmod(0o755)
    return {"EDITOR": str(editor), "VISUAL": str(editor)}


def start_the_offset_layer(user):
    """A layer's description, no argument, the one float input, and the name
    and shape of its weight `offset`."""
    user.answer("What does it compute?", "Adds a learned offset.")
    user.press("Add a constructor argument", "n")
    user.press("Declare the inputs", ENTER)
    user.answer("Name of a weight", "offset")
    user.answer("Shape of offset", "4")


def finish_the_offset_layer(user):
    """The rest of a layer whose one weight `offset` has had its name, shape
    and initializer: defaults for the weight, a 2-D input, `x + offset`."""
    user.answer("Regularizer of offset", "")
    user.answer("Constraint of offset", "")
    user.press("Is offset trainable?", ENTER)
    user.answer("What is offset?", "")
    user.press("Add another weight?", "n")
    user.answer("Shape of an example input", "8, 4")
    user.press("Does the layer draw random numbers", ENTER)
    user.answer("Computation, the body of call(x)", "return x + offset")
    user.press("Output mask", ENTER)


def only_an_int_argument(user, name, default):
    user.press("Add a constructor argument", "y")
    user.answer("Name of the argument", name)
    user.press(f"Type of {name}", ENTER)  # int, the first type offered
    user.answer(f"Default of {name} (int)", default)
    user.answer(f"What is {name}?", "")
    user.press("Add another hyperparameter?", "n")


def a_weight(user, name, shape, initializer, another):
    """A trainable weight with no regularizer, constraint nor doc."""
    user.answer("Name of a weight", name)
    user.answer(f"Shape of {name}", shape)
    user.answer(f"Initializer of {name}", initializer)
    user.answer(f"Regularizer of {name}", "")
    user.answer(f"Constraint of {name}", "")
    user.press(f"Is {name} trainable?", ENTER)
    user.answer(f"What is {name}?", "")
    user.press("Add another weight?", "y" if another else "n")


def passes_its_tests(project):
    """Whether the rendered project's own tests pass, on TensorFlow."""
    run = ProjectRun(project, "tensorflow", args=("-x",))
    failed = [o for o in run.outcomes() if o.failure]
    assert run.outcomes() and not failed, run.output()[-3000:]


def test_a_layer_with_no_int_hyperparameter_renders_and_passes_its_tests(tmp_path):
    """Float, bool and str arguments: nothing for a `units`-shaped default to
    use. The project's own tests run once, on TensorFlow."""
    user = guided(tmp_path, "my-layers")
    user.answer("Class name of the layer", "SoftGate")
    user.answer("What does it compute?", "A sigmoid gate with a learned per-channel gain.")
    user.press("Add a constructor argument", "y")
    user.answer("Name of the argument", "temperature")
    user.press("Type of temperature", DOWN + ENTER)  # float
    user.answer("Default of temperature (float)", "2")
    user.answer("What is temperature?", "Divides the gated input.")
    user.press("Add another hyperparameter?", "y")
    user.answer("Name of the argument", "center")
    user.press("Type of center", DOWN + DOWN + ENTER)  # bool
    user.press("Default of center", "y")
    user.answer("What is center?", "")
    user.press("Add another hyperparameter?", "y")
    user.answer("Name of the argument", "activation")
    user.press("Type of activation", DOWN * 3 + ENTER)  # str
    user.answer("Values activation may take", "sigmoid, tanh")
    user.press("Default of activation", ENTER)  # the first value offered
    user.answer("What is activation?", "")
    user.press("Add another hyperparameter?", "n")
    user.press("Declare the inputs", ENTER)
    user.answer("Name of a weight", "gain")
    user.answer("Shape of gain", "input_shape[-1]")
    user.answer("Initializer of gain", "random_normal")
    user.answer("Regularizer of gain", "l2")
    user.answer("Constraint of gain", "")
    user.press("Is gain trainable?", ENTER)
    user.answer("What is gain?", "Per-channel gain.")
    user.press("Add another weight?", "n")
    user.answer("Shape of an example input", "8, 6")
    user.press("Does the layer draw random numbers", ENTER)
    user.answer(
        "Computation, the body of call(x)",
        "return keras.activations.get(activation)(x * gain / temperature)"
        " - (0.5 if center else 0.0)",
    )
    user.press("Output mask", ENTER)
    user.expect("layer_name: SoftGate")  # the spec, shown before it is written
    user.press("Render SoftGate into my-layers?", ENTER)
    assert user.finish() == 0, user.transcript()
    assert "test it: cd my-layers && python -m pytest" in user.transcript()

    project = tmp_path / "my-layers"
    spec = project / "specs" / "soft_gate.yml"
    assert check(spec, project).returncode == 0, check(spec, project).stderr
    answers = load_spec(spec)
    assert answers["hyperparameters"] == [
        {"name": "temperature", "type": "float", "default": 2.0, "doc": "Divides the gated input."},
        {"name": "center", "type": "bool", "default": True},
        {"name": "activation", "type": "str", "choices": ["sigmoid", "tanh"], "default": "sigmoid"},
    ]
    assert answers["weights"][0]["regularizer"] == "l2"
    assert (project / "src" / "custom_layers" / "soft_gate.py").is_file()
    passes_its_tests(project)


def test_a_4d_layer_written_in_the_editor_into_the_folder_the_user_stands_in(tmp_path):
    project = tmp_path / "my-layers"
    project.mkdir()
    user = guided(project, env=an_editor(tmp_path, "y = x * mix\nreturn y + bias\n"))
    user.answer("Class name of the layer", "PositionMix")
    user.answer("What does it compute?", "Scales each column and channel, then shifts.")
    user.press("Add a constructor argument", "n")
    user.press("Declare the inputs", ENTER)
    a_weight(user, "mix", "input_shape[2], input_shape[-1]", "ones", True)
    a_weight(user, "bias", "input_shape[-1]", "zeros", False)
    user.answer("Shape of an example input", "2, 3, 5, 4")
    user.press("Does the layer draw random numbers", ENTER)
    user.press("Computation, the body of call(x)", EDITOR)
    user.press("Output mask", ENTER)
    user.expect("return y + bias")  # shown in the spec
    user.press("Render PositionMix into .?", ENTER)
    assert user.finish() == 0, user.transcript()
    assert "test it: python -m pytest" in user.transcript()

    spec = project / "specs" / "position_mix.yml"
    assert check(spec, project).returncode == 0, check(spec, project).stderr
    answers = load_spec(spec)
    assert answers["example_input_shape"] == [2, 3, 5, 4]
    assert answers["weights"][0]["shape"] == ["input_shape[2]", "input_shape[-1]"]
    assert answers["computation"] == "y = x * mix\nreturn y + bias\n"
    assert (
        "class PositionMix" in (project / "src" / "custom_layers" / "position_mix.py").read_text()
    )
    assert (project / "tests" / "test_position_mix.py").is_file()


ATTENTION = """\
queries = ops.matmul(query, query_kernel)
keys = ops.matmul(value, key_kernel)
scores = ops.einsum("bqd,bkd->bqk", queries, keys) / key_dim**0.5
if value_mask is not None:
    scores = ops.where(ops.expand_dims(value_mask, 1), scores, -1e4)
values = ops.matmul(value, value_kernel)
return query + ops.matmul(ops.softmax(scores, axis=-1), values)
"""


def test_two_inputs_with_a_varying_axis_and_a_mask_read(tmp_path):
    """The inputs declared one by one; the computation is told the masks'
    names, reads one, and the first input's mask leaves the layer. `new`
    built the layer before rendering it; the catalog's masked_cross_attention,
    the same layer, runs its tests on every backend."""
    user = guided(tmp_path, "my-layers", env=an_editor(tmp_path, ATTENTION))
    user.answer("Class name of the layer", "MaskedCrossAttention")
    user.answer("What does it compute?", "Attention of a query over a masked value.")
    only_an_int_argument(user, "key_dim", "4")
    user.press("Declare the inputs", "y")
    user.answer("Name of an input", "query")
    user.answer("Shape of query", "4, null, 8")
    user.answer("Dtype of query", "float32")
    user.press("Add another input?", "y")  # a float input has no high
    user.answer("Name of an input", "value")
    user.answer("Shape of value", "4, 6, 5")
    user.press("Dtype of value", ENTER)  # float32, the default
    user.press("Add another input?", "n")
    a_weight(user, "query_kernel", "query.shape[-1], key_dim", "glorot_uniform", True)
    a_weight(user, "key_kernel", "value.shape[-1], key_dim", "glorot_uniform", True)
    a_weight(user, "value_kernel", "value.shape[-1], input_dim", "glorot_uniform", False)
    user.press("Does the layer draw random numbers", ENTER)  # no example shape asked
    user.expect("query_mask, value_mask")
    user.press("Computation, the body of call(query, value)", EDITOR)
    user.answer("Output mask", "input")
    user.press("Render MaskedCrossAttention into my-layers?", ENTER)
    assert user.finish() == 0, user.transcript()

    project = tmp_path / "my-layers"
    answers = load_spec(project / "specs" / "masked_cross_attention.yml")
    assert answers["inputs"] == [
        {"name": "query", "shape": [4, None, 8], "dtype": "float32"},
        {"name": "value", "shape": [4, 6, 5], "dtype": "float32"},
    ]
    assert [w["shape"] for w in answers["weights"]] == [
        ["query.shape[-1]", "key_dim"],
        ["value.shape[-1]", "key_dim"],
        ["value.shape[-1]", "input_dim"],
    ]
    assert answers["computation"] == ATTENTION
    assert answers["output_mask"] == "input"


def test_integer_ids_with_high_and_a_computed_output_mask(tmp_path):
    """`high` is asked because the input is int32, and may name an int
    argument; no example input shape is asked, the input has one."""
    user = guided(tmp_path, "my-layers")
    user.answer("Class name of the layer", "TokenEmbedding")
    user.answer("What does it compute?", "Embeds token ids; id 0 is masked padding.")
    only_an_int_argument(user, "vocabulary", "20")
    user.press("Declare the inputs", "y")
    user.answer("Name of an input", "ids")
    user.answer("Shape of ids", "4, null")
    user.answer("Dtype of ids", "int32")
    user.answer("High of ids", "vocabulary")
    user.press("Add another input?", "n")
    a_weight(user, "table", "vocabulary, 6", "uniform", False)
    user.press("Does the layer draw random numbers", ENTER)
    user.answer(
        "Computation, the body of call(ids)", "return ops.take(table, ids, axis=0)", erase=clear()
    )
    user.expect("Output mask sees: ids, mask")
    user.answer("Output mask", "return ops.not_equal(ids, 0)")
    user.press("Render TokenEmbedding into my-layers?", ENTER)
    assert user.finish() == 0, user.transcript()

    project = tmp_path / "my-layers"
    spec = project / "specs" / "token_embedding.yml"
    assert check(spec, project).returncode == 0, check(spec, project).stderr
    answers = load_spec(spec)
    assert answers["inputs"] == [
        {"name": "ids", "shape": [4, None], "dtype": "int32", "high": "vocabulary"}
    ]
    assert answers["weights"][0]["shape"] == ["vocabulary", 6]
    assert answers["computation"] == "return ops.take(table, ids, axis=0)\n"
    assert answers["output_mask"] == "return ops.not_equal(ids, 0)"


MOVING_MEAN = """\
if training:
    batch_mean = ops.cast(ops.mean(x, axis=0), "float32")
    moving_mean.assign(0.9 * moving_mean + 0.1 * batch_mean)
    x = x + 0.1 * keras.random.normal(ops.shape(x), dtype=x.dtype, seed=seed_generator)
return (x - ops.cast(moving_mean, x.dtype)) * gain
"""


def test_a_state_weight_updated_in_training_in_a_random_layer(tmp_path):
    """`updated_in_training` is asked of a weight that is not trainable
    only; `random` is a yes, and the computation is told its seed_generator.
    The project's own tests run, on TensorFlow."""
    user = guided(tmp_path, "my-layers", env=an_editor(tmp_path, MOVING_MEAN))
    user.answer("Class name of the layer", "NoisyCenter")
    user.answer("What does it compute?", "Centers on a moving mean, with noise in training.")
    user.press("Add a constructor argument", "n")
    user.press("Declare the inputs", ENTER)
    user.answer("Name of a weight", "moving_mean")
    user.answer("Shape of moving_mean", "input_dim")
    user.answer("Initializer of moving_mean", "zeros")
    user.answer("Regularizer of moving_mean", "")
    user.answer("Constraint of moving_mean", "")
    user.press("Is moving_mean trainable?", "n")
    user.press("Is moving_mean updated in training", "y")
    user.answer("What is moving_mean?", "Mean of the training batches.")
    user.press("Add another weight?", "y")
    a_weight(user, "gain", "input_dim", "ones", False)
    user.answer("Shape of an example input", "8, 6")
    user.press("Does the layer draw random numbers", "y")
    user.expect("seed_generator")
    user.press("Computation, the body of call(x)", EDITOR)
    user.press("Output mask", ENTER)
    user.press("Render NoisyCenter into my-layers?", ENTER)
    assert user.finish() == 0, user.transcript()

    project = tmp_path / "my-layers"
    answers = load_spec(project / "specs" / "noisy_center.yml")
    assert answers["random"] is True
    assert answers["weights"][0]["trainable"] is False
    assert answers["weights"][0]["updated_in_training"] is True
    assert "updated_in_training" not in answers["weights"][1]
    assert answers["computation"] == MOVING_MEAN
    assert "output_mask" not in answers  # null, the default, is left out
    passes_its_tests(project)


def test_wrong_answers_to_the_new_questions_are_refused_then_fixed(tmp_path):
    """A dtype, a high, a weight sized by a varying axis and an output mask
    that reads a weight: each refused with `generator check`'s message and
    asked again with what was typed."""
    typed = {
        "layer_name": "Lookup",
        "description": "Looks ids up in a table.",
        "hyperparameters": [],
        "inputs": [{"name": "ids", "shape": [4, None], "dtype": "float64"}],
        "weights": [],
    }
    user = guided(tmp_path, "project")
    user.answer("Class name of the layer", "Lookup")
    user.answer("What does it compute?", "Looks ids up in a table.")
    user.press("Add a constructor argument", "n")
    user.press("Declare the inputs", "y")
    user.answer("Name of an input", "ids")
    user.answer("Shape of ids", "4, null")
    user.answer("Dtype of ids", "float64")
    user.expect(rule_message(typed, "inputs[0].dtype"))
    user.answer("Dtype of ids", "int32")
    typed["inputs"][0].update(dtype="int32", high=1)
    user.answer("High of ids", "1")
    user.expect(rule_message(typed, "inputs[0].high"))
    user.answer("High of ids", "50")
    user.press("Add another input?", "n")
    typed["inputs"][0]["high"] = 50
    typed["weights"] = [{"name": "table", "shape": ["ids.shape[1]", 4]}]
    user.answer("Name of a weight", "table")
    user.answer("Shape of table", "ids.shape[1], 4")
    user.expect(rule_message(typed, "weights[0].shape[0]"))
    user.answer("Shape of table", "50, 4")
    user.answer("Initializer of table", "uniform")
    user.answer("Regularizer of table", "")
    user.answer("Constraint of table", "")
    user.press("Is table trainable?", ENTER)
    user.answer("What is table?", "")
    user.press("Add another weight?", "n")
    user.press("Does the layer draw random numbers", ENTER)
    user.answer(
        "Computation, the body of call(ids)", "return ops.take(table, ids, axis=0)", erase=clear()
    )
    user.answer("Output mask", "return table")
    user.expect("output_mask: reads weight 'table'")
    user.answer("Output mask", "return ops.not_equal(ids, 0)")
    user.press("Render Lookup into project?", "n")
    user.answer("Save the spec instead, to", "lookup.yml")
    assert user.finish() == 0, user.transcript()

    assert check("lookup.yml", tmp_path).returncode == 0
    answers = load_spec(tmp_path / "lookup.yml")
    assert answers["inputs"] == [{"name": "ids", "shape": [4, None], "dtype": "int32", "high": 50}]
    assert answers["weights"][0]["shape"] == [50, 4]
    assert answers["output_mask"] == "return ops.not_equal(ids, 0)"


def test_a_typo_is_refused_with_the_rule_message_then_fixed(tmp_path):
    """The message is `generator check`'s own; the fixed spec is saved where
    the user says, and no layer is rendered."""
    typed = {
        "layer_name": "Shift",
        "description": "Adds a learned offset.",
        "hyperparameters": [],
        "weights": [{"name": "offset", "shape": [4], "initializer": "random_normall"}],
    }
    user = guided(tmp_path, "project")
    user.answer("Class name of the layer", "Shift")
    start_the_offset_layer(user)
    user.answer("Initializer of offset", "random_normall")
    user.expect(rule_message(typed, "weights[0].initializer"))
    user.send(BACKSPACE + ENTER)
    finish_the_offset_layer(user)
    user.press("Render Shift into project?", "n")
    user.answer("Save the spec instead, to", "shift.yml")
    assert user.finish() == 0, user.transcript()

    assert "python -m generator new shift.yml project" in user.transcript()
    assert check("shift.yml", tmp_path).returncode == 0
    assert load_spec(tmp_path / "shift.yml")["weights"][0]["initializer"] == "random_normal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shift.yml"]


def test_a_layer_joins_the_project_package_and_may_not_be_there_already(tmp_path):
    project = tmp_path / "project"
    (project / ".copier-answers").mkdir(parents=True)
    (project / ".copier-answers" / "shift.yml").write_text("package_name: team_layers\n")
    (project / "specs").mkdir()
    (project / "specs" / "shift.yml").write_text("layer_name: Shift\n")
    before = sorted(project.rglob("*"))
    user = guided(project)
    user.answer("Class name of the layer", "Shift")
    user.expect("layer_name: . already has layer shift (specs/shift.yml)")
    user.send(BACKSPACE * 5 + "Offset" + ENTER)
    start_the_offset_layer(user)
    user.answer("Initializer of offset", "zeros")
    finish_the_offset_layer(user)
    user.expect("package_name: team_layers")
    user.press("Render Offset into .?", "n")
    user.answer("Save the spec instead, to", "")
    assert user.finish() == 0, user.transcript()
    assert sorted(project.rglob("*")) == before


@pytest.mark.parametrize("at", ["Class name of the layer", "Initializer of offset"])
def test_ctrl_c_leaves_nothing_written(tmp_path, at):
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine\n")
    user = Terminal(
        "sh",
        "-c",
        f"exec '{sys.executable}' -m generator new project 2> stderr.txt",
        cwd=tmp_path,
    )
    if at != "Class name of the layer":
        user.answer("Class name of the layer", "Shift")
        start_the_offset_layer(user)
    user.press(at, CTRL_C)
    assert user.finish() == 130
    assert "Traceback" not in user.transcript()
    assert (tmp_path / "stderr.txt").read_text() == "interrupted: nothing written\n"
    assert [p.name for p in project.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "stderr.txt"]


def test_with_no_terminal_to_ask_in_it_says_so_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "new", "project"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "new: no spec file given and no terminal to ask in: python -m generator new SPEC DEST"
    ]
    assert not (tmp_path / "project").exists()


def test_a_spec_file_alone_is_not_taken_for_a_project(tmp_path):
    (tmp_path / "spec.yml").write_text(yaml.safe_dump({"layer_name": "Shift"}))
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "new", "spec.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert proc.returncode == 2
    assert "spec.yml is a file" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_ctrl_c_while_rendering_removes_what_was_written(tmp_path):
    """Copier cleans up after its own errors, not after Ctrl-C. A named pipe
    where Copier will read an existing file holds it mid-copy, after it has
    written some files, for as long as the test needs."""
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    os.mkfifo(project / "tests" / "layer_checks.py")
    before = sorted(project.rglob("*"))
    user = Terminal(
        "sh", "-c", f"exec '{sys.executable}' -m generator new 2> ../stderr.txt", cwd=project
    )
    user.answer("Class name of the layer", "Shift")
    start_the_offset_layer(user)
    user.answer("Initializer of offset", "zeros")
    finish_the_offset_layer(user)
    user.press("Render Shift into .?", ENTER)
    deadline = time.monotonic() + TIMEOUT
    while not (project / "src" / "custom_layers" / "shift.py").exists():
        assert time.monotonic() < deadline, user.transcript()
        time.sleep(0.1)
    user.send(CTRL_C)
    assert user.finish() == 130
    assert "Traceback" not in user.transcript()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert stderr.splitlines()[-1] == "interrupted: nothing written"  # after Copier's warnings
    assert "Traceback" not in stderr
    assert sorted(project.rglob("*")) == before
