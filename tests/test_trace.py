"""`check` builds the layer in Keras (generator/trace.py): a spec whose layer
cannot be built as its generated test builds it is refused, naming the field
and the line, where the rules alone (`check --quick`, Copier's prompt) pass
it; a spec it accepts builds."""

import os
import subprocess
import sys

import pytest
import yaml

from generator.cli import main
from processes import check_process
from rendering import CATALOG, PARTIAL_SPECS, REPO

POOLING = yaml.safe_load((REPO / "examples" / "catalog" / "masked_pooling.yml").read_text())
DENSE = {
    "hyperparameters": [{"name": "units", "type": "int", "default": 4}],
    "example_input_shape": [2, 8],
}
# For layers that no hyperparameter sizes or reads.
PLAIN = {"hyperparameters": [], "example_input_shape": [2, 8]}

# (case id, answers, what the one problem starts with)
UNBUILDABLE = [
    (
        "weight-of-the-wrong-shape",
        DENSE
        | {
            "weights": [{"name": "kernel", "shape": ["units", "input_dim"]}],
            "computation": "\n\nhidden = x\nreturn ops.matmul(hidden, kernel)\n",
        },
        "computation: line 4: fails on inputs (None, 8): ",
    ),
    (
        "fits-the-default-only",
        DENSE
        | {
            "weights": [{"name": "kernel", "shape": ["input_dim"]}],
            "computation": "return ops.reshape(x * kernel, (-1, units))\n",
        },
        "computation: line 1: fails on inputs (2, 8) with units=",
    ),
    (
        "several-outputs",
        PLAIN
        | {
            "weights": [{"name": "kernel", "shape": ["input_dim"]}],
            "computation": "return ops.unstack(x * kernel, axis=1)\n",
        },
        "computation: returns list on inputs (None, 8), where a layer returns one tensor",
    ),
    (
        "integer-output",
        DENSE
        | {
            "weights": [{"name": "kernel", "shape": ["input_dim", "units"]}],
            "computation": "return ops.argmax(ops.matmul(x, kernel), axis=-1)\n",
        },
        "computation: returns int32 on inputs (2, 8): no gradient flows",
    ),
    (
        "weight-read-through-no-gradient",
        PLAIN
        | {
            "weights": [{"name": "kernel", "shape": ["input_dim"]}],
            "computation": "return x * ops.round(kernel * 4.0)\n",
        },
        "computation: no gradient reaches weight 'kernel' on inputs (2, 8): it is read",
    ),
    (
        "not-finite-on-example-values",
        PLAIN
        | {
            "weights": [{"name": "kernel", "shape": ["input_dim"]}],
            "computation": "return ops.log(x) * kernel\n",
        },
        "computation: returns NaN or infinity on example inputs (2, 8)",
    ),
    (
        "ignores-the-dtype-policy",
        PLAIN
        | {
            "weights": [{"name": "kernel", "shape": ["input_dim"]}],
            "computation": "return ops.cast(x, 'float32') * ops.cast(kernel, 'float32')\n",
        },
        "computation: returns float32 on inputs (2, 8) with dtype='mixed_float16', not the "
        "policy's float16",
    ),
    (
        "input-mask-on-a-pooled-output",
        POOLING | {"output_mask": "input"},
        "output_mask: the first input's mask has shape (4, 5) on inputs (4, 5, 8), which "
        "the output of shape (4, 8) cannot carry",
    ),
    (
        "computed-mask-of-another-shape",
        POOLING
        | {"output_mask": "return None if mask is None else ops.concatenate([mask, mask], axis=1)"},
        "output_mask: the mask its body returns has shape (4, 10) on inputs (4, 5, 8)",
    ),
    (
        "computed-mask-needs-a-mask",
        POOLING | {"output_mask": "return ops.any(mask, axis=1)"},
        "output_mask: line 1: fails on inputs (None, None, 8), no mask: ",
    ),
    (
        "state-update-of-another-dtype-in-training",
        PLAIN
        | {
            "weights": [
                {"name": "kernel", "shape": ["input_dim"]},
                {
                    "name": "moving_abs",
                    "shape": ["input_dim"],
                    "initializer": "ones",
                    "trainable": False,
                    "updated_in_training": True,
                },
            ],
            "computation": "if training:\n"
            "    moving_abs.assign(0.9 * moving_abs + 0.1 * ops.mean(ops.abs(x), axis=0))\n"
            "return x / ops.cast(moving_abs, x.dtype) * kernel\n",
        },
        "computation: line 2: fails on inputs (2, 8) with dtype='mixed_float16', in training: ",
    ),
    (
        "op-xla-cannot-compile",
        PLAIN
        | {
            "weights": [{"name": "kernel", "shape": ["input_dim", "input_dim"]}],
            "computation": "det = ops.det(ops.cast(kernel, 'float32'))\n"
            "return ops.matmul(x, kernel) * ops.cast(det, x.dtype)\n",
        },
        "computation: fails compiled with XLA (fit(jit_compile=True), as the tests train it) "
        "on inputs (2, 8): ",
    ),
    (
        "output-shape-keras-cannot-infer",
        {
            "hyperparameters": [{"name": "vocabulary", "type": "int", "default": 30}],
            "inputs": [{"name": "ids", "shape": [4, None], "dtype": "int32", "high": "vocabulary"}],
            "weights": [{"name": "table", "shape": ["vocabulary", 8]}],
            "computation": "counts = ops.bincount(ids, minlength=vocabulary)\n"
            "return ops.matmul(ops.cast(counts, table.dtype), table)\n",
        },
        "computation: returns shape (4, 8) on inputs (4, 5), where compute_output_shape has "
        "shape (None, 8)",
    ),
    (
        "masked-steps-reach-the-output",
        POOLING
        | {
            "computation": "scores = ops.squeeze(ops.matmul(x, score_kernel), -1)\n"
            "if mask is not None:\n"
            "    scores = ops.where(mask, scores, scores - 1.0)\n"
            "attention = ops.softmax(scores, axis=-1)\n"
            'return ops.einsum("bt,btd->bd", attention, ops.matmul(x, projection))\n',
        },
        "computation: what 'mask' masks out changes the output on inputs (4, 5, 8), masked: ",
    ),
    (
        "constraint-the-weight-cannot-take",
        PLAIN
        | {
            "weights": [
                {"name": "kernel", "shape": ["input_dim"]},
                {
                    "name": "scale",
                    "shape": [],
                    "initializer": "ones",
                    "constraint": {"class_name": "MaxNorm", "config": {"max_value": 1.0}},
                },
            ],
            "computation": "return x * kernel * scale\n",
        },
        "weights[1].constraint: fails on weight 'scale' of shape (): ",
    ),
    (
        "random-without-noise-at-the-defaults",
        DENSE
        | {
            "random": True,
            "hyperparameters": [{"name": "rate", "type": "float", "default": 0.0}],
            "weights": [{"name": "kernel", "shape": ["input_dim"]}],
            "computation": "if training and rate > 0:\n"
            "    x = keras.random.dropout(x, rate, seed=seed_generator)\n"
            "return x * kernel\n",
        },
        "computation: two training calls on inputs (2, 8) with seed=7 give the same output at "
        "the default hyperparameters",
    ),
    (
        "state-that-never-moves-at-the-defaults",
        DENSE
        | {
            "hyperparameters": [{"name": "momentum", "type": "float", "default": 1.0}],
            "weights": [
                {"name": "kernel", "shape": ["input_dim"]},
                {
                    "name": "moving_mean",
                    "shape": ["input_dim"],
                    "initializer": "zeros",
                    "trainable": False,
                    "updated_in_training": True,
                },
            ],
            "computation": "if training:\n"
            "    moving_mean.assign(momentum * moving_mean + (1.0 - momentum) * "
            "ops.cast(ops.mean(x, axis=0), moving_mean.dtype))\n"
            "return (x - ops.cast(moving_mean, x.dtype)) * kernel\n",
        },
        "computation: training calls on inputs (2, 8) leave state weight 'moving_mean' "
        "unchanged at the default hyperparameters",
    ),
    (
        "gradient-lost-in-float16-with-int-inputs",
        {
            "inputs": [{"name": "ids", "shape": [4, 5], "dtype": "int32", "high": 30}],
            "weights": [
                {"name": "table", "shape": [30, 8], "initializer": "uniform"},
                {
                    "name": "gate",
                    "shape": [8],
                    "initializer": {"class_name": "Constant", "config": {"value": 10.0}},
                },
            ],
            "computation": "return ops.take(table, ids, axis=0) * ops.sigmoid(gate)\n",
        },
        "computation: no gradient reaches weight 'gate' on inputs (4, 5) with "
        "dtype='mixed_float16'",
    ),
    (
        "noise-the-seed-cannot-tell",
        {
            "random": True,
            "hyperparameters": [{"name": "rate", "type": "float", "default": 0.05}],
            "weights": [{"name": "gain", "shape": ["input_dim"], "initializer": "ones"}],
            "computation": "if training:\n"
            "    x = keras.random.dropout(x, rate, seed=seed_generator)\n"
            "return x * gain\n",
            "example_input_shape": [2, 4],
        },
        "computation: layers made with seed=7 and seed=8 draw the same noise on inputs (2, 4)",
    ),
    (
        "diverges-in-fit",
        {
            "hyperparameters": [{"name": "units", "type": "int", "default": 4}],
            "weights": [{"name": "kernel", "shape": ["input_dim", "units"]}],
            "computation": "return ops.exp(ops.matmul(x, kernel))\n",
            "example_input_shape": [8, 512],
        },
        "computation: fails the generated test test_fit_trains_every_trainable_weight on inputs "
        "(8, 512): fit() did not lower the loss",
    ),
    (
        "test-value-too-small-for-the-ids",
        {
            "hyperparameters": [
                {"name": "vocabulary", "type": "int", "default": 50, "test_value": 20}
            ],
            "inputs": [{"name": "ids", "shape": [4, 7], "dtype": "int32", "high": "vocabulary"}],
            "weights": [{"name": "table", "shape": ["vocabulary", 8], "initializer": "uniform"}],
            "computation": "return ops.mean(ops.take(table, ids, axis=0), axis=1)\n",
        },
        "computation: line 1: fails on inputs (4, 7) with vocabulary=20: indices",
    ),
    (
        # A mask per element, where Keras masks a loss per step: TensorFlow's
        # error opens with "Graph execution error:" and a traceback.
        "mask-of-the-wrong-rank-in-fit",
        {
            "hyperparameters": [{"name": "eps", "type": "float", "default": 1.0e-3}],
            "inputs": [
                {"name": "vec", "shape": [4, 5]},
                {"name": "ctx", "shape": [4, None, 3]},
            ],
            "weights": [{"name": "proj", "shape": ["ctx.shape[-1]", "vec.shape[1]"]}],
            "computation": "return vec + ops.matmul(ops.mean(ctx, axis=1), proj)\n",
            "output_mask": "return ops.greater(ops.abs(vec), eps)",
        },
        "computation: fails the generated test test_fit_trains_every_trainable_weight on inputs "
        "(4, 5) and (4, 5, 3): Incompatible shapes: [16] vs. [16,5]",
    ),
    (
        "constant-without-its-value",
        PLAIN
        | {
            "weights": [
                {"name": "gain", "shape": ["input_dim"], "initializer": {"class_name": "Constant"}}
            ],
            "computation": "return x * gain\n",
        },
        "weights[0].initializer: fails for weight 'gain' of shape (8,): its config lacks 'value'",
    ),
    (
        "constant-of-another-shape",
        PLAIN
        | {
            "weights": [
                {
                    "name": "gain",
                    "shape": ["input_dim"],
                    "initializer": {"class_name": "Constant", "config": {"value": [1.0, 2.0]}},
                }
            ],
            "computation": "return x * gain\n",
        },
        "weights[0].initializer: fails for weight 'gain' of shape (8,): Incompatible shapes",
    ),
    (
        "constant-of-the-default-size-only",
        DENSE
        | {
            "weights": [
                {"name": "kernel", "shape": ["input_dim", "units"]},
                {
                    "name": "gain",
                    "shape": ["units"],
                    "initializer": {"class_name": "Constant", "config": {"value": [1, 2, 3, 4]}},
                },
            ],
            "computation": "return ops.matmul(x, kernel) * gain\n",
        },
        "weights[1].initializer: fails on inputs (None, 8) with units=",
    ),
]


