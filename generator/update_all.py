"""`python -m generator update --all`: every layer of a project regenerated
from its spec file and brought to the template's newest release, at once.

Copier updates one layer (one answers file) at a time and needs a clean,
committed tree for each. So the layers are updated one after the other in a
temporary git worktree of the project: a good layer is committed there, a
failed one is reset, and the others go on. The end result reaches the user's
tree as uncommitted changes to review and commit; the temporary commits never
reach the user's branch.
"""

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import copier
import yaml
from packaging.version import InvalidVersion, Version

from generator import bounded_yaml, template
from generator.errors import InputError
from generator.messages import program
from generator.project import ANSWERS, enclosing_project, git, in_project, layers, uncommitted
from generator.spec import SpecError, built
from generator.spec_file import read_answers

# The temporary commits: an identity of their own, and none of the user's
# hooks (a pre-commit hook would lint every step, or stop it) or signing (a
# key the user's agent may not hold).
COMMITTER = [
    *("-c", "user.name=keras-layer", "-c", "user.email=keras-layer@localhost"),
    *("-c", f"core.hooksPath={os.devnull}", "-c", "commit.gpgsign=false"),
]
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")
# Copier's shortcuts for hosted templates (copier/_vcs.py, REPLACEMENTS).
SHORTCUTS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}


@dataclass
class Outcome:
    """What became of one layer: updated, unchanged or failed, and why."""

    layer: str
    status: str
    detail: str = ""

    @property
    def failed(self):
        return self.status == "failed"

    def line(self):
        if self.failed:
            return f"{self.layer}: failed: {self.detail}"
        return f"{self.layer}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def update_all(folder):
    """Update every layer of the project in `folder`; return their outcomes.

    Refuses, before writing anything, a folder that is not a committed git
    project of layers or that has uncommitted changes.
    """
    folder = Path(folder)
    names = layers(folder)
    root = enclosing_project(folder)
    if not names and root is not None:
        raise InputError(
            f"{folder} is inside the project {root}: run it there ({program()} update --all {root})"
        )
    if not names:
        raise InputError(
            f"{folder}: no layers here (no {ANSWERS}/*.yml): run it in a project's root folder"
        )
    changed = uncommitted(folder)
    if changed:
        raise InputError(
            f"{folder}: uncommitted changes ({changed[0]} ...): commit or stash them "
            "first; update --all writes its changes into a clean tree"
        )
    try:
        base = git(folder, "rev-parse", "--verify", "HEAD").strip()
    except InputError:
        raise InputError(f"{folder}: no commit yet: commit the project first") from None
    top = Path(git(folder, "rev-parse", "--show-toplevel").strip())
    inner = git(folder, "rev-parse", "--show-prefix").strip()
    with tempfile.TemporaryDirectory(prefix="keras-layer-update-") as scratch:
        worktree = Path(scratch) / "project"
        git(top, "worktree", "add", "--quiet", "--detach", str(worktree), base)
        try:
            releases = {}
            outcomes = [update_layer(worktree / inner, name, releases) for name in names]
            diff = git(worktree, "diff", "--binary", base, "HEAD", stdin=b"")
        finally:
            git(top, "worktree", "remove", "--force", str(worktree))
    if diff:
        git(top, "apply", "--whitespace=nowarn", stdin=diff)
    return outcomes


