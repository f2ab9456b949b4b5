"""Hostile answers the rules decide (issue 15), through Copier and `check`.

Each bad case is refused by real `copier copy` (nothing written) and by
`generator check`, with the same first message naming the field. Each awkward
but good case is accepted by both and generates a project that compiles and
is ruff-clean.
"""

import copy
import datetime
import subprocess
import sys

import pytest
import yaml

from generator.cli import main
from rendering import REPO, ProjectRun, render

KERNEL = {"name": "kernel", "shape": ["input_dim", "units"]}
WEIGHTS = [
    KERNEL,
    {"name": "bias", "shape": ["units"], "initializer": "zeros"},
    {"name": "scale", "shape": [], "initializer": "ones"},
]
UNITS = {"name": "units", "type": "int", "default": 32}
COMPUTATION = "return (ops.matmul(x, kernel) + bias) * scale\n"


def spec(hyperparameters=(UNITS,), weights=tuple(WEIGHTS), **answers):
    """The README's spec, changed: every answer is given, so no default hides
    what the case is about."""
    return {
        "hyperparameters": copy.deepcopy(_listed(hyperparameters)),
        "weights": copy.deepcopy(_listed(weights)),
        "computation": COMPUTATION,
        "example_input_shape": [8, 16],
        **answers,
    }


def _listed(value):
    return list(value) if isinstance(value, tuple) else value


def kernel(**changes):
    return [{**KERNEL, **changes}, *WEIGHTS[1:]]


def with_hyperparameter(**hyperparameter):
    return [UNITS, {"type": "int", "default": 3, **hyperparameter}]


