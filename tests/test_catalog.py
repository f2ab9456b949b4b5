"""Every catalog layer, and the default one, rendered and tested for real:
the generated tracking tests build and train each layer on every backend."""

import os
import subprocess
import sys

import pytest
import yaml

from generator.spec import with_defaults
from rendering import BACKENDS, CATALOG, PARTIAL_SPECS, load_spec

LAYERS = (
    ["scaled_dense"]
    + [load_spec(path).get("module_name", path.stem) for path in CATALOG]
    + list(PARTIAL_SPECS)
)
# Checks every layer's generated test module must run (and pass) on TensorFlow.
MIN_TESTS = 19
# Distributed training must run, not be skipped, where its strategy lives.
DISTRIBUTED = {
    "tensorflow": "test_trains_under_mirrored_strategy",
    "jax": "test_trains_under_data_parallel",
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layer", LAYERS)
def test_generated_tests_pass(catalog_runs, backend, layer):
    outcomes = catalog_runs[backend].of_module(f"test_{layer}")
    assert outcomes, f"no generated test of {layer} ran:\n{catalog_runs[backend].output()[-3000:]}"
    failures = [f"{o.name}: {o.failure}" for o in outcomes if o.failure]
    assert not failures, "\n\n".join(failures)
    ran = [o for o in outcomes if not o.skipped]
    if backend == "tensorflow":
        assert len(ran) >= MIN_TESTS, f"only {len(ran)} checks ran for {layer}"
    if backend in DISTRIBUTED:
        assert DISTRIBUTED[backend] in {o.name for o in ran}, f"{DISTRIBUTED[backend]} did not run"


def test_every_layer_is_written(catalog_project):
    for layer in LAYERS:
        assert (catalog_project / "src" / "custom_layers" / f"{layer}.py").is_file()
        assert (catalog_project / "tests" / f"test_{layer}.py").is_file()
        assert (catalog_project / ".copier-answers" / f"{layer}.yml").is_file()
        assert (catalog_project / "specs" / f"{layer}.yml").is_file()


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_generated_code_is_ruff_clean_as_generated(catalog_project, command):
    proc = subprocess.run(
        ["ruff", *command, "--no-cache", "."], cwd=catalog_project, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_each_spec_file_holds_its_layers_answers(catalog_project):
    """specs/<module>.yml is what the next update reads: it must say all that
    the answers Copier recorded say, or regenerating drops some of it."""
    for recorded_file in sorted((catalog_project / ".copier-answers").glob("*.yml")):
        recorded = yaml.safe_load(recorded_file.read_text())
        answers = {k: v for k, v in recorded.items() if not k.startswith("_")}
        spec = yaml.safe_load((catalog_project / "specs" / recorded_file.name).read_text())
        assert with_defaults(spec) == with_defaults(answers), recorded_file.stem


def test_a_config_edited_before_loading_traces_its_shape_again(catalog_project):
    """The output shapes a layer saves were traced with its hyperparameters:
    one loaded from a config that gives others (a `.keras` file edited by
    hand) traces its computation again, as Dense works its shape out again."""
    script = (
        "import keras\n"
        "from custom_layers.scaled_dense import ScaledDense\n"
        "layer = ScaledDense(units=6)\n"
        "layer.build((None, 5))\n"
        "layer.compute_output_shape((None, 5))\n"
        "saved = keras.saving.serialize_keras_object(layer)\n"
        "saved['config']['units'] = 3\n"
        "clone = keras.saving.deserialize_keras_object(saved)\n"
        "print(clone.compute_output_shape((None, 5)), tuple(clone(keras.ops.ones((2, 5))).shape))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(catalog_project / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=catalog_project
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-4:] == ["(None,", "3)", "(2,", "3)"], proc.stdout