def check(tmp_path, capsys, answers, *options):
    spec = tmp_path / "spec.yml"
    spec.write_text(yaml.safe_dump(answers), encoding="utf-8")
    capsys.readouterr()
    status = main(["check", *options, str(spec)])
    return status, capsys.readouterr()


@pytest.mark.parametrize(
    ("answers", "expected"), [c[1:] for c in UNBUILDABLE], ids=[c[0] for c in UNBUILDABLE]
)
def test_a_layer_that_does_not_build_is_refused(tmp_path, capsys, answers, expected):
    status, quick = check(tmp_path, capsys, answers, "--quick")
    assert status == 0, quick.err  # the rules pass it: only building it shows
    status, seen = check(tmp_path, capsys, answers)
    assert status == 2 and seen.out == ""
    assert seen.err.count("\n") == 1 and seen.err.startswith(expected), seen.err


@pytest.mark.parametrize("path", CATALOG, ids=[p.stem for p in CATALOG])
def test_every_catalog_layer_builds(tmp_path, capsys, path):
    capsys.readouterr()
    assert main(["check", str(path)]) == 0, capsys.readouterr().err


# Specs of sound layers the tests once refused: (case id, answers).
BUILDABLE = [
    (
        # LoRA as Keras's own Dense(lora_rank=...) starts it: B at zero passes
        # A no gradient until B's first step.
        "a-weight-that-starts-at-zero",
        {
            "hyperparameters": [
                {"name": "units", "type": "int", "default": 4},
                {"name": "rank", "type": "int", "default": 2},
            ],
            "weights": [
                {"name": "kernel", "shape": ["input_dim", "units"], "trainable": False},
                {"name": "lora_a", "shape": ["input_dim", "rank"], "initializer": "he_uniform"},
                {"name": "lora_b", "shape": ["rank", "units"], "initializer": "zeros"},
            ],
            "computation": (
                "return ops.matmul(x, kernel) + ops.matmul(ops.matmul(x, lora_a), lora_b)\n"
            ),
            "example_input_shape": [8, 16],
        },
    ),
    (
        # Learned noise, as NoisyNet's NoisyDense: fit() takes the gradient
        # in training, where alone the noise scale is read.
        "a-weight-read-in-training-only",
        {
            "hyperparameters": [],
            "random": True,
            "weights": [
                {"name": "kernel", "shape": ["input_dim", "input_dim"]},
                {
                    "name": "log_sigma",
                    "shape": ["input_dim"],
                    "initializer": {"class_name": "Constant", "config": {"value": -2.0}},
                },
            ],
            "computation": (
                "y = ops.matmul(x, kernel)\n"
                "if training:\n"
                "    eps = keras.random.normal(ops.shape(y), seed=seed_generator)\n"
                "    y = y + ops.exp(log_sigma) * ops.cast(eps, y.dtype)\n"
                "return y\n"
            ),
            "example_input_shape": [8, 4],
        },
    ),
    (
        # Embedding(mask_zero=True): the output mask is worked out from the
        # ids, so each refill of the masked steps keeps other steps.
        "an-output-mask-worked-out-from-the-values",
        {
            "hyperparameters": [{"name": "vocab", "type": "int", "default": 12}],
            "inputs": [{"name": "ids", "shape": [4, None], "dtype": "int32", "high": "vocab"}],
            "weights": [{"name": "table", "shape": ["vocab", 3], "initializer": "uniform"}],
            "computation": (
                "out = ops.take(table, ids, axis=0)\n"
                "if mask is not None:\n"
                "    out = out * ops.cast(mask, out.dtype)[:, :, None]\n"
                "return out\n"
            ),
            "output_mask": "return ops.not_equal(ids, 0)",
        },
    ),
    (
        "an-output-mask-that-reads-a-hyperparameter",
        {
            "hyperparameters": [{"name": "threshold", "type": "float", "default": 0.0}],
            "weights": [{"name": "scale", "shape": ["input_dim"]}],
            "computation": "return x * scale\n",
            "output_mask": "return ops.greater(ops.sum(x, -1), threshold)",
            "example_input_shape": [4, None, 3],
        },
    ),
]


