"""Where the Copier template is: this checkout, or the copy an install carries.

From a checkout (an editable install too) the template is the checkout
itself, the repository users `copier copy` from. A built wheel carries the
same files under `generator/_template/` (see setup.py), so an installed
`keras-layer check` and `new` work from any folder.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent
_BUNDLED = _PACKAGE / "_template"

ROOT = _CHECKOUT if (_CHECKOUT / "copier.yml").is_file() else _BUNDLED
COPIER_YML = ROOT / "copier.yml"


def is_checkout():
    """Whether the template is a git checkout (Copier can then pin a commit)."""
    return ROOT == _CHECKOUT and (ROOT / ".git").exists()
