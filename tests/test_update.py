"""A team's project over time: several layers, spec changes, template
releases. Real git repositories and real `copier update` in temporary folders.
"""

import shutil
import subprocess
import sys

import pytest
import yaml

from generator.spec import with_defaults
from generator.update_all import at_or_past
from rendering import REPO, commit_all, git, load_spec, released_template, render

SECOND_LAYER = load_spec(REPO / "examples" / "catalog" / "frozen_normalizer.yml")
USER_CODE = (
    '\n\ndef scaled_twice(layer, x):\n    """Mine: not generated."""\n    return layer(layer(x))\n'
)
USER_TEST = "def test_mine():\n    assert True\n"
CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>")


def copier_cli(*args, cwd):
    proc = subprocess.run(
        [sys.executable, "-m", "copier", *args], cwd=cwd, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """This template as a released git repository of its own (tag 1.0.0)."""
    return released_template(tmp_path_factory.mktemp("template") / "keras-layer-template")


def new_project(template, tmp_path):
    """Two layers and a user's edits, committed."""
    project = tmp_path / "project"
    render(project, src=template)
    render(project, SECOND_LAYER, src=template)
    module = project / "src" / "custom_layers" / "scaled_dense.py"
    module.write_text(module.read_text() + USER_CODE)
    (project / "tests" / "test_mine.py").write_text(USER_TEST)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Our notes\n\nKeep this.\n")
    commit_all(project, "two layers and our edits")
    return project


def assert_clean_merge(project):
    status = git(project, "status", "--porcelain", "--untracked-files=all")
    assert ".rej" not in status, status
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(errors="replace")
            assert not any(m in text for m in CONFLICT_MARKERS), f"conflict markers in {path}"


def assert_user_edits_kept(project):
    assert (project / "src" / "custom_layers" / "scaled_dense.py").read_text().endswith(USER_CODE)
    assert (project / "tests" / "test_mine.py").read_text() == USER_TEST
    assert (project / "README.md").read_text().endswith("Keep this.\n")


def run_project_tests(project):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def new_spec():
    """The default spec changed: another weight, initializer and default."""
    defaults = with_defaults({})
    answers = {q: defaults[q] for q in ("hyperparameters", "weights", "computation")}
    answers["hyperparameters"][0]["default"] = 24
    answers["weights"][0]["initializer"] = "he_uniform"
    answers["weights"].append({"name": "shift", "shape": ["units"], "initializer": "zeros"})
    answers["computation"] = "return (ops.matmul(x, kernel) + bias) * scale + shift\n"
    return answers


def test_second_layer_touches_nothing_of_the_first(template, tmp_path):
    project = tmp_path / "project"
    render(project, src=template)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    render(project, SECOND_LAYER, src=template)
    for path, content in before.items():
        assert path.read_bytes() == content, f"{path} changed when a second layer was added"
    for layer in ("scaled_dense", "frozen_normalizer"):
        assert (project / ".copier-answers" / f"{layer}.yml").is_file()
        assert (project / "src" / "custom_layers" / f"{layer}.py").is_file()


def test_spec_change_regenerates_without_drift_or_loss(template, tmp_path):
    project = new_project(template, tmp_path)
    spec_file = project / "specs" / "scaled_dense.yml"
    spec_file.write_text(yaml.safe_dump({**yaml.safe_load(spec_file.read_text()), **new_spec()}))
    commit_all(project, "change the spec")
    copier_cli(
        "update",
        "-a",
        ".copier-answers/scaled_dense.yml",
        "--defaults",
        "--vcs-ref=:current:",
        "--data-file",
        "specs/scaled_dense.yml",
        cwd=project,
    )
    fresh = render(tmp_path / "fresh", new_spec(), src=template, vcs_ref="1.0.0")
    module = "src/custom_layers/scaled_dense.py"
    assert (project / module).read_text() == (fresh / module).read_text() + USER_CODE
    for path in (
        "tests/test_scaled_dense.py",
        "tests/layer_checks.py",
        ".copier-answers/scaled_dense.yml",
    ):
        assert (project / path).read_text() == (fresh / path).read_text(), f"{path} drifted"
    assert_user_edits_kept(project)
    assert_clean_merge(project)
    assert "shift" in (project / "tests" / "test_scaled_dense.py").read_text()

    commit_all(project, "regenerated")
    copier_cli(
        "update",
        "-a",
        ".copier-answers/frozen_normalizer.yml",
        "--defaults",
        "--vcs-ref=:current:",
        cwd=project,
    )
    assert_clean_merge(project)
    out = run_project_tests(project)
    assert "passed" in out


def generator_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=REPO, capture_output=True, text=True
    )