# (case id, answers, the first message's start)
BAD = [
    # Identifiers that match `$` before a final newline, or digits that are not ASCII.
    ("layer-name-newline", spec(layer_name="AdvLayer\n"), "layer_name: 'AdvLayer\\n' is not"),
    ("package-newline", spec(package_name="adv_layers\n"), "package_name: 'adv_layers\\n'"),
    (
        "axis-leading-zero",
        spec(weights=kernel(shape=["input_shape[01]", "units"])),
        "weights[0].shape[0]",
    ),
    (
        "axis-arabic-digit",
        spec(weights=kernel(shape=["input_shape[\u0661]", 3])),
        "weights[0].shape[0]",
    ),
    (
        "axis-of-5000-digits",
        spec(weights=kernel(shape=["input_shape[" + "9" * 5000 + "]"])),
        "weights[0].shape[0]",
    ),
    (
        "empty-dimension",
        spec(hyperparameters=[], weights=[{"name": "w", "shape": [""]}]),
        "weights[0].shape[0]",
    ),
    # Names that shadow what the generated code or its project uses.
    ("package-stdlib", spec(package_name="json"), "package_name: 'json' would shadow Python's"),
    ("package-keras", spec(package_name="keras"), "package_name: 'keras' would shadow the module"),
    ("package-numpy", spec(package_name="numpy"), "package_name: 'numpy' would shadow the module"),
    (
        "package-keras-dependency",
        spec(package_name="optree"),
        "package_name: 'optree' would shadow",
    ),
    ("package-pytest", spec(package_name="pytest"), "package_name: 'pytest' would shadow"),
    (
        "package-conftest",
        spec(package_name="conftest"),
        "package_name: 'conftest' would shadow the project's",
    ),
    ("package-layer-checks", spec(package_name="layer_checks"), "package_name: 'layer_checks'"),
    (
        "module-test-prefix",
        spec(module_name="test_layer"),
        "module_name: 'test_layer' starts with 'test'",
    ),
    (
        "hyper-super",
        spec(hyperparameters=with_hyperparameter(name="super")),
        "hyperparameters[1].name: 'super'",
    ),
    (
        "hyper-input-dim",
        spec(hyperparameters=with_hyperparameter(name="input_dim")),
        "hyperparameters[1].name: 'input_dim'",
    ),
    (
        "weight-activity",
        spec(weights=[*WEIGHTS, {"name": "activity", "shape": [2]}]),
        "weights[3].name: 'activity' would make",
    ),
    (
        "weight-case-twin",
        spec(weights=[*WEIGHTS, {"name": "Kernel", "shape": [2]}]),
        "weights[3].name: 'Kernel' differs from 'kernel'",
    ),
    # Dimensions and sizes the generated tests could not build.
    (
        "dimension-default-zero",
        spec(hyperparameters=[{**UNITS, "default": 0}]),
        "weights[0].shape[1]: 'units' sizes this weight, so its default",
    ),
    (
        "dimension-test-value-negative",
        spec(hyperparameters=[{**UNITS, "test_value": -4}]),
        "weights[0].shape[1]: 'units' sizes this weight, so its test_value",
    ),
    (
        "weight-of-a-terabyte",
        spec(weights=kernel(shape=[1_000_000_000, 1000])),
        "weights[0].shape: [1000000000, 1000] is 1,000,000,000,000 values",
    ),
    (
        "weight-through-a-hyperparameter",
        spec(hyperparameters=[{**UNITS, "default": 10**12}]),
        "weights[0].shape: ['input_dim', 'units'] is 16,000,000,000,016 values",
    ),
    (
        "input-of-32-gigabytes",
        spec(example_input_shape=[8, 1_000_000_000]),
        "example_input_shape: [8, 1000000000] is 8,000,000,000 values",
    ),
    (
        "astronomical-weight",
        spec(weights=kernel(shape=[10**300, 10**300])),
        "weights[0].shape: [1000000000000000000",
    ),
    # Keras configs that would fail at build.
    (
        "initializer-misspelled-in-lower-case",
        spec(weights=kernel(initializer="zeroes")),
        "weights[0].initializer: 'zeroes' is not a Keras initializer name (did you mean 'zeros'?)",
    ),
    (
        "config-misspelled",
        spec(weights=kernel(initializer={"class_name": "RandomNormal", "config": {"stdev": 0.1}})),
        "weights[0].initializer.config.stdev: not an argument of RandomNormal (did you mean 'stddev'?)",
    ),
    (
        "config-of-a-class-with-none",
        spec(weights=kernel(initializer={"class_name": "Zeros", "config": {"value": 1}})),
        "weights[0].initializer.config.value: not an argument of Zeros (it takes none)",
    ),
    (
        "config-exponent-as-text",
        spec(
            weights=kernel(initializer={"class_name": "RandomNormal", "config": {"stddev": "1e-3"}})
        ),
        "weights[0].initializer.config.stddev: '1e-3' is text, not a number (YAML 1.1 reads 1e-3",
    ),
    (
        "regularizer-misspelled",
        spec(weights=kernel(regularizer={"class_name": "L1L2", "config": {"l3": 0.1}})),
        "weights[0].regularizer.config.l3: not an argument of L1L2",
    ),
    (
        "constraint-misspelled",
        spec(weights=kernel(constraint={"class_name": "MaxNorm", "config": {"max_val": 2}})),
        "weights[0].constraint.config.max_val: not an argument of MaxNorm (did you mean 'max_value'?)",
    ),
    # Sizes that the patterns reading code, or the name checks, would take
    # minutes over (each keyword rescans its line; each name meets every other).
    (
        "computation-of-a-hundred-thousand-characters",
        spec(computation="y = x @ kernel\n" + "for " * 24_000 + "\nreturn y\n"),
        "computation: 96,025 characters (at most 20,000)",
    ),
    (
        "computation-line-of-ten-thousand-characters",
        spec(computation="y = x @ kernel\n" + "lambda " * 1_500 + "\nreturn y\n"),
        "computation: line 2 is 10,500 characters long (at most 1,000)",
    ),
    (
        "output-mask-line-of-ten-thousand-characters",
        spec(output_mask="return " + "lambda " * 1_500 + "x"),
        "output_mask: line 1 is 10,508 characters long (at most 1,000)",
    ),
    (
        "two-thousand-hyperparameters",
        spec(hyperparameters=[UNITS] + [{**UNITS, "name": f"h{n}"} for n in range(2_000)]),
        "hyperparameters: 2001 items (at most 100)",
    ),
    (
        "name-of-thirty-one-characters",
        spec(hyperparameters=[UNITS, {**UNITS, "name": "u" * 31}]),
        "hyperparameters[1].name: 'uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu' is longer than 30 characters",
    ),
    (
        "three-hundred-choices",
        spec(
            hyperparameters=[
                UNITS,
                {"name": "mode", "type": "str", "default": "c0"}
                | {"choices": [f"c{n}" for n in range(300)]},
            ]
        ),
        "hyperparameters[1].choices: 300 items (at most 100)",
    ),
    (
        "package-named-like-the-layers-test-module",
        spec(package_name="test_alpha", layer_name="Alpha"),
        "module_name: 'alpha' has the test module tests/test_alpha.py, whose name is the package's",
    ),
    (
        "test-value-misspelt-next-to-the-default",
        spec(
            hyperparameters=[
                UNITS,
                {"name": "mode", "type": "str", "default": "sum", "choices": ["sum", "mean"]}
                | {"test_value": "summ"},
            ]
        ),
        "hyperparameters[1].test_value: 'summ' is not one of the choices (sum, mean)",
    ),
    (
        "float-exponent-as-text",
        spec(hyperparameters=[UNITS, {"name": "rate", "type": "float", "default": "1e-3"}]),
        "hyperparameters[1].default: '1e-3' is not a float (YAML 1.1 reads 1e-3 as text",
    ),
    (
        "float-near-max",
        spec(hyperparameters=[UNITS, {"name": "rate", "type": "float", "default": 1.7e308}]),
        "hyperparameters[1].default: 1.7e+308",
    ),
    # Missing keys and YAML's own types: the field is named, never Jinja's internals.
    (
        "hyper-without-name",
        spec(hyperparameters=[{"type": "int", "default": 3}]),
        "hyperparameters[0].name: None is not an identifier",
    ),
    (
        "hyper-name-list",
        spec(hyperparameters=[{"name": ["a"], "type": "int", "default": 3}]),
        "hyperparameters[0].name: ['a'] is not",
    ),
    (
        "hyper-without-type",
        spec(hyperparameters=[{"name": "units", "default": 3}]),
        "hyperparameters[0].type: None is not one of",
    ),
    (
        "weight-without-shape",
        spec(weights=[{"name": "kernel"}, *WEIGHTS[1:]]),
        "weights[0].shape: must be a list of dimensions, not null",
    ),
    (
        "date-default",
        spec(hyperparameters=[{**UNITS, "default": datetime.date(2024, 1, 1)}]),
        "hyperparameters[0].default: 2024-01-01 is not an int",
    ),
    (
        "date-dimension",
        spec(weights=kernel(shape=[datetime.date(2024, 1, 1)])),
        "weights[0].shape[0]: 2024-01-01 is not",
    ),
    ("weights-float", spec(weights=1.5), "weights: must be a list, not float"),
    # Text that cannot be a docstring, or that Jinja splits where Python does not.
    ("description-nul", spec(description="A layer.\x00"), "description: holds '\\u0000'"),
    ("description-escape", spec(description="A layer.\x1b[2J"), "description: holds '\\u001b'"),
    ("description-surrogate", spec(description="A layer.\ud800"), "description: holds '\\ud800'"),
    ("weight-doc-bell", spec(weights=kernel(doc="ring\x07")), "weights[0].doc: holds '\\u0007'"),
    (
        "computation-line-separator",
        spec(computation="# note\u2028import os\n" + COMPUTATION),
        "computation: line 1: holds U+2028 (line separator), which the generated module takes",
    ),
    (
        "computation-next-line",
        spec(computation="y = 1  # \x85\n" + COMPUTATION),
        "computation: line 1: holds U+0085",
    ),
    (
        "computation-form-feed",
        spec(computation="y = 1\n# \x0c\n" + COMPUTATION),
        "computation: line 2: holds U+000C",
    ),
    (
        "computation-nul",
        spec(computation="y = 1  # \x00\n" + COMPUTATION),
        "computation: line 1: holds a NUL character",
    ),
    (
        "computation-surrogate",
        spec(computation="y = '\udfff'\n" + COMPUTATION),
        "computation: line 1: holds a lone surrogate",
    ),
    # The layer's spec file holds the computation as a YAML block, which
    # cannot hold a control character (every later update would fail).
    (
        "computation-bell",
        spec(computation="y = 1  # \x07\n" + COMPUTATION),
        "computation: line 1: holds the control character '\\x07'",
    ),
    # Python reads 'ｓcale' as 'scale' (NFKC); the rules read ASCII names.
    (
        "computation-fullwidth-name",
        spec(computation="return (ops.matmul(x, kernel) + bias) * \uff53cale\n"),
        "computation: '\\uff53cale' holds a character that Python reads as an ASCII one",
    ),
    (
        "str-default-with-control",
        spec(hyperparameters=with_hyperparameter(name="mode", type="str", default="a\x07")),
        "hyperparameters[1].default: holds '\\u0007', which is not text",
    ),
    ("description-blank", spec(description=" \t"), "description: is blank"),
    # A setting of Copier's given as an answer replaces it: this one would
    # blind the checks that read the project's files.
    (
        "copier-setting-as-answer",
        spec(_external_data={"project": {"package_name": "other_layers"}}),
        "_external_data: is Copier's own setting, not a question",
    ),
    # Bounded before the rules walk it (a deep and wide list took minutes).
    (
        "computation-in-tensorflow",
        spec(computation="return (tf.matmul(x, kernel) + bias) * scale\n"),
        "computation: uses undefined name 'tf' (the computation runs on every backend: "
        "compute with ops",
    ),
    (
        "config-list-too-long",
        spec(
            weights=kernel(
                initializer={"class_name": "Constant", "config": {"value": [[0.5] * 300] * 2}}
            )
        ),
        "weights[0].initializer.config.value: over 1000 characters as JSON (a config value is at most that)",
    ),
    # YAML's !!binary: bytes are a sequence of ints to Jinja.
    (
        "shape-of-bytes",
        spec(weights=kernel(shape=b"\x04\x08")),
        "weights[0].shape: must be a list of dimensions, not bytes",
    ),
    # A mask the tests give masks the last steps of axis 1 and keeps the first.
    (
        "mask-read-on-one-step",
        spec(
            weights=kernel(shape=["input_shape[-1]", "units"]),
            computation="if mask is not None:\n    x = x * ops.cast(mask[..., None], x.dtype)\n"
            + COMPUTATION,
            example_input_shape=[8, 1, 16],
        ),
        "example_input_shape[1]: 1 step on axis 1, but the computation reads mask",
    ),
    (
        "output-mask-on-one-step",
        spec(example_input_shape=[8, 1], output_mask="input"),
        "example_input_shape[1]: 1 step on axis 1, but output_mask is set",
    ),
    # A model's inputs share their batch axis: the tests batch them together.
    (
        "inputs-of-two-batch-sizes",
        spec(
            inputs=[{"name": "x", "shape": [8, 16]}, {"name": "prompt", "shape": [1, 16]}],
            example_input_shape=[8, 16],
        ),
        "inputs[1].shape[0]: 1 is not the batch size of inputs[0] (8)",
    ),
    # Anything YAML reads may stand in a shape, dates too.
    (
        "date-in-an-input-shape",
        spec(inputs=[{"name": "x", "shape": [8, datetime.date(2024, 1, 1)]}]),
        "inputs[0].shape: [8, datetime.date(2024, 1, 1)] is not a list",
    ),
]

