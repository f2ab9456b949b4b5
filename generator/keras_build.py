"""The layer built in Keras, in a process of its own: what `check` runs of
the spec's code (generator/trace.py starts this process and watches it).

The generated module is imported from a temporary folder, in a package of
its own, and its layer is called as the generated test calls it: on
symbolic inputs, built with the default hyperparameters and with the test's
other values, whose batch and varying axes are unknown and at the example's
sizes, with and without masks; then on the example values the tests draw,
under the float32 and the mixed_float16 policy, where the output's values,
dtype and gradients show. Those stages name the field and line at fault;
then the generated tests themselves run, as pytest runs them in a project,
so that a spec accepted here passes them.

The process reads one request per line on stdin and answers on what was its
stdout, one JSON line per message: `ready` once Keras is imported (or
`missing`), `at` before each call (where, and which field's code runs), then
`found`; asked with SIGUSR1, `stuck`: the field and line running. The spec's code runs here, so whatever it prints is dropped, and
whatever it raises, exits included, is its failure.
"""

import importlib
import inspect
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from generator.layer_files import first_line
from generator.messages import printable
from generator.template import ROOT

LAMBDA = ROOT / "template/src/{{package_name}}/_lambda.py"
# The checks every generated test module shares, conftest.py's seeding too.
SHARED_TESTS = sorted((ROOT / "template/tests").glob("*.py"))
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# TensorFlow names a failing op with its whole graph node; the op's name says it.
_NODE = re.compile(r"\{\{node ([^}]+)\}\}[^']*")
_FUNCTION = re.compile(r"\{\{function_node [^}]*\}\}\s*")
# XLA names the graph it could not compile with its whole configuration.
_GRAPH = re.compile(r" __inference\S*\[[^\]]*\]")
# TensorFlow ends an eager op's error with the name it was given: none.
_NO_NAME = re.compile(r"\s+name:\s*$")
_LONGEST = 240
_MIXED = "mixed_float16"
_SEED = 7  # template/tests/behaviour_checks.py's