@pytest.mark.parametrize("answers", [c[1] for c in BUILDABLE], ids=[c[0] for c in BUILDABLE])
def test_a_sound_layer_is_accepted(tmp_path, capsys, answers):
    status, seen = check(tmp_path, capsys, answers)
    assert status == 0, seen.err


@pytest.mark.parametrize("answers", PARTIAL_SPECS.values(), ids=PARTIAL_SPECS.keys())
def test_every_default_builds(tmp_path, capsys, answers):
    """What the prompt proposes for the questions a spec leaves out builds."""
    status, seen = check(tmp_path, capsys, answers)
    assert status == 0, seen.err


# Checks a spec as the command line does; then says whether a process was
# started to build the layer.
CHECK_AND_TELL = """
import sys
from generator import cli, trace
status = cli.main(["check", sys.argv[1]])
print("built" if trace._builders else "kept")
sys.exit(status)
"""


def test_a_checked_spec_is_not_built_again(tmp_path):
    """The answer is kept: checking an unchanged spec again starts no
    process to build it; a changed computation is built again. The checking
    process itself never imports Keras."""
    spec = tmp_path / "spec.yml"
    environment = os.environ | {"TMPDIR": str(tmp_path)}

    def check():
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", CHECK_AND_TELL, str(spec)],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0 and proc.stdout.startswith("ok: "), proc.stderr[-2000:]
        assert not any(line.endswith("| keras") for line in proc.stderr.splitlines())
        return proc.stdout.splitlines()[-1]

    spec.write_text("layer_name: Kept\n", encoding="utf-8")
    assert check() == "built"
    assert check() == "kept"
    spec.write_text(
        "layer_name: Kept\ncomputation: |\n  return (ops.matmul(x, kernel) + bias) * scale * 2.0\n",
        encoding="utf-8",
    )
    assert check() == "built"


