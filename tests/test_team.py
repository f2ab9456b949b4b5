"""A team's project as its users run it: copies from relative template paths,
layers added to an existing project, package names that sort anywhere, and
`python -m generator update --all`. Real git, real Copier, commands run from
the folder a user stands in.
"""

import os
import subprocess
import sys

import pytest
import yaml

from rendering import (
    CATALOG,
    REPO,
    backend_env,
    commit_all,
    git,
    load_spec,
    released_template,
    render,
)
from terminal import CTRL_C, Terminal, python

FROZEN = REPO / "examples" / "catalog" / "frozen_normalizer.yml"
GATE = REPO / "examples" / "catalog" / "sequence_gate.yml"
USER_CODE = '\n\ndef mine():\n    """Not generated."""\n    return 1\n'
MARKERS = ("<<<<<<<", ">>>>>>>")


def run(*command, cwd):
    """A command as a user types it in `cwd`; `python -m generator` is this
    checkout's, wherever it runs."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=cwd, env=env, capture_output=True, text=True
    )


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def refused(proc, *expected):
    """Refused, the last line of stderr naming `expected` (Copier prints a
    traceback above its error's line; the generator prints that line alone)."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    for text in expected:
        assert text in line, proc.stderr
    return line


def state(project):
    """Everything a command could have written: git status and worktrees."""
    return (
        git(project, "status", "--porcelain", "--untracked-files=all"),
        git(project, "worktree", "list"),
    )


def answers(project, module):
    return yaml.safe_load((project / ".copier-answers" / f"{module}.yml").read_text())


def edit_spec(project, module, **changes):
    path = project / "specs" / f"{module}.yml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **changes}))


def assert_merged_cleanly(project):
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert not path.name.endswith(".rej"), path
            assert not any(m in path.read_text(errors="replace") for m in MARKERS), path


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The template released as 1.0.0, in a folder beside the users' ones."""
    return released_template(tmp_path_factory.mktemp("work") / "keras-layer-template")


# 1. Relative template paths.


def test_a_copy_from_a_relative_path_updates_from_its_root(template):
    projects = template.parent / "projects"
    projects.mkdir()
    ok(run("copier", "copy", "--defaults", "../keras-layer-template", "team-layers", cwd=projects))
    project = projects / "team-layers"
    assert answers(project, "scaled_dense")["_src_path"] == str(template.resolve())
    commit_all(project, "first layer")

    edit_spec(project, "scaled_dense", description="Scaled, from the project root.")
    commit_all(project, "spec")
    ok(
        run(
            "copier",
            "update",
            "-a",
            ".copier-answers/scaled_dense.yml",
            "--defaults",
            "--data-file",
            "specs/scaled_dense.yml",
            cwd=project,
        )
    )
    module = project / "src" / "custom_layers" / "scaled_dense.py"
    assert module.read_text().startswith('"""Scaled, from the project root.')
    commit_all(project, "regenerated")

    edit_spec(project, "scaled_dense", description="Scaled by the generator.")
    commit_all(project, "spec again")
    ok(run("generator", "update", "specs/scaled_dense.yml", ".", cwd=project))
    assert module.read_text().startswith('"""Scaled by the generator.')
    assert_merged_cleanly(project)


def test_the_readme_main_job_records_a_path_that_works(template):
    # README: `copier copy --defaults --overwrite --vcs-ref=HEAD . my-layers`.
    ok(
        run(
            "copier",
            "copy",
            "--defaults",
            "--overwrite",
            "--vcs-ref=HEAD",
            ".",
            "my-layers",
            cwd=template,
        )
    )
    project = template / "my-layers"
    assert answers(project, "scaled_dense")["_src_path"] == str(template.resolve())
    commit_all(project, "first layer")
    edit_spec(project, "scaled_dense", description="Edited in my-layers.")
    commit_all(project, "spec")
    proc = ok(run("generator", "update", "--all", cwd=project))
    assert proc.stdout.splitlines()[0] == "scaled_dense: updated (spec)"
    assert "Edited in my-layers." in (project / "src/custom_layers/scaled_dense.py").read_text()


# 2. A layer added to an existing project lands in the project's package.


@pytest.fixture(scope="module")
def seq_project(template, tmp_path_factory):
    """A project of package seq_layers whose team edited the README."""
    work = tmp_path_factory.mktemp("seq")
    ok(
        run(
            "copier",
            "copy",
            "--defaults",
            "-d",
            "package_name=seq_layers",
            str(template),
            "seq",
            cwd=work,
        )
    )
    project = work / "seq"
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Our notes\n")
    commit_all(project, "first layer, our README")
    return project


def test_a_second_copy_lands_in_the_projects_package_silently(template, seq_project):
    proc = ok(
        run(
            "copier",
            "copy",
            "--defaults",
            "--data-file",
            str(FROZEN),
            str(template),
            ".",
            cwd=seq_project,
        )
    )
    assert (seq_project / "src" / "seq_layers" / "frozen_normalizer.py").is_file()
    assert not (seq_project / "src" / "custom_layers").exists()
    assert "conflict" not in proc.stderr, proc.stderr
    assert "Test it:  python -m pytest" in proc.stderr, proc.stderr
    assert (seq_project / "README.md").read_text().endswith("## Our notes\n")
    commit_all(seq_project, "second layer")

    proc = ok(run("generator", "new", str(GATE), ".", cwd=seq_project))
    assert (seq_project / "src" / "seq_layers" / "sequence_gate.py").is_file()
    assert proc.stdout.splitlines()[-1] == "test it: python -m pytest"
    assert answers(seq_project, "sequence_gate")["package_name"] == "seq_layers"
    commit_all(seq_project, "third layer")


def test_a_project_without_its_settings_file_keeps_its_package(template, seq_project, tmp_path):
    """A project older than .keras-layers.yml, or that lost it: its package
    is the one folder of src/ holding the _lambda.py its layers import, to
    Copier and to the generator alike."""
    settings = seq_project / ".keras-layers.yml"
    kept = settings.read_text()
    settings.unlink()
    try:
        before = state(seq_project)
        copied = run(
            "copier",
            "copy",
            "--defaults",
            *("-d", "package_name=zeta_layers", "-d", "layer_name=Zed"),
            str(template),
            ".",
            cwd=seq_project,
        )
        found = "'seq_layers' (src/seq_layers/_lambda.py)"
        refused(copied, "'zeta_layers'", found)
        assert state(seq_project) == before
        spec = tmp_path / "zed.yml"
        spec.write_text(yaml.safe_dump({"package_name": "zeta_layers", "layer_name": "Zed"}))
        refused(run("generator", "new", str(spec), ".", cwd=seq_project), "'zeta_layers'", found)
        assert state(seq_project) == before
    finally:
        settings.write_text(kept)


def test_a_layer_of_another_package_is_refused_in_one_line(template, seq_project, tmp_path):
    before = state(seq_project)
    line = refused(
        run(
            "copier",
            "copy",
            "--defaults",
            "-d",
            "package_name=zeta_layers",
            "-d",
            "layer_name=Zed",
            str(template),
            ".",
            cwd=seq_project,
        ),
        "'zeta_layers'",
        "'seq_layers'",
    )
    assert "package_name" in line
    assert state(seq_project) == before

    spec = tmp_path / "zed.yml"
    spec.write_text(yaml.safe_dump({"package_name": "zeta_layers", "layer_name": "Zed"}))
    for command in (("new", str(spec), "."), ("update", str(spec), ".")):
        proc = run("generator", *command, cwd=seq_project)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        refused(proc, "'zeta_layers'", "'seq_layers'")
        assert state(seq_project) == before


def test_the_prompt_offers_the_projects_package(template, seq_project):
    question = yaml.safe_load((REPO / "copier.yml").read_text())["package_name"]["help"]
    before = state(seq_project)
    user = Terminal(*python("-m", "copier", "copy", str(template), "."), cwd=seq_project)
    user.expect(question[:40])
    user.expect("seq_layers")
    user.send(CTRL_C)
    user.finish()
    assert state(seq_project) == before


# 3. Generated code is lint-clean whatever the names sort like.

# Package names around the shared test modules `distributed_checks` and
# `layer_checks` (before, between, after, as a prefix, with digits), and
# module names around them inside each package.
PACKAGES = [
    "aaa_layers",
    "d9",
    "distributed",
    "e_layers",
    "layer",
    "layer10_checks",
    "layer_checksum",
    "m_layers",
    "mylayers",
    "seq_layers",
    "zzz_layers",
]
MODULES = ["aaa", "distributed_checks", "layer_checks", "m2_block", "zzz_block"]


@pytest.fixture(scope="module")
def named_projects(tmp_path_factory):
    work = tmp_path_factory.mktemp("names")
    for i, package in enumerate(PACKAGES):
        module = MODULES[i % len(MODULES)]
        render(work / package, {"package_name": package, "module_name": module})
        render(
            work / package, {**load_spec(CATALOG[i % len(CATALOG)]), "module_name": "zz" + module}
        )
    return work


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("command", [("check",), ("format", "--check")])
def test_generated_code_is_ruff_clean_for_any_name(named_projects, package, command):
    project = named_projects / package
    proc = subprocess.run(
        ["ruff", *command, "--no-cache", "."], cwd=project, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def longest_names_spec(layer_name, inputs=None):
    """A layer whose every name is as long as the rules allow (60 for the
    layer, module and package, 30 for the rest), hyperparameters of each kind."""
    n = "n" * 30
    names = {kind: kind[0] * 29 + "_" for kind in ("int", "float", "bool", "choice", "str")}
    x = " + ".join(i["name"] for i in inputs) if inputs else "x"
    axis = f"{inputs[0]['name']}.shape[1]" if inputs else "input_dim"
    spec = {
        "package_name": "p" * 60,
        "layer_name": layer_name,
        "module_name": layer_name.lower(),
        "hyperparameters": [
            {"name": names["int"], "type": "int", "default": 3},
            {"name": n, "type": "int", "default": 4},
            {"name": names["float"], "type": "float", "default": 0.5},
            {"name": names["bool"], "type": "bool", "default": True},
            {"name": names["choice"], "type": "str", "default": "x", "choices": ["x", "y"]},
            {"name": names["str"], "type": "str", "default": "z"},
        ],
        "weights": [
            {"name": "w" * 30, "shape": [axis, n], "regularizer": "l2", "constraint": "non_neg"},
            {"name": "v" * 30, "shape": [n], "trainable": False},
        ],
        "computation": (
            f"y = ops.matmul({x}, {'w' * 30}) * {names['float']} * {names['int']}\n"
            f"if {names['bool']} and {names['choice']} == 'x' and {names['str']} == 'z':\n"
            f"    y = y + {'v' * 30}\nreturn y\n"
        ),
    }
    return {**spec, "inputs": inputs} if inputs else spec


@pytest.fixture(scope="module")
def longest_names(tmp_path_factory):
    project = tmp_path_factory.mktemp("longest") / "project"
    render(project, longest_names_spec("A" + "b" * 59))
    inputs = [{"name": "q" * 30, "shape": [4, 5]}, {"name": "k" * 30, "shape": [4, 5]}]
    render(project, longest_names_spec("B" + "c" * 59, inputs))
    return project


@pytest.mark.parametrize("command", [("check",), ("format", "--check")])
def test_generated_code_is_ruff_clean_for_the_longest_names(longest_names, command):
    proc = subprocess.run(
        ["ruff", *command, "--no-cache", "."], cwd=longest_names, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# 4. update --all.


@pytest.fixture
def team(template, tmp_path):
    """Three layers and the team's edits at template 1.0.0, committed."""
    project = tmp_path / "team"
    for spec in (None, load_spec(FROZEN), load_spec(GATE)):
        render(project, spec, src=template, vcs_ref="1.0.0")
    module = project / "src" / "custom_layers" / "scaled_dense.py"
    module.write_text(module.read_text() + USER_CODE)
    (project / "tests" / "test_mine.py").write_text("def test_mine():\n    assert True\n")
    commit_all(project, "three layers")
    return project


IMPROVEMENT = """
    def test_layer_has_a_name(self):
        assert self.case.layer_class().name, "the layer has no name"
"""


def release(template, tag):
    """A template release that adds a shared check."""
    checks = template / "template" / "tests" / "layer_checks.py"
    anchor = "    def test_weights_are_exactly_the_specs(self):"
    checks.write_text(checks.read_text().replace(anchor, IMPROVEMENT.lstrip("\n") + "\n" + anchor))
    commit_all(template, f"release {tag}")
    git(template, "tag", tag)


def test_update_all_takes_every_spec_edit_and_the_release_at_once(template, tmp_path):
    ours = tmp_path / "keras-layer-template"
    git(template.parent, "clone", "-q", str(template), str(ours))
    project = tmp_path / "team"
    for spec in (None, load_spec(FROZEN), load_spec(GATE)):
        render(project, spec, src=ours, vcs_ref="1.0.0")
    module = project / "src" / "custom_layers" / "scaled_dense.py"
    module.write_text(module.read_text() + USER_CODE)
    commit_all(project, "three layers")
    release(ours, "1.1.0")
    scaled = {
        "weights": [
            *load_spec(project / "specs" / "scaled_dense.yml")["weights"],
            {"name": "shift", "shape": ["units"], "initializer": "zeros"},
        ],
        "computation": "return (ops.matmul(x, kernel) + bias) * scale + shift\n",
    }
    edit_spec(project, "scaled_dense", **scaled)
    edit_spec(project, "frozen_normalizer", example_input_shape=[4, 3])
    commit_all(project, "two spec edits")
    head = git(project, "rev-parse", "HEAD")

    proc = ok(run("generator", "update", "--all", cwd=project))
    assert proc.stdout.splitlines()[:3] == [
        "frozen_normalizer: updated (spec, template 1.0.0 -> 1.1.0)",
        "scaled_dense: updated (spec, template 1.0.0 -> 1.1.0)",
        "sequence_gate: updated (template 1.0.0 -> 1.1.0)",
    ], proc.stdout
    assert git(project, "rev-parse", "HEAD") == head, "update --all must not commit"
    assert git(project, "worktree", "list").count("\n") == 1
    assert " M src/custom_layers/scaled_dense.py" in git(project, "status", "--porcelain")
    assert_merged_cleanly(project)
    for layer in ("scaled_dense", "frozen_normalizer", "sequence_gate"):
        assert answers(project, layer)["_commit"] == "1.1.0"
    assert "def test_layer_has_a_name" in (project / "tests" / "layer_checks.py").read_text()

    fresh = render(tmp_path / "fresh", scaled, src=ours, vcs_ref="1.1.0")
    path = "src/custom_layers/scaled_dense.py"
    assert (project / path).read_text() == (fresh / path).read_text() + USER_CODE
    for path in ("tests/test_scaled_dense.py", ".copier-answers/scaled_dense.yml"):
        assert (project / path).read_text() == (fresh / path).read_text(), f"{path} drifted"
    assert 'InputSpec("x", (4, 3))' in (project / "tests" / "test_frozen_normalizer.py").read_text()

    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-4000:]

    commit_all(project, "updated")
    again = ok(run("generator", "update", "--all", cwd=project))
    assert again.stdout.splitlines() == [
        "frozen_normalizer: unchanged",
        "scaled_dense: unchanged",
        "sequence_gate: unchanged",
        "every layer is up to date: its spec and the template's newest release",
    ]


def test_update_all_refuses_a_dirty_tree_before_writing(team):
    edit_spec(team, "scaled_dense", description="Not committed.")
    (team / "notes.txt").write_text("mine")
    before = state(team)
    proc = run("generator", "update", "--all", ".", cwd=team)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert len(proc.stderr.splitlines()) == 1
    refused(proc, "uncommitted changes", "commit")
    assert state(team) == before


def test_update_all_from_a_subfolder_names_the_project(team):
    proc = run("generator", "update", "--all", cwd=team / "src")
    refused(proc, f"is inside the project {team.resolve()}", f"update --all {team.resolve()}")
    assert len(proc.stderr.splitlines()) == 1


def test_a_failing_layer_leaves_the_others_updated(team):
    edit_spec(team, "scaled_dense", weights=[{"name": "kernel", "shape": ["input_dim", "unit"]}])
    module = team / "src" / "custom_layers" / "frozen_normalizer.py"
    module.write_text(module.read_text().replace('"""Subtracts', '"""Ours: subtracts', 1))
    edit_spec(team, "frozen_normalizer", description="Theirs: a new first line.")
    edit_spec(team, "sequence_gate", description="Gates each step.")
    commit_all(team, "one bad spec, one conflicting edit, one good edit")
    committed = {
        path: (team / path).read_text()
        for path in ("src/custom_layers/scaled_dense.py", "src/custom_layers/frozen_normalizer.py")
    }

    proc = run("generator", "update", "--all", cwd=team)
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[0] == "sequence_gate: updated (spec)", proc.stdout
    failed = proc.stderr.splitlines()
    assert failed[0].startswith(
        "frozen_normalizer: failed: conflict in src/custom_layers/frozen_normalizer.py"
    )
    assert "--data-file specs/frozen_normalizer.yml" in failed[0]
    assert failed[1].startswith(
        "scaled_dense: failed: specs/scaled_dense.yml: weights[0].shape[1]: 'unit' is not"
    )
    assert "run update --all again" in failed[-1]
    assert "Gates each step." in (team / "src/custom_layers/sequence_gate.py").read_text()
    for path, text in committed.items():
        assert (team / path).read_text() == text, f"{path} changed although its layer failed"
    assert_merged_cleanly(team)
    assert git(team, "worktree", "list").count("\n") == 1


IMPORT_LOG = """
import os  # noqa: E402

with open(os.environ["IMPORT_LOG"], "a") as log:
    log.write(__name__ + "\\n")
"""


def test_a_test_file_run_alone_trains_only_its_own_layer_distributed(team, tmp_path):
    """The distributed checks train, in a process of their own, the layers of
    the test modules the run collected: a run of one file waits for one."""
    for path in (team / "tests").glob("test_*.py"):
        path.write_text(path.read_text() + IMPORT_LOG)
    log = tmp_path / "imports.log"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "distributed", "tests/test_scaled_dense.py"],
        cwd=team,
        env=backend_env("tensorflow", IMPORT_LOG=str(log)),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout, proc.stdout
    # Imported by pytest, then by the training process: no other module.
    assert log.read_text().splitlines() == ["test_scaled_dense"] * 2


def test_a_conflicting_update_of_one_layer_gives_the_command_that_merges(team):
    module = team / "src" / "custom_layers" / "frozen_normalizer.py"
    module.write_text(module.read_text().replace('"""Subtracts', '"""Ours: subtracts', 1))
    edit_spec(team, "frozen_normalizer", description="Theirs: a new first line.")
    commit_all(team, "a conflicting edit")
    before = state(team)
    line = refused(run("generator", "update", "specs/frozen_normalizer.yml", ".", cwd=team))
    assert state(team) == before
    command = line.split("`")[1]
    assert command.startswith("copier update -a .copier-answers/frozen_normalizer.yml"), line
    # The command given does what it says: the conflict is left to merge.
    ok(run(*command.split(), cwd=team))
    assert any(marker in module.read_text() for marker in MARKERS)


def test_a_template_only_update_does_not_drop_a_spec_edit(team):
    edit_spec(team, "sequence_gate", description="Edited, committed.")
    commit_all(team, "spec edit")
    before = state(team)
    line = refused(
        run("copier", "update", "-a", ".copier-answers/sequence_gate.yml", "--defaults", cwd=team),
        "specs/sequence_gate.yml",
        "description",
        "update --all",
        "--data-file specs/sequence_gate.yml",
    )
    assert "Validation error" in line
    assert state(team) == before


@pytest.mark.parametrize(
    ("data", "differs"),
    [
        (["layer_name=OtherGate", "module_name=sequence_gate"], "layer_name"),
        # The module worked out from layer_name, after package_name's check.
        (["layer_name=SequenceGate", "description=Another layer."], "description"),
    ],
    ids=["module-given", "module-worked-out"],
)
def test_a_copy_over_another_layers_module_is_refused(template, team, data, differs):
    """Copier never writes a layer's spec file again: a new layer given an
    existing layer's module would leave that file describing the old one."""
    before = state(team)
    line = refused(
        run(
            "copier",
            "copy",
            "--defaults",
            "--overwrite",
            *[option for answer in data for option in ("-d", answer)],
            str(template),
            ".",
            cwd=team,
        ),
        "specs/sequence_gate.yml",
        differs,
        "choose another module_name",
    )
    assert "Validation error" in line
    assert state(team) == before


def test_a_copy_of_an_existing_layers_class_name_is_refused(template, team):
    """Two classes registered under one name: Keras would keep the second,
    and a saved model of the first would load as the other layer."""
    before = state(team)
    proc = run(
        "copier",
        "copy",
        "--defaults",
        *("-d", "layer_name=SequenceGate", "-d", "module_name=sequence_gate_two"),
        str(template),
        ".",
        cwd=team,
    )
    refused(proc, "layer_name: 'SequenceGate' is already the class of layer sequence_gate")
    assert state(team) == before


def test_a_copier_update_cannot_rename_a_layer(team):
    edit_spec(team, "sequence_gate", module_name="seq_gate")
    commit_all(team, "rename in the spec")
    before = state(team)
    refused(
        run(
            "copier",
            "update",
            "-a",
            ".copier-answers/sequence_gate.yml",
            "--defaults",
            "--data-file",
            "specs/sequence_gate.yml",
            cwd=team,
        ),
        "module_name: 'seq_gate' is not the layer of .copier-answers/sequence_gate.yml",
        "cannot rename a layer",
    )
    assert state(team) == before


def test_a_misspelt_answer_is_refused_by_copier_as_by_check(template, team, tmp_path):
    spec = tmp_path / "typo.yml"
    spec.write_text(yaml.safe_dump({"layer_name": "Typo", "weigths": []}))
    before = state(team)
    line = refused(
        run("copier", "copy", "--defaults", "--data-file", str(spec), str(template), ".", cwd=team),
        "weigths: unknown question",
    )
    proc = run("generator", "check", "--quick", str(spec), cwd=team)
    assert proc.returncode == 2 and proc.stderr.splitlines()[0] in line, proc.stderr
    assert state(team) == before