def serve():
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    # The checking process owns Ctrl-C (it stops this one), and this one
    # must not outlive it, wherever it was stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_orphaned, args=(os.getppid(),), daemon=True).start()

    def send(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    def tell_where(_, frame):
        try:
            send({"stuck": _stuck(frame)})
        except RuntimeError:  # interrupted a send: the checking process won't wait
            pass

    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, tell_where)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The generated tests run here as the template wrote them: not with the
    # pytest plugins or options of wherever check was started.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ.pop("PYTEST_ADDOPTS", None)
    try:
        # Keras is the cost this process is kept for; the generated tests,
        # which run here last, import h5py and pytest too.
        import h5py  # noqa: F401
        import keras
        import pytest  # noqa: F401
    except ImportError as error:
        send({"missing": str(error)})
        return
    # Keras cuts its own frames from tracebacks; `_initializing` reads them.
    keras.config.disable_traceback_filtering()
    send({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            found = build(request, lambda where, field: send({"at": where, "field": field}))
        except BaseException as error:  # noqa: BLE001 - the module itself does not import
            found = [printable(f"computation: the layer's module does not import: {error!r}")]
        send({"found": found})


def _orphaned(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def build(request, report):
    """Problems found building the requested layer, at most one: a
    computation that fails at one size usually fails at all of them. Then,
    if none, the generated tests themselves are run."""
    with tempfile.TemporaryDirectory(prefix="keras-layer-check-") as folder:
        project = _project(request, Path(folder))
        module = _import(request, project)
        _running[:] = [module, request]
        try:
            return (
                _problems(request, module, report)
                or _tests_problems(request, module, project, report)
            )[:1]
        finally:
            _running.clear()
            _forget(project)


# The module and request being built, for `_stuck`.
_running = []


def _stuck(frame):
    """[field, line] of the spec's code that `frame` (the innermost) is
    running, or nothing: what the checking process asks past its time limit."""

    def steps():
        seen = frame
        while seen is not None:
            yield seen.f_code, seen.f_lineno
            seen = seen.f_back

    if not _running:
        return None
    field, line = _in_spec(steps(), *_running)
    return [field, line] if line else None


def _project(request, folder):
    """A project as Copier writes it, of this one layer: its module in a
    package nothing else is called (several checks in one process must not
    see each other's), its generated test and the shared checks beside it."""
    package = folder / "src" / request["package"]
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "_lambda.py").write_text(LAMBDA.read_text("utf-8"), encoding="utf-8")
    (package / f"{request['module_name']}.py").write_text(request["source"], encoding="utf-8")
    tests = folder / "tests"
    tests.mkdir()
    for shared in SHARED_TESTS:
        (tests / shared.name).write_text(shared.read_text("utf-8"), encoding="utf-8")
    (tests / f"test_{request['package']}.py").write_text(request["test_source"], encoding="utf-8")
    # As the generated pyproject.toml runs pytest, and no configuration of
    # the folder check runs in.
    (folder / "pytest.ini").write_text("[pytest]\npythonpath = src tests\n", encoding="utf-8")
    return folder


def _import(request, project):
    """The generated module, from the project's src/."""
    sys.path.insert(0, str(project / "src"))
    return importlib.import_module(f"{request['package']}.{request['module_name']}")


def _forget(project):
    """Every module and path of the project, gone: the next check's project
    has modules of the same names (conftest, layer_checks)."""
    inside = str(project)
    sys.path[:] = [p for p in sys.path if not p.startswith(inside)]
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(inside):
            del sys.modules[name]


def _problems(request, module, report):
    import keras

    normalized = request["normalized"]
    problem = _arguments_problem(normalized, report, keras)
    if problem:
        return [problem]
    layer_class = getattr(module, request["layer_name"])
    traced = {}  # symbolic output shape by input shapes, default hyperparameters
    for settings, shapes, kind in _variants(normalized, keras.backend.backend()):
        masked = kind in ("masked", "padded")
        # A choice is the spec's own value, not a test value the tool chose.
        named = None if kind == "choice" else normalized
        where = _where(shapes, settings, masked, normalized["supports_masking"], named)
        training = {"training": True} if kind.endswith("training") else {}
        where += ", in training" if training else ""
        report(where, "computation")
        eager = kind not in ("symbolic", "masked")
        # The tests draw their example values with the default hyperparameters.
        drawn = {} if kind in ("tested", "choice") else settings
        tensors = _inputs(normalized, shapes, drawn, eager, keras)
        masks = {
            i["mask"]: _mask(shape, eager, keras)
            for shape, i in zip(shapes, normalized["inputs"], strict=True)
            if kind == "masked" and i["mask"] in normalized["masks_read"] and len(shape) > 1
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                layer = layer_class(**settings)
                if kind == "jit":
                    problem = _jit_problem(layer, tensors, normalized, where, keras)
                elif kind == "padded":
                    problem = _padding_problem(layer, tensors, normalized, where, keras)
                elif kind == "behaviour":
                    problem = _behaviour_problem(layer, tensors, normalized, where, keras)
                else:
                    output = layer(*tensors, **masks, **training)
                    problem = _output_problem(output, normalized, where, keras)
                if kind in ("symbolic", "masked") and not settings and problem is None:
                    traced[json.dumps(shapes)] = tuple(output.shape)
                elif kind in _ON_VALUES and problem is None:
                    problem = _eager_problem(
                        layer, tensors, output, kind, traced, where, keras, normalized
                    )
                if kind in _CALLS and problem is None and normalized["output_mask"] is not None:
                    report(where, "output_mask")
                    carried = layer.compute_mask(tensors[0], _mask(shapes[0], eager, keras))
                    at = _where(
                        shapes, settings, masked=False, masking=False, normalized=normalized
                    )
                    problem = _mask_problem(carried, output, normalized, at)
            # Anything the spec's code raises is the spec's failure, SystemExit
            # too: this process only builds layers.
            except BaseException as error:  # noqa: BLE001
                problem = _failure(where, error, module, request, kind)
        if problem:
            return [problem]
    return []


def _tests_problems(request, module, project, report):
    """The generated tests, run by pytest as in the project, less the
    distributed ones (a process of their own, tens of seconds): whatever the
    stages above missed, the tests' own failure is the spec's. Each test is
    seeded as conftest.py seeds it, so a layer that learns from one draw of
    its weights and not another fails here as in the tests."""
    import pytest

    first = [i["sizes"][0] for i in request["normalized"]["inputs"]]
    where = _where(first, {}, masked=False, masking=False)
    failures = []

    class Watch:
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(self, item):
            report(f"{where}, in the generated test {item.name}", "computation")

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_makereport(self, item, call):
            made = yield
            if made.failed and call.excinfo is not None and not failures:
                failures.append((item.name, call.excinfo.value))
            return made

    arguments = [
        "-q",
        "-m",
        "not distributed",
        "-p",
        "no:cacheprovider",
        "--capture=sys",
        f"--rootdir={project}",
        "-c",
        str(project / "pytest.ini"),
        f"--basetemp={project / 'pytest'}",
        str(project / "tests"),
    ]
    status = pytest.main(arguments, plugins=[Watch()])
    if failures:
        name, error = failures[0]
        field, line = _located(error, module, request)
        located = f"line {line}: " if line else ""
        return [
            printable(
                f"{field}: {located}fails the generated test {name} on inputs {where}: "
                f"{_reason(error)}"
            )
        ]
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return [printable(f"computation: the generated tests do not run ({status.name})")]
    return []


# The kinds of call in which the layer is called once, plainly; of those, the
# calls on values whose output `_eager_problem` reads.
_ON_VALUES = ("eager", "sized", "mixed", "training", "mixed training")
_CALLS = ("symbolic", "masked", "tested", "choice", *_ON_VALUES)


def _variants(normalized, backend):
    """(hyperparameters, input shapes, kind) as the generated test builds
    the layer: the defaults and the test's values; unknown batch and varying
    axes (a functional model) and each example size; no masks, and the
    masks the computation reads (kind "masked"); then run on the example
    values the tests draw: at the first example size ("eager": the output's
    values and gradients), at the others ("sized": the output's shape
    against the traced one), with the test's values ("tested", on values
    drawn for the defaults, as the tests draw them), with each other choice
    of a str hyperparameter ("choice": the tests try the default and one
    other), under the mixed_float16 policy ("mixed"), and in training for a
    layer that reads `training`; a training step under
    jit_compile where the tests run one ("jit": XLA, on TensorFlow and JAX);
    with the steps each read mask masks out filled otherwise ("padded"); and
    for a random or stateful layer, training calls against inference calls
    ("behaviour")."""
    defaults = {}
    tested = {
        hp["name"]: hp["test_value"]
        for hp in normalized["hyperparameters"]
        if hp["test_value"] != hp["default"]
    }
    symbolic = [[None, *i["shape"][1:]] for i in normalized["inputs"]]
    examples = [
        list(sizes) for sizes in zip(*(i["sizes"] for i in normalized["inputs"]), strict=True)
    ]
    examples = [s for n, s in enumerate(examples) if s not in examples[:n]]
    for settings in [defaults] + ([tested] if tested else []):
        for each in [symbolic, *examples]:
            yield settings, each, "symbolic"
        if normalized["masks_read"]:
            yield settings, examples[-1], "masked"
    yield defaults, examples[0], "eager"
    for each in examples[1:]:
        yield defaults, each, "sized"
    if tested:
        yield tested, examples[0], "tested"
    for hp in normalized["hyperparameters"]:
        for choice in hp["choices"] or []:
            if choice not in (hp["default"], hp["test_value"]):
                yield {hp["name"]: choice}, examples[0], "choice"
    yield {"dtype": _MIXED}, examples[0], "mixed"
    if normalized["reads_training"]:
        yield defaults, examples[0], "training"
        yield {"dtype": _MIXED}, examples[0], "mixed training"
    if backend in ("tensorflow", "jax"):
        yield defaults, examples[0], "jit"
    if normalized["masks_read"]:
        yield defaults, examples[0], "padded"
    if normalized["random"] or normalized["has_state"]:
        # The tests seed a random layer: whether noise shows is the seed's.
        yield ({"seed": _SEED} if normalized["random"] else defaults), examples[0], "behaviour"


def _eager_problem(layer, tensors, output, kind, traced, where, keras, normalized):
    """On example values: under mixed_float16, the output's dtype; else its
    shape against the traced one, and (at the first size) its values and
    gradients."""
    if kind.startswith("mixed"):
        problem = _policy_problem(output, where, keras)
        # The tests also want gradients under mixed_float16 when an input is
        # an int or bool (where a float16 rounding may kill them).
        ids = any(i["dtype"] != "float32" for i in normalized["inputs"])
        if problem is None and kind == "mixed" and ids:
            problem = _gradient_problem(layer, tensors, where, keras)
        return problem
    problem = _shape_problem(layer, tensors, output, traced, where, keras)
    if problem is None and kind == "eager":
        problem = _values_problem(layer, tensors, output, where, keras)
    if problem is None and kind == "eager":
        problem = _weights_problem(layer, normalized)
    return problem


def _shape_problem(layer, tensors, output, traced, where, keras):
    """The generated test holds compute_output_shape, the symbolic output
    and the output on values to one shape at each size, and to the shape
    traced with None where sizes vary (None there, or the same size)."""
    shapes = [tuple(t.shape) for t in tensors]
    returned = tuple(keras.ops.shape(output))
    declared = tuple(layer.compute_output_shape(*shapes))
    symbolic = traced.get(json.dumps([list(s) for s in shapes]))
    unknown = next(iter(traced.values()), None)  # the first traced: None where sizes vary
    wrong = [
        (name, shape)
        for name, shape in (("compute_output_shape", declared), ("the symbolic output", symbolic))
        if shape is not None and shape != returned
    ]
    fits = unknown is None or (
        len(unknown) == len(returned)
        and all(d is None or d == r for d, r in zip(unknown[1:], returned[1:], strict=True))
    )
    if not fits:
        wrong.append(("the symbolic output with None where sizes vary", unknown))
    if not wrong:
        return None
    name, shape = wrong[0]
    return (
        f"computation: returns shape {_shape(returned)} on inputs {where}, where {name} "
        f"has shape {_shape(shape)} (an op whose output shape Keras cannot infer?): "
        "the generated tests hold them to one shape"
    )


def _jit_problem(layer, tensors, normalized, where, keras):
    """A training step compiled with XLA, as fit(jit_compile=True) runs it."""
    layer(*tensors)
    training = {"training": True} if normalized["reads_training"] else {}
    trainable = layer.trainable_variables
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True)
        def step(*values):
            with tf.GradientTape() as tape:
                value = _loss(layer(*values, **training), keras)
            return tape.gradient(value, trainable)

        step(*tensors)
    else:
        import jax

        frozen = [v.value for v in layer.non_trainable_variables]

        def loss(values, inputs):
            return _loss(layer.stateless_call(values, frozen, *inputs, **training)[0], keras)

        jax.jit(jax.grad(loss))([v.value for v in trainable], tensors)
    return None


def _arguments_problem(normalized, report, keras):
    """Each weight's initializer, regularizer and constraint, made by Keras
    as the layer's constructor makes them, and the initializer run at the
    weight's size: a Keras object the answers configure wrongly (`Constant`
    without its `value`, a value of another shape, `Orthogonal` for a
    vector) is the argument's fault, not the computation's."""
    for index, weight in enumerate(normalized["weights"]):
        shape = tuple(weight["sizes"])
        for argument in weight["arguments"]:
            if argument["value"] is None:
                continue
            field = f"weights[{index}].{argument['kind']}"
            at = f"weight '{weight['name']}' of shape {_shape(shape)}"
            report("", field)
            try:
                made = getattr(keras, argument["module"]).get(argument["value"])
                if argument["kind"] == "initializer":
                    made = tuple(made(shape=shape, dtype="float32").shape)
                    if made != shape:
                        return f"{field}: makes shape {_shape(made)} for {at}"
            except Exception as error:  # noqa: BLE001 - the spec's configuration fails
                reason = (
                    f"its config lacks {error.args[0]!r}"
                    if isinstance(error, KeyError)
                    else _reason(error)
                )
                return printable(f"{field}: fails for {at}: {reason}")
    return None


def _weights_problem(layer, normalized):
    """Each weight's constraint and regularizer, applied to it as the tests
    apply them (a constraint may need an axis the weight lacks)."""
    declared = [w["name"] for w in normalized["weights"]]
    for variable in layer.weights:
        if variable.name not in declared:
            continue
        index = declared.index(variable.name)
        for kind in ("constraint", "regularizer"):
            applied = getattr(variable, kind, None)
            if applied is None:
                continue
            try:
                applied(variable.value)
            except Exception as error:  # noqa: BLE001 - the spec's choice fails
                return (
                    f"weights[{index}].{kind}: fails on weight '{variable.name}' of shape "
                    f"{_shape(variable.shape)}: {_reason(error)}"
                )
    return None


def _behaviour_problem(layer, tensors, normalized, where, keras):
    """At the default hyperparameters, as the tests call it: a random layer
    draws new noise at each training call and none in inference; a training
    call moves every state weight, an inference call none."""
    import numpy as np

    def call(**training):
        return keras.ops.convert_to_numpy(layer(*tensors, **training))

    def state():
        return {
            w["name"]: keras.ops.convert_to_numpy(_variable(layer, w["name"]))
            for w in normalized["weights"]
            if w["updated_in_training"]
        }

    call()
    before = state()
    first, second = call(training=True), call(training=True)
    if normalized["random"]:
        other = type(layer)(seed=_SEED + 1)
        other(*tensors)
        other.set_weights(layer.get_weights())
        # The same weights: only the noise can tell the seeds apart.
        drawn = keras.ops.convert_to_numpy(other(*tensors, training=True))
        if np.array_equal(first, second):
            return (
                f"computation: two training calls on inputs {where} give the same output at the "
                "default hyperparameters, where random: true makes the tests expect new noise"
            )
        if np.array_equal(first, drawn):
            return (
                f"computation: layers made with seed={_SEED} and seed={_SEED + 1} draw the same "
                f"noise on inputs {where} at the default hyperparameters, where the tests "
                "expect the seed to tell"
            )
    trained = state()
    for name, value in before.items():
        if np.array_equal(value, trained[name]):
            return (
                f"computation: training calls on inputs {where} leave state weight '{name}' "
                "unchanged at the default hyperparameters, where the tests expect fit() to move it"
            )
    inference = [call(), call(training=False)]
    if not np.array_equal(*inference):
        return f"computation: two inference calls on inputs {where} differ: noise in inference"
    for name, value in state().items():
        if not np.array_equal(value, trained[name]):
            return (
                f"computation: an inference call on inputs {where} changes state weight "
                f"'{name}': it must change in training only"
            )
    return None


def _variable(layer, name):
    (found,) = [v for v in layer.weights if v.name == name]
    return found


def _padding_problem(layer, tensors, normalized, where, keras):
    """What a read mask masks out must not change the output where it is
    kept: each read mask's last steps refilled two ways, as the generated
    test pads them, give the same output."""
    import numpy as np

    inputs = normalized["inputs"]
    for index, i in enumerate(inputs):
        if i["mask"] not in normalized["masks_read"]:
            continue
        base = tensors[index]
        steps = base.shape[1]
        mask = np.ones(base.shape[:2], dtype=bool)
        mask[:, steps - max(1, steps // 3) :] = False
        where_kept = mask.reshape(mask.shape + (1,) * (base.ndim - 2))
        seen = []
        for seed in (0, 1):
            filler = _draw(i, base.shape, np.random.default_rng(seed), {})
            if i["dtype"].startswith("int") and seed == 0:
                filler = np.zeros_like(filler)  # padding as Embedding(mask_zero=True) reads it
            values = list(tensors)
            values[index] = np.where(where_kept, base, filler)
            output = keras.ops.convert_to_numpy(layer(*values, **{i["mask"]: mask}))
            keep = None
            if index == 0 and normalized["output_mask"] is not None:
                first, flags = (keras.ops.convert_to_tensor(v) for v in (values[0], mask))
                keep = keras.ops.convert_to_numpy(layer.compute_mask(first, flags))
            elif index == 0 and output.shape[:2] == mask.shape:
                keep = mask  # a step of output per step of input: the kept ones count
            seen.append((output, keep))
        # Where both outputs' masks keep it: a mask worked out from the
        # values (ids not 0) keeps other steps of other fillers.
        (first, keep), (second, other) = seen
        kept = Ellipsis if keep is None else np.logical_and(keep, other)
        if not np.allclose(first[kept], second[kept], rtol=1e-5, atol=1e-6):
            return (
                f"computation: what {i['mask']!r} masks out changes the output on inputs "
                f"{where}: the generated tests refill the masked steps of {i['name']!r} "
                "and expect the same output where it is kept"
            )
    return None


def _inputs(normalized, shapes, settings, eager, keras):
    if not eager:
        return [
            keras.KerasTensor(shape, dtype=i["dtype"])
            for shape, i in zip(shapes, normalized["inputs"], strict=True)
        ]
    import numpy as np

    # Drawn as the generated test draws them (template/tests/layer_checks.py).
    values = {hp["name"]: hp["default"] for hp in normalized["hyperparameters"]} | settings
    random = np.random.default_rng(0)
    return [
        _draw(i, shape, random, values)
        for shape, i in zip(shapes, normalized["inputs"], strict=True)
    ]


def _draw(i, shape, random, values):
    """Example values of input `i`, with `values` naming its `high`."""
    if i["dtype"] == "bool":
        return random.random(shape) < 0.7
    if i["dtype"].startswith("int"):
        high = values.get(i["high"], i["high"])
        return random.integers(1, high, shape).astype(i["dtype"])
    return random.standard_normal(shape).astype(i["dtype"])


def _mask(shape, eager, keras):
    if eager:
        import numpy as np

        return np.ones(shape[:2], dtype=bool)
    return keras.KerasTensor(shape[:2], dtype="bool")


def _where(shapes, settings, masked, masking, normalized=None):
    text = " and ".join(_shape(s) for s in shapes)
    if settings:
        text += " with " + ", ".join(f"{name}={value!r}" for name, value in settings.items())
        chosen = {
            hp["name"]
            for hp in (normalized or {}).get("hyperparameters", [])
            if not hp["test_value_given"]
        }
        if chosen & settings.keys():
            text += " (test values the tool chose: give test_value to choose others)"
    if masking:
        text += ", masked" if masked else ", no mask"
    return text


def _shape(shape):
    return str(tuple(shape))  # as Keras writes shapes: (None, 8), (4,)


def _output_problem(output, normalized, where, keras):
    if not (isinstance(output, keras.KerasTensor) or keras.ops.is_tensor(output)):
        return (
            f"computation: returns {type(output).__name__} on inputs {where}, "
            "where a layer returns one tensor"
        )
    trains = any(w["trainable"] for w in normalized["weights"])
    dtype = keras.backend.standardize_dtype(output.dtype)
    if trains and not keras.backend.is_float_dtype(dtype):
        return (
            f"computation: returns {dtype} on inputs {where}: no gradient flows "
            "through it to the trainable weights"
        )
    return None


def _values_problem(layer, tensors, output, where, keras):
    """On example values: an output that is not finite, or a trainable
    weight that the computation reads but no gradient reaches (`ops.round`,
    `stop_gradient`, a product with 0), which the generated test refuses."""
    import numpy as np

    # A torch output that requires grad converts only once detached.
    values = output.detach() if hasattr(output, "detach") else output
    if not np.all(np.isfinite(keras.ops.convert_to_numpy(values))):
        return (
            f"computation: returns NaN or infinity on example inputs {where} "
            "(standard normal floats, as the tests draw them)"
        )
    return _gradient_problem(layer, tensors, where, keras)


def _gradient_problem(layer, tensors, where, keras):
    import numpy as np

    trainable = layer.trainable_variables
    if not trainable:
        return None
    for variable in trainable:  # as the tests move a weight that starts at zero
        if not np.any(keras.ops.convert_to_numpy(variable.value)):
            moved = np.random.default_rng(4).uniform(0.05, 0.1, variable.shape)
            variable.assign(moved.astype(variable.dtype))
    for variable, gradient in zip(trainable, _gradients(layer, tensors, keras), strict=False):
        if gradient is None or not np.any(keras.ops.convert_to_numpy(gradient)):
            return (
                f"computation: no gradient reaches weight '{variable.name}' on inputs {where}: "
                "it is read, but through no op that passes a gradient back to it"
            )
    return None


def _gradients(layer, tensors, keras):
    """Each trainable weight's gradient of `_loss` in training, with the
    backend's own autodiff, as the generated test measures it; none on a
    backend with no autodiff."""
    trainable = layer.trainable_variables

    def loss(output):
        return _loss(output, keras)

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = loss(layer(*tensors, training=True))
        return tape.gradient(value, trainable)
    if backend == "jax":
        import jax

        frozen = [v.value for v in layer.non_trainable_variables]
        # stateless_call hands `training` to call(), which may not take it.
        reads = "training" in inspect.signature(layer.call).parameters
        training = {"training": True} if reads else {}
        return jax.grad(
            lambda values: loss(layer.stateless_call(values, frozen, *tensors, **training)[0])
        )([v.value for v in trainable])
    if backend == "torch":
        for variable in trainable:
            variable.value.grad = None
        loss(layer(*tensors, training=True)).backward()
        return [variable.value.grad for variable in trainable]
    return []


def _loss(output, keras):
    """A random projection of the output (a sum can have zero gradient by
    symmetry: a softmax sums to 1)."""
    import numpy as np

    ops = keras.ops
    probe = np.random.default_rng(2).standard_normal(tuple(output.shape))
    return ops.sum(ops.cast(output, "float32") * ops.convert_to_tensor(probe, "float32"))


def _policy_problem(output, where, keras):
    """Under mixed_float16 a layer computes, and returns, float16."""
    dtype = keras.backend.standardize_dtype(output.dtype)
    if keras.backend.is_float_dtype(dtype) and dtype != "float16":
        return (
            f"computation: returns {dtype} on inputs {where}, not the policy's float16: "
            "cast to an input's or a weight's dtype, not to a fixed one"
        )
    return None


def _mask_problem(carried, output, normalized, where):
    """The output mask must fit the output's leading axes, as Keras applies
    it (to losses, to the next layer's steps)."""
    declared = normalized["output_mask"]
    shape = tuple(getattr(carried, "shape", ()))
    rank = len(shape)
    fits = rank <= len(output.shape) and all(
        a is None or b is None or a == b for a, b in zip(shape, output.shape[:rank], strict=True)
    )
    if fits and rank > 0:
        return None
    what = "the first input's mask" if declared == "input" else "the mask its body returns"
    return (
        f"output_mask: {what} has shape {_shape(shape)} on inputs {where}, which the output "
        f"of shape {_shape(output.shape)} cannot carry; use output_mask: null or a body "
        "that returns a mask of the output's leading axes"
    )


def _failure(where, error, module, request, kind):
    reason = _reason(error)
    field, line = _located(error, module, request)
    located = f"line {line}: " if line else ""
    how = (
        "compiled with XLA (fit(jit_compile=True), as the tests train it) " if kind == "jit" else ""
    )
    return printable(f"{field}: {located}fails {how}on inputs {where}: {reason}")


def _reason(error):
    """The first line of what the error at the root of `error` says: Keras
    raises its own (a wrapper, "could not infer the shape") while handling
    the spec code's. But where TensorFlow's op failed, the op's error says
    why, not what TensorFlow was handling then (its gather falls back from
    one way to another)."""
    chain = [error]
    while chain[-1].__cause__ or chain[-1].__context__:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    failed_ops = [e for e in chain if hasattr(e, "error_code") and hasattr(e, "op")]
    root = (failed_ops or chain)[-1]
    reason = _ANSI.sub("", str(root)).strip()
    reason = _GRAPH.sub("", _FUNCTION.sub("", _NODE.sub(r"\1", reason)))
    said = [line for line in reason.splitlines() if line.strip()]
    if said and said[0].startswith("Graph execution error"):
        # TensorFlow says where in the graph (a traceback), then what failed.
        said = [line for line in said if not line.startswith((" ", "\t", "Detected at"))][
            1:
        ] or said
    reason = _NO_NAME.sub("", said[0] if said else type(root).__name__)
    if not isinstance(root, Exception) and reason != type(root).__name__:  # SystemExit(0): "0"
        reason = f"{type(root).__name__}: {reason}"
    if len(reason) > _LONGEST:
        reason = reason[: _LONGEST - 3] + "..."
    return reason


def _located(error, module, request):
    """The field whose code failed (the computation or the output mask's
    body) and the line that failed, counted as in the spec (or None)."""

    def frames():
        seen = error
        while seen is not None:
            traceback = seen.__traceback__
            while traceback is not None:
                yield traceback.tb_frame, traceback.tb_lineno
                traceback = traceback.tb_next
            seen = seen.__cause__ or seen.__context__

    found = _in_spec(((frame.f_code, line) for frame, line in frames()), module, request)
    return found if found[1] else (_initializing(frames(), request["normalized"]), None)


def _initializing(frames, normalized):
    """`weights[i].initializer` when the error was raised by a Keras
    initializer that `add_weight` ran for weight i (the sizes it was given
    only reach it at the test's hyperparameters), else the computation."""
    names = [w["name"] for w in normalized["weights"]]
    adding = None
    for frame, _ in frames:
        code = frame.f_code
        if code.co_name == "add_weight" and frame.f_locals.get("name") in names:
            adding = names.index(frame.f_locals["name"])
        elif adding is not None and f"{os.sep}initializers{os.sep}" in code.co_filename:
            return f"weights[{adding}].initializer"
    return "computation"


def _in_spec(steps, module, request):
    """The first (code, line) of `steps` in the spec's own code, as (field,
    line counted as in the spec); else ("computation", None)."""
    normalized = request["normalized"]
    code = {normalized["forward"]: ("computation", request["computation"])}
    if normalized["output_mask"] not in (None, "input"):
        code[normalized["output_mask_function"]] = ("output_mask", normalized["output_mask"])
    for function, line in steps:
        if function.co_filename == module.__file__ and function.co_name in code:
            field, source = code[function.co_name]
            text = Path(module.__file__).read_text("utf-8")
            return field, line - first_line(text, function.co_name, source) + 1
    return "computation", None
