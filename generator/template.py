"""Where the Copier template is: this checkout, or the copy an install carries.

From a checkout (an editable install too) the template is the checkout
itself, the repository users `copier copy` from. A built wheel carries the
same files under `generator/_template/` (see setup.py), so an installed
`keras-layer check` and `new` work from any folder; `releases()` gives that
copy the versions Copier needs to update a layer later.
"""

import os
import shutil
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent
_BUNDLED = _PACKAGE / "_template"
_DISTRIBUTION = "keras-layer-template"
_COMMITTER = ("-c", "user.name=keras-layer", "-c", "user.email=keras-layer@localhost")

ROOT = _CHECKOUT if (_CHECKOUT / "copier.yml").is_file() else _BUNDLED
COPIER_YML = ROOT / "copier.yml"


def is_checkout():
    """Whether the template is a git checkout (Copier can then pin a commit)."""
    return ROOT == _CHECKOUT and (ROOT / ".git").exists()


def releases():
    """(repository, tag) of the template this install carries, as a release.

    Copier records in each layer's answers the template's path and version,
    and updates a layer by rendering that version again: a folder inside
    site-packages has no versions, and the next install replaces it. So the
    carried files are committed to a git repository in the user's data
    folder, one tagged commit per template version installed here (the
    tool's version; `+N` when files changed without one), where `update`
    finds every version its layers record, and `update --all` the newest.
    """
    import importlib.metadata  # 20 ms that check, which needs no release, spares

    from generator.project import git  # which reads specs, whose rules need ROOT

    repository = releases_repository()
    if not (repository / ".git").is_dir():
        repository.mkdir(parents=True, exist_ok=True)
        git(repository, "init", "--quiet")
    for entry in repository.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(
        _BUNDLED, repository, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    git(repository, "add", "--all")
    if git(repository, "status", "--porcelain").strip():
        git(repository, *_COMMITTER, "commit", "--quiet", "-m", "template of this install")
    else:
        tags = git(repository, "tag", "--points-at", "HEAD").split()
        if tags:
            return repository, tags[-1]
    version = importlib.metadata.version(_DISTRIBUTION)
    taken = set(git(repository, "tag", "--list").split())
    tag = next(
        name
        for name in (version, *(f"{version}+{n}" for n in range(1, len(taken) + 2)))
        if name not in taken
    )
    git(repository, *_COMMITTER, "tag", tag)
    return repository, tag


def releases_repository():
    """Where `releases()` keeps the carried template's versions."""
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "keras-layer" / "template"


def refresh(src_path):
    """Before an update from `src_path`: when that is this install's
    releases, the template it carries now is among them (a new version of
    the tool is a new release of its template)."""
    if ROOT == _BUNDLED and Path(src_path) == releases_repository():
        releases()
