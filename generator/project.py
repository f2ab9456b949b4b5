"""A layer project on disk: its package, its layers, its git state.

The Python twin of ``generator/includes/project.jinja``. A project holds one
package: its first copy writes ``.keras-layers.yml``, and a layer added later
goes into that package unless it names another, which is refused.
"""

import subprocess
from pathlib import Path

import yaml

from generator import bounded_yaml
from generator.errors import InputError
from generator.spec import SpecError

PROJECT_FILE = ".keras-layers.yml"
ANSWERS = Path(".copier-answers")


def package_of(folder):
    """The package of the project in `folder`; None where there is no project."""
    return (found_package(folder) or (None, None))[0]


def found_package(folder):
    """(package, where it was found) of the project in `folder`, as
    project.jinja finds it: the one its first copy wrote to
    .keras-layers.yml or, in a project without that file (older, or it was
    lost), the one folder of src/ holding the _lambda.py every layer
    imports; failing both (a layer's files all gone but its answers), the
    package its layers' answers record; None where there is no project."""
    package = _read(Path(folder) / PROJECT_FILE).get("package_name")
    if package:
        return package, PROJECT_FILE
    ours = sorted(Path(folder).glob("src/*/_lambda.py"))
    if len(ours) == 1:
        return ours[0].parent.name, ours[0].relative_to(folder).as_posix()
    for path in sorted((Path(folder) / ANSWERS).glob("*.yml")):
        package = _read(path).get("package_name")
        if package:
            return package, path.relative_to(folder).as_posix()
    return None


def _read(path):
    try:
        settings = bounded_yaml.load(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, bounded_yaml.TooMuch) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"{path}: cannot read: {message}") from None
    return settings if isinstance(settings, dict) else {}


def in_project(answers, folder):
    """Spec answers headed for the project in `folder`: without package_name
    they take the project's; with another one they are refused (the words
    are Copier's validator's, generator/includes/project.jinja)."""
    found = found_package(folder)
    if found is None or not isinstance(answers, dict):
        return answers
    package, where = found
    if "package_name" not in answers:
        return {**answers, "package_name": package}
    if answers["package_name"] != package:
        raise SpecError(
            [
                f"package_name: '{answers['package_name']}' is not this project's package, "
                f"'{package}' ({where}): a project holds one package; leave "
                "package_name out to add the layer to it"
            ]
        )
    return answers


def recorded_answers(folder):
    """Each layer's answers file and the answers Copier recorded in it."""
    for path in sorted((Path(folder) / ANSWERS).glob("*.yml")):
        yield path, _read(path)


def layers(folder):
    """The answers files of the project's layers, one per layer, by name."""
    return sorted(path.name for path in (Path(folder) / ANSWERS).glob("*.yml"))


def enclosing_project(folder):
    """The project `folder` is inside (a subfolder of), or None."""
    return next(
        (
            parent
            for parent in Path(folder).resolve().parents
            if (parent / PROJECT_FILE).is_file() or (parent / ANSWERS).is_dir()
        ),
        None,
    )


def git(folder, *args, stdin=None):
    """`git -C folder ARGS`: its output, or an InputError with git's last
    line. Bytes in (`stdin`) give bytes out, for binary diffs."""
    proc = subprocess.run(
        ["git", "-C", str(folder), *args],
        input=stdin,
        capture_output=True,
        text=stdin is None,
    )
    if proc.returncode != 0:
        stderr = proc.stderr if stdin is None else proc.stderr.decode(errors="replace")
        message = (stderr.strip().splitlines() or ["git failed"])[-1]
        raise InputError(f"{folder}: git {args[0]}: {message}")
    return proc.stdout


def uncommitted(folder):
    """Paths under `folder`, relative to it, whose changes are not committed:
    staged or not, untracked files included. Git's porcelain paths are
    relative to the repository's root, so the folder's prefix is cut."""
    try:
        prefix = git(folder, "rev-parse", "--show-prefix").strip()
    except InputError as error:
        raise InputError(f"{folder}: not a git repository ({error})") from None
    entries = git(
        folder, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."
    ).split("\0")
    paths, entries = [], iter(filter(None, entries))
    for entry in entries:
        paths.append(entry[3:].removeprefix(prefix))
        if entry[0] in "RC":
            next(entries)  # a rename's second path is where it came from
    return paths
