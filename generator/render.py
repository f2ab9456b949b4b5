"""Rendering a spec with Copier's Python API, as `copier copy` / `update` would.

No unsafe feature is used (the template has none), so nothing here needs
`--trust`. Copier's own failures are turned into one-line `InputError`s.
"""

import shutil
from fnmatch import fnmatch
from pathlib import Path

import copier

from generator import template as source
from generator.errors import InputError
from generator.messages import program
from generator.project import (
    ANSWERS,
    enclosing_project,
    git,
    package_of,
    recorded_answers,
    uncommitted,
)
from generator.rules import copier_config
from generator.update_all import conflicted


def answers_file(spec):
    return ANSWERS / f"{spec.module_name}.yml"


def layer_files(spec):
    package = Path("src") / spec.package_name
    return [
        package / f"{spec.module_name}.py",
        Path("tests") / f"test_{spec.module_name}.py",
        Path("specs") / f"{spec.module_name}.yml",
        answers_file(spec),
    ]


def new(spec, dest, template=None):
    """Render the spec's layer into `dest` (a new or an existing project),
    from the template `_source` names."""
    taken = [path for path in layer_files(spec) if (dest / path).exists()]
    if taken and (dest / answers_file(spec)).exists():
        raise InputError(
            f"{dest / taken[0]} exists: {dest} already has layer {spec.module_name}; "
            f"regenerate it with: {program()} update SPEC PROJECT"
        )
    if taken:
        raise InputError(
            f"{dest / taken[0]} exists and is not a layer's (no {answers_file(spec)}): "
            "move it, or give the layer another module_name"
        )
    _refuse_a_second_class(spec, dest)
    shared = _shared_files_in(spec, dest)
    before, existed, entries = _files(dest), dest.exists(), _entries(dest)
    src_path, vcs_ref = _source(dest, template)
    try:
        _run(
            copier.run_copy,
            src_path,
            # Resolved: Copier refuses to read the project's own files
            # (_external_data) through a path with `..` or a link in it.
            str(dest.resolve()),
            data=spec.answers,
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=False,
            # A project's shared files stay as they are: `update --all` moves
            # them with every layer, and Copier would ask before replacing
            # them (a hand edit, another template version).
            skip_if_exists=shared,
            unsafe=False,
            quiet=True,
        )
    except BaseException:
        # All or nothing: a render stopped halfway (Ctrl-C, a name the file
        # system refuses, a shared file Copier would have to ask about) would
        # leave half a layer that neither new nor update could finish.
        _remove_new(dest, existed, entries)
        raise
    return sorted(_files(dest) - before)


def _shared_files_in(spec, dest):
    """The files every layer of a project shares (tests' helpers, the
    package's modules) that `dest` holds already: a project's, which a new
    layer keeps. A folder that is not a project holding one, or a folder
    inside a project, is refused: the user's own file would be replaced, or
    a project made inside the other."""
    root = enclosing_project(dest)
    if root is not None:
        raise InputError(
            f"{dest} is inside the project {root}: add the layer from the project's root folder"
        )
    paths = (path.replace("{{package_name}}", spec.package_name) for path in _shared())
    present = [path for path in paths if (dest / path).is_file()]
    if present and package_of(dest) is None:
        raise InputError(
            f"{dest / present[0]} exists, and {dest} is no project of this template: new "
            "would replace it; choose an empty folder, or a project made by keras-layer"
        )
    return present


def _shared():
    """What the template writes for every layer alike (its files named after
    no layer), but the files a project owns after its first copy
    (copier.yml's `_skip_if_exists`, which Copier keeps anyway)."""
    folder = source.ROOT / copier_config().get("_subdirectory", ".")
    skipped = copier_config().get("_skip_if_exists", [])
    names = (p.relative_to(folder).as_posix().removesuffix(".jinja") for p in folder.rglob("*"))
    return sorted(
        name
        for name in names
        if (folder / name).is_file() or (folder / f"{name}.jinja").is_file()
        if "{{module_name}}" not in name and "{{_copier_conf" not in name
        if not any(fnmatch(name, pattern) for pattern in skipped)
    )


def _source(dest, template):
    """(template, ref) a new layer of `dest` is rendered from: the template
    given, at its newest release tag, as `copier copy` picks; else this
    checkout as it is (HEAD), when the tool runs from it; else the template
    the project's layers record, at their version (one project, one
    template version: its layers share files); else the template this
    install carries, as a release Copier can update from."""
    if template:
        return str(template), None
    if source.is_checkout():
        return str(source.ROOT), "HEAD"
    for _, recorded in recorded_answers(dest):
        if recorded.get("_src_path") and recorded.get("_commit"):
            return str(recorded["_src_path"]), str(recorded["_commit"])
    repository, tag = source.releases()
    return str(repository), tag


def _refuse_a_second_class(spec, dest):
    """Two layers of one package registered under one class name: Keras keeps
    the second, and a saved model of the first no longer loads."""
    for path, recorded in recorded_answers(dest):
        if recorded.get("layer_name") == spec.layer_name:
            raise InputError(
                f"layer_name: '{spec.layer_name}' is already the class of layer "
                f"{path.stem} ({ANSWERS / path.name}): two layers of one package "
                "cannot share a class name"
            )


def update(spec, project):
    """Regenerate the spec's layer in `project` from its answers file."""
    answers = answers_file(spec)
    if not (project / answers).is_file():
        raise InputError(
            f"{project / answers}: no such answers file: {project} has no layer "
            f"{spec.module_name} (make one with: {program()} new SPEC {project})"
        )
    changed = uncommitted(project)
    if changed:
        raise InputError(
            f"{project}: uncommitted changes ({changed[0]} ...): "
            "commit them first, copier update merges into a clean tree"
        )
    recorded = dict(recorded_answers(project)).get(project / answers) or {}
    source.refresh(recorded.get("_src_path") or "")
    try:
        _run(
            copier.run_update,
            str(project.resolve()),
            data=spec.answers,
            answers_file=str(answers),
            defaults=True,
            overwrite=True,
            vcs_ref=copier.VcsRef.CURRENT,
            unsafe=False,
            quiet=True,
        )
        stuck = conflicted(project)
        if stuck:
            raise InputError(
                f"copier could not merge {stuck[0]} with your edits: nothing was changed; "
                f"to merge by hand, run `copier update -a {answers} --defaults "
                f"--vcs-ref=:current: --data-file specs/{spec.module_name}.yml` "
                "and resolve the conflict markers"
            )
    except BaseException:
        # The project was clean, so its last commit loses nothing of the
        # user's; ignored files (a virtualenv, saved models) are left alone,
        # and so is the rest of a repository the project is a folder of.
        git(project, "restore", "--quiet", "--source=HEAD", "--staged", "--worktree", "--", ".")
        git(project, "clean", "--quiet", "-d", "--force", ".")
        raise
    return uncommitted(project)


def _files(folder):
    return (
        {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}
        if folder.exists()
        else set()
    )


def _entries(folder):
    return set(folder.rglob("*")) if folder.exists() else set()


def _remove_new(folder, existed, before):
    """Remove what was written under `folder` since `before` (its entries then)."""
    if not existed:
        shutil.rmtree(folder, ignore_errors=True)
        return
    # Reverse order: a folder's contents before the folder.
    for path in sorted(_entries(folder) - before, reverse=True):
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink()


def _run(function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except (copier.errors.CopierError, ValueError, OSError) as error:
        # Copier's first line says what failed; the rest, how it could be allowed.
        lines = str(error).strip().splitlines() or [type(error).__name__]
        raise InputError(f"copier: {lines[0]}") from None