# Awkward and fine: names the generated code could once collide with.
GOOD = [
    ("layer-named-like-test-helpers", spec(layer_name="LayerCase", module_name="weight_spec")),
    ("layer-named-bound-lambda", spec(layer_name="BoundLambda", module_name="importlib")),
    (
        "hyperparameters-named-like-keras-modules",
        spec(
            hyperparameters=[UNITS]
            + [
                {"name": n, "type": "float", "default": 0.5}
                for n in ("initializers", "regularizers", "constraints")
            ],
        ),
    ),
    ("description-with-separators", spec(description="Line one\u2028line two\ttabbed\u2029end.")),
    ("computation-first-line-indented", spec(computation="  # scaled projection\n" + COMPUTATION)),
    (
        "ops-only-in-a-comment",
        spec(
            computation="# not ops: plain arithmetic\nreturn (x * kernel[0, 0] + bias[0]) * scale\n"
        ),
    ),
    (
        "quotes-in-texts",
        spec(
            description='Says "hi" and ends in a quote"',
            hyperparameters=[
                UNITS,
                {
                    "name": "mode",
                    "type": "str",
                    "default": 'say "hi"',
                    "choices": ["plain", 'say "hi"'],
                    "doc": 'Ends in """',
                },
            ],
            computation='y = (ops.matmul(x, kernel) + bias) * scale\nreturn y if mode == "plain" else -y\n',
        ),
    ),
    (
        "names-of-thirty-characters",
        {
            "hyperparameters": [
                {"name": "vocabulary_size_of_the_tables", "type": "int", "default": 11}
            ],
            "inputs": [
                {"name": "decoder_hidden_states", "shape": [2, 5, 4]},
                {"name": "encoder_hidden_states", "shape": [2, 6, 4]},
                {"name": "encoder_attention_biases_long", "shape": [2, 6]},
            ],
            "weights": [
                {
                    "name": "embedding_table_of_thirty_chr",
                    "shape": ["vocabulary_size_of_the_tables", "decoder_hidden_states.shape[-1]"],
                    "initializer": {"class_name": "RandomUniform", "config": {"seed": 1}},
                    "regularizer": {"class_name": "L1L2", "config": {"l1": 0.0001}},
                }
            ],
            "computation": (
                "q = ops.matmul(decoder_hidden_states, embedding_table_of_thirty_chr[:4])\n"
                "s = ops.einsum('bqd,bkd->bqk', q, encoder_hidden_states)\n"
                "s = s + encoder_attention_biases_long[:, None, :]\n"
                "return ops.matmul(ops.softmax(s, axis=-1), encoder_hidden_states)\n"
            ),
        },
    ),
    (
        "exponent-written-for-yaml",
        spec(
            weights=kernel(initializer={"class_name": "RandomNormal", "config": {"stddev": 1.0e-3}})
        ),
    ),
    # ruff puts a blank line between a docstring and a def that follows.
    (
        "computation-starting-with-a-def",
        spec(
            computation=(
                "# a helper first\n"
                "def scaled(v):\n"
                "    return v * scale\n"
                "return scaled(ops.matmul(x, kernel) + bias)\n"
            )
        ),
    ),
    # Past U+FFFF (JSON writes two surrogates, Python needs one escape),
    # triple quotes in a docstring's Args, floats Python writes `1e+20`, a
    # docstring that starts with a quote.
    (
        "text-past-the-basic-plane",
        spec(
            description='"Quoted" from the start.',
            hyperparameters=[
                UNITS,
                {
                    "name": "mode",
                    "type": "str",
                    "default": "\U0001f600",
                    "choices": ["\U0001f600", "b"],
                },
                {"name": "tag", "type": "str", "default": '"""'},
                {"name": "big", "type": "float", "default": 1.0e20, "test_value": 2.5e-7},
            ],
            computation=(
                "y = (ops.matmul(x, kernel) + bias) * scale\n"
                'return y if mode == "\U0001f600" and tag and big > 0 else -y\n'
            ),
        ),
    ),
]


