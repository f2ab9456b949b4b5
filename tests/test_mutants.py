"""The generated tracking test can fail: every mutant of a generated layer
(tests/mutants.py) makes it fail, with a message that points at the fault.

Each mutant is a layer of its own, named after the mutant, in one shared
project that real Copier renders with each spec's layer unmutated; the
mutants' modules and tests are rendered from the same templates by
generator/layer_files.py, as Copier renders them. Then the project's own
tests run once, and each mutant is judged by the outcomes of its own test
module.
"""

from dataclasses import dataclass

import pytest

from generator import layer_files
from generator.spec import parse, with_defaults
from mutants import (
    DEFECTS,
    MUTANTS,
    NEED_HYPERPARAMETERS,
    NEED_RANDOM,
    NEED_READ_HYPERPARAMETER,
    NEED_STATE,
    NEED_TRAINING,
    VERDICTS,
    Mutant,
    MutationError,
    Verdict,
    has_state,
    is_random,
    kill_table,
    read_hyperparameter,
    reads_training,
)
from rendering import REPO, ProjectRun, load_spec, render

# The default layer, one catalog layer with a regularizer and a non-trainable
# weight, one with a regularizer, a constraint and 3-D input, a random one and
# one with a weight updated in training.
SPECS = {
    "scaled_dense": {},
    "frozen_normalizer": load_spec(REPO / "examples" / "catalog" / "frozen_normalizer.yml"),
    "sequence_gate": load_spec(REPO / "examples" / "catalog" / "sequence_gate.yml"),
    "training_noise": load_spec(REPO / "examples" / "catalog" / "training_noise.yml"),
    "moving_center": load_spec(REPO / "examples" / "catalog" / "moving_center.yml"),
    # Issue 13: two inputs (a mask read, an input's mask passed on, a weight
    # sized by the second input), and an int input with a computed mask.
    "masked_cross_attention": load_spec(
        REPO / "examples" / "catalog" / "masked_cross_attention.yml"
    ),
    "token_embedding": load_spec(REPO / "examples" / "catalog" / "token_embedding.yml"),
}
# The issue 13 specs plant only the defects of inputs and masks: the others
# are planted in the others already, and each mutant costs time.
INPUTS_AND_MASKS = set(range(16, 23))
PLANTS = {
    key: INPUTS_AND_MASKS if key in ("masked_cross_attention", "token_embedding") else None
    for key in SPECS
}
RESOLVED = {key: with_defaults(spec) for key, spec in SPECS.items()}
CASES = [
    (key, m)
    for key, spec in RESOLVED.items()
    for m in MUTANTS
    if (PLANTS[key] is None or m.defect in PLANTS[key]) and m.applies(spec)
]
# The checks are the same code on every backend (test_catalog runs them on
# all three); PyTorch runs them several times faster than TensorFlow or JAX,
# which compile each fit() step.
BACKEND = "torch"


@dataclass
class MutationRun:
    run: ProjectRun
    unmutated: dict  # spec -> (path of the unmutated module, outcomes of its tests)
    verdicts: dict  # (spec, mutant tag) -> Verdict


@pytest.fixture(scope="session")
def mutation_run(request, tmp_path_factory):
    """Every spec's layer, unmutated and as each of its mutants, rendered into
    one project whose tests then run once."""
    project = tmp_path_factory.mktemp("mutants") / "project"
    names = {  # (spec, mutant, or None for the unmutated layer) -> (class, module)
        **{
            (key, None): (f"{spec['layer_name']}Unmutated", f"{spec['module_name']}_unmutated")
            for key, spec in RESOLVED.items()
        },
        **{(key, m): m.names(RESOLVED[key]) for key, m in CASES},
    }
    # The project and each spec's unmutated layer by real Copier; each
    # mutant's module and test by the same templates without a whole Copier
    # run apiece (tests/test_layer_files.py holds them to Copier's output).
    for key in SPECS:
        layer_name, module_name = names[key, None]
        render(project, {**SPECS[key], "layer_name": layer_name, "module_name": module_name})
    keywords = {}
    for key, m in CASES:
        layer_name, module_name = names[key, m]
        spec = parse({**SPECS[key], "layer_name": layer_name, "module_name": module_name})
        mutated, keywords[key, m] = m.apply(layer_files.module_source(spec), RESOLVED[key])
        module, test = layer_files.paths(spec)
        (project / module).write_text(mutated)
        (project / test).write_text(layer_files.test_source(spec))
    # A mutant that breaks its module's import must not stop the others'
    # tests. Verdicts read failure messages only: without tracebacks, which
    # pytest formats at length for every failure, the run is a quarter faster.
    options = ("--continue-on-collection-errors", "--tb=line")
    run = ProjectRun(project, BACKEND, options)

    def outcomes(key, m):
        return run.of_module(f"test_{names[key, m][1]}")

    verdicts = {
        (key, m.tag): Verdict(key, m, keywords[key, m], outcomes(key, m)) for key, m in CASES
    }
    request.config.stash[VERDICTS] = list(verdicts.values())
    package = project / "src" / RESOLVED["scaled_dense"]["package_name"]
    unmutated = {key: (package / f"{names[key, None][1]}.py", outcomes(key, None)) for key in SPECS}
    return MutationRun(run, unmutated, verdicts)