def test_answers_kept_where_others_can_write_are_not_read(tmp_path):
    """In a temporary folder shared by users, another who made the folder
    of kept answers first could plant `ok` for any spec."""
    spec = tmp_path / "spec.yml"
    spec.write_text("layer_name: Kept\n", encoding="utf-8")
    environment = os.environ | {"TMPDIR": str(tmp_path)}

    def check():
        return subprocess.run(
            [sys.executable, "-c", CHECK_AND_TELL, str(spec)],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
        ).stdout.splitlines()[-1]

    assert check() == "built"
    kept = tmp_path / f"keras-layer-check-{os.getuid()}"
    kept.chmod(0o777)
    assert check() == "built"
    kept.chmod(0o700)
    assert check() == "kept"


def refused(proc, expected):
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(expected), proc.stderr


ENDLESS = {
    "computation": (
        "computation: |\n  while True:\n      x = x + 0.0\n"
        "  return (ops.matmul(x, kernel) + bias) * scale\n",
        "computation: line ",
        " on inputs (None, 16) (an endless loop?)",
    ),
    "output-mask": (
        "example_input_shape: [4, 5, 8]\n"
        "weights: [{name: gain, shape: [input_dim], initializer: ones}]\n"
        "computation: return x * gain\n"
        'output_mask: "return [mask for _ in iter(int, 1)][0]"\n',
        "output_mask: line 1: ",
        " on inputs (None, 5, 8), no mask (an endless loop?)",
    ),
}


