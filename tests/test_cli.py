"""`python -m generator`, run as users run it: a subprocess, real files."""

import subprocess
import sys

import pytest
import yaml

from generator.spec import with_defaults
from rendering import CATALOG, REPO


def generator(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True
    )


def assert_refused(proc, *expected):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for text in expected:
        assert text in lines[0]


def test_check_summarises_a_good_spec():
    proc = generator("check", str(CATALOG[0]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: custom_layers.")


def test_check_lists_every_problem_one_per_line(tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_text(
        yaml.safe_dump({"layer_name": "bad name", "weights": [{"name": "x", "shape": [0]}]})
    )
    proc = generator("check", str(spec))
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "layer_name",
        "module_name",  # its default derives from the bad layer_name
        "weights[0].name",
        "weights[0].shape[0]",
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("layer_name: [unclosed\n", "invalid YAML (line 2"),
        ("- a\n- list\n", "spec: must be a mapping of answers, not list"),
        ("", "spec: must be a mapping of answers, not null"),
        ("just text\n", "spec: must be a mapping of answers, not str"),
        (b"\xff\xfe\x00", "cannot be decoded"),
    ],
    ids=["missing", "invalid-yaml", "list", "empty", "scalar", "binary"],
)
def test_bad_input_to_the_cli_is_one_line(tmp_path, content, expected):
    spec = tmp_path / "spec.yml"
    if isinstance(content, bytes):
        spec.write_bytes(content)
    elif content is not None:
        spec.write_text(content)
    assert_refused(generator("check", str(spec)), expected)


def test_check_stays_light():
    """check must not import Keras or a backend: it answers in a blink."""
    code = (
        "import sys; from generator.cli import main; main(['check', sys.argv[1]]); "
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'copier') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(CATALOG[0])], cwd=REPO, capture_output=True, text=True
    )
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout


def test_new_renders_then_refuses_to_overwrite(tmp_path):
    dest = tmp_path / "project"
    proc = generator("new", str(CATALOG[0]), str(dest))
    assert proc.returncode == 0, proc.stderr
    assert "tests/test_" in proc.stdout and f"cd {dest} && python -m pytest" in proc.stdout
    module = next((dest / "src" / "custom_layers").glob("[!_]*.py"))
    module.write_text(module.read_text() + "\n# mine\n")
    assert_refused(generator("new", str(CATALOG[0]), str(dest)), "already has layer")
    assert module.read_text().endswith("# mine\n")


def test_new_refuses_a_users_file_at_the_layers_path_without_sending_to_update(tmp_path):
    dest = tmp_path / "project"
    assert generator("new", str(CATALOG[0]), str(dest)).returncode == 0
    module = with_defaults(yaml.safe_load(CATALOG[1].read_text()))["module_name"]
    own = dest / "src" / "custom_layers" / f"{module}.py"
    own.write_text("MINE = 1\n")
    proc = generator("new", str(CATALOG[1]), str(dest))
    assert_refused(proc, f"{own} exists and is not a layer's", "another module_name")
    assert own.read_text() == "MINE = 1\n"


def test_new_never_replaces_a_file_of_a_folder_that_is_no_project(tmp_path):
    dest = tmp_path / "mine"
    (dest / "tests").mkdir(parents=True)
    conftest = dest / "tests" / "conftest.py"
    conftest.write_text("import pytest  # mine\n")
    assert_refused(generator("new", str(CATALOG[0]), str(dest)), "tests/conftest.py exists")
    assert conftest.read_text() == "import pytest  # mine\n"
    assert sorted(p.name for p in dest.rglob("*")) == ["conftest.py", "tests"]


def test_new_in_a_folder_of_a_project_is_refused(tmp_path):
    dest = tmp_path / "project"
    assert generator("new", str(CATALOG[0]), str(dest)).returncode == 0
    before = sorted(dest.rglob("*"))
    assert_refused(generator("new", str(CATALOG[1]), str(dest / "tests")), "is inside the project")
    assert sorted(dest.rglob("*")) == before


def test_a_new_layer_keeps_the_projects_shared_files(tmp_path):
    """A hand edit of a shared helper is the project's: a new layer neither
    replaces it nor asks (it would, in a terminal, and fail outside one)."""
    dest = tmp_path / "project"
    assert generator("new", str(CATALOG[0]), str(dest)).returncode == 0
    helpers = dest / "tests" / "layer_checks.py"
    helpers.write_text(helpers.read_text() + "\n\ndef team_helper():\n    return 1\n")
    proc = generator("new", str(CATALOG[1]), str(dest))
    assert proc.returncode == 0, proc.stderr
    assert helpers.read_text().endswith("def team_helper():\n    return 1\n")
    assert (dest / "tests" / f"test_{CATALOG[1].stem}.py").is_file()


