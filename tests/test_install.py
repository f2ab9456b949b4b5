"""An installed (not editable) copy of the tool works from any folder: the
wheel carries the template, so `keras-layer check` and `new` need no
checkout."""

import subprocess
import sys

import pytest

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


def test_installed_tool_imports_nothing_from_the_checkout(installed, tmp_path):
    where = subprocess.run(
        [str(installed.parent / "python"), "-c", "import generator; print(generator.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert str(REPO) not in where.stdout, where.stdout
