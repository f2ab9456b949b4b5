"""A clean git copy of this checkout, for Copier to render from.

`copier copy --vcs-ref=HEAD` of a dirty checkout first commits the working
tree into its temporary clone. That would time the checkout's state, not the
template, so the benchmarks render from a committed copy of the same files.
"""

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMITTER = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@example.com"]


def git(directory, *args):
    # --no-optional-locks: reading the checkout must not rewrite its index.
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(directory), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def describe():
    """The checkout being measured: its HEAD and whether it has changes."""
    return {
        "head": git(REPO, "rev-parse", "HEAD").strip(),
        "dirty": bool(git(REPO, "status", "--porcelain").strip()),
    }


def snapshot(dest):
    """Copy tracked and untracked, not ignored, files into `dest`; commit them."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, *COMMITTER, "commit", "-q", "-m", "benchmark snapshot")
    return dest


def trivial_template(dest):
    """Copier's floor: one question, one rendered file, in a git repository."""
    dest.mkdir(parents=True)
    (dest / "copier.yml").write_text("name:\n  type: str\n  default: floor\n")
    (dest / "README.md.jinja").write_text("# {{ name }}\n")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, *COMMITTER, "commit", "-q", "-m", "trivial template")
    return dest
