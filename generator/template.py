"""Where the Copier template is: this checkout, or the copy an install carries.

From a checkout (an editable install too) the template is the checkout
itself, the repository users `copier copy` from. A built wheel carries the
same files under `generator/_template/` (see setup.py), so an installed
`keras-layer check` and `new` work from any folder; `releases()` gives that
copy the versions Copier needs to update a layer later.
"""

import os
import re
import shutil
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent
_BUNDLED = _PACKAGE / "_template"
_DISTRIBUTION = "keras-layer-template"
# The tool's own commits, whatever the user's git signs.
_COMMITTER = (
    *("-c", "user.name=keras-layer", "-c", "user.email=keras-layer@localhost"),
    *("-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"),
)

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
    folder, one tagged commit per template installed here, where `update`
    finds every version its layers record and `update --all` the newest.
    A tag is the tool's version, then the release's number here and the
    files' own hash (`0.1.0+4.3f9a1c2e`): among builds of one version (a
    template changed, the version not), Copier takes the highest number as
    the newest, the one installed last, where a hash alone would order them
    at random; the hash keeps a name from standing for other files, even in
    a repository made again.
    Runs one at a time (a lock), since each fills the repository's tree.
    """
    import fcntl
    import importlib.metadata  # 20 ms that check, which needs no release, spares

    from generator.project import git  # which reads specs, whose rules need ROOT

    repository = releases_repository()
    repository.mkdir(parents=True, exist_ok=True)
    with open(repository.parent / "template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (repository / ".git").is_dir():
            git(repository, "init", "--quiet")
        for entry in repository.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        shutil.copytree(
            _BUNDLED, repository, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
        git(repository, "add", "--all")
        tree = git(repository, "write-tree").strip()
        tags = git(repository, "tag", "--list").split()
        newest = _newest(tags)
        # The newest release is the last commit, tagged by this function only.
        if newest and not git(repository, "status", "--porcelain").strip():
            return repository, newest
        number = len(tags) + 1
        tag = f"{importlib.metadata.version(_DISTRIBUTION)}+{number}.{tree[:8]}"
        git(repository, *_COMMITTER, "commit", "--quiet", "--allow-empty", "-m", f"template {tag}")
        git(repository, *_COMMITTER, "tag", tag, "HEAD")
    return repository, tag


def _newest(tags):
    """The release Copier takes as the newest: the highest number; before
    releases were numbered (`0.1.0+3f9a1c2e`), any tag is older."""
    numbered = [t for t in tags if re.fullmatch(r"[^+]+\+\d+\.[0-9a-f]+", t)]
    return max(numbered, key=lambda t: int(t.split("+")[1].split(".")[0]), default=None)


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