@pytest.mark.parametrize(("content", "field", "where"), ENDLESS.values(), ids=ENDLESS.keys())
def test_code_that_never_ends_is_stopped(tmp_path, content, field, where):
    """The spec's code runs in a process of its own, stopped past the time
    limit, which the message names with the field and line that ran; the
    answer is not kept (a slower machine's), so the next check builds the
    layer again."""
    spec = tmp_path / "spec.yml"
    spec.write_text(content, encoding="utf-8")
    limit = {"KERAS_LAYER_CHECK_SECONDS": "3", "TMPDIR": str(tmp_path)}
    for _ in range(2):
        proc, _, _ = check_process(spec, timeout=300, **limit)
        refused(proc, field)
        assert "still running after 3 s" + where in proc.stderr, proc.stderr
        assert "KERAS_LAYER_CHECK_SECONDS sets the limit" in proc.stderr


def test_a_computation_that_fills_the_memory_is_stopped(tmp_path):
    """A layer that would take 6.4 GB is stopped near the limit (1.5 GiB
    here): check's processes never hold much more."""
    spec = tmp_path / "spec.yml"
    spec.write_text(
        "computation: |\n  big = ops.ones((40000, 40000)) + 1.0\n"
        "  return (ops.matmul(x, kernel) + bias) * scale + ops.mean(big)\n",
        encoding="utf-8",
    )
    proc, _, peak_kb = check_process(
        spec, timeout=300, KERAS_LAYER_CHECK_GIB="1.5", TMPDIR=str(tmp_path)
    )
    refused(proc, "computation: takes more than 1.5 GiB of memory on inputs (8, 16)")
    assert peak_kb < 2.5 * 2**20, peak_kb


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("raise SystemExit(0)", "computation: line 2: fails on inputs (None, 16): SystemExit: 0"),
        ("raise KeyboardInterrupt", "computation: line 2: fails on inputs (None, 16): Keyboard"),
    ],
)
def test_a_computation_that_exits_is_refused(tmp_path, body, expected):
    """Exiting is the spec's failure like any other, not check's exit."""
    spec = tmp_path / "spec.yml"
    spec.write_text(
        f"computation: |\n  if x.shape[0] is None:\n      {body}\n"
        "  return (ops.matmul(x, kernel) + bias) * scale\n",
        encoding="utf-8",
    )
    refused(check_process(spec, timeout=300, TMPDIR=str(tmp_path))[0], expected)