def update_layer(root, name, releases):
    """Update one layer in the worktree `root` from its spec file, to the
    newest release; commit it there, or leave the worktree as it was."""
    module = Path(name).stem
    answers_path = ANSWERS / name
    spec_path = Path("specs") / name
    try:
        recorded = bounded_yaml.load((root / answers_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, bounded_yaml.TooMuch) as error:
        return Outcome(module, "failed", f"{answers_path}: cannot read: {error}".splitlines()[0])
    if not isinstance(recorded, dict) or not recorded.get("_src_path"):
        return Outcome(module, "failed", f"{answers_path}: records no template (_src_path)")
    source = recorded["_src_path"]
    # Answers files written before template paths were made absolute may hold
    # a relative one, which Copier resolves against the folder it runs in.
    hint = (
        f" (the template is recorded as '{source}', relative to the folder the project "
        "was copied from: run update --all once from there, giving the project's path)"
        if relative_path(source)
        else ""
    )
    try:
        spec = read_spec(root, spec_path)
    except SpecError as error:
        more = len(error.problems) - 1
        return Outcome(
            module,
            "failed",
            f"{spec_path}: {error.problems[0]}"
            + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
            + f"; fix the spec ({program()} check), commit, and run update --all again",
        )
    except InputError as error:
        return Outcome(module, "failed", str(error))
    if spec.module_name != module:
        return Outcome(
            module,
            "failed",
            f"{spec_path}: module_name: '{spec.module_name}' is not '{module}', the layer "
            "this spec is for (update cannot rename a layer; make a new one)",
        )
    try:
        ref = release(source, recorded.get("_commit"), releases)
    except InputError as error:
        return Outcome(module, "failed", f"{error}{hint}")
    spec_changed = spec.answers != {k: v for k, v in recorded.items() if not k.startswith("_")}
    if not spec_changed and ref is copier.VcsRef.CURRENT:
        return Outcome(module, "unchanged")
    try:
        copier.run_update(
            str(root),
            data=spec.answers,
            answers_file=str(answers_path),
            defaults=True,
            overwrite=True,
            vcs_ref=ref,
            unsafe=False,
            quiet=True,
        )
    except (copier.errors.CopierError, ValueError, TypeError, OSError) as error:
        reset(root)
        lines = str(error).strip().splitlines() or [type(error).__name__]
        return Outcome(module, "failed", f"copier: {lines[-1]}{hint}")
    conflicts = conflicted(root)
    if conflicts:
        reset(root)
        return Outcome(
            module,
            "failed",
            f"conflict in {conflicts[0]}: your edits and the regenerated code overlap; "
            f"commit, run `copier update -a {answers_path} --defaults --data-file "
            f"{spec_path}` and resolve the conflict markers by hand",
        )
    if not uncommitted(root):
        return Outcome(module, "unchanged")
    git(root, "add", "--all", ".")
    git(root, *COMMITTER, "commit", "--quiet", "--no-verify", "-m", f"update --all: {module}")
    now = bounded_yaml.load((root / answers_path).read_text(encoding="utf-8")).get("_commit")
    moved = (
        [f"template {recorded.get('_commit')} -> {now}"] if now != recorded.get("_commit") else []
    )
    return Outcome(module, "updated", ", ".join((["spec"] if spec_changed else []) + moved))


def read_spec(root, path):
    """The layer's spec file, in the project's package, validated; problems
    name the file as the project has it, not in the temporary worktree."""
    if not (root / path).is_file():
        raise InputError(f"{path}: no such file (each layer's spec lives there)")
    try:
        answers = read_answers(root / path)
    except InputError as error:
        raise InputError(str(error).replace(str(root / path), str(path), 1)) from None
    return built(in_project(answers, root))


def release(source, commit, releases):
    """The ref a layer updates to: the newest release tag of its template, or
    Copier's `:current:` when the layer has it already, or is past it (made
    from a checkout after that tag), or the template has no release."""
    if source not in releases:
        template.refresh(source)
        releases[source] = tags(source)
    found = releases[source]
    newest = newest_release(found)
    if newest is None or at_or_past(commit, newest, found):
        return copier.VcsRef.CURRENT
    return newest


def relative_path(source):
    """Whether a template source is a local path relative to some folder."""
    url = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://|gh:|gl:|git@", source)
    return not url and not os.path.isabs(os.path.expanduser(source))


def tags(source):
    """The tags of the template at `source`."""
    url = next(
        (
            url + source[len(alias) :]
            for alias, url in SHORTCUTS.items()
            if source.startswith(alias)
        ),
        os.path.expanduser(source),
    )
    proc = subprocess.run(
        ["git", "ls-remote", "--tags", "--refs", "--", url], capture_output=True, text=True
    )
    if proc.returncode != 0:
        # git's first line says what; the rest is advice about access rights.
        message = (proc.stderr.strip().splitlines() or ["git ls-remote failed"])[0]
        raise InputError(f"cannot read the template's releases at {source}: {message}")
    return [line.split("\t", 1)[1].removeprefix("refs/tags/") for line in proc.stdout.splitlines()]


def newest_release(tags):
    """The newest release among `tags`, as Copier picks one: by PEP 440
    version, pre-releases left out; None if there is none."""
    versions = []
    for tag in tags:
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            versions.append((version, tag))
    return max(versions)[1] if versions else None


def at_or_past(commit, tag, tags):
    """Whether a recorded `_commit` (a tag, or `git describe`'s
    TAG-N-gHASH for a commit N after TAG) is `tag` or later. A bare commit
    hash has no version, though PEP 440 reads some as one (`5013c58` as
    5013rc58): only a recorded tag is compared."""
    described = re.fullmatch(r"(.+)-\d+-g[0-9a-f]+", commit or "")
    recorded = described[1] if described else commit
    if recorded not in tags:
        return False
    try:
        return Version(recorded) >= Version(tag)
    except InvalidVersion:
        return False


def conflicted(root):
    """Files Copier could not merge: unmerged in the index, `.rej` files, or
    text with conflict markers."""
    unmerged = git(root, "diff", "--name-only", "--diff-filter=U", "--relative").splitlines()
    found = []
    for path in uncommitted(root):
        if path.endswith(".rej") or path in unmerged:
            found.append(path)
        elif (root / path).is_file():
            text = (root / path).read_text(errors="replace")
            if any(line.startswith(CONFLICT_MARKERS) for line in text.splitlines()):
                found.append(path)
    return found


def reset(root):
    """Back to the worktree's last commit: the failed layer leaves nothing."""
    git(root, "reset", "--quiet", "--hard", "HEAD")
    git(root, "clean", "--quiet", "-d", "--force", "-x", ".")
