"""An installed (not editable) copy of the tool works from any folder: the
wheel carries the template, so `keras-layer check`, `new` and `update` need
no checkout."""

import os
import subprocess
import sys
from importlib.metadata import version

import pytest
import yaml

from rendering import CATALOG, REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The `keras-layer` script of a venv where this repo was `pip install`ed
    (a wheel build, not editable); the venv sees the machine's packages for
    the dependencies, so only the build backend is fetched."""
    root = tmp_path_factory.mktemp("install")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    return venv / "bin" / "keras-layer"


def test_installed_tool_checks_and_renders_from_any_folder(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spec = CATALOG[0]
    checked = subprocess.run(
        [str(installed), "check", str(spec)], cwd=elsewhere, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("ok: ")

    made = subprocess.run(
        [str(installed), "new", str(spec), "project"], cwd=elsewhere, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert "Traceback" not in made.stderr
    modules = list((elsewhere / "project" / "src" / "custom_layers").glob("[!_]*.py"))
    assert [m.stem for m in modules] == [spec.stem]
    assert (elsewhere / "project" / "tests" / f"test_{spec.stem}.py").is_file()
    # What it suggests is typed as the user typed the command.
    again = subprocess.run(
        [str(installed), "new", str(spec), "project"], cwd=elsewhere, capture_output=True, text=True
    )
    assert again.returncode == 2
    assert "regenerate it with: keras-layer update SPEC PROJECT" in again.stderr


def test_installed_tool_imports_nothing_from_the_checkout(installed, tmp_path):
    where = subprocess.run(
        [str(installed.parent / "python"), "-c", "import generator; print(generator.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert str(REPO) not in where.stdout, where.stdout


def test_installed_tool_updates_the_layers_it_made(installed, tmp_path):
    """The install records its template as a release in the user's data
    folder, so a layer it made can be regenerated after a spec change, and
    its next layer shares the first one's template version."""
    first, second = CATALOG[0], CATALOG[1]
    # A user whose git signs every commit, with no key at hand: the tool's
    # own commits must not depend on it.
    signing = tmp_path / "gitconfig"
    signing.write_text("[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "GIT_CONFIG_GLOBAL": str(signing)}

    def keras_layer(*args):
        done = subprocess.run(
            [str(installed), *args],
            cwd=tmp_path / "project",
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done.stdout

    (tmp_path / "project").mkdir()
    keras_layer("new", str(first), ".")
    project = tmp_path / "project"
    commit(project, "first layer")
    spec = project / "specs" / first.name
    edited = yaml.safe_load(spec.read_text()) | {"description": "Renamed in an edit of its spec."}
    spec.write_text(yaml.safe_dump(edited))
    commit(project, "spec edit")
    keras_layer("update", str(spec.relative_to(project)), ".")
    module = project / "src" / "custom_layers" / f"{first.stem}.py"
    assert "Renamed in an edit of its spec." in module.read_text()
    commit(project, "updated")
    keras_layer("new", str(second), ".")
    recorded = [
        yaml.safe_load(path.read_text())
        for path in sorted((project / ".copier-answers").glob("*.yml"))
    ]
    ((source, tag),) = {(r["_src_path"], r["_commit"]) for r in recorded}
    assert source == str(tmp_path / "data" / "keras-layer" / "template")
    assert tag.startswith(version("keras-layer-template") + "+")


def test_installs_run_at_once_make_one_release(installed, tmp_path):
    """Each run fills the releases repository's tree: at once, they must
    still record one release, of the files installed."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    runs = [
        subprocess.Popen(
            [str(installed), "new", str(CATALOG[0]), f"project{n}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for run in runs:
        _, stderr = run.communicate()
        assert run.returncode == 0, stderr
    recorded = {
        yaml.safe_load(path.read_text())["_commit"]
        for path in tmp_path.glob("project*/.copier-answers/*.yml")
    }
    releases = tmp_path / "data" / "keras-layer" / "template"
    tags = subprocess.run(
        ["git", "tag"], cwd=releases, capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(recorded) == 1 and tags == sorted(recorded), (recorded, tags)
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", tags[0]],
        cwd=releases,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "copier.yml" in listed and "template/tests/layer_checks.py" in listed


def test_the_template_installed_last_is_the_newest_release(installed, tmp_path):
    """Builds of one version carrying other templates (a template changed,
    the version not): `update --all` takes the layers to the one installed
    last each time, which tags ordered by the files' hash alone would pick
    at random."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    project = tmp_path / "project"
    project.mkdir()

    def keras_layer(*args):
        done = subprocess.run(
            [str(installed), *args], cwd=project, capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    keras_layer("new", str(CATALOG[0]), ".")
    commit(project, "first layer")
    (bundled,) = installed.parent.parent.glob("lib/python*/site-packages/generator/_template")
    template = bundled / "template" / "src" / "{{package_name}}" / "{{module_name}}.py.jinja"
    module = project / "src" / "custom_layers" / f"{CATALOG[0].stem}.py"
    original = template.read_text()
    try:
        for build in range(1, 4):
            template.write_text(original.replace("Generated by", f"Generated by build {build} of"))
            keras_layer("update", "--all")
            assert f"Generated by build {build} of" in module.read_text(), f"build {build}"
            commit(project, f"build {build}")
    finally:
        template.write_text(original)


def commit(project, message):
    if not (project / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message],
        cwd=project,
        check=True,
    )