def test_what_a_computation_prints_is_not_checks_output(tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_text(
        "computation: |\n  print('hello')\n  return (ops.matmul(x, kernel) + bias) * scale\n",
        encoding="utf-8",
    )
    proc, _, _ = check_process(spec, timeout=300, TMPDIR=str(tmp_path))
    assert proc.returncode == 0 and proc.stdout.count("\n") == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok: ") and proc.stderr == "", proc.stderr


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan"])
def test_a_bad_limit_is_named(tmp_path, value):
    spec = tmp_path / "spec.yml"
    spec.write_text("layer_name: Limited\n", encoding="utf-8")
    proc, _, _ = check_process(spec, KERAS_LAYER_CHECK_GIB=value, TMPDIR=str(tmp_path))
    refused(proc, f"KERAS_LAYER_CHECK_GIB: {value!r} is not a positive number")


def test_without_keras_check_says_what_to_install(tmp_path):
    """The tool's own requirements hold no Keras: a machine without it gets
    one line saying what to install, and --quick still checks the rules."""
    shadow = tmp_path / "shadow" / "keras"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named keras')\n")
    spec = tmp_path / "spec.yml"
    spec.write_text("layer_name: NoKeras\n", encoding="utf-8")
    environment = os.environ | {"PYTHONPATH": str(shadow.parent), "TMPDIR": str(tmp_path)}
    proc = check_command(spec, environment)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("building and testing the layer needs Keras, a backend, pytest")
    assert "keras-layer-template[run]" in proc.stderr
    assert check_command(spec, environment, "--quick").stdout.startswith("ok: ")


def check_command(spec, environment, *options):
    """`python -m generator check` as a user runs it, in `environment`."""
    return subprocess.run(
        [sys.executable, "-m", "generator", "check", *options, str(spec)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_a_limit_keras_alone_passes_is_named(tmp_path):
    """Importing Keras is not the spec's doing: a memory limit it passes is
    check's problem, said as such."""
    spec = tmp_path / "spec.yml"
    spec.write_text("layer_name: Limited\n", encoding="utf-8")
    proc, _, _ = check_process(spec, KERAS_LAYER_CHECK_GIB="0.05", TMPDIR=str(tmp_path))
    refused(proc, "building the layer: importing Keras took more than 0.05 GiB")


# JAX runs without 64-bit ints: an int64 input arrives as int32 there.
ONE_BACKEND_ONLY = {
    "hyperparameters": [{"name": "buckets", "type": "int", "default": 16}],
    "inputs": [{"name": "ids", "shape": [4, 6], "dtype": "int64", "high": 1000000}],
    "weights": [{"name": "table", "shape": ["buckets", 4]}],
    "computation": "h = ops.mod(ids * 2654435761, buckets)\nreturn ops.take(table, h, axis=0)\n",
}


def test_backends_named_are_each_checked(tmp_path):
    """The project's CI tests every backend: a layer that only fails on one
    is refused when that one is named, and the problem names it."""
    environment = os.environ | {"KERAS_BACKEND": "tensorflow"}
    spec = tmp_path / "spec.yml"
    spec.write_text(yaml.safe_dump(ONE_BACKEND_ONLY), encoding="utf-8")
    assert check_command(spec, environment).returncode == 0
    proc = check_command(spec, environment, "--backends", "tensorflow,jax")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("computation: [jax] line 1: fails on inputs (None, 6): "), (
        proc.stderr
    )
    proc = check_command(spec, environment, "--backends", "theano")
    assert proc.returncode == 2 and proc.stderr == (
        "--backends: 'theano' is not a Keras backend (tensorflow, jax, torch, or all: those "
        "installed)\n"
    )