def check_first_lines(tmp_path, capsys, answers):
    path = tmp_path / "spec.yml"
    path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    status = main(["check", str(path)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(("answers", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_copier_and_check_refuse_alike(tmp_path, capsys, answers, expected):
    dest = tmp_path / "project"
    with pytest.raises(ValueError, match="Validation error") as refused:
        render(dest, answers)
    by_copier = str(refused.value).split(": ", 1)[1]
    assert by_copier.startswith(expected), by_copier
    assert not dest.exists() or not any(dest.iterdir()), "Copier wrote files for a bad answer"
    status, out, err = check_first_lines(tmp_path, capsys, answers)
    assert status == 2 and out == "" and "Traceback" not in err, err
    first = err.splitlines()[0]
    # A lone surrogate cannot even reach a file: `check` refuses it as it
    # reads the spec, naming the same field in words of its own.
    if first.startswith(("description: holds a lone surrogate", "computation: holds a lone")):
        assert first.split(":")[0] == by_copier.split(":")[0], first
    else:
        assert first == by_copier, "Copier and generator check disagree"


@pytest.mark.parametrize("answers", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_awkward_answers_make_projects_that_compile_and_lint(tmp_path, capsys, answers):
    status, out, err = check_first_lines(tmp_path, capsys, answers)
    assert status == 0 and out.startswith("ok: "), err
    project = render(tmp_path / "project", answers)
    for module in project.rglob("*.py"):
        compile(module.read_text(encoding="utf-8"), str(module), "exec")
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "."],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
    spec_file = next((project / "specs").glob("*.yml"))
    assert (
        yaml.safe_load(spec_file.read_text(encoding="utf-8"))["computation"]
        == answers["computation"]
    )


def test_awkward_layers_pass_their_own_tests(tmp_path):
    """Every awkward good case as a layer of one project, whose generated
    tests then run (one backend: the others run the same code, and the
    catalog's layers cross all three)."""
    project = tmp_path / "project"
    for i, (_, answers) in enumerate(GOOD):
        render(project, {"layer_name": f"Awkward{i}", **answers})
    run = ProjectRun(project, "jax", args=("-m", "not distributed"))
    failed = [o for o in run.outcomes() if o.failure]
    assert run.outcomes() and not failed, "\n".join(f"{o.name}: {o.message}" for o in failed)


def test_a_config_value_aliases_make_huge_is_refused_without_expanding_it(tmp_path):
    """Given as text, a weights answer is read by Copier's own YAML loader,
    which expands no alias until something walks the value: thirteen lines
    make a list of 10**13 ones, which no walk (nor its JSON) would survive.
    The timeout only keeps a regression from hanging the suite."""
    levels = ["&l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [
        f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 13)
    ]
    config = "{value: [" + ", ".join(levels) + "]}"
    weights = (
        "[{name: kernel, shape: [input_dim, units], "
        f"initializer: {{class_name: Constant, config: {config}}}}}]"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--defaults", "--vcs-ref=HEAD"]
        + ["-d", f"weights={weights}", "-d", "computation=return ops.matmul(x, kernel)"]
        + [str(REPO), str(tmp_path / "project")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "weights[0].initializer.config.value: over 1000 characters as JSON "
            "(a config value is at most that)"
        )
    ), proc.stderr[-2000:]
    assert not (tmp_path / "project").exists()