def test_new_with_a_bad_spec_writes_nothing(tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_text("weights: []\n")
    dest = tmp_path / "project"
    assert_refused(generator("new", str(spec), str(dest)), "weights: at least one weight")
    assert not dest.exists()


def test_the_readmes_spec_is_valid(tmp_path):
    readme = (REPO / "README.md").read_text()
    start = readme.index("```yaml\npackage_name:") + len("```yaml\n")
    spec = tmp_path / "readme.yml"
    spec.write_text(readme[start : readme.index("```", start)])
    proc = generator("check", str(spec))
    assert proc.returncode == 0, proc.stderr


def snapshot(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_new_refuses_a_second_layer_of_the_same_class(tmp_path):
    dest = tmp_path / "project"
    assert generator("new", str(CATALOG[0]), str(dest)).returncode == 0
    before = snapshot(dest)
    twin = tmp_path / "twin.yml"
    spec = yaml.safe_load(CATALOG[0].read_text())
    twin.write_text(yaml.safe_dump({**spec, "module_name": "another_module"}))
    existing = spec.get("module_name", CATALOG[0].stem)
    assert_refused(
        generator("new", str(twin), str(dest)), "layer_name:", f"class of layer {existing}"
    )
    assert snapshot(dest) == before


def test_a_render_that_fails_halfway_leaves_nothing(tmp_path):
    """A file Copier cannot write, met after it has begun writing (the new
    layer's test, a link into a folder that is gone; src/ is written before
    tests/): what it wrote is removed, and the project is as it was."""
    dest = tmp_path / "project"
    assert generator("new", str(CATALOG[0]), str(dest)).returncode == 0
    (dest / "tests" / f"test_{CATALOG[1].stem}.py").symlink_to(tmp_path / "gone" / "test.py")
    before = snapshot(dest)
    proc = generator("new", str(CATALOG[1]), str(dest))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("copier: "), proc.stderr
    assert snapshot(dest) == before
    assert not (dest / "src" / "custom_layers" / f"{CATALOG[1].stem}.py").exists()


def test_a_module_named_like_a_package_of_the_project_is_refused(tmp_path):
    """Python would import the project's package `helpers/` in place of a
    layer module `helpers.py`."""
    dest = tmp_path / "project"
    assert generator("new", str(CATALOG[0]), str(dest)).returncode == 0
    package = dest / "src" / "custom_layers" / "helpers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    spec = tmp_path / "helpers.yml"
    spec.write_text(yaml.safe_dump({"layer_name": "Helpers"}))
    before = snapshot(dest)
    proc = generator("new", str(spec), str(dest))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines()[-1].endswith(
        "module_name: src/custom_layers/helpers/ is a package of the project, which Python "
        "would import instead of the layer's module: choose another module_name"
    )
    assert snapshot(dest) == before


def test_names_too_long_for_file_names_and_code_lines_are_refused(tmp_path):
    spec = tmp_path / "long.yml"
    spec.write_text(yaml.safe_dump({"layer_name": "LongNamed", "module_name": "m" * 300}))
    assert_refused(generator("check", str(spec)), "module_name:", "longer than 60")


def test_the_test_command_shown_can_be_pasted_into_a_shell(tmp_path):
    """A project folder with a space in its name, quoted as a shell reads it."""
    made = generator("new", str(CATALOG[0]), "my layers", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-1] == "test it: cd 'my layers' && python -m pytest"
    copied = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            *"copy --defaults --vcs-ref=HEAD".split(),
            str(REPO),
            "our layers",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert copied.returncode == 0, copied.stderr
    assert "Test it:  cd 'our layers' && python -m pytest" in copied.stderr, copied.stderr


def test_a_project_of_its_own_is_told_how_its_tests_find_the_layer(tmp_path):
    """Copier keeps an existing pyproject.toml, which may not put src/ and
    tests/ on pytest's path."""
    dest = tmp_path / "ours"
    dest.mkdir()
    (dest / "pyproject.toml").write_text('[project]\nname = "ours"\nversion = "1"\n')
    made = generator("new", str(CATALOG[0]), str(dest))
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[-1].startswith("note: pyproject.toml is the project's own")
    fresh = generator("new", str(CATALOG[0]), str(tmp_path / "fresh"))
    assert "note:" not in fresh.stdout


def test_a_failed_update_leaves_the_rest_of_the_repository_alone(tmp_path):
    """The project is a folder of a larger repository with work in progress
    elsewhere; an update that cannot merge undoes itself in the project only."""

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / "notes.txt").write_text("committed\n")
    assert generator("new", str(CATALOG[0]), "layers", cwd=tmp_path).returncode == 0
    git("add", "-A")
    git("commit", "-qm", "a layer")
    module = next((tmp_path / "layers" / "src" / "custom_layers").glob("[!_]*.py"))
    spec = tmp_path / "layers" / "specs" / f"{module.stem}.yml"
    answers = yaml.safe_load(spec.read_text())
    body = answers["computation"].strip().splitlines()[-1]
    module.write_text(module.read_text().replace(body, body + "  # ours"))
    answers["computation"] = answers["computation"].replace(body, body + " * 2.0")
    spec.write_text(yaml.safe_dump(answers))
    git("commit", "-qam", "our edit of the module, a spec edit over the same line")
    (tmp_path / "notes.txt").write_text("work in progress\n")
    proc = generator("update", str(spec), str(tmp_path / "layers"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "work in progress\n"
    assert "# ours" in module.read_text()
