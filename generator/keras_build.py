"""The layer built in Keras, in a process of its own: what `check` runs of
the spec's code (generator/trace.py starts this process and watches it).

The generated module is imported from a temporary folder, in a package of
its own, and its layer is called as the generated test calls it: on
symbolic inputs, built with the default hyperparameters and with the test's
other values, whose batch and varying axes are unknown and at the example's
sizes, with and without masks; then on the example values the tests draw,
under the float32 and the mixed_float16 policy, where the output's values,
dtype and gradients show.

The process reads one request per line on stdin and answers on what was its
stdout, one JSON line per message: `ready` once Keras is imported (or
`missing`), `at` before each call (where, and which field's code runs), then
`found`; asked with SIGUSR1, `stuck`: the field and line running. The spec's code runs here, so whatever it prints is dropped, and
whatever it raises, exits included, is its failure.
"""

import ast
import importlib
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

from generator.messages import printable
from generator.template import ROOT

LAMBDA = ROOT / "template/src/{{package_name}}/_lambda.py"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# TensorFlow names a failing op with its whole graph node; the op's name says it.
_NODE = re.compile(r"\{\{node ([^}]+)\}\}[^']*")
_LONGEST = 240
_MIXED = "mixed_float16"


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
    try:
        import keras  # noqa: F401 - the cost this process is kept for
    except ImportError as error:
        send({"missing": str(error)})
        return
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
    computation that fails at one size usually fails at all of them."""
    package = request["package"]
    with tempfile.TemporaryDirectory(prefix="keras-layer-check-") as folder:
        module = _import(package, request["module_name"], request["source"], Path(folder))
        _running[:] = [module, request]
        try:
            return _problems(request, module, report)[:1]
        finally:
            _running.clear()
            _forget(module)


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


def _import(package, module_name, source, folder):
    """The generated module, in a package nothing else is called (several
    checks in one process must not see each other's)."""
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("", encoding="utf-8")
    (folder / package / "_lambda.py").write_text(LAMBDA.read_text("utf-8"), encoding="utf-8")
    (folder / package / f"{module_name}.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(f"{package}.{module_name}")
    finally:
        sys.path.remove(str(folder))


def _forget(module):
    package = module.__name__.partition(".")[0]
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def _problems(request, module, report):
    import keras

    normalized = request["normalized"]
    layer_class = getattr(module, request["layer_name"])
    for settings, shapes, masked, eager in _variants(normalized):
        where = _where(shapes, settings, masked, normalized["supports_masking"])
        report(where, "computation")
        tensors = _inputs(normalized, shapes, settings, eager, keras)
        masks = {
            i["mask"]: _mask(shape, eager, keras)
            for shape, i in zip(shapes, normalized["inputs"], strict=True)
            if masked and i["mask"] in normalized["masks_read"] and len(shape) > 1
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                layer = layer_class(**settings)
                output = layer(*tensors, **masks)
                problem = _output_problem(output, normalized, where, keras)
                if problem is None and eager and "dtype" in settings:
                    problem = _policy_problem(output, where, keras)
                elif problem is None and eager:
                    problem = _values_problem(layer, tensors, output, where, keras)
                if problem is None and normalized["output_mask"] is not None:
                    report(where, "output_mask")
                    carried = layer.compute_mask(tensors[0], _mask(shapes[0], eager, keras))
                    at = _where(shapes, settings, masked=False, masking=False)
                    problem = _mask_problem(carried, output, normalized, at)
            # Anything the spec's code raises is the spec's failure, SystemExit
            # too: this process only builds layers.
            except BaseException as error:  # noqa: BLE001
                problem = _failure(where, error, module, request)
        if problem:
            return [problem]
    return []


def _variants(normalized):
    """(hyperparameters, input shapes, masks given, eager) as the generated
    test builds the layer: the defaults and the test's values; unknown batch
    and varying axes (a functional model) and each example size; no masks,
    and the masks the computation reads; and run on example values, where
    the output's real dtype shows, under the float32 and the mixed_float16
    policy."""
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
    shapes = [symbolic] + [s for n, s in enumerate(examples) if s not in examples[:n]]
    for settings in [defaults] + ([tested] if tested else []):
        for each in shapes:
            yield settings, each, False, False
        if normalized["masks_read"]:
            yield settings, shapes[-1], True, False
    yield defaults, examples[0], False, True
    yield {"dtype": _MIXED}, examples[0], False, True


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
    tensors = []
    for shape, i in zip(shapes, normalized["inputs"], strict=True):
        if i["dtype"] == "bool":
            tensors.append(random.random(shape) < 0.7)
        elif i["dtype"].startswith("int"):
            high = values.get(i["high"], i["high"])
            tensors.append(random.integers(1, high, shape).astype(i["dtype"]))
        else:
            tensors.append(random.standard_normal(shape).astype(i["dtype"]))
    return tensors


def _mask(shape, eager, keras):
    if eager:
        import numpy as np

        return np.ones(shape[:2], dtype=bool)
    return keras.KerasTensor(shape[:2], dtype="bool")


def _where(shapes, settings, masked, masking):
    text = " and ".join(_shape(s) for s in shapes)
    if settings:
        text += " with " + ", ".join(f"{name}={value!r}" for name, value in settings.items())
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
    trainable = layer.trainable_variables
    if not trainable:
        return None
    for variable, gradient in zip(trainable, _gradients(layer, tensors, keras), strict=False):
        if gradient is None or not np.any(keras.ops.convert_to_numpy(gradient)):
            return (
                f"computation: no gradient reaches weight '{variable.name}' on inputs {where}: "
                "it is read, but through no op that passes a gradient back to it"
            )
    return None


def _gradients(layer, tensors, keras):
    """Each trainable weight's gradient of a random projection of the output
    (a sum can have zero gradient by symmetry: a softmax sums to 1), with the
    backend's own autodiff, as the generated test measures it; none on a
    backend with no autodiff."""
    import numpy as np

    ops = keras.ops
    trainable = layer.trainable_variables

    def loss(output):
        probe = np.random.default_rng(2).standard_normal(tuple(output.shape))
        return ops.sum(ops.cast(output, "float32") * ops.convert_to_tensor(probe, "float32"))

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = loss(layer(*tensors))
        return tape.gradient(value, trainable)
    if backend == "jax":
        import jax

        frozen = [v.value for v in layer.non_trainable_variables]
        return jax.grad(lambda values: loss(layer.stateless_call(values, frozen, *tensors)[0]))(
            [v.value for v in trainable]
        )
    if backend == "torch":
        for variable in trainable:
            variable.value.grad = None
        loss(layer(*tensors)).backward()
        return [variable.value.grad for variable in trainable]
    return []


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


def _failure(where, error, module, request):
    root = error
    while root.__cause__ or root.__context__:
        root = root.__cause__ or root.__context__
    reason = _NODE.sub(r"\1", _ANSI.sub("", str(root)).strip())
    reason = next((line for line in reason.splitlines() if line.strip()), type(root).__name__)
    if not isinstance(root, Exception) and reason != type(root).__name__:  # SystemExit(0): "0"
        reason = f"{type(root).__name__}: {reason}"
    if len(reason) > _LONGEST:
        reason = reason[: _LONGEST - 3] + "..."
    field, line = _located(error, module, request)
    located = f"line {line}: " if line else ""
    return printable(f"{field}: {located}fails on inputs {where}: {reason}")


def _located(error, module, request):
    """The field whose code failed (the computation or the output mask's
    body) and the line that failed, counted as in the spec (or None)."""

    def steps():
        seen = error
        while seen is not None:
            traceback = seen.__traceback__
            while traceback is not None:
                yield traceback.tb_frame.f_code, traceback.tb_lineno
                traceback = traceback.tb_next
            seen = seen.__cause__ or seen.__context__

    return _in_spec(steps(), module, request)


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
            return field, line - _first_line(module, function.co_name, source) + 1
    return "computation", None


def _first_line(module, function, source):
    """The module's line that holds line 1 of `source`, the function's body:
    the line after its docstring, less the leading blank lines the template
    drops and the spec's numbering counts."""
    tree = ast.parse(Path(module.__file__).read_text("utf-8"))
    (definition,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    return definition.body[0].end_lineno + 1 - (len(source) - len(source.lstrip("\n")))