@pytest.mark.parametrize("spec", SPECS)
def test_unmutated_layer_passes(mutation_run, spec):
    _, outcomes = mutation_run.unmutated[spec]
    assert outcomes, f"no test of the unmutated {spec} ran:\n{mutation_run.run.output()[-3000:]}"
    failures = [f"{o.name}: {o.failure}" for o in outcomes if o.failure]
    assert not failures, "a kill means nothing if the unmutated layer fails:\n" + "\n\n".join(
        failures
    )


@pytest.mark.parametrize(("spec", "mutant"), CASES, ids=[f"{k}-{m.tag}" for k, m in CASES])
def test_mutant_is_killed(mutation_run, spec, mutant):
    verdict = mutation_run.verdicts[spec, mutant.tag]
    assert verdict.outcomes, (
        f"no test of mutant {mutant.tag} ran:\n{mutation_run.run.output()[-3000:]}"
    )
    assert verdict.failures, (
        f"mutant {mutant.tag} ({DEFECTS[mutant.defect]}) survived: "
        f"all {len(verdict.outcomes)} generated tests pass"
    )
    messages = "\n\n".join(f"{o.name}: {o.message}" for o in verdict.failures)
    assert verdict.caught_by, (
        f"mutant {mutant.tag} fails, but no failure message names "
        f"{' and '.join(verdict.keywords)}:\n{messages}"
    )


def test_kill_rate(mutation_run):
    verdicts = list(mutation_run.verdicts.values())
    killed = sum(v.caught_by is not None for v in verdicts)
    assert len(verdicts) == len(CASES)
    assert killed == len(verdicts), "\n".join(kill_table(verdicts))


@pytest.mark.parametrize("spec", [key for key, plants in PLANTS.items() if plants is None])
def test_every_defect_has_a_mutant(spec):
    answers = RESOLVED[spec]
    planted = {m.defect for m in MUTANTS if m.applies(answers)}
    expected = set(DEFECTS) - INPUTS_AND_MASKS
    for needed, has in (
        (NEED_HYPERPARAMETERS, bool(answers["hyperparameters"])),
        (NEED_READ_HYPERPARAMETER, read_hyperparameter(answers) is not None),
        (NEED_TRAINING, reads_training(answers)),
        (NEED_RANDOM, is_random(answers)),
        (NEED_STATE, has_state(answers)),
    ):
        expected -= set() if has else needed
    assert planted == expected, f"no mutant plants defects {sorted(expected - planted)}"


def test_every_defect_of_inputs_and_masks_is_planted():
    planted = {m.defect for key, m in CASES if m.defect in INPUTS_AND_MASKS}
    assert planted == INPUTS_AND_MASKS, (
        f"no spec plants defects {sorted(INPUTS_AND_MASKS - planted)}"
    )


def test_a_mutant_that_changes_nothing_is_an_error(mutation_run):
    path, _ = mutation_run.unmutated["scaled_dense"]
    spec = RESOLVED["scaled_dense"]
    plain_lambda = next(m for m in MUTANTS if m.name == "plain_lambda")
    once, _ = plain_lambda.apply(path.read_text(), spec)
    with pytest.raises(MutationError, match=r"0 matches of BoundLambda"):
        plain_lambda.apply(once, spec)
    unchanged = Mutant(0, "unchanged", lambda source, spec: (source, ()), lambda spec: True)
    with pytest.raises(MutationError, match="unchanged"):
        unchanged.apply(once, spec)