def test_generator_update_finds_the_answers_file(template, tmp_path):
    project = new_project(template, tmp_path)
    elsewhere = tmp_path / "new.yml"
    elsewhere.write_text(yaml.safe_dump(new_spec()))
    # The layer's spec file is its truth, which Copier never writes again.
    foreign = generator_cli("update", str(elsewhere), str(project))
    assert foreign.returncode == 2 and len(foreign.stderr.splitlines()) == 1, foreign.stderr
    assert foreign.stderr.startswith(f"{project / 'specs' / 'scaled_dense.yml'}: is layer")
    spec = project / "specs" / "scaled_dense.yml"
    spec.write_text(elsewhere.read_text())
    dirty = generator_cli("update", str(spec), str(project))
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr
    assert len(dirty.stderr.splitlines()) == 1
    commit_all(project, "the spec changed")

    proc = generator_cli("update", str(spec), str(project))
    assert proc.returncode == 0, proc.stderr
    changed = proc.stdout.splitlines()
    assert "  src/custom_layers/scaled_dense.py" in changed
    assert "  .copier-answers/scaled_dense.yml" in changed, proc.stdout
    assert "shift" in (project / "src" / "custom_layers" / "scaled_dense.py").read_text()
    assert_user_edits_kept(project)
    assert_clean_merge(project)

    other = tmp_path / "other.yml"
    other.write_text(yaml.safe_dump({**new_spec(), "layer_name": "Unknown"}))
    missing = generator_cli("update", str(other), str(project))
    assert missing.returncode == 2 and "no such answers file" in missing.stderr


IMPROVEMENT = """
    def test_layer_has_a_name(self):
        assert self.case.layer_class().name, "the layer has no name"
"""


def test_template_release_reaches_a_project_with_edits(template, tmp_path):
    ours = tmp_path / "keras-layer-template"
    shutil.copytree(template, ours)
    project = new_project(ours, tmp_path)
    checks = ours / "template" / "tests" / "layer_checks.py"
    anchor = "    def test_weights_are_exactly_the_specs(self):"
    checks.write_text(checks.read_text().replace(anchor, IMPROVEMENT.lstrip("\n") + "\n" + anchor))
    changelog = ours / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text() + "\n## 1.1.0\n\n- Check that the layer has a name.\n"
    )
    commit_all(ours, "release 1.1.0")
    git(ours, "tag", "1.1.0")

    for layer in ("scaled_dense", "frozen_normalizer"):
        copier_cli("update", "-a", f".copier-answers/{layer}.yml", "--defaults", cwd=project)
        answers = yaml.safe_load((project / ".copier-answers" / f"{layer}.yml").read_text())
        assert answers["_commit"] == "1.1.0"
        commit_all(project, f"update {layer}")
    assert "def test_layer_has_a_name" in (project / "tests" / "layer_checks.py").read_text()
    assert_user_edits_kept(project)
    assert_clean_merge(project)
    out = run_project_tests(project)
    assert "passed" in out


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        # A copy from an untagged checkout records its hash, which PEP 440
        # reads as 5013rc58: past every release, so no update was ever made.
        ("5013c58", False),
        ("0.1.0", False),
        ("0.2.0", True),
        ("0.2.0-3-g5013c58", True),
        ("0.1.0-3-g5013c58", False),
    ],
)
def test_only_a_recorded_release_is_compared_with_the_newest(recorded, expected):
    assert at_or_past(recorded, "0.2.0", ["0.1.0", "0.2.0"]) is expected
